#!/usr/bin/env node
// The `ricochet` command. From a checkout Node 24 runs the TypeScript sources directly; an
// installed package runs the JavaScript build in dist/ (Node does not strip types under
// node_modules).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(existsSync(built) ? built.href : source.href);
process.exitCode = await main(process.argv.slice(2));
