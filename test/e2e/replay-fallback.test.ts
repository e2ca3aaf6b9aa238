/**
 * Replay timeout and fallback (spec §3; docs/replay.md "timeout and fallback"): a replay that
 * cannot reach its target goes back to the replaying machine (`force_self`) or its app
 * (`prefer_self`) with `fly-replay-failed`; a target that answers, even 5xx, is a success.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { test, type TestContext } from 'node:test';
import { parseReplayFailed } from '../../src/replay/replay-src.ts';
import { send, startBackend, startNode, type Backend, type TestNode } from '../harness/index.ts';

const SETTINGS = `region = "iad"
[regions]
iad = 0
sjc = 62
ams = 80
`;

function app(name: string, backends: Backend[], region = 'iad'): string {
  const machines = backends.map((b) => `  [[apps.machines]]\n  region = "${region}"\n  address = "${b.address}"\n`).join('');
  return `[[apps]]\nname = "${name}"\nhostnames = ["${name}.test"]\n  [apps.http_service]\n  internal_port = 8080\n${machines}`;
}

/** router replays with `replay` unless the request is a fallback delivery, which it answers. */
function router(name: string, replay: string | ((req: IncomingMessage) => string)) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const failed = req.headers['fly-replay-failed'];
    if (failed !== undefined) {
      res.end(JSON.stringify({ name, failed, preferredUnavailable: req.headers['fly-preferred-instance-unavailable'] ?? null }));
      return;
    }
    res.writeHead(409, { 'fly-replay': typeof replay === 'string' ? replay : replay(req) }).end();
  };
}

/** deadPort is a loopback port nothing listens on. */
async function deadPort(t: TestContext): Promise<number> {
  const probe = await startBackend(t, () => {});
  await new Promise<void>((resolve) => {
    probe.server.closeAllConnections();
    probe.server.close(() => resolve());
  });
  return probe.port;
}

/** kill makes a machine unreachable while the catalog still lists it as started. */
async function kill(t: TestContext, node: TestNode, id: string): Promise<void> {
  node.node.catalog.update(id, { runtime: { host: '127.0.0.1', ports: { '8080': await deadPort(t) } } });
}

/**
 * busyTarget runs app "target" with a hard limit of one request and a machine that holds
 * requests to /hold until the test ends; `occupy` fills that one slot, so a replay to the app
 * waits in the hard-limit queue (spec §8.2.5) until its timeout runs out.
 */
async function busyTarget(t: TestContext) {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let arrived: () => void = () => {};
  const holding = new Promise<void>((resolve) => (arrived = resolve));
  const backend = await startBackend(t, async (req, res) => {
    if (req.url === '/hold') {
      arrived();
      await held;
    }
    res.end('target');
  });
  t.after(() => release());
  const toml = `[[apps]]\nname = "target"\nhostnames = ["target.test"]\n  [apps.http_service]\n  internal_port = 8080\n  [apps.http_service.concurrency]\n  type = "requests"\n  soft_limit = 1\n  hard_limit = 1\n  [[apps.machines]]\n  region = "sjc"\n  address = "${backend.address}"\n`;
  const occupy = async (node: TestNode) => {
    send(node.url(), { host: 'target.test', path: '/hold' }).catch(() => {});
    await holding;
  };
  return { backend, toml, occupy };
}

function idOf(node: TestNode, appName: string, index = 0): string {
  return node.node.catalog.machines(appName)[index].id;
}

test('fallback=force_self after a timeout delivers back to the replaying machine with fly-replay-failed', async (t) => {
  const origin = await startBackend(t, router('origin', 'app=target;timeout=200ms;fallback=force_self'));
  const target = await busyTarget(t);
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + target.toml);
  await target.occupy(node);
  const started = performance.now();
  const res = await send(node.url(), { host: 'origin.test' });
  const elapsed = performance.now() - started;
  assert.equal(res.status, 200);
  const body = JSON.parse(res.body);
  assert.equal(body.name, 'origin');
  const header = String(body.failed);
  // No machine was chosen (all were busy), so instance and region are left out.
  assert.match(header, /^app=target;replay_source=[0-9a-f]+;reason=timeout;elapsed_ms=\d+$/);
  const failed = parseReplayFailed(header);
  assert.equal(failed?.replaySource, idOf(node, 'origin'));
  // The 200 ms deadline starts at the replay decision, a moment before the fallback's own clock,
  // and elapsed_ms is rounded: allow a few ms either side of the bounds.
  assert.ok(failed!.elapsedMs >= 195 && failed!.elapsedMs <= Math.ceil(elapsed) + 1, `elapsed_ms=${failed!.elapsedMs}, test saw ${elapsed} ms`);
});

