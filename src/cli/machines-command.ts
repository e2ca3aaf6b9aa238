/**
 * `ricochet machines …`: run, list, status, start, stop, suspend, destroy and wait, over the
 * Machines API. Tables for people, `--json` for scripts.
 */
import { readFileSync } from 'node:fs';
import { EXIT_CODES, usage } from './cli-error.ts';
import { COMMON_HELP, keyValues, list, parseCommand, print, seconds, str, type ParsedCommand } from './command-options.ts';
import { ago, formatTable } from './format-table.ts';
import { watchMachine, type MachineView } from './machine-progress.ts';

export const MACHINES_HELP = `Usage: ricochet machines <command> -a <app> [options]

  run [--] [command...]     create a machine and wait until it is started
      --region <r> --name <n> --env K=V… --metadata K=V… --port PUBLIC:INTERNAL[/handlers]…
      --address host:port (static driver) --cwd <dir> --config <file.json> (a full machine config)
      --autostop stop|suspend|off --skip-launch --detach --timeout <s>
  list [--region <r>] [--all]        the app's machines (--all: destroyed ones too)
  status <id>                        one machine and its recent events
  start <id> [--detach]              start (or resume) and wait until started
  stop <id> [--signal SIG] [--kill-timeout 10s] [--detach]
  suspend <id> [--detach]
  destroy <id> [--force]             --force stops a running machine first
  wait <id> [--state started|stopped|suspended|destroyed] [--timeout <s>]

${COMMON_HELP}`;

const OPTIONS = {
  app: { type: 'string', short: 'a' },
  region: { type: 'string', short: 'r' },
  name: { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  metadata: { type: 'string', short: 'm', multiple: true },
  port: { type: 'string', short: 'p', multiple: true },
  address: { type: 'string' },
  cwd: { type: 'string' },
  config: { type: 'string' },
  autostop: { type: 'string' },
  'skip-launch': { type: 'boolean', default: false },
  detach: { type: 'boolean', short: 'd', default: false },
  timeout: { type: 'string' },
  all: { type: 'boolean', default: false },
  force: { type: 'boolean', short: 'f', default: false },
  signal: { type: 'string', short: 's' },
  'kill-timeout': { type: 'string' },
  state: { type: 'string' },
} as const;

type Parsed = ParsedCommand<typeof OPTIONS>;

/** START_TIMEOUT_S is how long `run` and `start` wait for the machine by default. */
const START_TIMEOUT_S = 60;

export async function machinesCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(MACHINES_HELP);
    return sub === undefined ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  const cmd = parseCommand(rest, OPTIONS);
  if (cmd.help) {
    process.stdout.write(MACHINES_HELP);
    return EXIT_CODES.ok;
  }
  const app = str(cmd.values.app) ?? process.env.RICOCHET_APP;
  if (app === undefined || app === '') throw usage('--app (-a) is required (or set RICOCHET_APP)');
  const base = `/v1/apps/${encodeURIComponent(app)}/machines`;
  switch (sub) {
    case 'run':
      return run(cmd, app, base);
    case 'list':
    case 'ls':
      return listMachines(cmd, base);
    case 'status':
    case 'show':
      return status(cmd, base);
    case 'start':
    case 'stop':
    case 'suspend':
      return act(cmd, app, base, sub);
    case 'destroy':
    case 'rm': {
      const id = machineId(cmd);
      await cmd.client.request('DELETE', `${base}/${id}${cmd.values.force === true ? '?force=true' : ''}`);
      print(cmd.json, { ok: true, id }, `Machine ${id} destroyed\n`);
      return EXIT_CODES.ok;
    }
    case 'wait': {
      const id = machineId(cmd);
      const state = str(cmd.values.state) ?? 'started';
      const timeout = Math.min(60, seconds(cmd.values.timeout, 'timeout', 60));
      await cmd.client.request('GET', `${base}/${id}/wait?state=${encodeURIComponent(state)}&timeout=${timeout}`);
      print(cmd.json, { ok: true, id, state }, `Machine ${id} is ${state}\n`);
      return EXIT_CODES.ok;
    }
    default:
      throw usage(`unknown machines command "${sub}"; see ricochet machines --help`);
  }
}

function machineId(cmd: Parsed): string {
  const id = cmd.positionals[0];
  if (id === undefined) throw usage('a machine id is required');
  return encodeURIComponent(id);
}

async function run(cmd: Parsed, app: string, base: string): Promise<number> {
  const body = { ...runConfig(cmd), skip_launch: cmd.values['skip-launch'] === true };
  const machine = await cmd.client.request<MachineView>('POST', base, body);
  if (cmd.values.detach === true || cmd.values['skip-launch'] === true) {
    print(cmd.json, machine, `Machine ${machine.id} created (${machine.state})\n`);
    return EXIT_CODES.ok;
  }
  const started = await watchMachine(cmd.client, app, machine.id, ['started'], seconds(cmd.values.timeout, 'timeout', START_TIMEOUT_S));
  print(cmd.json, started, `Machine ${started.id} (${started.name}) started in ${started.region}\n`);
  return EXIT_CODES.ok;
}

