/**
 * ProxyError is the one error type of the data plane: errors are data (design doc). `code` is
 * from ERROR_CODES (Fly's codes where they exist, spec §12; RC.. for Ricochet's own), and
 * `statusFor` is the only place an error's HTTP status is chosen.
 */

export type ErrorSource = 'downstream' | 'upstream' | 'internal';

interface ErrorCodeInfo {
  status: number;
  summary: string;
}

/** ERROR_CODES is every code Ricochet answers or logs; docs/errors.md lists the same table. */
export const ERROR_CODES = {
  // Routing
  RC01: { status: 404, summary: 'no app is configured for this host' },
  RC02: { status: 404, summary: 'the app has no service on this port' },
  RC03: { status: 400, summary: 'bad request' },
  RC04: { status: 500, summary: 'internal proxy error' },
  RC05: { status: 503, summary: 'the proxy is shutting down' },
  PR01: { status: 503, summary: 'no healthy machine can take the request' },
  PR02: { status: 503, summary: 'the requested machine does not exist or cannot take requests' },
  PR03: { status: 502, summary: 'no machine could be reached after retries' },
  PR04: { status: 503, summary: 'no machine is available in the requested regions' },
  // Upstream connection and request
  PC01: { status: 502, summary: 'the machine refused the connection' },
  PC03: { status: 502, summary: 'the connection to the machine was reset' },
  PC05: { status: 504, summary: 'connecting to the machine timed out' },
  PC06: { status: 502, summary: 'I/O error talking to the machine' },
  PU02: { status: 502, summary: 'the request to the machine could not complete' },
  PU05: { status: 504, summary: 'the machine did not answer in time' },
  // Machines
  PM03: { status: 504, summary: 'the machine did not start in time' },
  PM05: { status: 502, summary: 'the machine failed to start' },
  PM06: { status: 503, summary: 'autostart is off and no machine is started' },
  PM07: { status: 409, summary: 'the machine cannot do that in its current state' },
  PM08: { status: 503, summary: 'the machine cannot be started in its current state' },
  PM09: { status: 503, summary: 'too many requests are waiting for machines to start' },
  // Concurrency
  PL02: { status: 503, summary: 'every machine is at its hard limit and the queue is full or the wait ran out' },
  // Replay
  PA01: { status: 413, summary: 'the request body is too large to be replayed' },
  PA02: { status: 508, summary: 'too many chained replays' },
  PA03: { status: 502, summary: 'the app sent an invalid fly-replay' },
  PA04: { status: 502, summary: 'the replay target app does not exist' },
  PA05: { status: 403, summary: 'the replay target app is in another org that does not allow this one' },
  PA06: { status: 502, summary: 'the replay could not reach its target' },
  PA07: { status: 502, summary: 'a request delivered by a replay fallback cannot be replayed again' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ProxyErrorOptions {
  source?: ErrorSource;
  retryable?: boolean;
  cause?: unknown;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
}

export class ProxyError extends Error {
  readonly code: ErrorCode;
  readonly source: ErrorSource;
  readonly retryable: boolean;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message?: string, options: ProxyErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].summary, { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
    this.source = options.source ?? 'internal';
    this.retryable = options.retryable ?? false;
    this.headers = options.headers ?? {};
  }

  /** status is the HTTP status a client sees for this error. */
  get status(): number {
    return statusFor(this);
  }
}

/** statusFor chooses the HTTP status for an error; nothing else does. */
export function statusFor(error: ProxyError): number {
  return ERROR_CODES[error.code].status;
}

/** toProxyError turns anything thrown into a ProxyError, keeping the original as `cause`. */
export function toProxyError(error: unknown): ProxyError {
  if (error instanceof ProxyError) return error;
  return new ProxyError('RC04', undefined, { cause: error });
}