test('fly-replay-failed names every field when the replay named the target instance', async (t) => {
  let targetId = '';
  const origin = await startBackend(t, router('origin', () => `app=target;instance=${targetId};timeout=200ms;fallback=force_self`));
  const target = await busyTarget(t);
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + target.toml);
  targetId = idOf(node, 'target');
  await target.occupy(node);
  const body = JSON.parse((await send(node.url(), { host: 'origin.test' })).body);
  const failed = parseReplayFailed(String(body.failed));
  assert.match(String(body.failed), /^instance=[^;]+;app=target;region=sjc;replay_source=[^;]+;reason=timeout;elapsed_ms=\d+$/);
  assert.deepEqual({ ...failed, elapsedMs: 0 }, { instance: targetId, app: 'target', region: 'sjc', replaySource: idOf(node, 'origin'), reason: 'timeout', elapsedMs: 0 });
});

test('fly-replay-failed says retries_exhausted when every target machine refuses the connection', async (t) => {
  const origin = await startBackend(t, router('origin', 'app=target;fallback=force_self'));
  const target = await startBackend(t, (_req, res) => res.end('target'));
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + app('target', [target], 'sjc'));
  const targetId = idOf(node, 'target');
  await kill(t, node, targetId);
  const body = JSON.parse((await send(node.url(), { host: 'origin.test' })).body);
  const failed = parseReplayFailed(String(body.failed));
  assert.equal(failed?.reason, 'retries_exhausted');
  assert.equal(failed?.instance, targetId);
  assert.equal(failed?.region, 'sjc');
  assert.equal(failed?.app, 'target');
});

test('fly-replay-failed says no_candidate when the target has no machine in the asked regions', async (t) => {
  const origin = await startBackend(t, router('origin', 'app=target;region=ams;fallback=force_self'));
  const target = await startBackend(t, (_req, res) => res.end('target'));
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + app('target', [target], 'sjc'));
  const body = JSON.parse((await send(node.url(), { host: 'origin.test' })).body);
  assert.match(String(body.failed), /^app=target;region=ams;replay_source=[^;]+;reason=no_candidate;elapsed_ms=\d+$/);
  assert.equal(target.requests.length, 0);
});

test('fallback=force_self goes to the replaying machine itself, not another machine of its app', async (t) => {
  const a = await startBackend(t, router('a', 'app=target;region=ams;fallback=force_self'));
  const b = await startBackend(t, router('b', 'app=target;region=ams;fallback=force_self'));
  const target = await startBackend(t, (_req, res) => res.end('target'));
  const node = await startNode(t, SETTINGS + app('origin', [a, b]) + app('target', [target]));
  const ids: Record<string, string> = { a: idOf(node, 'origin', 0), b: idOf(node, 'origin', 1) };
  for (let i = 0; i < 10; i++) {
    const body = JSON.parse((await send(node.url(), { host: 'origin.test' })).body);
    assert.equal(parseReplayFailed(String(body.failed))?.replaySource, ids[body.name]);
  }
});

test('fallback=force_self when the replaying machine is gone too is answered 502 PR03', async (t) => {
  let node: TestNode | undefined;
  let dead = 0;
  const origin = await startBackend(t, (req, res) => {
    // The replaying machine dies right after answering: its fallback has nowhere to go.
    node!.node.catalog.update(idOf(node!, 'origin'), { runtime: { host: '127.0.0.1', ports: { '8080': dead } } });
    res.writeHead(409, { 'fly-replay': 'app=target;region=ams;fallback=force_self' }).end();
  });
  const target = await startBackend(t, (_req, res) => res.end('target'));
  node = await startNode(t, SETTINGS + app('origin', [origin]) + app('target', [target]));
  dead = await deadPort(t);
  const res = await send(node.url(), { host: 'origin.test' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PR03');
  assert.equal(origin.requests.length, 1);
});

test('fallback=prefer_self goes to another machine of the replaying app when the replaying one is gone', async (t) => {
  let node: TestNode | undefined;
  let dead = 0;
  const make = (name: string, index: number) => (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers['fly-replay-failed'] !== undefined) {
      res.end(JSON.stringify({ name, failed: req.headers['fly-replay-failed'] }));
      return;
    }
    node!.node.catalog.update(idOf(node!, 'origin', index), { runtime: { host: '127.0.0.1', ports: { '8080': dead } } });
    res.writeHead(409, { 'fly-replay': 'app=target;region=ams;fallback=prefer_self' }).end();
  };
  const a = await startBackend(t, make('a', 0));
  const b = await startBackend(t, make('b', 1));
  const target = await startBackend(t, (_req, res) => res.end('target'));
  node = await startNode(t, SETTINGS + app('origin', [a, b]) + app('target', [target]));
  dead = await deadPort(t);
  const res = await send(node.url(), { host: 'origin.test' });
  assert.equal(res.status, 200);
  const body = JSON.parse(res.body);
  const replaySource = parseReplayFailed(String(body.failed))?.replaySource;
  const answeredBy = idOf(node, 'origin', body.name === 'a' ? 0 : 1);
  assert.notEqual(answeredBy, replaySource);
});

test('fallback=prefer_self goes back to the replaying machine while it is up', async (t) => {
  const origin = await startBackend(t, router('origin', 'app=target;region=ams;fallback=prefer_self'));
  const target = await startBackend(t, (_req, res) => res.end('target'));
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + app('target', [target]));
  const body = JSON.parse((await send(node.url(), { host: 'origin.test' })).body);
  assert.equal(body.name, 'origin');
  assert.equal(body.preferredUnavailable, null);
  assert.equal(parseReplayFailed(String(body.failed))?.reason, 'no_candidate');
});

