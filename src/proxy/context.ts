/**
 * RequestContext is everything one request carries through the pipeline, and Target is where a
 * hop of it goes: the first hop from the Host header and the client's routing headers, later
 * hops from a `fly-replay` directive.
 */
import type { Duplex } from 'node:stream';
import type { ClientExchange } from '../downstream/client-exchange.ts';
import type { App, Machine } from '../catalog/types.ts';
import type { Snapshot } from '../catalog/snapshot.ts';
import type { RegionChoice } from '../replay/regions.ts';
import type { ReplayTransform } from '../replay/directive.ts';
import type { BodyBuffer } from '../replay/body-buffer.ts';
import type { ForwardedHeaders } from './upstream-headers.ts';
import type { Cancellation } from './cancellation.ts';
import type { ClientRequestHeaders } from './request-headers.ts';

/** Hop is one machine a request was delivered to. */
export interface Hop {
  app: string;
  machine: string;
  region: string;
  status: number;
}

/** Fallback is where a replay goes back to when it cannot reach its target (spec §3). */
export interface Fallback {
  mode: 'force_self' | 'prefer_self';
  app: App;
  machine: Machine;
}

/** CacheUse is how a hop relates to the replay cache, sent as `fly-replay-cache-status`. */
export type CacheStatus = 'miss' | 'hit' | 'bypass';

/** NO_MACHINES is the empty `exclude` set most targets share. */
export const NO_MACHINES: ReadonlySet<string> = new Set();

export interface Target {
  app: App;
  /** Preferred regions in order (replay `region=`, `fly-prefer-region`, `fly-force-region`). */
  regions: RegionChoice[] | null;
  /** Never leave `regions` (`fly-force-region`). */
  regionsOnly: boolean;
  /** Only this machine (`instance=`, `fly-force-instance-id`). */
  instance: string | null;
  /** This machine if it can take the request (`prefer_instance=`, `fly-prefer-instance-id`). */
  preferInstance: string | null;
  /** Machines never to pick (`elsewhere=true` excludes the replaying machine). */
  exclude: ReadonlySet<string>;
  /** Extra request headers for this hop (fly-replay-src, fly-replay-cache-status …). */
  headers: string[];
  transform: ReplayTransform | null;
  /** performance.now() deadline for reaching a machine, or null for the default attempts. */
  deadline: number | null;
  fallback: Fallback | null;
  /** This hop is a fallback delivery: its response may not replay (spec §1.3.9). */
  isFallback: boolean;
  /** Where the request was replayed from, for replay loop checks and the cache. */
  replayedBy: Machine | null;
  /** The replay-cache key that routed this hop, so the target can invalidate it (spec §5.3). */
  cacheKey: string | null;
  /**
   * For a hop aimed by a cache hit, where the request would have gone without the cache (the
   * origin app), so a hit whose target cannot be reached asks the origin again (spec §5:
   * caching is an optimisation, not a guarantee). Null for any other hop.
   */
  uncached: Target | null;
}

export interface RequestContext {
  id: string;
  /** performance.now() at arrival. */
  start: number;
  /** µs since the epoch at arrival (X-Request-Start). */
  startMicros: number;
  /** The exchange with the client: the request head and body, and the response to write. */
  exchange: ClientExchange;
  /** The client socket of an upgrade request, which answers on it; null for any other request. */
  socket: Duplex | null;
  upgradeHead: Buffer | null;
  publicPort: number;
  clientIp: string;
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  /** The HTTP version the client spoke: "1.1" or "1.0". */
  httpVersion: string;
  /** Host without port, lowercase. */
  host: string;
  headers: ClientRequestHeaders;
  /** The client's headers plus the forwarding headers (spec §7.1), built once per request. */
  upstreamBase: ForwardedHeaders | null;
  body: BodyBuffer | null;
  snapshot: Snapshot;
  /** The app the Host header named. */
  app: App | null;
  hops: Hop[];
  /** The client skipped a cache entry that allows it (spec §5.3): replays say `bypass`. */
  cacheBypass: boolean;
  status: number;
  errorCode: string | null;
  /** Set once response bytes went to the client; after that errors only close the connection. */
  responded: boolean;
  /** Cancelled when the client goes away. */
  cancel: Cancellation;
}
