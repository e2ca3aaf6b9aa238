/**
 * RicochetNode is one running node: the catalog, the machines it supervises, the public
 * listeners and everything the pipeline needs, wired together once. `start` brings it up from
 * a NodeConfig, `reload` applies a changed config, `stop` drains and leaves nothing running.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { HardLimitQueue } from './balancer/hard-limit-queue.ts';
import { LoadTracker } from './balancer/load-tracker.ts';
import { closeness } from './balancer/closeness.ts';
import { Catalog } from './catalog/catalog.ts';
import { applyConfig, configRecords, type ConfigChanges } from './catalog/config-records.ts';
import { SqliteStore } from './catalog/sqlite-store.ts';
import type { Machine } from './catalog/types.ts';
import type { NodeConfig } from './config/types.ts';
import { originOf } from './proxy/forward-http.ts';
import { PublicListeners } from './proxy/listener.ts';
import { notifyCapacity } from './proxy/pick-machine.ts';
import type { ProxyRuntime } from './proxy/runtime.ts';
import { UpstreamPools } from './proxy/upstream-pools.ts';
import { ReplayCache } from './replay/cache.ts';
import { RegionTable } from './replay/regions.ts';
import { Supervisor } from './machines/supervisor.ts';
import { ProcessDriver } from './machines/drivers/process-driver.ts';
import { HealthMonitor } from './machines/health.ts';
import { Autostop } from './machines/autostop.ts';
import { ApiServer } from './api/server.ts';

export interface NodeOptions {
  logger: Logger;
  random?: () => number;
  now?: () => number;
}

/** BOOT_START_CONCURRENCY bounds the machines started at once at boot and on reload. */
export const BOOT_START_CONCURRENCY = 16;

/**
 * wasStartedAtShutdown says whether the node's last shutdown stopped this machine while it was
 * started (not suspended or stopped): its newest events are the shutdown's, and the one before
 * them says `started`.
 */
function wasStartedAtShutdown(machine: Machine): boolean {
  if (machine.events[0]?.type !== 'shutdown') return false;
  return machine.events.find((event) => event.type !== 'shutdown')?.status === 'started';
}

/** STATES_TO_RESTORE are the states in which a machine's process should be running. */
const STATES_TO_RESTORE = new Set(['started', 'starting']);

export class RicochetNode {
  readonly catalog: Catalog;
  readonly supervisor: Supervisor;
  readonly listeners: PublicListeners;
  readonly runtime: ProxyRuntime;
  readonly health: HealthMonitor;
  readonly autostop: Autostop;
  /** api serves the Machines API on `[listen] api` (src/api). */
  readonly api: ApiServer;
  #config: NodeConfig;
  #stopping: Promise<void> | null = null;
  #unsubscribe: (() => void)[] = [];

  private constructor(config: NodeConfig, options: NodeOptions) {
    this.#config = config;
    const logger = options.logger;
    const now = options.now ?? Date.now;
    const statePath = config.state === ':memory:' ? ':memory:' : resolve(config.state);
    this.catalog = new Catalog(new SqliteStore(statePath), { baseDomain: config.base_domain, now });
    const load = new LoadTracker();
    // A stopping machine gets no new requests; those in flight get up to kill_timeout (spec §9.4).
    const drain = (id: string, timeoutMs: number) => load.idle(id, timeoutMs);
    // Machines find the Machines API as Fly machines find _api.internal:4280.
    const nodeEnv = () => ({ RICOCHET_API_URL: this.api.url });
    this.supervisor = new Supervisor({
      records: this.catalog,
      logger,
      startTimeoutMs: config.machines.start_timeout_ms,
      now,
      drain,
      drivers: { process: new ProcessDriver({ nodeEnv }) },
    });
    const queue = new HardLimitQueue({ maxWaiters: config.proxy.queue_max_waiters, maxWaitMs: config.proxy.queue_max_wait_ms });
    this.health = new HealthMonitor({ records: this.catalog, logger });
    this.runtime = {
      config,
      catalog: this.catalog,
      pools: new UpstreamPools(config.proxy),
      load,
      queue,
      // A machine woken by a request is checked at once rather than after its grace period.
      starter: {
        start: async (id) => {
          const machine = await this.supervisor.start(id);
          this.health.checkNow(id).catch((error: unknown) => this.logger.warn({ machine: id, err: error }, 'health check failed to run'));
          return machine;
        },
      },
      health: this.health,
      regions: new RegionTable(config.region_aliases),
      rtt: closeness(config.regions, config.region),
      cache: new ReplayCache({ maxEntries: config.replay.cache_max_entries, now }),
      logger,
      random: options.random ?? Math.random,
    };
    this.autostop = new Autostop({
      catalog: this.catalog,
      supervisor: this.supervisor,
      load,
      config,
      logger,
      now,
    });
    this.listeners = new PublicListeners(this.runtime);
    this.api = new ApiServer({
      catalog: this.catalog,
      supervisor: this.supervisor,
      cache: this.runtime.cache,
      config: () => this.#config,
      logger,
      now,
    });
    // A finished request may free a slot for a request waiting at the hard limit (spec §8.2.5).
    this.#unsubscribe.push(load.onRelease((machineId) => notifyCapacity(this.runtime, machineId)));
  }

  static async start(config: NodeConfig, options: NodeOptions): Promise<RicochetNode> {
    const node = new RicochetNode(config, options);
    try {
      await node.#boot();
    } catch (error) {
      await node.stop();
      throw error;
    }
    return node;
  }

