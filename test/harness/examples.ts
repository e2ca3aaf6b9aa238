/**
 * startExample runs a Ricochet node from an example's own `examples/<name>/ricochet.toml`, as
 * `npx ricochet serve --config examples/<name>/ricochet.toml` would, with what a test needs
 * changed: an in-memory catalog, every public port and the API on a free port, and the
 * example's data files in a temp dir (the test's `patch` points them there). Relative paths
 * (`cwd`) still resolve against the example's directory, so the machines run the example's code.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'smol-toml';
import { parseConfig } from '../../src/config/load.ts';
import { RicochetNode } from '../../src/node.ts';
import { CapturedLogs } from './index.ts';

const EXAMPLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples');

/** ExampleTable is the parsed ricochet.toml, for a test's `patch` to change. */
export type ExampleTable = Record<string, unknown> & { apps?: ExampleApp[] };
export type ExampleApp = Record<string, unknown> & { name: string; env?: Record<string, string> };

export interface StartExampleOptions {
  /** patch changes the parsed config before the node starts (point data files at `dataDir`). */
  patch?: (table: ExampleTable, dataDir: string) => void;
  /** now is the node's clock, for autostop and the replay cache. */
  now?: () => number;
  logLevel?: string;
}

export interface RunningExample {
  node: RicochetNode;
  logs: CapturedLogs;
  /** dataDir is a temp dir, removed after the test, for the example's data files. */
  dataDir: string;
  /** url of public port `publicPort` (default 80). */
  url(publicPort?: number): string;
  /** apiUrl is the Machines API base URL, e.g. "http://127.0.0.1:40123". */
  apiUrl: string;
}

/** examplePath is the path of a file of an example. */
export function examplePath(name: string, ...parts: string[]): string {
  return join(EXAMPLES_DIR, name, ...parts);
}

/** appOf finds an app of the table by name, so a patch can set its env. */
export function appOf(table: ExampleTable, name: string): ExampleApp {
  const app = table.apps?.find((a) => a.name === name);
  if (app === undefined) throw new Error(`the example has no app "${name}"`);
  return app;
}

/** setEnv sets environment variables of an app in the table. */
export function setEnv(table: ExampleTable, app: string, env: Record<string, string>): void {
  const entry = appOf(table, app);
  entry.env = { ...entry.env, ...env };
}

/**
 * useThisNode puts the directory of the Node running the tests first on PATH, which the machines
 * inherit: their `cmd = ["node", …]` then runs this Node (24), as it does under `npx ricochet`,
 * which puts the repo's node_modules/.bin (where the pinned Node lives) first.
 */
function useThisNode(): void {
  const bin = dirname(process.execPath);
  const path = process.env.PATH ?? '';
  if (path.split(delimiter)[0] !== bin) process.env.PATH = `${bin}${delimiter}${path}`;
}

export async function startExample(t: TestContext, name: string, options: StartExampleOptions = {}): Promise<RunningExample> {
  const file = examplePath(name, 'ricochet.toml');
  const table = parse(readFileSync(file, 'utf8')) as ExampleTable;
  const dataDir = mkdtempSync(join(tmpdir(), `ricochet-example-${name}-`));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));

  const listen = (table.listen ?? {}) as { ports?: Record<string, number> };
  const ports = Object.fromEntries(Object.keys(listen.ports ?? { 80: 8080 }).map((port) => [port, 0]));
  table.state = ':memory:';
  table.listen = { host: '127.0.0.1', api: '127.0.0.1:0', ports };
  options.patch?.(table, dataDir);

  useThisNode();
  const { config } = parseConfig(stringify(table), file);
  const logs = new CapturedLogs(options.logLevel ?? 'info');
  const node = await RicochetNode.start(config, { logger: logs.logger, now: options.now });
  t.after(() => node.stop());
  return { node, logs, dataDir, url: (publicPort = 80) => node.url(publicPort), apiUrl: node.apiUrl };
}
