// The default app: the router replays every host it does not know here.
import { createServer } from 'node:http';
import { nodeRequireSignedState } from '../../../src/sdk/index.ts'; // in your app: from 'ricochet/sdk'

const requireRouter = nodeRequireSignedState(process.env.STATE_KEY);

createServer(async (req, res) => {
  const verified = await requireRouter(req, res);
  if (!verified.ok) return;
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`No site lives at ${verified.payload.hostname} yet. Add one: node examples/host-router/apps/routes.js add ${verified.payload.hostname} customer-acme\n`);
}).listen(Number(process.env.PORT), '127.0.0.1');
