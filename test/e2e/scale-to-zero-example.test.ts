/**
 * The example `npm start` runs (examples/dev/ricochet.toml) shows scale to zero: idle tenant
 * machines stop (tenant-b suspends), the next request wakes one, and each transition is one log
 * line. The config is the example's own, with free ports and an in-memory catalog; autostop
 * passes are run by the test with an injected clock.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/load.ts';
import { RicochetNode } from '../../src/node.ts';
import { CapturedLogs, send } from '../harness/index.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/dev/ricochet.toml', import.meta.url));

test('the npm start example stops idle tenants, wakes one on the next request, and logs each transition', async (t) => {
  const text = readFileSync(EXAMPLE, 'utf8')
    .replace(/^state = .*$/m, 'state = ":memory:"')
    .replace(/^api = .*$/m, 'api = "127.0.0.1:0"')
    .replace(/^ports = .*$/m, 'ports = { 80 = 0 }');
  const { config } = parseConfig(text, EXAMPLE);
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const logs = new CapturedLogs();
  const node = await RicochetNode.start(config, { logger: logs.logger, now: () => clock.now });
  t.after(() => node.stop());
  const url = node.url(80);
  const id = (app: string, region: string) => node.catalog.machines(app).find((m) => m.region === region)!.id;
  const tenantA = id('tenant-a', 'iad');
  const tenantB = id('tenant-b', 'sjc');

  const first = await send(url, { host: 'localhost', path: '/a' });
  assert.equal(first.status, 200);
  assert.match(first.body, new RegExp(`machine ${tenantA} in region iad`));

  clock.now += config.machines.autostop_interval_ms;
  const pass = await node.autostop.pass();
  assert.deepEqual(pass.stopped.sort(), [tenantA, id('tenant-a', 'sjc')].sort());
  assert.deepEqual(pass.suspended, [tenantB]);
  assert.equal(node.catalog.get(id('router', 'iad'))!.state, 'started');
  const transitions = (from: number) =>
    logs.lines.slice(from).filter((l) => /^machine (starting|started|stopping|stopped|suspending|suspended)$/.test(String(l.msg)) || String(l.msg).startsWith('autostop:'));
  assert.deepEqual(
    transitions(0)
      .filter((l) => l.machine === tenantA)
      .map((l) => l.msg)
      .slice(-3),
    ['autostop: stopping machine', 'machine stopping', 'machine stopped'],
  );

  let before = logs.lines.length;
  const woken = await send(url, { host: 'localhost', path: '/a' });
  assert.equal(woken.status, 200);
  assert.match(woken.body, new RegExp(`machine ${tenantA} in region iad`));
  assert.deepEqual(transitions(before).map((l) => [l.msg, l.machine]), [
    ['machine starting', tenantA],
    ['machine started', tenantA],
  ]);

  before = logs.lines.length;
  const resumed = await send(url, { host: 'localhost', path: '/b' });
  assert.equal(resumed.status, 200);
  assert.match(resumed.body, /Hello from Tenant B/);
  const lines = transitions(before);
  assert.deepEqual(lines.map((l) => [l.msg, l.machine]), [
    ['machine starting', tenantB],
    ['machine started', tenantB],
  ]);
  assert.equal(lines[1].resumed, true);
});
