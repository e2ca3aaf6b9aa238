/**
 * UtsNamespace gives a machine's process its own hostname, the machine id, as inside a Fly
 * Machine (design doc: "hostname = machine id where the OS allows"). On Linux as root it wraps
 * the argv as `unshare --uts -- /bin/sh -c '<set hostname>; exec "$@"' <id> <argv...>`:
 * `unshare` without --fork execs in place and `sh` execs the argv, so the machine's pid is the
 * pid Ricochet spawned and signals reach it directly.
 *
 * Whether this works is probed once (the probe sets a hostname in a new namespace and reads it
 * back). Elsewhere (not Linux, not root, no `unshare`, a container without CAP_SYS_ADMIN) the
 * argv runs unwrapped: HOSTNAME is still the machine id, `os.hostname()` is the host's.
 */
import { spawn } from 'node:child_process';

/** SET_HOSTNAME_SCRIPT sets the hostname to $0, then execs the machine's argv ("$@"). */
const SET_HOSTNAME_SCRIPT = 'printf %s "$0" > /proc/sys/kernel/hostname && exec "$@"';
const PROBE_HOSTNAME = 'ricochet-probe';
const PROBE_TIMEOUT_MS = 2_000;

export class UtsNamespace {
  #unshare: string;
  #available: Promise<boolean> | null = null;

  /** `unshare` is the unshare(1) command to use (a path that does not exist disables the namespace). */
  constructor(options: { unshare?: string } = {}) {
    this.#unshare = options.unshare ?? 'unshare';
  }

  /** available says, once probed, whether a machine can get its own hostname here. */
  available(): Promise<boolean> {
    this.#available ??= this.#probe();
    return this.#available;
  }

  /** wrap returns the argv that runs `argv` with hostname `hostname`, or `argv` when not available. */
  async wrap(argv: readonly string[], hostname: string): Promise<string[]> {
    if (!(await this.available())) return [...argv];
    return [this.#unshare, '--uts', '--', '/bin/sh', '-c', SET_HOSTNAME_SCRIPT, hostname, ...argv];
  }

  #probe(): Promise<boolean> {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const argv = ['--uts', '--', '/bin/sh', '-c', SET_HOSTNAME_SCRIPT, PROBE_HOSTNAME, 'cat', '/proc/sys/kernel/hostname'];
      const child = spawn(this.#unshare, argv, {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        timeout: PROBE_TIMEOUT_MS,
      });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.once('error', () => resolve(false));
      child.once('close', (code) => resolve(code === 0 && output.trim() === PROBE_HOSTNAME));
    });
  }
}

/** sharedUtsNamespace is probed once per Ricochet process. */
export const sharedUtsNamespace = new UtsNamespace();
