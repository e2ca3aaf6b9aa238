/** `ricochet apps create|list|destroy` over the Machines API. */
import { EXIT_CODES, usage } from './cli-error.ts';
import { COMMON_HELP, list, parseCommand, print, str } from './command-options.ts';
import { formatTable } from './format-table.ts';

export const APPS_HELP = `Usage: ricochet apps <command> [options]

  create <name> [--org <slug>] [--hostname <host>]… [--primary-region <r>]
  list [--org <slug>]
  destroy <name> [--force]     --force stops running machines first

${COMMON_HELP}`;

const OPTIONS = {
  org: { type: 'string', short: 'o' },
  hostname: { type: 'string', multiple: true },
  'primary-region': { type: 'string' },
  force: { type: 'boolean', short: 'f', default: false },
} as const;

interface AppList {
  total_apps: number;
  apps: { id: string; name: string; machine_count: number; network: string }[];
}

export async function appsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(APPS_HELP);
    return sub === undefined ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  const cmd = parseCommand(rest, OPTIONS);
  if (cmd.help) {
    process.stdout.write(APPS_HELP);
    return EXIT_CODES.ok;
  }
  switch (sub) {
    case 'create': {
      const name = cmd.positionals[0];
      if (name === undefined) throw usage('an app name is required: ricochet apps create <name>');
      const hostnames = list(cmd.values.hostname);
      const primary = str(cmd.values['primary-region']);
      const body = {
        app_name: name,
        org_slug: str(cmd.values.org) ?? 'personal',
        ricochet: { hostnames, ...(primary === undefined ? {} : { primary_region: primary }) },
      };
      const created = await cmd.client.request('POST', '/v1/apps', body);
      print(cmd.json, created, `App ${name} created\n`);
      return EXIT_CODES.ok;
    }
    case 'list':
    case 'ls': {
      const org = str(cmd.values.org);
      const answer = await cmd.client.request<AppList>('GET', `/v1/apps${org === undefined ? '' : `?org_slug=${encodeURIComponent(org)}`}`);
      const rows = answer.apps.map((app) => [app.name, String(app.machine_count), app.network]);
      print(cmd.json, answer, formatTable(['NAME', 'MACHINES', 'NETWORK'], rows, 'No apps'));
      return EXIT_CODES.ok;
    }
    case 'destroy':
    case 'rm': {
      const name = cmd.positionals[0];
      if (name === undefined) throw usage('an app name is required: ricochet apps destroy <name>');
      await cmd.client.request('DELETE', `/v1/apps/${encodeURIComponent(name)}${cmd.values.force === true ? '?force=true' : ''}`);
      print(cmd.json, { ok: true, name }, `App ${name} destroyed\n`);
      return EXIT_CODES.ok;
    }
    default:
      throw usage(`unknown apps command "${sub}"; see ricochet apps --help`);
  }
}
