/**
 * wrk runs the load generator pinned to core 1 and parses its report.
 */
import type { ProcessGroup } from './process-group.ts';

/** WRK_EXTRA_TIMEOUT_MS is how long past its duration wrk may take before it is killed. */
const WRK_EXTRA_TIMEOUT_MS = 15_000;

/** WrkReport is what one wrk run measured. Latencies are in milliseconds. */
export interface WrkReport {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors: connect + read + write + timeout. */
  socketErrors: number;
  non2xx: number;
}

/** WrkOptions is one wrk invocation: `wrk -t<threads> -c<connections> -d<seconds>s --latency`. */
export interface WrkOptions {
  url: string;
  seconds: number;
  connections: number;
  threads: number;
  core: string;
  headers: string[];
  /** Path of a Lua script (`-s`), if any. */
  script: string | null;
}

const UNIT_TO_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function durationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (match === null) throw new TypeError(`Cannot parse wrk duration "${text}"`);
  return Number(match[1]) * UNIT_TO_MS[match[2]];
}

/** parseWrkReport reads the text wrk prints with `--latency`. */
export function parseWrkReport(text: string): WrkReport {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p50 = /^\s+50%\s+(\S+)/m.exec(text);
  const p99 = /^\s+99%\s+(\S+)/m.exec(text);
  if (total === null || rps === null) {
    throw new TypeError(`Cannot parse wrk report: no request count in "${text.slice(0, 300)}"`);
  }
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const requests = Number(total[1]);
  return {
    requests,
    durationSeconds: durationMs(`${total[2]}${total[3]}`) / 1000,
    requestsPerSecond: Number(rps[1]),
    // wrk prints no percentiles when nothing completed.
    p50Ms: p50 === null ? Number.NaN : durationMs(p50[1]),
    p99Ms: p99 === null ? Number.NaN : durationMs(p99[1]),
    socketErrors: socket === null ? 0 : socket.slice(1).reduce((sum, value) => sum + Number(value), 0),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
  };
}

/** wrkArgs builds the wrk command line. */
export function wrkArgs(options: WrkOptions): string[] {
  const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, '--latency'];
  for (const header of options.headers) args.push('-H', header);
  if (options.script !== null) args.push('-s', options.script);
  args.push(options.url);
  return args;
}

/** runWrk runs wrk to completion in `group` (so an interrupt stops it too) and parses its report. */
export async function runWrk(group: ProcessGroup, options: WrkOptions): Promise<WrkReport> {
  const wrk = group.start({ name: 'wrk', core: options.core, command: 'wrk', args: wrkArgs(options) });
  const limitMs = options.seconds * 1000 + WRK_EXTRA_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), limitMs);
  });
  const late = await Promise.race([wrk.exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    await group.stop(wrk);
    throw new Error(`Cannot measure: wrk did not finish within ${limitMs} ms`);
  }
  if (wrk.exitStatus() !== '0') {
    throw new Error(`Cannot measure: wrk exited with ${wrk.exitStatus()}: ${wrk.outputTail().trim().slice(-500)}`);
  }
  return parseWrkReport(wrk.outputTail());
}