/** runConfig builds the create body from --config, then the flags on top of it. */
export function runConfig(cmd: Parsed): { config: Record<string, unknown>; region?: string; name?: string } {
  let config: Record<string, unknown> = {};
  const file = str(cmd.values.config);
  if (file !== undefined) {
    try {
      config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw usage(`--config ${file}: ${(error as Error).message}`);
    }
  }
  const ricochet = { ...((config.ricochet as Record<string, unknown> | undefined) ?? {}) };
  const address = str(cmd.values.address);
  if (address !== undefined) Object.assign(ricochet, { driver: 'static', address });
  const cwd = str(cmd.values.cwd);
  if (cwd !== undefined) ricochet.cwd = cwd;
  if (cmd.positionals.length > 0) {
    config.init = { ...((config.init as object | undefined) ?? {}), exec: cmd.positionals };
    ricochet.driver ??= 'process';
  }
  if (Object.keys(ricochet).length > 0) config.ricochet = ricochet;
  const env = keyValues(list(cmd.values.env), 'env');
  if (Object.keys(env).length > 0) config.env = { ...((config.env as object | undefined) ?? {}), ...env };
  const metadata = keyValues(list(cmd.values.metadata), 'metadata');
  if (Object.keys(metadata).length > 0) config.metadata = { ...((config.metadata as object | undefined) ?? {}), ...metadata };
  const ports = list(cmd.values.port);
  if (ports.length > 0) config.services = ports.map((spec) => portService(spec, str(cmd.values.autostop)));
  const region = str(cmd.values.region);
  const name = str(cmd.values.name);
  return { config, ...(region === undefined ? {} : { region }), ...(name === undefined ? {} : { name }) };
}

/** portService reads "80:8080" or "443:8080/tls,http" into a service (handlers default to http). */
function portService(spec: string, autostop: string | undefined): Record<string, unknown> {
  const match = /^(\d{1,5}):(\d{1,5})(?:\/([a-z_,]+))?$/.exec(spec);
  if (match === null) throw usage(`--port "${spec}" is not PUBLIC:INTERNAL[/handlers], e.g. 80:8080/http`);
  const handlers = match[3] === undefined ? ['http'] : match[3].split(',').filter((h) => h !== '');
  return {
    protocol: 'tcp',
    internal_port: Number(match[2]),
    ports: [{ port: Number(match[1]), handlers }],
    ...(autostop === undefined ? {} : { autostop }),
  };
}

async function listMachines(cmd: Parsed, base: string): Promise<number> {
  const query = new URLSearchParams();
  const region = str(cmd.values.region);
  if (region !== undefined) query.set('region', region);
  if (cmd.values.all === true) query.set('include_deleted', 'true');
  const machines = await cmd.client.request<MachineView[]>('GET', `${base}${query.size > 0 ? `?${query}` : ''}`);
  const now = Date.now();
  const rows = machines.map((m) => [m.id, m.name, m.state + (m.cordoned ? ' (cordoned)' : ''), m.region, driverOf(m), ago(m.created_at, now)]);
  print(cmd.json, machines, formatTable(['ID', 'NAME', 'STATE', 'REGION', 'DRIVER', 'CREATED'], rows, 'No machines'));
  return EXIT_CODES.ok;
}

async function status(cmd: Parsed, base: string): Promise<number> {
  const machine = await cmd.client.request<MachineView>('GET', `${base}/${machineId(cmd)}`);
  const now = Date.now();
  const fields = [
    ['ID', machine.id],
    ['Name', machine.name],
    ['State', machine.state],
    ['Region', machine.region],
    ['Instance', machine.instance_id],
    ['Driver', driverOf(machine)],
    ['Address', machine.private_ip || '-'],
    ['Cordoned', String(machine.cordoned)],
    ['Created', `${machine.created_at} (${ago(machine.created_at, now)})`],
    ['Updated', `${machine.updated_at} (${ago(machine.updated_at, now)})`],
  ];
  const events = machine.events.map((e) => [new Date(e.timestamp).toISOString(), e.type, e.status, e.source]);
  const text = `${fields.map(([k, v]) => `${k.padEnd(9)} ${v}`).join('\n')}\n\nEvents\n${formatTable(['TIME', 'TYPE', 'STATUS', 'SOURCE'], events, 'No events')}`;
  print(cmd.json, machine, text);
  return EXIT_CODES.ok;
}

const TARGET: Record<'start' | 'stop' | 'suspend', string> = { start: 'started', stop: 'stopped', suspend: 'suspended' };

async function act(cmd: Parsed, app: string, base: string, action: 'start' | 'stop' | 'suspend'): Promise<number> {
  const id = machineId(cmd);
  const body: Record<string, string> = {};
  if (action === 'stop') {
    const signal = str(cmd.values.signal);
    const timeout = str(cmd.values['kill-timeout']);
    if (signal !== undefined) body.signal = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
    if (timeout !== undefined) body.timeout = timeout;
  }
  const answer = await cmd.client.request('POST', `${base}/${id}/${action}`, action === 'stop' ? body : undefined);
  if (cmd.values.detach === true) {
    print(cmd.json, answer, `Machine ${decodeURIComponent(id)}: ${action} requested\n`);
    return EXIT_CODES.ok;
  }
  const target = TARGET[action];
  // A stop may settle as stopped or, for a machine that never ran, created or failed.
  const targets = action === 'stop' ? [target, 'created', 'failed'] : [target];
  const machine = await watchMachine(cmd.client, app, decodeURIComponent(id), targets, seconds(cmd.values.timeout, 'timeout', START_TIMEOUT_S));
  print(cmd.json, machine, `Machine ${machine.id} is ${machine.state}\n`);
  return EXIT_CODES.ok;
}

function driverOf(machine: MachineView): string {
  const ricochet = machine.config.ricochet;
  if (ricochet?.driver === 'static') return `static ${ricochet.address ?? ''}`.trim();
  return ricochet?.driver ?? 'process';
}

