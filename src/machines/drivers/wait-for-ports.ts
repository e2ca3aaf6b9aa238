/**
 * waitForPorts resolves once every port on `host` accepts a TCP connection, polling with a
 * short growing delay. It answers `ready`, `timeout` once `timeoutMs` has passed, or `aborted`
 * once `signal` aborts (e.g. the machine's process exited).
 */
import { connect } from 'node:net';

/** PORT_POLL_INITIAL_MS and PORT_POLL_MAX_MS bound the delay between connection attempts. */
export const PORT_POLL_INITIAL_MS = 2;
export const PORT_POLL_MAX_MS = 20;

export type PortWait = 'ready' | 'timeout' | 'aborted';

export async function waitForPorts(
  host: string,
  ports: readonly number[],
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<PortWait> {
  const deadline = AbortSignal.timeout(Math.max(0, options.timeoutMs));
  const stop = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const pending = new Set(ports);
  let delayMs = PORT_POLL_INITIAL_MS;
  while (!stop.aborted) {
    for (const port of [...pending]) {
      if (await accepts(host, port, stop)) pending.delete(port);
    }
    if (pending.size === 0) return 'ready';
    await pause(delayMs, stop);
    delayMs = Math.min(PORT_POLL_MAX_MS, delayMs * 2);
  }
  return options.signal?.aborted ? 'aborted' : 'timeout';
}

/** accepts tries one TCP connection and closes it at once. */
export function accepts(host: string, port: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    signal?.addEventListener('abort', onAbort, { once: true });
    // A connection to an ephemeral port nobody listens on can pick that same port as its own
    // and connect to itself (TCP simultaneous open): that is no listener.
    socket.once('connect', () => done(socket.localPort !== socket.remotePort || socket.localAddress !== socket.remoteAddress));
    socket.once('error', () => done(false));
  });
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
