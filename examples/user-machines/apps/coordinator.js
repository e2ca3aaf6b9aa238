// The coordinator: creates an app and a machine for each user through the Machines API
// (Fly-shaped: POST /v1/apps, POST /v1/apps/{app}/machines), gives the app a pre-shared state
// key, and records where the user lives for the router.
//   POST   /users/<name>   create (or return) the user's app and machine
//   GET    /users          list users
//   DELETE /users/<name>   destroy the user's app
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openUsers } from './users-db.js';

const EXAMPLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Ricochet tells every machine where its Machines API is, as Fly machines know _api.internal:4280.
const API = process.env.RICOCHET_API_URL ?? 'http://127.0.0.1:4280';
const TOKEN = process.env.MACHINES_API_TOKEN;
const USER_DATA_DIR = resolve(process.env.USER_DATA_DIR ?? '.data/users');
const users = openUsers(process.env.USERS_DB ?? '.data/users.db');

async function api(method, path, body) {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(TOKEN ? { authorization: `Bearer ${TOKEN}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text === '' ? null : JSON.parse(text);
}

/** machineConfig is the user machine: a public service on 80 and a management service on 9090. */
function machineConfig(name, stateKey) {
  const service = (internalPort, port) => ({
    protocol: 'tcp',
    internal_port: internalPort,
    autostop: 'stop',
    autostart: true,
    min_machines_running: 0,
    ports: [{ port, handlers: ['http'] }],
  });
  return {
    init: { exec: ['node', 'apps/user-machine.js'] },
    env: { USER_NAME: name, STATE_KEY: stateKey, DATA_DIR: join(USER_DATA_DIR, name) },
    services: [service(8080, 80), service(9090, 9090)],
    ricochet: { cwd: EXAMPLE_DIR },
  };
}

async function createUser(name) {
  const existing = users.get(name);
  if (existing !== null) return { status: 200, user: existing };
  const app = `user-${name}`;
  // Private: no Host reaches a user app; only the router's replays do (spec §1.3.6).
  await api('POST', '/v1/apps', { app_name: app, org_slug: 'personal', ricochet: { public: false } });
  // The blueprint's pattern: one key per user app, known to the router and the app only.
  const stateKey = randomBytes(32).toString('base64url');
  const machine = await api('POST', `/v1/apps/${app}/machines`, { config: machineConfig(name, stateKey) });
  await api('GET', `/v1/apps/${app}/machines/${machine.id}/wait?state=started&timeout=30`);
  const user = { name, app, machine: machine.id, state_key: stateKey };
  users.put(user);
  return { status: 201, user };
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

createServer(async (req, res) => {
  const match = /^\/users(?:\/([a-z0-9-]{1,30}))?\/?$/.exec(new URL(req.url, 'http://x').pathname);
  try {
    if (match === null) return reply(res, 404, { error: 'try POST /users/<name>, GET /users, DELETE /users/<name>' });
    const name = match[1];
    if (req.method === 'GET' && name === undefined) return reply(res, 200, users.all());
    if (req.method === 'POST' && name !== undefined) {
      const { status, user } = await createUser(name);
      return reply(res, status, {
        user: user.name,
        app: user.app,
        machine: user.machine,
        preview: `http://${user.name}.localhost:8080/`,
        management: `http://${user.name}.localhost:9090/status`,
      });
    }
    if (req.method === 'DELETE' && name !== undefined) {
      const user = users.get(name);
      if (user === null) return reply(res, 404, { error: `no user ${name}` });
      await api('DELETE', `/v1/apps/${user.app}?force=true`);
      users.remove(name);
      return reply(res, 200, { deleted: user.app });
    }
    return reply(res, 405, { error: 'method not allowed' });
  } catch (error) {
    return reply(res, 502, { error: error.message });
  }
}).listen(Number(process.env.PORT), '127.0.0.1');
