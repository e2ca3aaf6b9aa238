/**
 * Shared setup of the scale-to-zero tests: a small machine program run by the process driver,
 * an app config with machine groups per region, a node whose clock only the test moves, and a
 * request sent to a machine past the proxy.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startNode } from './index.ts';

export const INTERVAL_MS = 60_000;

/**
 * APP is the machines' program: GET /hold prints "holding" and stays open until GET /release
 * (sent to the machine directly); anything else answers with the machine id and pid. It dies on SIGINT (Node's
 * default) and, when IGNORE_SIGTERM is set, logs SIGTERM and keeps running.
 */
export const APP = `
import { createServer } from 'node:http';
const held = [];
if (process.env.IGNORE_SIGTERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
createServer((req, res) => {
  if (req.url === '/hold') { held.push(res); console.log('holding'); return; }
  // Held requests end once 'ok' is sent: their end may let Ricochet stop this machine.
  if (req.url === '/release') { res.end('ok', () => { for (const r of held.splice(0)) r.end('released ' + process.env.FLY_MACHINE_ID); }); return; }
  res.end(process.env.FLY_MACHINE_ID + ' ' + process.pid);
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

export function appDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-autostop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.mjs'), APP);
  return dir;
}

/** config writes one app whose machine groups (region, count) run APP from `dir`. */
export function config(dir: string, groups: [region: string, count: number][], service: string, app = ''): string {
  return `region = "iad"
[regions]
iad = 0
sjc = 62
[machines]
autostop_interval_ms = ${INTERVAL_MS}
[[apps]]
name = "idle"
hostnames = ["idle.test"]
primary_region = "iad"
${app}
  [apps.http_service]
  internal_port = 8080
${service}
${groups.map(([region, count]) => `  [[apps.machines]]\n  region = "${region}"\n  count = ${count}\n  cmd = ${JSON.stringify([process.execPath, 'app.mjs'])}\n  cwd = ${JSON.stringify(dir)}\n`).join('')}`;
}

/** clocked starts a node whose clock only moves when the test says so. */
export async function clocked(t: TestContext, toml: string) {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const started = await startNode(t, toml, { now: () => clock.now, logLevel: 'debug' });
  return { ...started, clock };
}

export type Node = Awaited<ReturnType<typeof startNode>>['node'];

/** direct sends a request to a machine's own port, past the proxy. */
export async function direct(node: Node, id: string, path: string): Promise<string> {
  const runtime = node.catalog.get(id)!.runtime!;
  const res = await fetch(`http://${runtime.host}:${runtime.ports['8080']}${path}`);
  return res.text();
}
