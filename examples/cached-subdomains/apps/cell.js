// A cell: an app that hosts some tenants. A request can arrive for a tenant that has moved away
// (the proxy routed it from a cached decision); the cell then drops that cache entry and sends
// the request back to the router (spec §5.3), which routes it to the tenant's new cell.
import { createServer } from 'node:http';
import { nodeReplay, replayCacheStatusOf, replaySrcOf } from '../../../src/sdk/index.ts'; // in your app: from 'ricochet/sdk'
import { openTenants, tenantOf } from './tenants-db.js';

const tenants = openTenants(process.env.TENANTS_DB ?? '.data/tenants.db');
const CELL = process.env.FLY_APP_NAME;

createServer((req, res) => {
  const tenant = tenantOf(req.headers.host);
  if (tenants.cellOf(tenant) !== CELL) {
    nodeReplay(res, { app: 'router' }, { invalidateCache: true });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'x-cell': CELL });
  res.end(
    [
      `${tenant} lives on ${CELL}`,
      `fly-replay-cache-status: ${replayCacheStatusOf(req) ?? '(none)'}`,
      `fly-replay-src: ${replaySrcOf(req) === null ? '(none: routed from the cache, the router never saw this request)' : req.headers['fly-replay-src']}`,
      '',
    ].join('\n'),
  );
}).listen(Number(process.env.PORT), '127.0.0.1');
