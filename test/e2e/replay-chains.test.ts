/**
 * Chained replays (spec §1.3.8): a target may replay again, up to `[replay] max_hops` (10)
 * times; one more is PA02, and so is a machine that replays the request to itself.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { send, startBackend, startNode, type Backend } from '../harness/index.ts';

function app(name: string, backend: Backend): string {
  return `[[apps]]\nname = "${name}"\nhostnames = ["${name}.test"]\n  [apps.http_service]\n  internal_port = 8080\n  [[apps.machines]]\n  address = "${backend.address}"\n`;
}

/** hopper replays to app `next`, or answers with the fly-replay-src it got when next is null. */
function hopper(next: string | null) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (next !== null) res.writeHead(307, { 'fly-replay': `app=${next}` }).end();
    else res.end(String(req.headers['fly-replay-src'] ?? 'none'));
  };
}

/** chain runs apps hop0 … hopN where hop i replays to hop i+1 and the last answers. */
async function chain(t: Parameters<typeof startBackend>[0], replays: number) {
  let toml = '';
  const backends: Backend[] = [];
  for (let i = 0; i <= replays; i++) {
    const backend = await startBackend(t, hopper(i < replays ? `hop${i + 1}` : null));
    backends.push(backend);
    toml += app(`hop${i}`, backend);
  }
  const node = await startNode(t, toml);
  return { node, backends };
}

test('a chain of replays through three apps ends at the last one, which sees the last replayer', async (t) => {
  const { node } = await chain(t, 2);
  const res = await send(node.url(), { host: 'hop0.test' });
  assert.equal(res.status, 200);
  const [hop1] = node.node.catalog.machines('hop1');
  assert.match(res.body, new RegExp(`^instance=${hop1.id};region=iad;t=\\d{16}$`));
});

test('exactly 10 chained replays are followed', async (t) => {
  const { node, backends } = await chain(t, 10);
  const res = await send(node.url(), { host: 'hop0.test' });
  assert.equal(res.status, 200);
  assert.equal(backends[10].requests.length, 1);
});

test('an 11th chained replay is answered 508 PA02', async (t) => {
  const { node, backends } = await chain(t, 11);
  const res = await send(node.url(), { host: 'hop0.test' });
  assert.equal(res.status, 508);
  assert.equal(res.headers['ricochet-error'], 'PA02');
  assert.equal(backends[11].requests.length, 0, 'the 11th replay is not followed');
  await node.logs.waitFor((line) => line.code === 'PA02');
});

test('two apps replaying to each other are stopped after 10 replays with PA02', async (t) => {
  const ping = await startBackend(t, hopper('pong'));
  const pong = await startBackend(t, hopper('ping'));
  const node = await startNode(t, app('ping', ping) + app('pong', pong));
  const res = await send(node.url(), { host: 'ping.test' });
  assert.equal(res.status, 508);
  assert.equal(res.headers['ricochet-error'], 'PA02');
  assert.equal(ping.requests.length + pong.requests.length, 11, 'the first delivery and 10 replays');
});

test('[replay] max_hops sets the chain limit', async (t) => {
  let toml = '[replay]\nmax_hops = 2\n';
  const backends: Backend[] = [];
  for (let i = 0; i <= 3; i++) {
    const backend = await startBackend(t, hopper(i < 3 ? `hop${i + 1}` : null));
    backends.push(backend);
    toml += app(`hop${i}`, backend);
  }
  const node = await startNode(t, toml);
  const res = await send(node.url(), { host: 'hop0.test' });
  assert.equal(res.headers['ricochet-error'], 'PA02');
  assert.equal(backends[3].requests.length, 0);
});

test('a machine that replays to its own instance is answered 508 PA02 at once', async (t) => {
  let selfId = '';
  const self = await startBackend(t, (_req, res) => res.writeHead(409, { 'fly-replay': `instance=${selfId}` }).end());
  const node = await startNode(t, app('self', self));
  selfId = node.node.catalog.machines('self')[0].id;
  const res = await send(node.url(), { host: 'self.test' });
  assert.equal(res.status, 508);
  assert.equal(res.headers['ricochet-error'], 'PA02');
  assert.equal(self.requests.length, 1);
});

test('a replay within the same app with no fields load-balances to a machine again', async (t) => {
  const make = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers['fly-replay-src'] === undefined) res.writeHead(409, { 'fly-replay': 'elsewhere=false' }).end();
    else res.end(name);
  };
  const one = await startBackend(t, make('one'));
  const node = await startNode(t, app('same', one));
  const res = await send(node.url(), { host: 'same.test' });
  assert.equal(res.body, 'one');
  assert.equal(one.requests.length, 2);
});

test('an error after a chain names the code and the request id in the body', async (t) => {
  const first = await startBackend(t, hopper('second'));
  const second = await startBackend(t, hopper('missing'));
  const node = await startNode(t, app('first', first) + app('second', second));
  const res = await send(node.url(), { host: 'first.test' });
  assert.equal(res.headers['ricochet-error'], 'PA04');
  assert.ok(res.body.includes(String(res.headers['fly-request-id'])));
});
