/**
 * ProcessDriver runs each machine as a local child process (design doc, "Machines"): the argv
 * `config.init.exec`, or `config.init.entrypoint` + `config.init.cmd`, in `config.ricochet.cwd`
 * (default: Ricochet's working directory), with the environment of machine-env.ts, its own
 * free local ports (port isolation, machine-env.ts), and its hostname set to the machine id
 * where the OS allows (uts-namespace.ts).
 *
 * The child is spawned detached, so it leads its own process group: stop, suspend and resume
 * signal the whole group, and once the leader has exited the group gets SIGKILL, so no
 * grandchild outlives its machine (a Fly Machine's VM ends with its main process too).
 * stdout and stderr go to the logger line by line, tagged `{machine, app, stream}`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Machine, MachineRuntime } from '../../catalog/types.ts';
import { ProxyError, type ErrorCode } from '../../proxy/errors.ts';
import type { DriverStartOptions, MachineDriver, MachineExit, RunningMachine } from '../driver.ts';
import { LineSplitter } from './line-splitter.ts';
import { internalPorts, machineEnv } from './machine-env.ts';
import { sharedPortAllocator, type PortAllocator } from './port-allocator.ts';
import { sharedUtsNamespace, type UtsNamespace } from './uts-namespace.ts';
import { waitForPorts } from './wait-for-ports.ts';

/** MACHINE_HOST is where process machines listen and are reached. */
export const MACHINE_HOST = '127.0.0.1';

/** PROCESS_STATE_WAIT_MS bounds the wait for a signalled group to show as stopped, running or gone. */
const PROCESS_STATE_WAIT_MS = 1_000;
/** PROCESS_STATE_POLL_MS is the pause between two looks at /proc. */
const PROCESS_STATE_POLL_MS = 2;

export interface ProcessDriverOptions {
  ports?: PortAllocator;
  uts?: UtsNamespace;
  /** Ricochet's environment, read only for the inherited basics (machine-env.ts). */
  parentEnv?: NodeJS.ProcessEnv;
  /** Variables the node gives every machine, read at each start (e.g. RICOCHET_API_URL). */
  nodeEnv?: () => Record<string, string>;
}

export class ProcessDriver implements MachineDriver {
  readonly kind = 'process';
  /** canSuspend: SIGSTOP/SIGCONT exist wherever process groups do. */
  readonly canSuspend = process.platform !== 'win32';
  #ports: PortAllocator;
  #uts: UtsNamespace;
  #parentEnv: NodeJS.ProcessEnv;
  #nodeEnv: () => Record<string, string>;

  constructor(options: ProcessDriverOptions = {}) {
    this.#ports = options.ports ?? sharedPortAllocator;
    this.#uts = options.uts ?? sharedUtsNamespace;
    this.#parentEnv = options.parentEnv ?? process.env;
    this.#nodeEnv = options.nodeEnv ?? (() => ({}));
  }