test('a target that answers 5xx is a successful replay: no fallback', async (t) => {
  const origin = await startBackend(t, router('origin', 'app=target;timeout=1s;fallback=force_self'));
  const target = await startBackend(t, (_req, res) => res.writeHead(503).end('target is unhappy'));
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + app('target', [target]));
  const res = await send(node.url(), { host: 'origin.test' });
  assert.equal(res.status, 503);
  assert.equal(res.body, 'target is unhappy');
  assert.equal(res.headers['ricochet-error'], undefined);
  assert.equal(origin.requests.length, 1);
});

test('a replay that reaches its target ignores its fallback and sends no fly-replay-failed', async (t) => {
  const origin = await startBackend(t, router('origin', 'app=target;timeout=1s;fallback=prefer_self'));
  const target = await startBackend(t, (req, res) => res.end(`failed=${req.headers['fly-replay-failed'] ?? 'none'}`));
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + app('target', [target]));
  assert.equal((await send(node.url(), { host: 'origin.test' })).body, 'failed=none');
});

test('a timeout without a fallback is answered 502 PA06 once the timeout runs out', async (t) => {
  const origin = await startBackend(t, router('origin', 'app=target;timeout=200ms'));
  const target = await busyTarget(t);
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + target.toml);
  await target.occupy(node);
  const started = performance.now();
  const res = await send(node.url(), { host: 'origin.test' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PA06');
  // libuv timers count whole milliseconds of loop time: a 200 ms wait can measure 199.x ms here.
  assert.ok(performance.now() - started >= 195);
});

test('[replay] timeout_ms is the deadline of a replay that names no timeout', async (t) => {
  const origin = await startBackend(t, router('origin', 'app=target;fallback=force_self'));
  const target = await busyTarget(t);
  const node = await startNode(t, SETTINGS + '[replay]\ntimeout_ms = 200\n' + app('origin', [origin]) + target.toml);
  await target.occupy(node);
  const body = JSON.parse((await send(node.url(), { host: 'origin.test' })).body);
  assert.equal(parseReplayFailed(String(body.failed))?.reason, 'timeout');
});

test('a request delivered by a fallback cannot replay again: 502 PA07', async (t) => {
  const origin = await startBackend(t, (_req, res) => res.writeHead(409, { 'fly-replay': 'app=target;region=ams;fallback=force_self' }).end());
  const target = await startBackend(t, (_req, res) => res.end('target'));
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + app('target', [target]));
  const res = await send(node.url(), { host: 'origin.test' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PA07');
  assert.equal(origin.requests.length, 2, 'the first delivery and the fallback');
});

test('the fallback delivery re-sends the original request body', async (t) => {
  const origin = await startBackend(t, async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.headers['fly-replay-failed'] !== undefined) res.end(Buffer.concat(chunks));
    else res.writeHead(409, { 'fly-replay': 'app=target;region=ams;fallback=force_self' }).end();
  });
  const target = await startBackend(t, (_req, res) => res.end('target'));
  const node = await startNode(t, SETTINGS + app('origin', [origin]) + app('target', [target]));
  const res = await send(node.url(), { host: 'origin.test', method: 'POST', body: 'payload' });
  assert.equal(res.body, 'payload');
});
