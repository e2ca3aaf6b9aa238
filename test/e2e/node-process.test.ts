/**
 * The `ricochet` command as a user runs it: a real child process, real signals.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { send } from '../harness/index.ts';

const BIN = fileURLToPath(new URL('../../bin/ricochet.js', import.meta.url));
const ECHO_APP = fileURLToPath(new URL('../fixtures/apps/echo-env.ts', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(args: string[]): Promise<RunResult> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** ServingNode is a `ricochet serve` child whose JSON log lines the test can wait for. */
class ServingNode {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  #waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];

  constructor(configPath: string) {
    this.child = spawn(process.execPath, [BIN, 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      if (!text.startsWith('{')) return;
      const line = JSON.parse(text) as Record<string, unknown>;
      this.lines.push(line);
      this.#waiters = this.#waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
    });
  }

  waitFor(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  async url(publicPort: number): Promise<string> {
    const line = await this.waitFor((l) => l.msg === 'listening' && l.port === publicPort);
    return `http://${String(line.listen)}`;
  }
}

function nodeConfig(dir: string, apps: string): string {
  const path = join(dir, 'ricochet.toml');
  writeFileSync(
    path,
    `state = "state.db"
[listen]
host = "127.0.0.1"
api = "127.0.0.1:0"
ports = { 80 = 0, 443 = 0 }
${apps}`,
  );
  return path;
}

function echoApp(name: string): string {
  return `
[[apps]]
name = "${name}"
hostnames = ["${name}.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  cmd = [${JSON.stringify(process.execPath)}, ${JSON.stringify(ECHO_APP)}]
`;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

test('ricochet --version prints the package version', async () => {
  const result = await run(['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), PACKAGE.version);
});

test('ricochet --help lists the commands and exits 0; an unknown command exits 2', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /ricochet serve/);
  assert.match(help.stdout, /ricochet dev/);
  const unknown = await run(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});

test('ricochet check names the key, the value and what is allowed in an invalid config', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'bad.toml');
  writeFileSync(path, '[replay]\nmax_body_bytes = "lots"\n');
  const result = await run(['check', '--config', path]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /replay\.max_body_bytes/);
  assert.match(result.stderr, /lots/);
});

test('ricochet check warns about an unknown key, naming the key and the file', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'odd.toml');
  writeFileSync(path, 'regoin = "iad"\n');
  const result = await run(['check', '--config', path]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /odd\.toml.*regoin/);
});

test('ricochet serve routes to its machines, and SIGTERM drains, stops them and exits 0', async (t) => {
  const dir = tempDir(t);
  const node = new ServingNode(nodeConfig(dir, echoApp('echo')));
  t.after(() => node.child.kill('SIGKILL'));
  const res = await send(await node.url(80), { host: 'echo.test' });
  assert.equal(res.status, 200);
  const { pid, hostname } = JSON.parse(res.body) as { pid: number; hostname: string };
  assert.ok(alive(pid));
  assert.match(hostname, /^[0-9a-f]{14}$/);
  node.child.kill('SIGTERM');
  const [code] = (await once(node.child, 'exit')) as [number | null];
  assert.equal(code, 0);
  assert.equal(alive(pid), false, 'the machine process is gone after shutdown');
  assert.ok(node.lines.some((l) => l.msg === 'stopped'));
});

test('SIGHUP reloads the config: a new app routes, and an invalid file keeps the running config', async (t) => {
  const dir = tempDir(t);
  const path = nodeConfig(dir, echoApp('first'));
  const node = new ServingNode(path);
  t.after(() => node.child.kill('SIGKILL'));
  const url = await node.url(80);
  assert.equal((await send(url, { host: 'second.test' })).status, 404);

  nodeConfig(dir, echoApp('first') + echoApp('second'));
  node.child.kill('SIGHUP');
  await node.waitFor((l) => l.msg === 'config reloaded');
  assert.equal((await send(url, { host: 'second.test' })).status, 200);

  writeFileSync(path, '[replay]\nmax_body_bytes = -1\n');
  node.child.kill('SIGHUP');
  await node.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('config not reloaded'));
  assert.equal((await send(url, { host: 'second.test' })).status, 200);

  node.child.kill('SIGTERM');
  const [code] = (await once(node.child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

test('a restarted node brings back the machines that were running, from its catalog file', async (t) => {
  const dir = tempDir(t);
  const path = nodeConfig(dir, echoApp('keep'));
  const first = new ServingNode(path);
  t.after(() => first.child.kill('SIGKILL'));
  const before = JSON.parse((await send(await first.url(80), { host: 'keep.test' })).body) as { env: Record<string, string> };
  first.child.kill('SIGTERM');
  await once(first.child, 'exit');

  const second = new ServingNode(path);
  t.after(() => second.child.kill('SIGKILL'));
  const after = JSON.parse((await send(await second.url(80), { host: 'keep.test' })).body) as { env: Record<string, string> };
  assert.equal(after.env.FLY_MACHINE_ID, before.env.FLY_MACHINE_ID);
  second.child.kill('SIGTERM');
  assert.deepEqual(await once(second.child, 'exit'), [0, null]);
});
