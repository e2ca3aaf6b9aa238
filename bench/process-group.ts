/**
 * ProcessGroup starts the benchmark's processes pinned to a core and stops every one of them by
 * PID, its descendants included (nginx's worker), also when the harness is interrupted.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { processTree, readProcStat } from './proc-stat.ts';

/** OUTPUT_TAIL_BYTES is how much of a process's output is kept to explain a failure. */
const OUTPUT_TAIL_BYTES = 4096;
/** STOP_GRACE_MS is how long a process gets after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 3000;
const POLL_MS = 50;

/** StartOptions describes one process to start. */
export interface StartOptions {
  /** Short name used in messages: "backend", "nginx". */
  name: string;
  /** The core list given to taskset ("0", "1"). */
  core: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** StartedProcess is a running (or exited) process of the group. */
export interface StartedProcess {
  name: string;
  pid: number;
  /** Exit code or signal name, null while it runs. */
  exitStatus(): string | null;
  /** The last few KiB of its stdout and stderr. */
  outputTail(): string;
  exited: Promise<void>;
}

interface Entry {
  process: StartedProcess;
  child: ChildProcess;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ProcessGroup {
  #entries = new Map<number, Entry>();
  #closed = false;

  /** start runs `taskset -c <core> <command> <args>`; taskset execs, so the PID is the command's. */
  start(options: StartOptions): StartedProcess {
    if (this.#closed) throw new Error(`Cannot start ${options.name}: the bench is stopping`);
    const child = spawn('taskset', ['-c', options.core, options.command, ...options.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    if (child.pid === undefined) {
      throw new Error(`Cannot start ${options.name}: spawn of "${options.command}" returned no PID`);
    }
    const pid = child.pid;
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let status: string | null = null;
    const exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        status = signal ?? String(code);
        this.#entries.delete(pid);
        resolve();
      });
      child.on('error', (err) => {
        status = `spawn error: ${err.message}`;
        this.#entries.delete(pid);
        resolve();
      });
    });
    const started: StartedProcess = {
      name: options.name,
      pid,
      exitStatus: () => status,
      outputTail: () => tail,
      exited,
    };
    this.#entries.set(pid, { process: started, child });
    return started;
  }

  /** running lists the processes of the group that have not exited. */
  running(): StartedProcess[] {
    return [...this.#entries.values()].map((entry) => entry.process);
  }

  /** stop sends SIGTERM, then SIGKILL after a grace period, then kills leftover descendants. */
  async stop(started: StartedProcess): Promise<void> {
    const descendants = processTree(started.pid).filter((stat) => stat.pid !== started.pid);
    if (started.exitStatus() === null) {
      signal(started.pid, 'SIGTERM');
      const timedOut = await Promise.race([started.exited.then(() => false), delay(STOP_GRACE_MS).then(() => true)]);
      if (timedOut) {
        signal(started.pid, 'SIGKILL');
        await started.exited;
      }
    }
    // A master that exits takes its workers along; give them a moment, then kill the stragglers,
    // checking the start time so that a reused PID is never hit.
    const deadline = Date.now() + STOP_GRACE_MS;
    for (const stat of descendants) {
      while (sameProcessAlive(stat.pid, stat.startTicks) && Date.now() < deadline) await delay(POLL_MS);
      if (sameProcessAlive(stat.pid, stat.startTicks)) signal(stat.pid, 'SIGKILL');
    }
  }

  /** stopAll stops every running process of the group, and lets no new one start. */
  async stopAll(): Promise<void> {
    this.#closed = true;
    const running = this.running().reverse();
    await Promise.all(running.map((started) => this.stop(started)));
  }

  /** killAllNow sends SIGKILL to every process and its descendants; for `process.on('exit')`. */
  killAllNow(): void {
    for (const { process: started } of this.#entries.values()) {
      for (const stat of processTree(started.pid).reverse()) signal(stat.pid, 'SIGKILL');
    }
  }
}

function sameProcessAlive(pid: number, startTicks: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && stat.startTicks === startTicks;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
