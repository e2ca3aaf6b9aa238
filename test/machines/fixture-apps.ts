/** Paths and helpers for the fixture machines in test/fixtures/apps. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/apps/', import.meta.url));

export type FixtureApp = 'echo-env' | 'exits-with-code-1' | 'ignores-sigint' | 'never-listens' | 'spawns-grandchild';

/** fixtureExec is the argv that runs a fixture app with this Node (24). */
export function fixtureExec(app: FixtureApp): string[] {
  return [process.execPath, `${FIXTURE_DIR}${app}.ts`];
}

/** fixtureCwd is the fixture apps' directory. */
export const fixtureCwd = FIXTURE_DIR;

/**
 * isAlive says whether a process still runs. A zombie counts as gone: here PID 1 does not reap
 * orphans, so a killed grandchild stays a zombie that `kill(pid, 0)` still finds.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** getJson fetches a JSON body from a machine. */
export async function getJson<T>(host: string, port: number, path = '/'): Promise<T> {
  const response = await fetch(`http://${host}:${port}${path}`);
  return (await response.json()) as T;
}
