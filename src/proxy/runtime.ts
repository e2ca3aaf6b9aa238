/**
 * ProxyRuntime is what the pipeline's phases need from the node: config, the catalog, upstream
 * pools, load counters, the machine supervisor, health, regions and the replay cache. `node.ts`
 * builds it; tests build it through the same function.
 */
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import type { NodeConfig } from '../config/types.ts';
import type { LoadTracker } from '../balancer/load-tracker.ts';
import type { HardLimitQueue } from '../balancer/hard-limit-queue.ts';
import type { Machine } from '../catalog/types.ts';
import type { RegionTable } from '../replay/regions.ts';
import type { ReplayCache } from '../replay/cache.ts';
import type { UpstreamPools } from './upstream-pools.ts';

/** MachineStarter wakes stopped or suspended machines (the supervisor). */
export interface MachineStarter {
  start(id: string): Promise<Machine>;
}

/** HealthView says whether a machine passes its service checks (spec §10). */
export interface HealthView {
  healthy(machineId: string): boolean;
}

export interface ProxyRuntime {
  config: NodeConfig;
  catalog: Catalog;
  pools: UpstreamPools;
  load: LoadTracker;
  queue: HardLimitQueue;
  starter: MachineStarter;
  health: HealthView;
  regions: RegionTable;
  rtt: (region: string) => number;
  cache: ReplayCache;
  logger: Logger;
  random: () => number;
}
