/**
 * watchMachine polls a machine until it reaches one of `targets`, writing a progress line to
 * stderr while it waits: rewritten in place on a terminal, one line per state change otherwise.
 * A machine that fails (or is destroyed while waiting to start) is exit 1; past the timeout,
 * exit 5.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from './api-client.ts';
import { CliError, EXIT_CODES } from './cli-error.ts';

/** PROGRESS_POLL_MS is the time between two looks at the machine. */
export const PROGRESS_POLL_MS = 100;

export interface MachineView {
  id: string;
  name: string;
  state: string;
  region: string;
  instance_id: string;
  created_at: string;
  updated_at: string;
  cordoned: boolean;
  private_ip: string;
  config: { init?: { exec?: string[] }; ricochet?: { driver?: string; address?: string }; metadata?: Record<string, string> };
  events: { type: string; status: string; source: string; timestamp: number }[];
}

const GAVE_UP = new Set(['failed', 'destroyed']);

export async function watchMachine(
  client: ApiClient,
  app: string,
  id: string,
  targets: readonly string[],
  timeoutS: number,
  stream: NodeJS.WriteStream = process.stderr,
): Promise<MachineView> {
  const started = Date.now();
  const tty = stream.isTTY === true;
  let last = '';
  const path = `/v1/apps/${encodeURIComponent(app)}/machines/${encodeURIComponent(id)}`;
  for (;;) {
    const machine = await client.request<MachineView>('GET', path);
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    const line = `Machine ${id} is ${machine.state}`;
    if (tty) stream.write(`\r\x1b[K${line} (${elapsed}s)`);
    else if (line !== last) stream.write(`${line}\n`);
    last = line;
    if (targets.includes(machine.state)) {
      if (tty) stream.write('\n');
      return machine;
    }
    if (GAVE_UP.has(machine.state) && !targets.includes(machine.state)) {
      if (tty) stream.write('\n');
      const event = machine.events[0];
      throw new CliError(EXIT_CODES.failure, `Machine ${id} is ${machine.state}${event === undefined ? '' : ` (last event: ${event.type} -> ${event.status})`}; see the node's log`);
    }
    if (Date.now() - started >= timeoutS * 1000) {
      if (tty) stream.write('\n');
      throw new CliError(EXIT_CODES.timeout, `Machine ${id} did not reach ${targets.join(' or ')} within ${timeoutS}s (it is ${machine.state})`);
    }
    await sleep(PROGRESS_POLL_MS);
  }
}
