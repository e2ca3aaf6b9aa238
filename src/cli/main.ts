/**
 * main is the `ricochet` command line: `serve`, `dev`, `--help`, `--version`, and the Machines
 * API client commands. It returns the process exit code: 0 ok, 1 failure, 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { apiCommands, API_HELP } from './api-commands.ts';

const HELP = `ricochet: a self-hostable edge proxy that speaks Fly.io's routing protocol

Usage:
  ricochet serve [--config ricochet.toml]   run a node (default config: ./ricochet.toml if present)
  ricochet dev                              run the bundled example: a router and two tenant apps
  ricochet check [--config ricochet.toml]   validate a config file and print its warnings
${API_HELP}
Options:
  -c, --config <file>   the node's config file
  -h, --help            show this help
  -v, --version         print the version

Docs: docs/ in this package (configuration.md, replay.md, api.md …)
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version' || command === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const api = apiCommands[command];
  if (api !== undefined) return api(rest);
  switch (command) {
    case 'serve':
    case 'check': {
      const parsed = parseOptions(rest);
      if (parsed === null) return 2;
      if (command === 'check') return check(parsed.config);
      return (await import('./run-node.ts')).runNode({ configPath: parsed.config ?? defaultConfigPath() });
    }
    case 'dev':
      // The node is loaded only for the commands that run one: the API client commands start fast.
      return (await import('./run-node.ts')).runNode({ configPath: fileURLToPath(new URL('../../examples/dev/ricochet.toml', import.meta.url)), dev: true });
    default:
      process.stderr.write(`ricochet: unknown command "${command}"; see ricochet --help\n`);
      return 2;
  }
}

function parseOptions(args: string[]): { config: string | null } | null {
  try {
    const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, allowPositionals: false });
    return { config: values.config ?? null };
  } catch (error) {
    process.stderr.write(`ricochet: ${(error as Error).message}\n`);
    return null;
  }
}

function defaultConfigPath(): string | null {
  try {
    readFileSync('ricochet.toml');
    return 'ricochet.toml';
  } catch {
    return null;
  }
}

function check(path: string | null): number {
  try {
    const { warnings } = loadConfig(path ?? defaultConfigPath());
    for (const w of warnings) process.stdout.write(`warning: ${w.file}: ${w.key}: ${w.message}\n`);
    process.stdout.write('config ok\n');
    return 0;
  } catch (error) {
    process.stderr.write(`ricochet: ${(error as Error).message}\n`);
    return 1;
  }
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