  get config(): NodeConfig {
    return this.#config;
  }

  /** apiUrl is where the Machines API listens, e.g. "http://127.0.0.1:4280" (port 0 resolved). */
  get apiUrl(): string {
    return this.api.url;
  }

  get logger(): Logger {
    return this.runtime.logger;
  }

  /** url is the base URL where public port `publicPort` is served locally. */
  url(publicPort: number): string {
    const url = this.listeners.url(publicPort);
    if (url === undefined) throw new Error(`Cannot give a URL for port ${publicPort}: no listener serves it`);
    return url;
  }

  async #boot(): Promise<void> {
    // Processes do not survive the node: machines that were running when it stopped (their
    // newest event is the shutdown) or that it lost without a shutdown are started again.
    const restore: string[] = [];
    for (const machine of this.catalog.machines()) {
      if (machine.state === 'destroyed') continue;
      if (STATES_TO_RESTORE.has(machine.state) || wasStartedAtShutdown(machine)) restore.push(machine.id);
      if (machine.runtime !== null || !['stopped', 'created', 'failed'].includes(machine.state)) {
        this.catalog.update(machine.id, { state: 'stopped', runtime: null });
      }
    }
    const changes = applyConfig(this.catalog, configRecords(this.#config, new Date().toISOString()));
    await this.#removeConfigLeftovers(changes);
    // The API first: machines are told its address (RICOCHET_API_URL) when they start.
    await this.api.listen(this.#config.listen.api);
    await this.#startAll(new Set([...restore, ...changes.changed]));
    await this.listeners.reconcile(this.#publicPorts());
    this.#unsubscribe.push(this.catalog.onChange(() => this.#catalogChanged()));
    this.health.start();
    this.autostop.start();
  }

  /** reload applies a changed config (SIGHUP): apps and machines are added, changed or removed. */
  async reload(config: NodeConfig): Promise<void> {
    const changes = applyConfig(this.catalog, configRecords(config, new Date().toISOString()));
    this.#config = config;
    await this.#removeConfigLeftovers(changes);
    for (const id of changes.changed) {
      if (this.supervisor.isRunning(id)) await this.supervisor.stop(id);
    }
    await this.#startAll(new Set(changes.changed));
    await this.listeners.reconcile(this.#publicPorts());
    this.logger.info({ changed: changes.changed.length, removed: changes.removed.length }, 'config reloaded');
  }

  /** #startAll starts machines, BOOT_START_CONCURRENCY at a time, logging the ones that fail. */
  async #startAll(ids: ReadonlySet<string>): Promise<void> {
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
        await this.supervisor.start(id).catch((error: unknown) => {
          this.logger.error({ machine: id, err: error }, 'machine failed to start');
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(BOOT_START_CONCURRENCY, queue.length) }, worker));
  }

  /**
   * #removeConfigLeftovers stops and forgets the machines that left the config, then the apps
   * that left it, with every machine they still have (API-created ones included).
   */
  async #removeConfigLeftovers(changes: ConfigChanges): Promise<void> {
    for (const machine of changes.removed) await this.#forget(machine);
    for (const app of changes.removedApps) {
      for (const machine of this.catalog.machines(app)) await this.#forget(machine);
      this.catalog.deleteApp(app);
    }
  }

  async #forget(machine: Machine): Promise<void> {
    await this.supervisor.destroy(machine.id).catch((error: unknown) => {
      this.logger.warn({ machine: machine.id, err: error }, 'machine did not stop cleanly');
    });
    this.catalog.deleteMachine(machine.id);
  }

  /**
   * #publicPorts are the ports to listen on: every port in `[listen] ports`, always (so a client
   * gets an answer, not a refused connection, while an app has no machine), and every other port
   * a service declares, while one does.
   */
  #publicPorts(): number[] {
    const configured = Object.keys(this.#config.listen.ports).map(Number);
    return [...new Set([...configured, ...this.catalog.snapshot.publicPorts()])];
  }

  #catalogChanged(): void {
    const snapshot = this.catalog.snapshot;
    this.listeners.reconcile(this.#publicPorts()).catch((error: unknown) => {
      this.logger.error({ err: error }, 'could not open a listener');
    });
    const live = new Set<string>();
    for (const app of snapshot.apps()) {
      for (const machine of snapshot.machinesOf(app.name)) {
        if (machine.runtime === null) continue;
        for (const service of machine.config.services) {
          try {
            live.add(originOf(machine, service));
          } catch {
            // A service without an address has no pool to keep.
          }
        }
      }
    }
    this.runtime.pools.retain(live);
    // A machine started, healthy again or uncordoned is capacity for requests at the hard limit.
    notifyCapacity(this.runtime);
  }

  /** stop drains in-flight requests (bounded), stops every machine this node started, and closes the catalog. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.logger.info({ inflight: this.listeners.inflight }, 'shutting down');
      await this.api.close();
      for (const unsubscribe of this.#unsubscribe) unsubscribe();
      this.autostop.stop();
      this.health.stop();
      await this.listeners.close(this.#config.proxy.drain_timeout_ms);
      this.runtime.queue.close();
      await this.supervisor.shutdown();
      await this.runtime.pools.close();
      this.catalog.close();
      this.logger.info('stopped');
    })();
    return this.#stopping;
  }
}