  async start(options: DriverStartOptions): Promise<RunningMachine> {
    const { machine, app, timeoutMs, signal, logger } = options;
    const argv = commandOf(machine);
    if (argv.length === 0) throw startError(machine, 'PM05', 'config.init has no exec, entrypoint or cmd');
    const cwd = machine.config.ricochet.cwd ?? process.cwd();
    const isDirectory = await stat(cwd).then((info) => info.isDirectory(), () => false);
    if (!isDirectory) throw startError(machine, 'PM05', `working directory "${cwd}" does not exist`);
    signal.throwIfAborted();

    const internal = internalPorts(machine);
    const local = await this.#ports.allocate(MACHINE_HOST, internal.length);
    const ports = new Map(internal.map((port, index) => [port, local[index]]));
    let child: ChildProcess;
    try {
      const env = machineEnv({ machine, app, host: MACHINE_HOST, ports, parentEnv: this.#parentEnv, nodeEnv: this.#nodeEnv() });
      const [file, ...args] = await this.#uts.wrap(argv, machine.id);
      child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (error) {
      this.#ports.release(local);
      const reason = error instanceof Error ? error.message : String(error);
      throw startError(machine, 'PM05', reason, error);
    }

    child.on('error', () => {}); // after 'spawn', errors surface as the exit
    const output = logger.child({ machine: machine.id, app: machine.app });
    output.debug({ pid: child.pid, argv, cwd, ports: Object.fromEntries(ports) }, 'machine process spawned');
    forwardOutput(child.stdout!, output, 'stdout');
    forwardOutput(child.stderr!, output, 'stderr');
    const runtime: MachineRuntime = {
      host: MACHINE_HOST,
      ports: Object.fromEntries([...ports].map(([internalPort, localPort]) => [String(internalPort), localPort])),
      pid: child.pid,
    };
    const running = new ChildMachine(child, runtime, () => this.#ports.release(local));

    const exitedEarly = new AbortController();
    void running.exited.then(() => exitedEarly.abort());
    const wait = await waitForPorts(MACHINE_HOST, local, {
      timeoutMs,
      signal: AbortSignal.any([signal, exitedEarly.signal]),
    });
    if (wait === 'ready') return running;
    if (running.exit !== null) throw startError(machine, 'PM05', describeExit(running.exit));
    running.kill();
    await running.exited;
    if (signal.aborted) throw signal.reason;
    const listed = `${local.length === 1 ? 'port' : 'ports'} ${local.join(', ')}`;
    throw startError(machine, 'PM03', `nothing accepted connections on ${listed} within ${timeoutMs} ms`);
  }
}

/** ChildMachine is a running child process and its process group. */
class ChildMachine implements RunningMachine {
  readonly runtime: MachineRuntime;
  readonly exited: Promise<MachineExit>;
  exit: MachineExit | null = null;
  #pid: number;

  constructor(child: ChildProcess, runtime: MachineRuntime, release: () => void) {
    this.runtime = runtime;
    this.#pid = child.pid!;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const exit = { code, signal };
        // The leader is gone: end whatever is left of its group, and resolve once it is gone.
        this.#signalGroup('SIGKILL');
        void waitForGroupGone(this.#pid).then(() => {
          this.exit = exit;
          release();
          resolve(exit);
        });
      });
    });
  }

  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<MachineExit> {
    if (this.exit !== null) return this.exit;
    this.#signalGroup(signal);
    // A suspended group handles the stop signal only once it runs again (spec §14: stopping a
    // suspended machine discards its snapshot).
    this.#signalGroup('SIGCONT');
    const timer = setTimeout(() => this.#signalGroup('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async suspend(): Promise<void> {
    this.#signalGroup('SIGSTOP');
    await this.#waitForProcessState((state) => state === 'T' || state === 't');
  }

  async resume(): Promise<void> {
    this.#signalGroup('SIGCONT');
    await this.#waitForProcessState((state) => state !== 'T' && state !== 't');
  }

  kill(): void {
    this.#signalGroup('SIGKILL');
  }

  /** #signalGroup signals the process group; a group that is already gone (ESRCH) is fine. */
  #signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.#pid, signal);
    } catch {
      // ESRCH: nothing is left of the group. Other errors cannot happen for our own children.
    }
  }

  /** #waitForProcessState waits, on Linux, until the leader's /proc state matches (bounded). */
  async #waitForProcessState(matches: (state: string) => boolean): Promise<void> {
    if (process.platform !== 'linux') return;
    const deadline = Date.now() + PROCESS_STATE_WAIT_MS;
    while (this.exit === null && Date.now() < deadline) {
      const state = processState(this.#pid);
      if (state === null || matches(state)) return;
      await pause(PROCESS_STATE_POLL_MS);
    }
  }
}

/**
 * waitForGroupGone waits, on Linux, until no live process is left in process group `pgid`
 * (zombies count as gone: they run nothing and hold no port), at most PROCESS_STATE_WAIT_MS.
 */
async function waitForGroupGone(pgid: number): Promise<void> {
  if (process.platform !== 'linux') return;
  const deadline = Date.now() + PROCESS_STATE_WAIT_MS;
  while (Date.now() < deadline && groupHasLiveMember(pgid)) await pause(PROCESS_STATE_POLL_MS);
}

function groupHasLiveMember(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return false;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm)": state ppid pgrp ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** processState is the state letter of /proc/<pid>/stat (R, S, T, Z ...), or null when gone. */
function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** commandOf is the machine's argv: `init.exec`, else `init.entrypoint` + `init.cmd`. */
export function commandOf(machine: Machine): string[] {
  const init = machine.config.init;
  if (init.exec !== undefined && init.exec.length > 0) return [...init.exec];
  return [...(init.entrypoint ?? []), ...(init.cmd ?? [])];
}

/** describeExit says how a process ended, for error messages and logs. */
export function describeExit(exit: MachineExit): string {
  return exit.signal !== null ? `process was killed by ${exit.signal}` : `process exited with code ${exit.code}`;
}

function startError(machine: Machine, code: ErrorCode, reason: string, cause?: unknown): ProxyError {
  return new ProxyError(code, `Cannot start machine "${machine.id}": ${reason}`, { source: 'upstream', cause });
}

function forwardOutput(stream: Readable, logger: Logger, name: 'stdout' | 'stderr'): void {
  const splitter = new LineSplitter();
  const log = (lines: ReturnType<LineSplitter['push']>): void => {
    for (const line of lines) {
      if (line.truncated) logger.info({ stream: name, truncated: true }, line.text);
      else logger.info({ stream: name }, line.text);
    }
  };
  stream.on('data', (chunk: Buffer) => log(splitter.push(chunk)));
  stream.on('end', () => log(splitter.end()));
  stream.on('error', () => {});
}
