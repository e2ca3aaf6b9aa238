// A customer app: one per customer, same code, told apart by $CUSTOMER. It has no hostname of
// its own; it answers only requests the router replayed to it, which it checks by verifying the
// signed state the router put in `fly-replay`.
import { createServer } from 'node:http';
import { nodeRequireSignedState, replaySrcOf } from '../../../src/sdk/index.ts'; // in your app: from 'ricochet/sdk'

const requireRouter = nodeRequireSignedState(process.env.STATE_KEY);

createServer(async (req, res) => {
  const verified = await requireRouter(req, res);
  if (!verified.ok) return; // 401 already sent
  const src = replaySrcOf(req);
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(
    [
      `${process.env.CUSTOMER}: welcome to ${verified.payload.hostname}`,
      `served by app ${process.env.FLY_APP_NAME}, machine ${process.env.FLY_MACHINE_ID}`,
      `routed by router machine ${src.instance} (fly-replay-src: ${req.headers['fly-replay-src'].replace(/state=.*/, 'state=…')})`,
      '',
    ].join('\n'),
  );
}).listen(Number(process.env.PORT), '127.0.0.1');
