/**
 * Request bodies and replay (spec §1.3.12; docs/replay.md "Request bodies"): the body is teed
 * into a buffer capped at `[replay] max_body_bytes` while it streams to the first machine, so a
 * replay re-sends it byte for byte, and a body over the cap is refused with PA01 only when a
 * replay asks for it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { send, startBackend, startNode, type Backend } from '../harness/index.ts';

const KIB = 1024;
const MIB = 1024 * KIB;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** digest answers with the sha256 and length of the body it received. */
function digest(name: string) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readAll(req);
    res.end(JSON.stringify({ name, sha256: sha256(body), length: body.length, src: req.headers['fly-replay-src'] ?? null }));
  };
}

function app(name: string, backend: Backend): string {
  return `[[apps]]\nname = "${name}"\nhostnames = ["${name}.test"]\n  [apps.http_service]\n  internal_port = 8080\n  [[apps.machines]]\n  address = "${backend.address}"\n`;
}

/**
 * setup runs a router that replays to `target`, reading the whole body first or not at all,
 * and a target that answers with the digest of what it received.
 */
async function setup(t: TestContext, options: { readFirst: boolean; settings?: string }) {
  const router = await startBackend(t, async (req, res) => {
    if (options.readFirst) await readAll(req);
    res.writeHead(409, { 'fly-replay': 'app=target' }).end();
  });
  const target = await startBackend(t, digest('target'));
  const node = await startNode(t, (options.settings ?? '') + app('router', router) + app('target', target));
  return { node, router, target };
}

/** post sends a body with node:http so the test controls chunked vs content-length framing. */
async function post(port: number, host: string, chunks: Buffer[], chunked: boolean): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/upload',
    headers: chunked ? { host, 'transfer-encoding': 'chunked' } : { host, 'content-length': String(total) },
  });
  const response = once(req, 'response') as Promise<[IncomingMessage]>;
  req.on('error', () => {});
  for (const chunk of chunks) req.write(chunk);
  req.end();
  const [res] = await response;
  return { status: res.statusCode ?? 0, headers: res.headers, body: (await readAll(res)).toString('utf8') };
}

for (const size of [64 * KIB, MIB]) {
  test(`a ${size / KIB} KiB body arrives at the replay target byte for byte`, async (t) => {
    const { node } = await setup(t, { readFirst: true });
    const body = randomBytes(size);
    const res = await send(node.url(), { host: 'router.test', method: 'POST', body });
    assert.equal(res.status, 200);
    const got = JSON.parse(res.body);
    assert.equal(got.length, size);
    assert.equal(got.sha256, sha256(body));
  });
}

test('a 1 MiB body is replayed whole when the router answers before reading it', async (t) => {
  const { node } = await setup(t, { readFirst: false });
  const body = randomBytes(MIB);
  const res = await send(node.url(), { host: 'router.test', method: 'POST', body });
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).sha256, sha256(body));
});

test('a chunked 1 MiB body is replayed whole', async (t) => {
  const { node } = await setup(t, { readFirst: true });
  const body = randomBytes(MIB);
  const chunks = Array.from({ length: 16 }, (_, i) => body.subarray(i * 64 * KIB, (i + 1) * 64 * KIB));
  const res = await post(node.port(), 'router.test', chunks, true);
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).sha256, sha256(body));
});

test('a body survives a chain of replays across three apps', async (t) => {
  const first = await startBackend(t, async (req, res) => {
    await readAll(req);
    res.writeHead(409, { 'fly-replay': 'app=second' }).end();
  });
  const second = await startBackend(t, async (req, res) => {
    await readAll(req);
    res.writeHead(409, { 'fly-replay': 'app=third' }).end();
  });
  const third = await startBackend(t, digest('third'));
  const node = await startNode(t, app('first', first) + app('second', second) + app('third', third));
  const body = randomBytes(512 * KIB);
  const got = JSON.parse((await send(node.url(), { host: 'first.test', method: 'PUT', body })).body);
  assert.equal(got.name, 'third');
  assert.equal(got.sha256, sha256(body));
});

test('a replay of a body over max_body_bytes is answered 413 PA01 and logged', async (t) => {
  const { node, target } = await setup(t, { readFirst: true });
  const res = await send(node.url(), { host: 'router.test', method: 'POST', body: randomBytes(MIB + 1) });
  assert.equal(res.status, 413);
  assert.equal(res.headers['ricochet-error'], 'PA01');
  assert.match(res.body, /^PA01: /);
  assert.equal(target.requests.length, 0);
  await node.logs.waitFor((line) => line.code === 'PA01');
});

