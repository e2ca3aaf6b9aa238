import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp, runCli, startApiNode } from '../harness/api.ts';
import { send } from '../harness/index.ts';

const ECHO = fileURLToPath(new URL('../fixtures/apps/echo-env.ts', import.meta.url));

test('launch creates the app of a fly.toml and its machine, which serves requests', async (t) => {
  const { node, url, dir } = await startApiNode(t);
  const flyToml = join(dir, 'fly.toml');
  writeFileSync(flyToml, 'app = "launched"\nprimary_region = "iad"\n\n[env]\n  GREETING = "from fly.toml"\n\n[http_service]\n  internal_port = 8080\n');
  const launched = await runCli(['launch', flyToml, '--', process.execPath, ECHO], {}, { api: node.apiUrl });
  assert.equal(launched.code, 0, launched.stderr);
  assert.match(launched.stdout, /started/);
  const res = await send(url(), { host: 'launched.localhost' });
  const body = JSON.parse(res.body) as { env: Record<string, string> };
  assert.equal(body.env.GREETING, 'from fly.toml');
  assert.equal(body.env.FLY_APP_NAME, 'launched');
  const again = await runCli(['launch', flyToml, '--', process.execPath, ECHO], {}, { api: node.apiUrl });
  assert.equal(again.code, 4);
});

function apiOf(url: string) {
  return { url, post: (path: string, body: unknown) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() })) } as unknown as Parameters<typeof createApp>[0];
}
