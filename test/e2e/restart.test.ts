import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startNode } from '../harness/index.ts';
import { apiClient, createMachine, sleepConfig, waitFor } from '../harness/api.ts';

const ECHO_APP = fileURLToPath(new URL('../fixtures/apps/echo-env.ts', import.meta.url));

/** processApp is an app with one echo-env machine; `cwd` pinned so that two nodes see one config. */
function processApp(name: string, cwd = tmpdir()): string {
  return `
[[apps]]
name = "${name}"
hostnames = ["${name}.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  cmd = [${JSON.stringify(process.execPath)}, ${JSON.stringify(ECHO_APP)}]
  cwd = ${JSON.stringify(cwd)}
`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a machine suspended when the node stopped comes back stopped, a started one comes back started', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-restart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const toml = `state = ${JSON.stringify(join(dir, 'state.db'))}\n` + processApp('awake') + processApp('asleep');
  const first = await startNode(t, toml);
  const [asleep] = first.node.catalog.machines('asleep');
  await first.node.supervisor.suspend(asleep.id);
  await first.node.stop();

  const second = await startNode(t, toml);
  assert.equal(second.node.catalog.machines('awake')[0].state, 'started');
  assert.equal(second.node.catalog.get(asleep.id)?.state, 'stopped');
});

test('a config app removed by a reload takes its API-created machines with it, processes stopped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { node } = await startNode(t, processApp('keep') + processApp('drop') + '[api]\n');
  const api = apiClient(node.apiUrl);
  const created = await createMachine(api, 'drop', { config: sleepConfig() });
  await waitFor(api, 'drop', created.id);
  const pid = node.catalog.get(created.id)?.runtime?.pid;
  assert.ok(pid !== undefined && alive(pid));

  const { parseConfig } = await import('../../src/config/load.ts');
  const next = parseConfig(`state = ":memory:"\n[listen]\nhost = "127.0.0.1"\napi = "127.0.0.1:0"\nports = { 80 = 0, 443 = 0 }\n` + processApp('keep'), join(dir, 'ricochet.toml'));
  await node.reload(next.config);
  assert.equal(node.catalog.app('drop'), undefined);
  assert.equal(node.catalog.get(created.id), undefined);
  assert.equal(alive(pid), false);
});
