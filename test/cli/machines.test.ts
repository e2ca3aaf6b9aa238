import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp, runCli, startApiNode } from '../harness/api.ts';
import { send, startBackend } from '../harness/index.ts';

const ECHO = fileURLToPath(new URL('../fixtures/apps/echo-env.ts', import.meta.url));

test('machines run starts a process machine with a progress line, and it serves requests', async (t) => {
  const { node, url } = await startApiNode(t);
  const cli = (...args: string[]) => runCli(args, {}, { api: node.apiUrl });
  await createApp(apiOf(node.apiUrl), 'tenant');
  const run = await cli('machines', 'run', '-a', 'tenant', '--port', '80:8080', '--env', 'GREETING=hi', '--json', '--', process.execPath, ECHO);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /Machine [0-9a-f]{14} is started/);
  const machine = JSON.parse(run.stdout) as { id: string; state: string };
  assert.equal(machine.state, 'started');
  const res = await send(url(), { host: 'tenant.localhost' });
  assert.equal((JSON.parse(res.body) as { env: Record<string, string> }).env.GREETING, 'hi');

  const [list, status] = await Promise.all([cli('machines', 'list', '-a', 'tenant'), cli('machines', 'status', machine.id, '-a', 'tenant')]);
  assert.match(list.stdout, new RegExp(`^ID\\s+NAME\\s+STATE.*\\n${machine.id}\\s+\\S+\\s+started\\s+iad\\s+process`, 's'));
  assert.match(status.stdout, /^State\s+started$/m);
  assert.match(status.stdout, /^Events\n/m);

  const refused = await cli('machines', 'destroy', machine.id, '-a', 'tenant');
  assert.equal(refused.code, 4);
  const stopped = await cli('machines', 'stop', machine.id, '-a', 'tenant', '--signal', 'TERM');
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(node.catalog.get(machine.id)?.state, 'stopped');
  const started = await cli('machines', 'start', machine.id, '-a', 'tenant');
  assert.equal(started.code, 0, started.stderr);
  assert.equal((await cli('machines', 'wait', machine.id, '-a', 'tenant', '--state', 'started')).code, 0);
  assert.equal((await cli('machines', 'destroy', machine.id, '-a', 'tenant', '--force')).code, 0);
});

test('exit codes: 3 for a missing machine, 5 for a wait that times out, 2 for bad usage, 7 for invalid input', async (t) => {
  const { node } = await startApiNode(t);
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  const cli = (...args: string[]) => runCli(args, {}, { api: node.apiUrl });
  await createApp(apiOf(node.apiUrl), 'tenant');
  const created = await cli('machines', 'run', '-a', 'tenant', '--address', backend.address, '--port', '80:8080', '--skip-launch', '--json');
  assert.equal(created.code, 0, created.stderr);
  const id = (JSON.parse(created.stdout) as { id: string }).id;
  const [missing, timeout, badUsage, noApp, invalid] = await Promise.all([
    cli('machines', 'status', '00000000000000', '-a', 'tenant'),
    cli('machines', 'wait', id, '-a', 'tenant', '--timeout', '1'),
    cli('machines', 'list', '-a', 'tenant', '--bogus'),
    cli('machines', 'list'),
    cli('machines', 'run', '-a', 'tenant', '--region', 'NOPE', '--address', backend.address),
  ]);
  assert.equal(missing.code, 3);
  assert.equal(timeout.code, 5);
  assert.equal(badUsage.code, 2);
  assert.equal(noApp.code, 2);
  assert.equal(invalid.code, 7);
  assert.match(invalid.stderr, /region/);
});

function apiOf(url: string) {
  return { url, post: (path: string, body: unknown) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() })) } as unknown as Parameters<typeof createApp>[0];
}
