/**
 * The replay cache routes (beyond Fly, spec §5): list and purge a node's cached replay
 * decisions by source app, request host and path prefix. Entries never show a session value in
 * clear (cache-key.ts hashes it).
 */
import type { CacheEntry, CacheFilter, ReplayCache } from '../replay/cache.ts';
import { findApp } from './lookups.ts';
import { route, type Route } from './route.ts';
import { cacheEntriesSchema, cachePurgedSchema, cacheQuery, nodeCacheQuery } from './schemas.ts';
import { validationError } from './validate-input.ts';

export const cacheRoutes: Route[] = [
  route({
    method: 'GET',
    path: '/v1/replay-cache',
    operationId: 'ReplayCache_list',
    tag: 'Replay cache',
    summary: 'List the node\'s replay cache entries',
    query: nodeCacheQuery,
    ok: { status: 200, description: 'Live entries, least recently used first, and the cache\'s counters.', schema: cacheEntriesSchema },
    errors: ['invalid_request'],
    example: { query: 'app=router&prefix=/api' },
    handler: ({ query }, { deps }) => ({ status: 200, body: listBody(deps.cache, query) }),
  }),
  route({
    method: 'DELETE',
    path: '/v1/replay-cache',
    operationId: 'ReplayCache_purge',
    tag: 'Replay cache',
    summary: 'Purge the node\'s replay cache entries',
    description: 'Without a filter, every entry goes.',
    query: nodeCacheQuery,
    ok: { status: 200, description: 'How many entries were removed.', schema: cachePurgedSchema },
    errors: ['invalid_request'],
    example: { query: 'host=example.com' },
    handler: ({ query }, { deps }) => ({ status: 200, body: { purged: purge(deps.cache, query) } }),
  }),
  route({
    method: 'GET',
    path: '/v1/apps/{app}/replay-cache',
    operationId: 'Apps_list_replay_cache',
    tag: 'Replay cache',
    summary: 'List an app\'s replay cache entries',
    description: 'Entries whose source app (the app that answered with fly-replay) is `{app}`.',
    query: cacheQuery,
    ok: { status: 200, description: 'Live entries and the cache\'s counters.', schema: cacheEntriesSchema },
    errors: ['not_found', 'invalid_request'],
    example: { params: { app: 'router' }, query: 'prefix=/api' },
    handler: ({ params, query }, { deps }) => {
      findApp(deps.catalog, params.app);
      return { status: 200, body: listBody(deps.cache, { ...query, app: params.app }) };
    },
  }),
  route({
    method: 'DELETE',
    path: '/v1/apps/{app}/replay-cache',
    operationId: 'Apps_purge_replay_cache',
    tag: 'Replay cache',
    summary: 'Purge an app\'s replay cache entries',
    query: cacheQuery,
    ok: { status: 200, description: 'How many entries were removed.', schema: cachePurgedSchema },
    errors: ['not_found', 'invalid_request'],
    example: { params: { app: 'router' }, query: 'host=example.com&prefix=/api' },
    handler: ({ params, query }, { deps }) => {
      findApp(deps.catalog, params.app);
      return { status: 200, body: { purged: purge(deps.cache, { ...query, app: params.app }) } };
    },
  }),
];

function listBody(cache: ReplayCache, filter: CacheFilter) {
  const entries = withFilter(filter, () => cache.list(filter));
  return { entries: entries.map(entryBody), stats: cache.stats() };
}

function purge(cache: ReplayCache, filter: CacheFilter): number {
  return withFilter(filter, () => cache.purge(filter));
}

/** withFilter turns the cache's TypeError for a bad prefix into a 400 naming `prefix`. */
function withFilter<T>(filter: CacheFilter, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof TypeError && filter.prefix !== undefined) {
      throw validationError('query', [{ path: 'prefix', rule: 'is not a path prefix (a path starting with "/")' }]);
    }
    throw error;
  }
}

function entryBody(entry: CacheEntry) {
  return {
    key: entry.key,
    kind: entry.kind,
    app: entry.sourceApp,
    host: entry.host,
    prefix: entry.prefix,
    route: {
      app: entry.route.app,
      regions: entry.route.regions === null ? null : [...entry.route.regions],
      instance: entry.route.instance,
      prefer_instance: entry.route.preferInstance,
      elsewhere: entry.route.elsewhere,
    },
    allow_bypass: entry.allowBypass,
    created_at: new Date(entry.createdAt).toISOString(),
    expires_at: new Date(entry.expiresAt).toISOString(),
    hits: entry.hits,
  };
}
