/**
 * UpstreamPools keeps one keep-alive UpstreamPool per machine address ("http://host:port"), so
 * connections to a machine are reused across requests (spec §8.2.6).
 */
import type { ProxySettings } from '../config/types.ts';
import { UpstreamPool } from '../upstream/upstream-pool.ts';

/** UPSTREAM_KEEPALIVE_MS is how long an idle upstream connection is kept (Fly pools ~4 s, spec §8.2.6). */
export const UPSTREAM_KEEPALIVE_MS = 4_000;
/** UPSTREAM_BODY_IDLE_MS bounds the gap between two chunks of a response body. */
export const UPSTREAM_BODY_IDLE_MS = 300_000;

export class UpstreamPools {
  #pools = new Map<string, UpstreamPool>();
  #settings: ProxySettings;

  constructor(settings: ProxySettings) {
    this.#settings = settings;
  }

  get(origin: string): UpstreamPool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      const url = new URL(origin);
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      pool = new UpstreamPool(host, Number(url.port), {
        connections: this.#settings.pool_connections,
        connectTimeoutMs: this.#settings.connect_timeout_ms,
        headersTimeoutMs: this.#settings.response_timeout_ms,
        bodyIdleTimeoutMs: UPSTREAM_BODY_IDLE_MS,
        keepAliveMs: UPSTREAM_KEEPALIVE_MS,
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
      void pool.close();
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }
}
