/**
 * ApiError is the Machines API's one error type: errors are data (design doc). `code` is from
 * API_ERROR_CODES, which fixes each code's HTTP status, and `writeApiError` is the only function
 * that writes an error response: Fly's `{"error": "…"}` body (spec §14), plus `code`, the
 * request id, and for validation errors the JSON path and the rule each problem broke.
 */
import type { ServerResponse } from 'node:http';
import { ProxyError } from '../proxy/errors.ts';

/** API_ERROR_CODES maps every code the API answers to its status (spec §14 "Status codes"). */
export const API_ERROR_CODES = {
  invalid_json: { status: 400, summary: 'the request body is not valid JSON' },
  invalid_request: { status: 400, summary: 'a path or query parameter is invalid' },
  unauthorized: { status: 401, summary: 'a valid bearer token is required' },
  not_found: { status: 404, summary: 'no such app, machine or route' },
  method_not_allowed: { status: 405, summary: 'the route does not take this method' },
  wait_timeout: { status: 408, summary: 'the machine did not reach the state in time' },
  state_conflict: { status: 409, summary: 'the machine or app cannot do that in its current state' },
  already_exists: { status: 409, summary: 'an app or machine with that name already exists' },
  lease_conflict: { status: 409, summary: 'the machine is leased and the request does not hold the lease' },
  config_owned: { status: 409, summary: 'the app or machine is declared in ricochet.toml; change it there' },
  body_too_large: { status: 413, summary: 'the request body is larger than the API accepts' },
  unsupported_media_type: { status: 415, summary: 'the request body must be application/json' },
  validation_failed: { status: 422, summary: 'the request body breaks the schema' },
  too_many_waits: { status: 429, summary: 'too many wait requests are open' },
  internal: { status: 500, summary: 'internal error' },
  unavailable: { status: 503, summary: 'the node is shutting down' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;

/** ValidationProblem is one broken rule: where in the input (a JSON path) and what the rule is. */
export interface ValidationProblem {
  path: string;
  rule: string;
}

export interface ApiErrorOptions {
  details?: ValidationProblem[];
  headers?: Record<string, string>;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly details: ValidationProblem[];
  readonly headers: Record<string, string>;

  constructor(code: ApiErrorCode, message?: string, options: ApiErrorOptions = {}) {
    super(message ?? API_ERROR_CODES[code].summary, { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
  }

  get status(): number {
    return API_ERROR_CODES[this.code].status;
  }
}

/**
 * toApiError turns anything thrown into an ApiError: the supervisor's PM08 (an action the state
 * refuses) and PM07 are state conflicts, RC05 means the node is shutting down, anything else is
 * internal (its message is kept out of the answer and logged by the caller).
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ProxyError) {
    if (error.code === 'PM08' || error.code === 'PM07') return new ApiError('state_conflict', error.message, { cause: error });
    if (error.code === 'RC05') return new ApiError('unavailable', error.message, { cause: error });
    if (error.code === 'RC03') return new ApiError('validation_failed', error.message, { cause: error });
  }
  return new ApiError('internal', undefined, { cause: error });
}

/** writeApiError writes the one error response shape; after headers were sent it only closes. */
export function writeApiError(res: ServerResponse, error: ApiError, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: Record<string, unknown> = { error: error.message, code: error.code, request_id: requestId };
  if (error.details.length > 0) body.details = error.details;
  const text = JSON.stringify(body);
  res.writeHead(error.status, {
    ...error.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
