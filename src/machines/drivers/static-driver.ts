/**
 * StaticDriver is for a machine that someone else runs at `config.ricochet.address`
 * ("host:port"; IPv6 as "[::1]:3000"). Ricochet never starts or stops that process: start maps
 * every internal port of the machine to the address at once, without connecting (the server may
 * come up later, and a catalog of 100,000 static machines must not cost 100,000 connections at
 * boot); whether it answers is for retries and health checks to find out. Stop only marks the
 * machine stopped. It cannot suspend, so a suspend falls back to stop (spec §9.5).
 */
import type { Machine, MachineRuntime } from '../../catalog/types.ts';
import { ProxyError } from '../../proxy/errors.ts';
import type { DriverStartOptions, MachineDriver, MachineExit, RunningMachine } from '../driver.ts';
import { internalPorts } from './machine-env.ts';

export class StaticDriver implements MachineDriver {
  readonly kind = 'static';
  readonly canSuspend = false;

  async start(options: DriverStartOptions): Promise<RunningMachine> {
    const { machine, signal } = options;
    const address = machine.config.ricochet.address;
    const target = address === undefined ? null : parseAddress(address);
    if (target === null) {
      throw new ProxyError('PM05', `Cannot start machine "${machine.id}": config.ricochet.address "${address ?? ''}" is not host:port`);
    }
    signal.throwIfAborted();
    return new StaticMachine(machine, target.host, target.port);
  }
}

/** StaticMachine is a started static machine: it is "gone" only once stopped. */
class StaticMachine implements RunningMachine {
  readonly runtime: MachineRuntime;
  readonly exited: Promise<MachineExit>;
  #markExited!: (exit: MachineExit) => void;

  constructor(machine: Machine, host: string, port: number) {
    this.runtime = { host, ports: Object.fromEntries(internalPorts(machine).map((internal) => [String(internal), port])) };
    this.exited = new Promise((resolve) => (this.#markExited = resolve));
  }

  async stop(): Promise<MachineExit> {
    this.kill();
    return this.exited;
  }

  async suspend(): Promise<void> {
    throw new Error('A static machine cannot be suspended');
  }

  async resume(): Promise<void> {}

  kill(): void {
    this.#markExited({ code: 0, signal: null });
  }
}

/** parseAddress reads "host:port" or "[v6]:port"; null when malformed. */
export function parseAddress(address: string): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(address.trim());
  if (match === null) return null;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return null;
  return { host: match[1] ?? match[2], port };
}
