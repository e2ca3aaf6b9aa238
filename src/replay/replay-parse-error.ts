/**
 * ReplayParseError is the one error the replay-directive parsers throw: an app answered with a
 * `fly-replay` header, a replay JSON body or `fly-replay-cache*` headers that Ricochet can't
 * follow. Fly logs this case as PA03 (spec §1.3.4, §12); the pipeline turns it into
 * `ProxyError('PA03', …)` with this error as the cause.
 *
 * `field` names what was wrong: a header field name (`timeout`), a JSON path
 * (`transform.set_headers[1].name`), a cache header (`fly-replay-cache-ttl-secs`), or null when
 * the whole value is malformed.
 */
export class ReplayParseError extends Error {
  readonly code = 'PA03' as const;
  readonly field: string | null;

  constructor(message: string, field: string | null = null, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReplayParseError';
    this.field = field;
  }
}
