/**
 * apiCommands are the CLI commands that drive a node through its Machines API (apps, machines,
 * launch, cache). Each takes its arguments and returns an exit code (cli-error.ts EXIT_CODES);
 * a CliError becomes one line on stderr and its exit code.
 */
import { appsCommand } from './apps-command.ts';
import { cacheCommand } from './cache-command.ts';
import { CliError, EXIT_CODES } from './cli-error.ts';
import { launchCommand } from './launch-command.ts';
import { machinesCommand } from './machines-command.ts';

function guarded(command: (args: string[]) => Promise<number>): (args: string[]) => Promise<number> {
  return async (args) => {
    try {
      return await command(args);
    } catch (error) {
      if (error instanceof CliError) {
        process.stderr.write(`ricochet: ${error.message}${error.code === null ? '' : ` (${error.code})`}\n`);
        return error.exitCode;
      }
      process.stderr.write(`ricochet: ${(error as Error).stack ?? String(error)}\n`);
      return EXIT_CODES.failure;
    }
  };
}

export const apiCommands: Record<string, (args: string[]) => Promise<number>> = {
  apps: guarded(appsCommand),
  machines: guarded(machinesCommand),
  machine: guarded(machinesCommand),
  launch: guarded(launchCommand),
  cache: guarded(cacheCommand),
};

export const API_HELP = `
Machines API client (--api <url>, --token <token>, --json; see ricochet <command> --help):
  ricochet apps create|list|destroy         apps
  ricochet machines run|list|status|start|stop|suspend|destroy|wait -a <app>
  ricochet launch [fly.toml] -- <command>   create a fly.toml's app and machines
  ricochet cache list|purge [--app --host --prefix]   the replay cache
`;
