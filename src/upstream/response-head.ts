/**
 * parseResponseHead reads the status line and header fields of an HTTP/1.x response from a
 * machine (RFC 9112 §4, §5). Machines run user code, so the head is checked as strictly as a
 * client's: a malformed line is a BadResponseError, never a guess.
 */

import { HEAD_TEXT, hasToken, parseContentLength, TOKEN, trimOws } from '../http1/fields.ts';

/** MAX_RESPONSE_HEAD_BYTES bounds a response head (twice what a client's request head may be). */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

export interface ResponseHead {
  status: number;
  /** HTTP/1.x minor version: 1 or 0. */
  minor: number;
  /** Fields as a flat `[name, value, …]` list in arrival order, names lowercase. */
  headers: string[];
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


/** HEAD_END is the blank line that ends a head. */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** findHeadEnd is the offset just past the head's blank line in `buf`, or -1 if not there yet. */
export function findHeadEnd(buf: Buffer): number {
  const at = buf.indexOf(HEAD_END);
  return at === -1 ? -1 : at + 4;
}

/** parseResponseHead parses `text`: the head up to, not including, its blank line. */
export function parseResponseHead(text: string): ResponseHead {
  // One pass over the head for the bytes no line may hold, so that no line runs into another.
  if (!HEAD_TEXT.test(text)) throw new BadResponseError('a control character, bare CR or bare LF in the response head');
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
  const headers: string[] = [];
  let chunked = false;
  let contentLength: number | null = null;
  let connection = '';
  let start = eol + 2;
  while (start < text.length) {
    let end = text.indexOf('\r\n', start);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', start);
    // No name, a folded line (obs-fold), or whitespace before the colon (RFC 9112 §5.1, §5.2):
    // the name must be a token, as it goes to the client as it is.
    let name = colon === -1 || colon >= end ? '' : text.slice(start, colon);
    if (!TOKEN.test(name)) {
      throw new BadResponseError(`bad header line ${JSON.stringify(text.slice(start, Math.min(end, start + 64)))}`);
    }
    name = name.toLowerCase();
    const value = trimOws(text, colon + 1, end);
    start = end + 2;
    switch (name) {
      case 'content-length': {
        const n = parseContentLength(value);
        if (n === -1) throw new BadResponseError(`bad Content-Length "${value.slice(0, 32)}"`);
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
    headers.push(name, value);
  }
  // With both, Transfer-Encoding wins and the length is ignored (RFC 9112 §6.3, rule 3), nor is
  // it forwarded: the client would frame the body by it.
  if (chunked && contentLength !== null) {
    contentLength = null;
    for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i] === 'content-length') headers.splice(i, 2);
  }
  // An HTTP/1.0 message with Transfer-Encoding has suspect framing: close after it (RFC 9112 §6.1).
  const keepAlive = minor === 1 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive') && !chunked;
  return { status, minor, headers, chunked, contentLength, keepAlive };
}

/** headerValue is the value of field `name` (lowercase) in a flat list; repeats joined by ", ". */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === name) value = value === undefined ? headers[i + 1] : `${value}, ${headers[i + 1]}`;
  }
  return value;
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

