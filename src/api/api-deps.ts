/**
 * ApiDeps is what the Machines API needs from its node: the catalog it reads and writes, the
 * supervisor that runs machines, the replay cache, the current config (read per request, so a
 * reload's new token applies at once), a logger and a clock.
 */
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import type { NodeConfig } from '../config/types.ts';
import type { Supervisor } from '../machines/supervisor.ts';
import type { ReplayCache } from '../replay/cache.ts';

export type ApiSupervisor = Pick<Supervisor, 'start' | 'stop' | 'suspend' | 'destroy'>;

export interface ApiDeps {
  catalog: Catalog;
  supervisor: ApiSupervisor;
  cache: ReplayCache;
  config: () => NodeConfig;
  logger: Logger;
  now: () => number;
}
