// The router app. It serves nothing itself: for every request it looks the Host up in the
// routing table and answers with a replay to the app that serves that host, or to `welcome`
// when no app does. Ricochet re-runs the request there; the router is out of the path.
import { createServer } from 'node:http';
import { nodeReplay, signState } from '../../../src/sdk/index.ts'; // in your app: from 'ricochet/sdk'
import { openRoutes } from './routes-db.js';

const DEFAULT_APP = 'welcome';
const routes = openRoutes(process.env.ROUTES_DB ?? '.data/routes.db');

createServer(async (req, res) => {
  const hostname = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const app = routes.lookup(hostname) ?? DEFAULT_APP;
  // The state tells the customer app which host the router resolved, signed so that nothing
  // else can claim it, and short-lived so that it can't be replayed later.
  const state = await signState({ hostname }, process.env.STATE_KEY, { ttlSeconds: 30 });
  nodeReplay(res, { app, state });
}).listen(Number(process.env.PORT), '127.0.0.1');
