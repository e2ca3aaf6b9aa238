// Writes docs/api.md from the Machines API's route table and schemas (src/api/render-api-docs.ts).
// Run: node scripts/render-api-docs.ts
import { writeFileSync } from 'node:fs';
import { renderApiDocs } from '../src/api/render-api-docs.ts';

writeFileSync(new URL('../docs/api.md', import.meta.url), renderApiDocs());
