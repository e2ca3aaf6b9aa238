/**
 * parseRequestHead reads the request line and header fields a client sent (RFC 9112 §3, §5) and
 * decides how the body is framed (RFC 9112 §6). A public listener meets every client, so the head
 * is checked strictly: anything that two parsers could read two ways (request smuggling) is a
 * BadRequestError with the status to answer, never a guess.
 */

import { HEAD_TEXT, hasToken, parseContentLength, TOKEN, trimOws } from '../http1/fields.ts';

/** MAX_REQUEST_HEAD_BYTES bounds a request head (Node's server allowed 16 KiB; nginx's large buffers 32 KiB). */
export const MAX_REQUEST_HEAD_BYTES = 32 * 1024;

export interface RequestHead {
  method: string;
  /**
   * The target in origin form (`/path?query`), or `*` for `OPTIONS *`. An absolute-form target
   * (`http://host/path`) is reduced to its path, and its authority becomes the Host (RFC 9112 §3.2.2).
   */
  url: string;
  /** HTTP/1.x minor version: 1 or 0. */
  minor: number;
  /** Fields as a flat `[name, value, …]` list in arrival order, names as sent, values trimmed. */
  headers: string[];
  /** The Host, from the absolute-form target or the Host field; '' when an HTTP/1.0 client sent none. */
  host: string;
  /** Content-Length, or null when the body is not framed by length. */
  contentLength: number | null;
  /** Transfer-Encoding: chunked frames the body (RFC 9112 §7.1). */
  chunked: boolean;
  /** The client keeps the connection open after this exchange (RFC 9112 §9.3). */
  keepAlive: boolean;
  /** `Expect: 100-continue` (RFC 9110 §10.1.1): the client waits to be asked for the body. */
  expectContinue: boolean;
  /** The client asks to switch protocols (`Connection: upgrade` and an `Upgrade` field). */
  upgrade: boolean;
}

/** BadRequestError is a request that cannot be served; `status` is what to answer before closing. */
export class BadRequestError extends Error {
  readonly status: 400 | 417 | 431 | 501 | 505;
  constructor(status: 400 | 417 | 431 | 501 | 505, message: string) {
    super(message);
    this.status = status;
  }
}

/** TARGET is a request target's characters: visible ASCII (RFC 9112 §3.2, RFC 3986). */
const TARGET = /^[!-~]+$/;
/** ABSOLUTE_FORM is `http://authority/rest` (RFC 9112 §3.2.2); userinfo is refused. */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#@]+)([/?].*)?$/i;

