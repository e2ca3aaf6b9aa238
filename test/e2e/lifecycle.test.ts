import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setImmediate as tick } from 'node:timers/promises';
import { Client } from 'undici';
import { send, startBackend, startNode } from '../harness/index.ts';

const ECHO_APP = fileURLToPath(new URL('../fixtures/apps/echo-env.ts', import.meta.url));

function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

test('shutdown lets an in-flight request finish, then refuses new connections', async (t) => {
  let release: () => void = () => {};
  const backend = await startBackend(t, (_req, res) => {
    release = () => res.end('finished');
  });
  const { url, node } = await startNode(
    t,
    `[[apps]]
name = "slow"
hostnames = ["slow.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  const base = url();
  const inflight = send(base, { host: 'slow.test' });
  while (backend.requests.length === 0) await tick();
  const stopped = node.stop();
  await tick();
  release();
  assert.equal((await inflight).body, 'finished');
  await stopped;
  await assert.rejects(send(base, { host: 'slow.test' }), /ECONNREFUSED|other side closed|SocketError/);
});

test('a stopped node leaves no server, socket, child process or timer behind', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('static'));
  const before = resources();
  const { url, node } = await startNode(
    t,
    `[[apps]]
name = "proc"
hostnames = ["proc.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.http_service.checks]]
  interval = "1s"
  grace_period = "0s"
  path = "/"
  [[apps.machines]]
  cmd = [${JSON.stringify(process.execPath)}, ${JSON.stringify(ECHO_APP)}]
[[apps]]
name = "stat"
hostnames = ["stat.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  const client = new Client(url());
  assert.equal((await client.request({ path: '/', method: 'GET', headers: { host: 'proc.test' } })).statusCode, 200);
  assert.equal((await client.request({ path: '/', method: 'GET', headers: { host: 'stat.test' } })).statusCode, 200);
  await client.close();
  await node.stop();
  for (let i = 0; i < 5; i++) await tick();
  const after = resources();
  for (const kind of ['TCPServerWrap', 'TCPSocketWrap', 'ProcessWrap', 'Timeout', 'PipeWrap']) {
    assert.ok((after.get(kind) ?? 0) <= (before.get(kind) ?? 0), `${kind}: ${before.get(kind) ?? 0} before, ${after.get(kind) ?? 0} after`);
  }
});

test('requests keep flowing while the catalog changes under them', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('steady'));
  const { url, node } = await startNode(
    t,
    `[[apps]]
name = "steady"
hostnames = ["steady.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  const template = node.catalog.app('steady')!;
  let churn = true;
  const churning = (async () => {
    for (let i = 0; churn; i++) {
      node.catalog.putApp({ ...template, name: `other-${i}`, id: `other-${i}`, hostnames: [`other-${i}.test`] });
      if (i > 0) node.catalog.deleteApp(`other-${i - 1}`);
      await tick();
    }
  })();
  const answers = await Promise.all(Array.from({ length: 200 }, () => send(url(), { host: 'steady.test' })));
  churn = false;
  await churning;
  assert.ok(answers.every((a) => a.status === 200 && a.body === 'steady'));
});
