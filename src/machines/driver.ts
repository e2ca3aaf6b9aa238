/**
 * MachineDriver is how a machine runs (design doc, "Machines"): `process` starts a local child
 * process per machine, `static` points at an address someone else runs. The supervisor owns
 * states, events and restarts; a driver only starts a machine and hands back a RunningMachine.
 */
import type { Logger } from 'pino';
import type { App, Machine, MachineRuntime, RicochetMachineOptions } from '../catalog/types.ts';

/** MachineExit is how a machine's process ended: an exit code, or the signal that ended it. */
export interface MachineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** DriverStartOptions is what a driver needs to start one machine. */
export interface DriverStartOptions {
  machine: Machine;
  /** The machine's app, for PRIMARY_REGION; undefined when the catalog has no such app. */
  app: App | undefined;
  /** Deadline for every internal port to accept TCP connections; past it the start fails PM03. */
  timeoutMs: number;
  /** Aborting gives up the start: the driver undoes what it did and rejects with the reason. */
  signal: AbortSignal;
  logger: Logger;
}

/**
 * MachineDriver starts machines. `start` resolves once every internal port of the machine
 * accepts TCP connections, and rejects with a ProxyError: PM03 past the deadline, PM05 when
 * the machine cannot run (its process exited, bad command or address).
 */
export interface MachineDriver {
  readonly kind: RicochetMachineOptions['driver'];
  /** canSuspend is false where suspend must fall back to stop (spec §9.5). */
  readonly canSuspend: boolean;
  start(options: DriverStartOptions): Promise<RunningMachine>;
}

/** RunningMachine is one started machine, until `exited` resolves. */
export interface RunningMachine {
  /** runtime is where the machine listens: host, internal port -> local port, pid. */
  readonly runtime: MachineRuntime;
  /** exited resolves once, when the machine is gone (its process exited, or it was stopped). */
  readonly exited: Promise<MachineExit>;
  /** stop sends `signal`, then SIGKILL after `timeoutMs`, and resolves with the exit (spec §9.4). */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<MachineExit>;
  /** suspend freezes the machine; only called when the driver's `canSuspend` is true. */
  suspend(): Promise<void>;
  /** resume undoes `suspend` and resolves once the machine runs again. */
  resume(): Promise<void>;
  /** kill ends the machine at once, synchronously (used when Ricochet itself exits). */
  kill(): void;
}
