// Move a tenant to another cell while Ricochet runs:
//   node examples/cached-subdomains/apps/tenants.js list
//   node examples/cached-subdomains/apps/tenants.js move acme cell-2
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTenants } from './tenants-db.js';

const path = process.env.TENANTS_DB ?? join(dirname(fileURLToPath(import.meta.url)), '..', '.data', 'tenants.db');
const tenants = openTenants(path);
const [command, name, cell] = process.argv.slice(2);
if (command === 'move' && name && cell) tenants.move(name, cell);
else if (command !== 'list') {
  process.stderr.write('usage: tenants.js list | move <tenant> <cell>\n');
  process.exitCode = 2;
}
for (const tenant of tenants.all()) process.stdout.write(`${tenant.name} -> ${tenant.cell}\n`);
tenants.close();
