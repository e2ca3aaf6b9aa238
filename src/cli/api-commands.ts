/**
 * apiCommands are the CLI commands that drive a node through its Machines API (apps, machines,
 * launch). Each takes its arguments and returns an exit code.
 */
export const apiCommands: Record<string, (args: string[]) => Promise<number>> = {};

export const API_HELP = '';
