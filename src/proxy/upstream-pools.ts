/**
 * UpstreamPools keeps one keep-alive undici Pool per machine address ("http://host:port"), so
 * connections to a machine are reused across requests (spec §8.2.6).
 */
import { Pool } from 'undici';
import type { ProxySettings } from '../config/types.ts';

/** UPSTREAM_KEEPALIVE_MS is how long an idle upstream connection is kept (Fly pools ~4 s, spec §8.2.6). */
export const UPSTREAM_KEEPALIVE_MS = 4_000;
/** UPSTREAM_BODY_IDLE_MS bounds the gap between two chunks of a response body. */
export const UPSTREAM_BODY_IDLE_MS = 300_000;

export class UpstreamPools {
  #pools = new Map<string, Pool>();
  #settings: ProxySettings;

  constructor(settings: ProxySettings) {
    this.#settings = settings;
  }

  get(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: this.#settings.pool_connections,
        pipelining: 1,
        keepAliveTimeout: UPSTREAM_KEEPALIVE_MS,
        keepAliveMaxTimeout: UPSTREAM_KEEPALIVE_MS,
        connectTimeout: this.#settings.connect_timeout_ms,
        headersTimeout: this.#settings.response_timeout_ms,
        bodyTimeout: UPSTREAM_BODY_IDLE_MS,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** retain closes the pools of addresses no machine uses any more. */
  retain(live: ReadonlySet<string>): void {
    for (const [origin, pool] of this.#pools) {
      if (live.has(origin)) continue;
      this.#pools.delete(origin);
      pool.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => {})));
  }
}
