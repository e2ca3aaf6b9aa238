/**
 * Health checks and routing on the wire (spec §10): service checks run by Ricochet against each
 * machine's own address take a failing machine out of the balancer until it passes again, with
 * one log line per change; top-level [checks] never affect routing. Checks are run on demand
 * with `checkNow` (the interval is long), so no test waits for a timer.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { send, startBackend, startNode } from '../harness/index.ts';

/** toggled runs a backend whose /health answers 200 or 500 as `state.healthy` says. */
async function toggled(t: TestContext, name: string) {
  const state = { healthy: true };
  const backend = await startBackend(t, (req, res) => {
    if (req.url === '/health') {
      res.statusCode = state.healthy ? 200 : 500;
      res.end(state.healthy ? 'ok' : 'failing');
      return;
    }
    res.end(name);
  });
  return { ...backend, state };
}

const SERVICE_CHECK = `
    [[apps.http_service.checks]]
    grace_period = "0s"
    interval = "60s"
    timeout = "2s"
    method = "GET"
    path = "/health"
`;

test('a machine failing its service check gets no traffic until it passes again, each change logged', async (t) => {
  const local = await toggled(t, 'local');
  const remote = await toggled(t, 'remote');
  const { url, node, logs } = await startNode(
    t,
    `region = "iad"
[regions]
iad = 0
sjc = 62
[[apps]]
name = "checked"
hostnames = ["checked.test"]
  [apps.http_service]
  internal_port = 8080
${SERVICE_CHECK}
  [[apps.machines]]
  region = "iad"
  address = "${local.address}"
  [[apps.machines]]
  region = "sjc"
  address = "${remote.address}"
`,
  );
  const id = node.catalog.machines('checked').find((m) => m.region === 'iad')!.id;
  const changed = (to: string) => (l: Record<string, unknown>) => l.msg === 'machine health changed' && l.machine === id && l.to === to;
  await logs.waitFor(changed('passing'));
  assert.equal((await send(url(), { host: 'checked.test' })).body, 'local');

  local.state.healthy = false;
  await node.health.checkNow(id);
  const down = await logs.waitFor(changed('critical'));
  assert.equal(down.level, 40);
  assert.equal(down.from, 'passing');
  // Every local machine is unhealthy: traffic crosses to sjc (spec §8.2.4).
  for (let i = 0; i < 3; i++) assert.equal((await send(url(), { host: 'checked.test' })).body, 'remote');
  assert.equal(node.catalog.get(id)!.checks[0].status, 'critical');

  local.state.healthy = true;
  await node.health.checkNow(id);
  await logs.waitFor((l) => changed('passing')(l) && l.from === 'critical');
  assert.equal((await send(url(), { host: 'checked.test' })).body, 'local');
  // The check went to the machine's own address, never through the proxy.
  assert.ok(local.requests.filter((r) => r.url === '/health').every((r) => r.headers['fly-request-id'] === undefined));
});

test('a lone machine failing its checks answers 503 PR01 rather than being used', async (t) => {
  const only = await toggled(t, 'only');
  const { url, node, logs } = await startNode(
    t,
    `[[apps]]
name = "lonely"
hostnames = ["lonely.test"]
  [apps.http_service]
  internal_port = 8080
${SERVICE_CHECK}
  [[apps.machines]]
  address = "${only.address}"
`,
  );
  const [machine] = node.catalog.machines('lonely');
  await logs.waitFor((l) => l.msg === 'machine health changed' && l.to === 'passing');
  only.state.healthy = false;
  await node.health.checkNow(machine.id);
  const res = await send(url(), { host: 'lonely.test' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PR01');
});

test('top-level [checks] are not run by the proxy and never take a machine out of routing', async (t) => {
  const only = await toggled(t, 'only');
  only.state.healthy = false;
  const { url, node, logs } = await startNode(
    t,
    `[[apps]]
name = "toplevel"
hostnames = ["toplevel.test"]
  [apps.http_service]
  internal_port = 8080
  [checks.alive]
  type = "http"
  port = 8080
  path = "/health"
  interval = "1s"
  grace_period = "0s"
  [[apps.machines]]
  address = "${only.address}"
`,
  );
  const [machine] = node.catalog.machines('toplevel');
  await node.health.checkNow(machine.id);
  for (let i = 0; i < 3; i++) assert.equal((await send(url(), { host: 'toplevel.test' })).body, 'only');
  assert.equal(only.requests.filter((r) => r.url === '/health').length, 0);
  assert.equal(logs.find((l) => l.msg === 'machine health changed').length, 0);
});
