/**
 * parseResponseHead reads the status line and header fields of an HTTP/1.x response from a
 * machine (RFC 9112 §4, §5). Machines run user code, so the head is checked as strictly as a
 * client's: a malformed line is a BadResponseError, never a guess.
 */

/** MAX_RESPONSE_HEAD_BYTES bounds a response head, as Node's server bounds a request head. */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

export interface ResponseHead {
  status: number;
  /** HTTP/1.x minor version: 1 or 0. */
  minor: number;
  /** Field names lowercase; a repeated field is an array in arrival order (as node:http's). */
  headers: Record<string, string | string[]>;
  /** Transfer-Encoding names chunked as its final coding (RFC 9112 §6.3). */
  chunked: boolean;
  /** Content-Length, or null if absent. */
  contentLength: number | null;
  /** The machine keeps the connection open after this response (RFC 9112 §9.3). */
  keepAlive: boolean;
}

/** BadResponseError is a response a machine sent that is not HTTP/1.x. */
export class BadResponseError extends Error {
  readonly code = 'UPSTREAM_BAD_RESPONSE';
}

/** TOKEN marks the bytes allowed in a field name (RFC 9110 §5.6.2). */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

/** HEAD_END is the blank line that ends a head. */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** findHeadEnd is the offset just past the head's blank line in `buf`, or -1 if not there yet. */
export function findHeadEnd(buf: Buffer): number {
  const at = buf.indexOf(HEAD_END);
  return at === -1 ? -1 : at + 4;
}

/** parseResponseHead parses `text`: the head up to, not including, its blank line. */
export function parseResponseHead(text: string): ResponseHead {
  let eol = text.indexOf('\r\n');
  if (eol === -1) eol = text.length;
  // "HTTP/1.1 200 OK": version, three-digit status, optional reason (RFC 9112 §4).
  if (
    eol < 12 ||
    !text.startsWith('HTTP/1.') ||
    (text.charCodeAt(7) !== 49 && text.charCodeAt(7) !== 48) ||
    text.charCodeAt(8) !== 32 ||
    (eol > 12 && text.charCodeAt(12) !== 32)
  ) {
    throw new BadResponseError(`bad status line ${JSON.stringify(text.slice(0, Math.min(eol, 64)))}`);
  }
  const status = threeDigits(text, 9);
  if (status < 100) throw new BadResponseError(`bad status code ${JSON.stringify(text.slice(9, 12))}`);
  const minor = text.charCodeAt(7) - 48;
  const headers: Record<string, string | string[]> = Object.create(null);
  let chunked = false;
  let contentLength: number | null = null;
  let connection = '';
  let start = eol + 2;
  while (start < text.length) {
    let end = text.indexOf('\r\n', start);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon === -1 || colon >= end || colon === start) throw new BadResponseError(`bad header line ${JSON.stringify(text.slice(start, Math.min(end, start + 64)))}`);
    for (let i = start; i < colon; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128 || TOKEN[c] === 0) throw new BadResponseError(`bad header name ${JSON.stringify(text.slice(start, colon))}`);
    }
    const name = text.slice(start, colon).toLowerCase();
    const value = trimOws(text, colon + 1, end);
    if (value.includes('\n') || value.includes('\r') || value.includes('\0')) {
      throw new BadResponseError(`bad value for header "${name}"`);
    }
    start = end + 2;
    switch (name) {
      case 'content-length': {
        const n = parseLength(value);
        if (contentLength !== null && n !== contentLength) throw new BadResponseError('conflicting Content-Length headers');
        contentLength = n;
        break;
      }
      case 'transfer-encoding':
        // Only the final coding matters for framing (RFC 9112 §6.3, rule 4).
        chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
        if (!chunked) throw new BadResponseError(`unsupported Transfer-Encoding "${value}"`);
        break;
      case 'connection':
        connection = connection === '' ? value.toLowerCase() : `${connection},${value.toLowerCase()}`;
        break;
    }
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (typeof previous === 'string') headers[name] = [previous, value];
    else previous.push(value);
  }
  // With both, Transfer-Encoding wins and the length is ignored (RFC 9112 §6.3, rule 3).
  if (chunked) contentLength = null;
  const keepAlive = minor === 1 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
  return { status, minor, headers, chunked, contentLength, keepAlive };
}

function threeDigits(text: string, at: number): number {
  let n = 0;
  for (let i = at; i < at + 3; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function parseLength(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new BadResponseError(`bad Content-Length "${value.slice(0, 32)}"`);
  return Number(value);
}

function trimOws(text: string, from: number, to: number): string {
  while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from++;
  while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--;
  return text.slice(from, to);
}

function hasToken(list: string, token: string): boolean {
  if (list === '') return false;
  if (list === token) return true;
  return list.split(',').some((t) => t.trim() === token);
}
