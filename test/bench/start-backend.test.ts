/**
 * Tests of startBackend on the wire: the nginx backend (`--backend nginx`) and the node one,
 * started as the harness starts them, must give the same answers, and must be gone once stopped
 * by PID. No load: a few requests each. `node --test test/bench/start-backend.test.ts`.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BackendMode } from '../../bench/cases.ts';
import { findExecutable } from '../../bench/cases.ts';
import { freePorts } from '../../bench/free-ports.ts';
import { probe, waitUntilReady } from '../../bench/probe.ts';
import { ProcessGroup } from '../../bench/process-group.ts';
import type { StartedProcess } from '../../bench/process-group.ts';
import { processTree, readProcStat } from '../../bench/proc-stat.ts';
import type { Probe } from '../../bench/scenarios.ts';
import { SCENARIOS } from '../../bench/scenarios.ts';
import { missingBackend, startBackend } from '../../bench/start-backend.ts';
import type { BackendKind } from '../../bench/start-backend.ts';

const BENCH_DIR = fileURLToPath(new URL('../../bench/', import.meta.url));
const MODES: readonly BackendMode[] = ['plain', 'replay', 'replay-cache'];
const START_TIMEOUT_MS = 10_000;
/** CORE pins the test's backends to the one core every machine has. */
const CORE = '0';
const NGINX_MISSING = findExecutable('nginx') === null ? 'nginx is not installed' : false;

const status200: Probe = { method: 'GET', path: '/', headers: {}, body: null, check: (status) => (status === 200 ? null : `status ${status}`) };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(port: number, method: string, reqPath: string, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: reqPath, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** coresOf returns the cores a process may run on (`Cpus_allowed_list`). */
function coresOf(pid: number): string {
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
}

/** startAll starts a backend of `kind` in every mode, as measure() does, and waits until each answers. */
async function startAll(kind: BackendKind, t: { after(fn: () => Promise<void>): void }) {
  const group = new ProcessGroup();
  const dir = mkdtempSync(path.join(os.tmpdir(), `ricochet-bench-${kind}-backend-test-`));
  // As runCase does with the case dir: nginx's worker drops root and must reach its files.
  chmodSync(dir, 0o755);
  t.after(async () => {
    await group.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });
  const ports = await freePorts(MODES.length);
  const backends = new Map<BackendMode, { process: StartedProcess; port: number }>();
  MODES.forEach((mode, i) => {
    const started = startBackend({
      group, kind, mode, port: ports[i], core: CORE, dir: path.join(dir, `backend-${i}-${mode}`), node: process.execPath, benchDir: BENCH_DIR,
    });
    backends.set(mode, { process: started, port: ports[i] });
  });
  await Promise.all([...backends.values()].map((b) => waitUntilReady(b.port, status200, null, [b.process], START_TIMEOUT_MS)));
  return { group, backends };
}

async function assertAnswersLikeBackendTs(backends: Map<BackendMode, { port: number }>): Promise<void> {
  const plain = backends.get('plain')!.port;
  const hello = await request(plain, 'GET', '/');
  assert.equal(hello.status, 200);
  assert.equal(hello.headers['content-type'], 'text/plain');
  assert.equal(hello.body.toString(), 'hello, world\n');
  assert.equal((await request(plain, 'GET', '/64k')).body.length, 65536);
  assert.equal((await request(plain, 'POST', '/upload', Buffer.alloc(100_000, 'x'))).body.toString(), '100000\n');
  // The scenarios' own probes (the upload one sends 1 MiB) pass against the plain backend.
  for (const name of ['small', '64k', 'upload-1m']) {
    const p = SCENARIOS.get(name)!.probe;
    const answer = await probe(plain, p, null);
    assert.ok(!('error' in answer), name);
    assert.equal(p.check(answer.status, answer.body), null, name);
  }
  for (const mode of ['replay', 'replay-cache'] as const) {
    const answer = await request(backends.get(mode)!.port, 'POST', '/any/path', Buffer.from('ignored'));
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['fly-replay'], 'app=target');
    assert.equal(answer.headers['content-length'], '0');
    assert.equal(answer.body.length, 0);
    assert.equal(answer.headers['fly-replay-cache'], mode === 'replay-cache' ? '/*' : undefined);
    assert.equal(answer.headers['fly-replay-cache-ttl-secs'], mode === 'replay-cache' ? '60' : undefined);
  }
}

test('the nginx backend answers what bench/backend.ts answers in each mode, pinned to its core, and is gone once stopped by PID', { skip: NGINX_MISSING }, async (t) => {
  assert.equal(missingBackend('nginx'), null);
  const { group, backends } = await startAll('nginx', t);
  await assertAnswersLikeBackendTs(backends);
  for (const { process: started } of backends.values()) {
    const tree = processTree(started.pid);
    // One master and its one worker, both on the core asked for.
    assert.equal(tree.length, 2);
    for (const stat of tree) assert.equal(coresOf(stat.pid), CORE);
    await group.stop(started);
    assert.notEqual(started.exitStatus(), null);
    for (const stat of tree) assert.notEqual(readProcStat(stat.pid)?.startTicks, stat.startTicks, `pid ${stat.pid} still runs`);
  }
});

test('the node backend started the same way gives the same answers', async (t) => {
  assert.equal(missingBackend('node'), null);
  const { group, backends } = await startAll('node', t);
  await assertAnswersLikeBackendTs(backends);
  for (const { process: started } of backends.values()) {
    const before = readProcStat(started.pid);
    assert.equal(coresOf(started.pid), CORE);
    await group.stop(started);
    assert.notEqual(readProcStat(started.pid)?.startTicks, before?.startTicks);
  }
});
