/**
 * `ricochet launch [fly.toml]`: create the app a fly.toml describes and its machines, through
 * the Machines API, and wait until they are started. The fly.toml becomes the machine config
 * `fly deploy` would send (flyTomlToMachineConfig); what runs comes from `-- command…` (the
 * process driver, in the fly.toml's directory) or `--address` (the static driver).
 */
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../config/config-error.ts';
import { flyTomlToMachineConfig } from '../config/fly-toml.ts';
import { readToml } from '../config/read-toml.ts';
import type { MachineConfig } from '../catalog/types.ts';
import { CliError, EXIT_CODES, usage } from './cli-error.ts';
import { COMMON_HELP, parseCommand, print, seconds, str } from './command-options.ts';
import { formatTable } from './format-table.ts';
import { watchMachine, type MachineView } from './machine-progress.ts';

export const LAUNCH_HELP = `Usage: ricochet launch [path/to/fly.toml] [options] [-- command…]

Creates the fly.toml's app and its machines, and waits until they are started.
  --app <name>         app name (default: the fly.toml's app)
  --org <slug>         organization (default "personal")
  --region <r>         region of the machines (default: primary_region, else the node's)
  --count <n>          machines to create (default 1)
  --cwd <dir>          working directory of the command (default: the fly.toml's directory)
  --address host:port  route to a server you run (static driver) instead of a command
  --hostname <host>…   extra hostnames routed to the app
  --detach             do not wait for the machines to start
  --timeout <s>        how long to wait for each machine (default 60)

${COMMON_HELP}`;

const OPTIONS = {
  app: { type: 'string', short: 'a' },
  org: { type: 'string', short: 'o' },
  region: { type: 'string', short: 'r' },
  count: { type: 'string' },
  cwd: { type: 'string' },
  address: { type: 'string' },
  hostname: { type: 'string', multiple: true },
  detach: { type: 'boolean', short: 'd', default: false },
  timeout: { type: 'string' },
} as const;

/** LAUNCH_COUNT_MAX bounds --count so a typo cannot start a thousand processes. */
const LAUNCH_COUNT_MAX = 100;

export async function launchCommand(args: string[]): Promise<number> {
  const split = args.indexOf('--');
  const own = split === -1 ? args : args.slice(0, split);
  const command = split === -1 ? [] : args.slice(split + 1);
  const cmd = parseCommand(own, OPTIONS);
  if (cmd.help) {
    process.stdout.write(LAUNCH_HELP);
    return EXIT_CODES.ok;
  }
  const file = resolve(cmd.positionals[0] ?? 'fly.toml');
  const address = str(cmd.values.address);
  if (command.length === 0 && address === undefined) {
    throw usage('say what runs: ricochet launch fly.toml -- <command…>, or --address host:port for a server you run');
  }
  if (command.length > 0 && address !== undefined) throw usage('give a command or --address, not both');
  const count = seconds(cmd.values.count, 'count', 1);
  if (count > LAUNCH_COUNT_MAX) throw usage(`--count is at most ${LAUNCH_COUNT_MAX}`);

  let converted;
  try {
    converted = flyTomlToMachineConfig(readToml(file, file, null), file);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.code === 'CONFIG_INVALID' ? EXIT_CODES.invalid : EXIT_CODES.failure, error.message);
    throw error;
  }
  for (const w of converted.warnings) process.stderr.write(`warning: ${w.file}: ${w.key}: ${w.message}\n`);
  const app = str(cmd.values.app) ?? converted.appName;
  if (app === null) throw usage(`${file} has no "app"; pass --app <name>`);
  const config: MachineConfig =
    address === undefined
      ? { ...converted.config, init: { exec: command }, ricochet: { driver: 'process', cwd: resolve(str(cmd.values.cwd) ?? dirname(file)) } }
      : { ...converted.config, init: {}, ricochet: { driver: 'static', address } };
  const region = str(cmd.values.region) ?? converted.primaryRegion ?? undefined;

  await cmd.client.request('POST', '/v1/apps', {
    app_name: app,
    org_slug: str(cmd.values.org) ?? 'personal',
    ricochet: { hostnames: (cmd.values.hostname as string[] | undefined) ?? [], ...(converted.primaryRegion === null ? {} : { primary_region: converted.primaryRegion }) },
  });
  process.stderr.write(`App ${app} created\n`);
  const machines: MachineView[] = [];
  for (let i = 0; i < count; i++) {
    machines.push(await cmd.client.request<MachineView>('POST', `/v1/apps/${encodeURIComponent(app)}/machines`, { config, ...(region === undefined ? {} : { region }) }));
  }
  const timeout = seconds(cmd.values.timeout, 'timeout', 60);
  const final = cmd.values.detach === true ? machines : [];
  if (cmd.values.detach !== true) {
    for (const machine of machines) final.push(await watchMachine(cmd.client, app, machine.id, ['started'], timeout));
  }
  const rows = final.map((m) => [m.id, m.name, m.state, m.region]);
  print(cmd.json, { app, machines: final }, `${formatTable(['ID', 'NAME', 'STATE', 'REGION'], rows)}App ${app} answers at http://${app}.<base_domain> on the node's public ports.\n`);
  return EXIT_CODES.ok;
}
