/**
 * readRequestHeaders is the first phase of every request: one pass over the client's raw headers
 * that drops hop-by-hop headers (RFC 9110 §7.6.1, including names listed in `Connection`) and
 * every `fly-*` header a client sends (design doc: client routing headers never reach an app),
 * while reading the routing hints Ricochet itself acts on (spec §4).
 */

/** RoutingHints are the client's routing headers (spec §4), read before they are stripped. */
export interface RoutingHints {
  preferRegion: string | null;
  forceRegion: string | null;
  preferInstance: string | null;
  forceInstance: string | null;
  /** `fly-replay-cache-control: skip` (spec §5.3). */
  cacheSkip: boolean;
}

export interface ClientRequestHeaders {
  /** Headers to forward, flat `[name, value, name, value, …]`, names as the client sent them. */
  forward: string[];
  hints: RoutingHints;
  /** Existing X-Forwarded-For, to append to. */
  forwardedFor: string | null;
  /** Existing Via, to append to. */
  via: string | null;
  /** Upgrade protocol (e.g. "websocket") when the client asked for one. */
  upgrade: string | null;
}

/** HOP_BY_HOP_HEADERS are never forwarded (RFC 9110 §7.6.1). */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** PROXY_SET_HEADERS are set by Ricochet; a client's value is replaced, never trusted. */
const PROXY_SET_HEADERS: ReadonlySet<string> = new Set(['x-forwarded-proto', 'x-forwarded-ssl', 'x-request-start']);

export function readRequestHeaders(raw: readonly string[]): ClientRequestHeaders {
  const hints: RoutingHints = {
    preferRegion: null,
    forceRegion: null,
    preferInstance: null,
    forceInstance: null,
    cacheSkip: false,
  };
  let connectionTokens: Set<string> | null = null;
  let forwardedFor: string | null = null;
  let via: string | null = null;
  let upgrade: string | null = null;
  const forward: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    const lower = name.toLowerCase();
    // Fast path: most headers are neither fly-*, hop-by-hop nor forwarding headers.
    switch (lower) {
      case 'connection':
        for (const token of value.split(',')) {
          const t = token.trim().toLowerCase();
          if (t !== '') (connectionTokens ??= new Set()).add(t);
        }
        continue;
      case 'upgrade':
        upgrade = value;
        continue;
      case 'transfer-encoding':
        // The body goes to the machine with its length, or chunked anew (src/upstream/).
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === null ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'via':
        via = via === null ? value : `${via}, ${value}`;
        continue;
      case 'expect':
        // Ricochet's server asks for the body itself when it first reads it (RFC 9110 §10.1.1):
        // the machine must not wait to be asked for it again.
        continue;
    }
    if (lower.charCodeAt(0) === 102 /* f */ && lower.startsWith('fly-')) {
      readHint(hints, lower, value);
      continue;
    }
    if (HOP_BY_HOP_HEADERS.has(lower) || PROXY_SET_HEADERS.has(lower)) continue;
    forward.push(name, value);
  }
  if (connectionTokens !== null) {
    const kept: string[] = [];
    for (let i = 0; i < forward.length; i += 2) {
      if (!connectionTokens.has(forward[i].toLowerCase())) kept.push(forward[i], forward[i + 1]);
    }
    return { forward: kept, hints, forwardedFor, via, upgrade };
  }
  return { forward, hints, forwardedFor, via, upgrade };
}

function readHint(hints: RoutingHints, name: string, value: string): void {
  switch (name) {
    case 'fly-prefer-region':
      hints.preferRegion = value;
      break;
    case 'fly-force-region':
      hints.forceRegion = value;
      break;
    case 'fly-prefer-instance-id':
      hints.preferInstance = value.trim();
      break;
    case 'fly-force-instance-id':
      hints.forceInstance = value.trim();
      break;
    case 'fly-replay-cache-control':
      hints.cacheSkip = value.trim().toLowerCase() === 'skip';
      break;
  }
}

/** ForwardingFacts are what the forwarding headers of spec §7.1 are made from. */
export interface ForwardingFacts {
  clientIp: string;
  publicPort: number;
  region: string;
  https: boolean;
  requestId: string;
  startMicros: number;
  forwardedFor: string | null;
  via: string | null;
  /** The HTTP version the client spoke, e.g. "1.1" (for Via, spec §7.2). */
  httpVersion: string;
}

/** addForwardingHeaders appends the headers of spec §7.1 to a flat header list. */
export function addForwardingHeaders(headers: string[], f: ForwardingFacts): void {
  const proto = f.https ? 'https' : 'http';
  const ssl = f.https ? 'on' : 'off';
  const port = String(f.publicPort);
  const via = `${f.httpVersion} ricochet`;
  headers.push(
    'fly-client-ip', f.clientIp,
    'fly-forwarded-port', port,
    'fly-region', f.region,
    'fly-forwarded-proto', proto,
    'fly-forwarded-ssl', ssl,
    'fly-request-id', f.requestId,
    'x-forwarded-for', f.forwardedFor === null ? f.clientIp : `${f.forwardedFor}, ${f.clientIp}`,
    'x-forwarded-proto', proto,
    'x-forwarded-ssl', ssl,
    'x-request-start', `t=${f.startMicros}`,
    'via', f.via === null ? via : `${f.via}, ${via}`,
  );
  // X-Forwarded-Port may come from the client and is passed through (spec §7.1).
  if (!hasHeader(headers, 'x-forwarded-port')) headers.push('x-forwarded-port', port);
}

/**
 * requestField is the value of the client's field `name` (lowercase), the values of repeated
 * lines joined as one (`; ` for Cookie, RFC 9113 §8.2.3; else `, `), or undefined.
 */
export function requestField(headers: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].length !== name.length || headers[i].toLowerCase() !== name) continue;
    value = value === undefined ? headers[i + 1] : `${value}${name === 'cookie' ? '; ' : ', '}${headers[i + 1]}`;
  }
  return value;
}

/** hasHeader says whether a flat header list has `name` (lowercase). */
export function hasHeader(headers: readonly string[], name: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].length === name.length && headers[i].toLowerCase() === name) return true;
  }
  return false;
}

/** setHeader replaces every `name` (lowercase) in a flat header list with one value. */
export function setHeader(headers: string[], name: string, value: string): void {
  deleteHeader(headers, name);
  headers.push(name, value);
}

/** deleteHeader removes every `name` (lowercase) from a flat header list. */
export function deleteHeader(headers: string[], name: string): void {
  let w = 0;
  for (let r = 0; r < headers.length; r += 2) {
    if (headers[r].toLowerCase() === name) continue;
    headers[w++] = headers[r];
    headers[w++] = headers[r + 1];
  }
  headers.length = w;
}
