// The router: <user>.localhost reaches it on port 80 (public) or 9090 (management); it answers
// with a replay to that user's app and machine, with the app's key as the state. Ricochet
// delivers the request to the machine's service on the same port (spec §1.3.5), waking the
// machine if it stopped. WebSocket upgrades are replayed the same way: the router never
// upgrades, the machine does (spec §1.3.10).
import { createServer } from 'node:http';
import { nodeReplay } from '../../../src/sdk/index.ts'; // in your app: from 'ricochet/sdk'
import { openUsers, userOf } from './users-db.js';

const users = openUsers(process.env.USERS_DB ?? '.data/users.db');

createServer((req, res) => {
  const name = userOf(req.headers.host);
  const user = users.get(name);
  if (user === null) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`No user "${name}". Create one: curl -X POST http://coordinator.localhost:8080/users/${name}\n`);
    return;
  }
  nodeReplay(res, { app: user.app, instance: user.machine, state: user.state_key });
}).listen(Number(process.env.PORT), '127.0.0.1');