/** parseRequestHead parses `text`: the head up to, not including, its blank line. */
export function parseRequestHead(text: string): RequestHead {
  if (!HEAD_TEXT.test(text)) throw new BadRequestError(400, 'a control character, bare CR or bare LF in the request head');
  let eol = text.indexOf('\r\n');
  if (eol === -1) eol = text.length;
  const sp1 = text.indexOf(' ');
  const sp2 = text.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || sp2 >= eol) throw new BadRequestError(400, 'the request line is not "method target version"');
  const method = text.slice(0, sp1);
  let url = text.slice(sp1 + 1, sp2);
  if (!TOKEN.test(method)) throw new BadRequestError(400, 'the method is not a token');
  if (!TARGET.test(url)) throw new BadRequestError(400, 'the request target has characters outside visible ASCII');
  const minor = httpMinor(text, sp2 + 1, eol);
  // CONNECT asks for a tunnel, which a public listener does not open, whatever the target's form (RFC 9110 §9.3.6).
  if (method === 'CONNECT') throw new BadRequestError(501, 'CONNECT is not supported');

  let host: string | null = null;
  let absolute = false;
  if (url.charCodeAt(0) !== 47 /* / */) {
    const form = ABSOLUTE_FORM.exec(url);
    if (form !== null) {
      host = form[1];
      absolute = true;
      const rest = form[2] ?? '';
      url = rest === '' ? '/' : rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest;
    } else if (url !== '*' || method !== 'OPTIONS') {
      throw new BadRequestError(400, 'the request target is not origin-form, absolute-form or OPTIONS *');
    }
  }

  const headers: string[] = [];
  let hostFields = 0;
  let contentLength: number | null = null;
  let transferEncoding: string | null = null;
  let connection = '';
  let upgradeField = false;
  let expect: string | null = null;
  let pos = eol + 2;
  while (pos < text.length) {
    let next = text.indexOf('\r\n', pos);
    if (next === -1) next = text.length;
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon > next) throw new BadRequestError(400, 'a header line has no name or no colon');
    const name = text.slice(pos, colon);
    if (!TOKEN.test(name)) throw new BadRequestError(400, `the header name ${JSON.stringify(name)} is not a token`);
    const value = trimOws(text, colon + 1, next);
    pos = next + 2;
    // Only the fields that frame the message are looked at here; most are none of them.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          hostFields++;
          if (absolute) {
            headers.push(name, host!); // the absolute-form authority replaces it
            continue;
          }
          host = value;
        }
        break;
      case 6:
        if (name.toLowerCase() === 'expect') expect = expect === null ? value : `${expect}, ${value}`;
        break;
      case 7:
        if (name.toLowerCase() === 'upgrade') upgradeField = true;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') connection = connection === '' ? value : `${connection},${value}`;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          const length = parseContentLength(value);
          if (length === -1 || contentLength !== null) throw new BadRequestError(400, 'Content-Length is not one non-negative integer');
          contentLength = length;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
        }
        break;
    }
    headers.push(name, value);
  }
  if (minor === 1 && hostFields !== 1) throw new BadRequestError(400, 'an HTTP/1.1 request needs exactly one Host field');
  if (minor === 0 && hostFields > 1) throw new BadRequestError(400, 'more than one Host field');
  if (absolute && hostFields === 0) headers.push('host', host!);

  let chunked = false;
  if (transferEncoding !== null) {
    // RFC 9112 §6.3: both framings at once is how requests are smuggled; HTTP/1.0 has no TE.
    if (contentLength !== null) throw new BadRequestError(400, 'Transfer-Encoding and Content-Length together');
    if (minor === 0) throw new BadRequestError(400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (transferEncoding.toLowerCase() !== 'chunked') {
      throw new BadRequestError(501, `Transfer-Encoding "${transferEncoding}" is not supported; only chunked is`);
    }
    chunked = true;
  }
  const tokens = connection.toLowerCase();
  const keepAlive = minor === 1 ? !hasToken(tokens, 'close') : hasToken(tokens, 'keep-alive');
  let expectContinue = false;
  if (expect !== null) {
    if (expect.toLowerCase() !== '100-continue') throw new BadRequestError(417, `Expect "${expect}" cannot be met`);
    expectContinue = minor === 1;
  }
  return {
    method,
    url,
    minor,
    headers,
    host: host ?? '',
    contentLength,
    chunked,
    keepAlive,
    expectContinue,
    upgrade: upgradeField && minor === 1 && hasToken(tokens, 'upgrade'),
  };
}

/**
 * httpMinor reads "HTTP/1.1" or "HTTP/1.0"; a later 1.x is read as 1.1 (RFC 9110 §2.5), another
 * major version is 505, anything else 400.
 */
function httpMinor(text: string, start: number, end: number): number {
  if (end - start === 8 && text.startsWith('HTTP/1.', start)) {
    const minor = text.charCodeAt(start + 7) - 48;
    if (minor >= 0 && minor <= 9) return minor === 0 ? 0 : 1;
  }
  if (/^HTTP\/[0-9]\.[0-9]$/.test(text.slice(start, end))) {
    throw new BadRequestError(505, `${text.slice(start, end)} is not supported; HTTP/1.1 and HTTP/1.0 are`);
  }
  throw new BadRequestError(400, 'the request line does not end in an HTTP version');
}
