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
import { applyConfig, configRecords } from './catalog/config-records.ts';
import { SqliteStore } from './catalog/sqlite-store.ts';
import type { Machine } from './catalog/types.ts';
import type { NodeConfig } from './config/types.ts';
import { originOf } from './proxy/forward-http.ts';
import { PublicListeners } from './proxy/listener.ts';
import type { ProxyRuntime } from './proxy/runtime.ts';
import { UpstreamPools } from './proxy/upstream-pools.ts';
import { ReplayCache } from './replay/cache.ts';
import { RegionTable } from './replay/regions.ts';
import { Supervisor } from './machines/supervisor.ts';
import { HealthMonitor } from './machines/health.ts';
import { Autostop } from './machines/autostop.ts';

/** HARD_LIMIT_QUEUE_MAX_WAITERS and HARD_LIMIT_QUEUE_MAX_WAIT_MS bound the hard-limit queue per app. */
export const HARD_LIMIT_QUEUE_MAX_WAITERS = 1000;
export const HARD_LIMIT_QUEUE_MAX_WAIT_MS = 10_000;

export interface NodeOptions {
  logger: Logger;
  random?: () => number;
  now?: () => number;
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
  #config: NodeConfig;
  #stopping: Promise<void> | null = null;
  #unsubscribe: (() => void)[] = [];

  private constructor(config: NodeConfig, options: NodeOptions) {
    this.#config = config;
    const logger = options.logger;
    const now = options.now ?? Date.now;
    const statePath = config.state === ':memory:' ? ':memory:' : resolve(config.state);
    this.catalog = new Catalog(new SqliteStore(statePath), { baseDomain: config.base_domain, now });
    this.supervisor = new Supervisor({ records: this.catalog, logger, startTimeoutMs: config.machines.start_timeout_ms, now });
    const load = new LoadTracker();
    const queue = new HardLimitQueue({ maxWaiters: HARD_LIMIT_QUEUE_MAX_WAITERS, maxWaitMs: HARD_LIMIT_QUEUE_MAX_WAIT_MS });
    this.health = new HealthMonitor({ records: this.catalog, logger });
    this.runtime = {
      config,
      catalog: this.catalog,
      pools: new UpstreamPools(config.proxy),
      load,
      queue,
      starter: this.supervisor,
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
    // A finished request may free a slot for a request waiting at the hard limit (spec §8.2.5).
    this.#unsubscribe.push(
      load.onRelease((machineId) => {
        const app = this.catalog.get(machineId)?.app;
        if (app !== undefined) queue.notify(app);
      }),
    );
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

  get logger(): Logger {
    return this.runtime.logger;
  }

  /** url is the base URL where public port `publicPort` is served locally. */
  url(publicPort: number): string {
    const local = this.listeners.localPort(publicPort);
    if (local === undefined) throw new Error(`Cannot give a URL for port ${publicPort}: no listener serves it`);
    return `http://${this.#config.listen.host}:${local}`;
  }

  async #boot(): Promise<void> {
    // Processes do not survive the node: machines that were running when it stopped (their
    // newest event is the shutdown) or that it lost without a shutdown are started again.
    const restore: string[] = [];
    for (const machine of this.catalog.machines()) {
      if (machine.state === 'destroyed') continue;
      if (STATES_TO_RESTORE.has(machine.state) || machine.events[0]?.type === 'shutdown') restore.push(machine.id);
      if (machine.runtime !== null || !['stopped', 'created', 'failed'].includes(machine.state)) {
        this.catalog.update(machine.id, { state: 'stopped', runtime: null });
      }
    }
    const changes = applyConfig(this.catalog, configRecords(this.#config, new Date().toISOString()));
    for (const machine of changes.removed) await this.#forget(machine);
    for (const app of changes.removedApps) this.catalog.deleteApp(app);
    await this.#startAll(new Set([...restore, ...changes.changed]));
    await this.listeners.reconcile(this.catalog.snapshot.publicPorts());
    this.#unsubscribe.push(this.catalog.onChange(() => this.#catalogChanged()));
    this.health.start();
    this.autostop.start();
  }

  /** reload applies a changed config (SIGHUP): apps and machines are added, changed or removed. */
  async reload(config: NodeConfig): Promise<void> {
    const changes = applyConfig(this.catalog, configRecords(config, new Date().toISOString()));
    this.#config = config;
    for (const machine of changes.removed) await this.#forget(machine);
    for (const app of changes.removedApps) this.catalog.deleteApp(app);
    for (const id of changes.changed) {
      if (this.supervisor.isRunning(id)) await this.supervisor.stop(id);
    }
    await this.#startAll(new Set(changes.changed));
    this.logger.info({ changed: changes.changed.length, removed: changes.removed.length }, 'config reloaded');
  }

  async #startAll(ids: ReadonlySet<string>): Promise<void> {
    await Promise.all(
      [...ids].map((id) =>
        this.supervisor.start(id).catch((error: unknown) => {
          this.logger.error({ machine: id, err: error }, 'machine failed to start');
        }),
      ),
    );
  }

  async #forget(machine: Machine): Promise<void> {
    await this.supervisor.destroy(machine.id).catch((error: unknown) => {
      this.logger.warn({ machine: machine.id, err: error }, 'machine did not stop cleanly');
    });
    this.catalog.deleteMachine(machine.id);
  }

  #catalogChanged(): void {
    const snapshot = this.catalog.snapshot;
    this.listeners.reconcile(snapshot.publicPorts()).catch((error: unknown) => {
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
  }

  /** stop drains in-flight requests (bounded), stops every machine this node started, and closes the catalog. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.logger.info({ inflight: this.listeners.inflight }, 'shutting down');
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
