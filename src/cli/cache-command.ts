/** `ricochet cache list|purge`: the node's replay cache, by app, host or prefix (beyond Fly, spec §5). */
import { EXIT_CODES, usage } from './cli-error.ts';
import { COMMON_HELP, parseCommand, print, str } from './command-options.ts';
import { formatTable } from './format-table.ts';

export const CACHE_HELP = `Usage: ricochet cache <list|purge> [--app <app>] [--host <host>] [--prefix </path>]

  list     cached replay decisions (source app, host, prefix, target, expiry, hits)
  purge    remove the matching entries (all of them without a filter)

${COMMON_HELP}`;

const OPTIONS = {
  app: { type: 'string', short: 'a' },
  host: { type: 'string' },
  prefix: { type: 'string' },
} as const;

interface CacheList {
  entries: { app: string; host: string; prefix: string; kind: string; route: { app: string | null; regions: string[] | null; instance: string | null }; expires_at: string; hits: number }[];
}

export async function cacheCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(CACHE_HELP);
    return sub === undefined ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  const cmd = parseCommand(rest, OPTIONS);
  if (cmd.help) {
    process.stdout.write(CACHE_HELP);
    return EXIT_CODES.ok;
  }
  const query = new URLSearchParams();
  for (const key of ['host', 'prefix'] as const) {
    const value = str(cmd.values[key]);
    if (value !== undefined) query.set(key, value);
  }
  const app = str(cmd.values.app);
  const path = app === undefined ? '/v1/replay-cache' : `/v1/apps/${encodeURIComponent(app)}/replay-cache`;
  const url = `${path}${query.size > 0 ? `?${query}` : ''}`;
  switch (sub) {
    case 'list':
    case 'ls': {
      const answer = await cmd.client.request<CacheList>('GET', url);
      const rows = answer.entries.map((e) => [e.app, e.host, e.prefix, e.kind, target(e.route), e.expires_at, String(e.hits)]);
      print(cmd.json, answer, formatTable(['APP', 'HOST', 'PREFIX', 'KIND', 'TARGET', 'EXPIRES', 'HITS'], rows, 'No cached replays'));
      return EXIT_CODES.ok;
    }
    case 'purge': {
      const answer = await cmd.client.request<{ purged: number }>('DELETE', url);
      print(cmd.json, answer, `Purged ${answer.purged} ${answer.purged === 1 ? 'entry' : 'entries'}\n`);
      return EXIT_CODES.ok;
    }
    default:
      throw usage(`unknown cache command "${sub}"; see ricochet cache --help`);
  }
}

function target(route: CacheList['entries'][number]['route']): string {
  const parts = [];
  if (route.app !== null) parts.push(`app=${route.app}`);
  if (route.regions !== null) parts.push(`region=${route.regions.join(',')}`);
  if (route.instance !== null) parts.push(`instance=${route.instance}`);
  return parts.join(';') || '-';
}
