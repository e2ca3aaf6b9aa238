// The router app of `ricochet dev`: it never serves tenant pages itself. It answers every
// tenant request with a `fly-replay` header, and Ricochet re-runs the request on the tenant app.
import { createServer } from 'node:http';

const routes = [
  { path: /^\/a(\/|$)/, replay: 'app=tenant-a' },
  { path: /^\/a-west(\/|$)/, replay: 'app=tenant-a;region=sjc;state=from-router' },
  { path: /^\/b(\/|$)/, replay: 'app=tenant-b' },
];

const index = `Ricochet dev: this page comes from the router app (machine ${process.env.FLY_MACHINE_ID}, region ${process.env.FLY_REGION}).
Try:
  /a        replayed to tenant-a, nearest machine (iad)
  /a-west   replayed to tenant-a in region sjc, with state=from-router
  /b        replayed to tenant-b (only in sjc), scale-to-zero by suspend
`;

createServer((req, res) => {
  const route = routes.find((r) => r.path.test(req.url ?? '/'));
  if (route !== undefined) {
    res.writeHead(409, { 'fly-replay': route.replay, 'content-type': 'text/plain' });
    res.end('replaying\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(index);
}).listen(Number(process.env.PORT), '127.0.0.1');
