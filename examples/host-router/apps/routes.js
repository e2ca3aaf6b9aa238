// Edit the routing table while Ricochet runs; the router sees changes on the next request.
//   node examples/host-router/apps/routes.js list
//   node examples/host-router/apps/routes.js add shop.localhost customer-globex
//   node examples/host-router/apps/routes.js remove shop.localhost
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRoutes } from './routes-db.js';

const path = process.env.ROUTES_DB ?? join(dirname(fileURLToPath(import.meta.url)), '..', '.data', 'routes.db');
const routes = openRoutes(path);
const [command, hostname, app] = process.argv.slice(2);
if (command === 'add' && hostname && app) routes.set(hostname.toLowerCase(), app);
else if (command === 'remove' && hostname) routes.remove(hostname.toLowerCase());
else if (command !== 'list') {
  process.stderr.write('usage: routes.js list | add <hostname> <app> | remove <hostname>\n');
  process.exitCode = 2;
}
for (const route of routes.all()) process.stdout.write(`${route.hostname} -> ${route.app}\n`);
routes.close();