test('a replay of a chunked body over max_body_bytes is answered 413 PA01', async (t) => {
  const { node, target } = await setup(t, { readFirst: true });
  const chunks = Array.from({ length: 20 }, () => randomBytes(64 * KIB));
  const res = await post(node.port(), 'router.test', chunks, true);
  assert.equal(res.status, 413);
  assert.equal(res.headers['ricochet-error'], 'PA01');
  assert.equal(target.requests.length, 0);
});

test('a replay of an oversized body is refused even when the router never read it', async (t) => {
  const { node, target } = await setup(t, { readFirst: false });
  const res = await send(node.url(), { host: 'router.test', method: 'POST', body: randomBytes(3 * MIB) });
  assert.equal(res.status, 413);
  assert.equal(res.headers['ricochet-error'], 'PA01');
  assert.equal(target.requests.length, 0);
});

test('[replay] max_body_bytes sets the cap', async (t) => {
  const { node } = await setup(t, { readFirst: true, settings: '[replay]\nmax_body_bytes = 1024\n' });
  const fits = randomBytes(1024);
  const ok = await send(node.url(), { host: 'router.test', method: 'POST', body: fits });
  assert.equal(JSON.parse(ok.body).sha256, sha256(fits));
  const over = await send(node.url(), { host: 'router.test', method: 'POST', body: randomBytes(1025) });
  assert.equal(over.headers['ricochet-error'], 'PA01');
});

test('a body over the cap that is never replayed streams through untouched', async (t) => {
  const target = await startBackend(t, digest('plain'));
  const node = await startNode(t, app('plain', target));
  const body = randomBytes(3 * MIB);
  const res = await send(node.url(), { host: 'plain.test', method: 'POST', body });
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).sha256, sha256(body));
});

test('the body reaches the first machine before the client has finished sending it', async (t) => {
  let firstBytes: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (firstBytes = resolve));
  const target = await startBackend(t, async (req, res) => {
    req.once('data', () => firstBytes());
    const body = await readAll(req);
    res.end(String(body.length));
  });
  const node = await startNode(t, app('stream', target));
  const req = httpRequest({ host: '127.0.0.1', port: node.port(), method: 'POST', path: '/', headers: { host: 'stream.test', 'transfer-encoding': 'chunked' } });
  const response = once(req, 'response') as Promise<[IncomingMessage]>;
  req.write(randomBytes(16 * KIB));
  // Only once the machine has seen bytes does the client send the rest: a proxy that buffered
  // the body before forwarding would never get here.
  await arrived;
  req.end(randomBytes(16 * KIB));
  const [res] = await response;
  assert.equal((await readAll(res)).toString(), String(32 * KIB));
});

test('the body is re-sent to the next machine when the first refuses the connection', async (t) => {
  const alive = await startBackend(t, digest('alive'));
  const node = await startNode(
    t,
    `[[apps]]\nname = "retry"\nhostnames = ["retry.test"]\n  [apps.http_service]\n  internal_port = 8080\n  [[apps.machines]]\n  address = "${alive.address}"\n  [[apps.machines]]\n  address = "${alive.address}"\n`,
    { random: () => 0 },
  );
  const dead = node.node.catalog.machines('retry')[0];
  const probe = await startBackend(t, () => {});
  const deadPort = probe.port;
  await new Promise<void>((resolve) => probe.server.close(() => resolve()));
  node.node.catalog.update(dead.id, { runtime: { host: '127.0.0.1', ports: { '8080': deadPort } } });
  const body = randomBytes(256 * KIB);
  for (let i = 0; i < 3; i++) {
    const res = await send(node.url(), { host: 'retry.test', method: 'PUT', body });
    assert.equal(JSON.parse(res.body).sha256, sha256(body));
  }
});

test('a body sent with Expect: 100-continue is forwarded and replayed', async (t) => {
  const { node } = await setup(t, { readFirst: true });
  const body = randomBytes(2 * 64 * KIB);
  const req = httpRequest({
    host: '127.0.0.1',
    port: node.port(),
    method: 'POST',
    path: '/upload',
    headers: { host: 'router.test', 'content-length': String(body.length), expect: '100-continue' },
  });
  const response = once(req, 'response') as Promise<[IncomingMessage]>;
  await once(req, 'continue');
  req.end(body);
  const [res] = await response;
  assert.equal(res.statusCode, 200);
  assert.equal(JSON.parse((await readAll(res)).toString()).sha256, sha256(body));
});
