/**
 * Snapshot is an immutable view of the catalog with the indexes routing needs: host -> app,
 * app -> machines, machine id -> machine, and the public ports any service declares. A request
 * reads one snapshot from start to end; a catalog change builds a new one (design doc).
 */
import type { App, Machine, Service, ServicePort } from './types.ts';

/** ServiceMatch is the service of a machine that serves a public port, and that port's entry. */
export interface ServiceMatch {
  service: Service;
  port: ServicePort;
}

/** PortMachine is a machine with a service on some public port, and that service and port entry. */
export interface PortMachine extends ServiceMatch {
  machine: Machine;
}

/** SOFT_LIMIT_DEFAULT is Fly's default concurrency soft limit (spec §8.1). */
export const SOFT_LIMIT_DEFAULT = 20;

export class Snapshot {
  readonly version: number;
  readonly baseDomain: string;
  #apps: ReadonlyMap<string, App>;
  #machines: ReadonlyMap<string, Machine>;
  #machinesByApp: ReadonlyMap<string, readonly Machine[]>;
  #exactHosts: ReadonlyMap<string, App>;
  #wildcardHosts: ReadonlyMap<string, App>;
  #publicPorts: readonly number[];
  /** "app:port" -> machines on that port; filled on first use (the snapshot never changes). */
  #onPort = new Map<string, readonly PortMachine[]>();

  constructor(version: number, baseDomain: string, apps: Iterable<App>, machines: Iterable<Machine>) {
    this.version = version;
    this.baseDomain = baseDomain.toLowerCase();
    const appMap = new Map<string, App>();
    const exact = new Map<string, App>();
    const wildcard = new Map<string, App>();
    for (const app of apps) {
      appMap.set(app.name, app);
      if (app.public === false) continue;
      for (const host of app.hostnames) {
        if (host.startsWith('*.')) wildcard.set(host.slice(2), app);
        else exact.set(host, app);
      }
    }
    const byId = new Map<string, Machine>();
    const byApp = new Map<string, Machine[]>();
    const ports = new Set<number>();
    for (const machine of machines) {
      if (machine.state === 'destroyed') continue;
      byId.set(machine.id, machine);
      let list = byApp.get(machine.app);
      if (list === undefined) byApp.set(machine.app, (list = []));
      list.push(machine);
      for (const service of machine.config.services) {
        if (service.protocol !== 'tcp') continue;
        for (const port of service.ports) {
          if (port.port !== undefined) ports.add(port.port);
          else if (port.start_port !== undefined && port.end_port !== undefined) {
            for (let p = port.start_port; p <= port.end_port; p++) ports.add(p);
          }
        }
      }
    }
    this.#apps = appMap;
    this.#machines = byId;
    this.#machinesByApp = byApp;
    this.#exactHosts = exact;
    this.#wildcardHosts = wildcard;
    this.#publicPorts = [...ports].sort((a, b) => a - b);
  }

  /**
   * appForHost finds the app a Host header names: an exact hostname first, then
   * `<app>.<base_domain>`, then the most specific `*.` wildcard. `host` is lowercase, no port.
   * Private apps (`public: false`) are never found here: only a replay reaches them.
   */
  appForHost(host: string): App | undefined {
    const exact = this.#exactHosts.get(host);
    if (exact !== undefined) return exact;
    const dot = host.indexOf('.');
    if (dot > 0 && host.slice(dot + 1) === this.baseDomain) {
      const app = this.#apps.get(host.slice(0, dot));
      if (app !== undefined && app.public !== false) return app;
    }
    for (let i = dot; i !== -1; i = host.indexOf('.', i + 1)) {
      const app = this.#wildcardHosts.get(host.slice(i + 1));
      if (app !== undefined) return app;
    }
    return undefined;
  }

  app(name: string): App | undefined {
    return this.#apps.get(name);
  }

  apps(): IterableIterator<App> {
    return this.#apps.values();
  }

  machine(id: string): Machine | undefined {
    return this.#machines.get(id);
  }

  /** machinesOf lists an app's machines that are not destroyed. */
  machinesOf(app: string): readonly Machine[] {
    return this.#machinesByApp.get(app) ?? [];
  }

  /**
   * machinesOnPort lists an app's machines whose service declares `publicPort`, with that service
   * (spec §1.3.5, §8.2.9). Computed once per snapshot, app and port: the request path reads it.
   */
  machinesOnPort(app: string, publicPort: number): readonly PortMachine[] {
    const key = `${app}:${publicPort}`;
    let list = this.#onPort.get(key);
    if (list === undefined) {
      const found: PortMachine[] = [];
      for (const machine of this.machinesOf(app)) {
        const match = serviceFor(machine, publicPort);
        if (match !== undefined) found.push({ machine, ...match });
      }
      this.#onPort.set(key, (list = found));
    }
    return list;
  }

  /** publicPorts lists every public TCP port a machine's service declares. */
  publicPorts(): readonly number[] {
    return this.#publicPorts;
  }

  get machineCount(): number {
    return this.#machines.size;
  }
}

/** serviceFor finds the machine's service that declares `publicPort` (spec §1.3.5, §8.2.9). */
export function serviceFor(machine: Machine, publicPort: number): ServiceMatch | undefined {
  for (const service of machine.config.services) {
    if (service.protocol !== 'tcp') continue;
    for (const port of service.ports) {
      if (port.port === publicPort) return { service, port };
      if (
        port.port === undefined &&
        port.start_port !== undefined &&
        port.end_port !== undefined &&
        publicPort >= port.start_port &&
        publicPort <= port.end_port
      ) {
        return { service, port };
      }
    }
  }
  return undefined;
}

/** hasHandler says whether a port entry runs `handler` (spec §11.3). */
export function hasHandler(port: ServicePort, handler: string): boolean {
  return port.handlers?.includes(handler) ?? false;
}
