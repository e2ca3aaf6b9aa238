// The router: finds the tenant's cell and replays there, asking Ricochet to remember the
// decision for the whole host. While the entry lives, requests for the host skip this app.
import { createServer } from 'node:http';
import { hostCachePattern, nodeReplay } from '../../../src/sdk/index.ts'; // in your app: from 'ricochet/sdk'
import { openTenants, tenantOf } from './tenants-db.js';

const tenants = openTenants(process.env.TENANTS_DB ?? '.data/tenants.db');
const ttlSeconds = Number(process.env.CACHE_TTL_SECONDS ?? 300);

createServer((req, res) => {
  const tenant = tenantOf(req.headers.host);
  const cell = tenants.cellOf(tenant);
  console.log(`router: ${req.headers.host}${req.url} -> ${cell ?? 'no such tenant'}`);
  if (cell === null) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`No tenant "${tenant}". Tenants: ${tenants.all().map((t) => t.name).join(', ')}\n`);
    return;
  }
  // spec §5.1: a pattern with a host covers every path of that host; no state, timeout,
  // fallback or transform may come with a cached replay (spec §5.4).
  nodeReplay(res, { app: cell }, { cache: { pattern: hostCachePattern(req.headers.host), ttlSeconds } });
}).listen(Number(process.env.PORT), '127.0.0.1');
