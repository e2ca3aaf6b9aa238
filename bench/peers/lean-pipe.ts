/**
 * lean-pipe measures "the leaner path" of issue 7: a reverse proxy on `node:net` that parses only
 * the request and response heads in JavaScript and pipes body bytes, with the checks a public
 * HTTP/1.1 listener needs: bounded heads, strict request-line and field syntax, the smuggling rules
 * of RFC 9112 §6.3, hop-by-hop and client `fly-*` headers dropped, X-Forwarded-For and Via
 * appended, keep-alive and pipelining strictly in order, head, response and idle timeouts, a
 * keep-alive upstream pool. It is a benchmark peer, not Ricochet's data plane: it does no routing.
 *
 * Usage: node bench/peers/lean-pipe.ts --port <n> --upstream http://127.0.0.1:<port>
 *          [--head-timeout-ms <n>] [--idle-timeout-ms <n>]
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const HEAD_LIMIT_BYTES = 16 * 1024;
/** CHUNK_META_LIMIT_BYTES bounds one chunk's extensions, and the trailer section. */
const CHUNK_META_LIMIT_BYTES = 16 * 1024;
const UPSTREAM_IDLE_LIMIT = 128;
/** UPSTREAM_IDLE_TIMEOUT_MS stays under node:http's 5 s keepAliveTimeout, so the proxy drops first. */
const UPSTREAM_IDLE_TIMEOUT_MS = 3_000;
/** RESPONSE_TIMEOUT_MS bounds the wait for a response head once the request is sent (nginx's proxy_read_timeout). */
const RESPONSE_TIMEOUT_MS = 60_000;
/** LINGER_MS is how long a closing connection may go on sending before it is reset. */
const LINGER_MS = 2_000;
const SWEEP_INTERVAL_MAX_MS = 1_000;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    upstream: { type: 'string' },
    'head-timeout-ms': { type: 'string', default: '30000' },
    'idle-timeout-ms': { type: 'string', default: '65000' },
  },
});
const port = Number(values.port);
const headTimeoutMs = Number(values['head-timeout-ms']);
const idleTimeoutMs = Number(values['idle-timeout-ms']);
if (!Number.isInteger(port) || values.upstream === undefined || !(headTimeoutMs > 0) || !(idleTimeoutMs > 0)) {
  throw new TypeError('Cannot start lean-pipe: --port <n> and --upstream <origin> are required, timeouts are positive');
}
const upstream = new URL(values.upstream);
const upstreamHost = upstream.hostname;
const upstreamPort = Number(upstream.port || 80);

const CRLF2 = Buffer.from('\r\n\r\n');
/** TOKEN is a method or field name (RFC 9110 §5.6.2): whitespace before a colon or an obs-fold fails it. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** BAD_HEAD_BYTE is a control character, or a CR or LF outside a CRLF pair (RFC 9112 §2.2, §5.5). */
const BAD_HEAD_BYTE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n/;
const TARGET = /^[!-~]+$/;
/** ABSOLUTE_FORM is a target a server must accept (RFC 9112 §3.2.2); userinfo is refused. */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#@]+)(.*)$/i;
const STATUS_LINE = /^HTTP\/1\.[01] [1-9][0-9][0-9](?: |\r|$)/;
const DIGITS = /^[0-9]{1,15}$/;
const CLOSE_TOKEN = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/;
const REASONS: Record<number, string> = {
  400: 'Bad Request', 408: 'Request Timeout', 417: 'Expectation Failed', 431: 'Request Header Fields Too Large',
  501: 'Not Implemented', 502: 'Bad Gateway', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
};

/** errorResponse is the whole answer for `status`; the connection closes after it. */
function errorResponse(status: number): string {
  const text = `${REASONS[status].toLowerCase()}\n`;
  return `HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${text.length}\r\n` +
    `connection: close\r\nvia: 1.1 lean\r\n\r\n${text}`;
}

/** fieldValue is a field line's value without optional whitespace (String#trim would also eat 0xA0). */
function fieldValue(head: string, colon: number, next: number): string {
  let s = colon + 1;
  let e = next;
  while (s < e && (head.charCodeAt(s) === 32 || head.charCodeAt(s) === 9)) s++;
  while (e > s && (head.charCodeAt(e - 1) === 32 || head.charCodeAt(e - 1) === 9)) e--;
  return head.slice(s, e);
}

/** parseLength reads Content-Length, a list of equal values included (RFC 9110 §8.6); -1 if invalid. */
function parseLength(value: string): number {
  if (DIGITS.test(value)) return Number(value);
  let length = -1;
  for (const part of value.split(',')) {
    const text = part.trim();
    if (!DIGITS.test(text) || (length !== -1 && Number(text) !== length)) return -1;
    length = Number(text);
  }
  return length;
}

/** withoutListed drops from a head the fields its Connection value names (RFC 9110 §7.6.1); rare. */
function withoutListed(out: string, connection: string): string {
  if (connection === 'keep-alive' || connection === 'close') return out;
  const names = connection.split(',').map((t) => t.trim()).filter((t) => t !== '' && t !== 'close' && t !== 'keep-alive');
  if (names.length === 0) return out;
  return out.split('\r\n').filter((line, i) => i === 0 || !names.includes(line.slice(0, line.indexOf(':')).toLowerCase())).join('\r\n');
}

/** join appends a field line's value to the values of earlier lines of the same name. */
function join(list: string | null, value: string, separator: string): string {
  return list === null ? value : list + separator + value;
}

/** fields is what one head scan found; heads are scanned synchronously, one at a time. */
const fields = {
  out: '', hosts: 0, length: -1, upgrade: false,
  te: null as string | null, connection: null as string | null, via: null as string | null,
  xff: null as string | null, expect: null as string | null,
};

/**
 * scanFields checks the field lines of `head` from `pos` and appends the ones to forward to
 * `fields.out`, as runs of unchanged text from `run`. It returns false for a malformed line: no
 * colon, or a name that is not a token (whitespace before the colon, obs-fold: RFC 9112 §5.1, §5.2).
 */
function scanFields(head: string, pos: number, run: number, request: boolean, absolute: boolean): boolean {
  const f = fields;
  f.hosts = 0;
  f.length = -1;
  f.upgrade = false;
  f.te = f.connection = f.via = f.xff = f.expect = null;
  let out = f.out;
  while (pos < head.length) {
    let next = head.indexOf('\r\n', pos);
    if (next === -1) next = head.length;
    const colon = head.indexOf(':', pos);
    if (colon <= pos || colon > next) return false;
    const name = head.slice(pos, colon);
    if (!TOKEN.test(name)) return false;
    const lower = name.toLowerCase();
    let drop = true;
    switch (lower) {
      case 'host':
        f.hosts++;
        drop = absolute;
        break;
      case 'content-length': {
        const n = parseLength(fieldValue(head, colon, next));
        if (n === -1 || (f.length !== -1 && n !== f.length)) return false;
        f.length = n;
        break;
      }
      case 'transfer-encoding': f.te = join(f.te, fieldValue(head, colon, next).toLowerCase(), ','); break;
      case 'connection': f.connection = join(f.connection, fieldValue(head, colon, next).toLowerCase(), ','); break;
      case 'via': f.via = join(f.via, fieldValue(head, colon, next), ', '); break;
      case 'x-forwarded-for':
        if (request) f.xff = join(f.xff, fieldValue(head, colon, next), ', ');
        else drop = false;
        break;
      case 'expect':
        if (request) f.expect = fieldValue(head, colon, next).toLowerCase();
        else drop = false;
        break;
      case 'x-forwarded-proto': drop = request; break;
      case 'upgrade': f.upgrade = true; break;
      case 'keep-alive': case 'proxy-connection': case 'te': case 'trailer':
      case 'proxy-authenticate': case 'proxy-authorization':
        break;
      default:
        // Client routing headers never reach an app (design doc); the rest is hop-by-hop (RFC 9110 §7.6.1).
        drop = request && lower.charCodeAt(0) === 102 && lower.startsWith('fly-');
    }
    if (drop) {
      if (pos > run) out += head.slice(run, pos);
      run = next + 2;
    }
    pos = next + 2;
  }
  if (run < head.length) out += `${head.slice(run)}\r\n`;
  f.out = f.connection === null ? out : withoutListed(out, f.connection);
  return true;
}

/** CHUNK_LINE is a chunk-size line with optional extensions (RFC 9112 §7.1.1), as read up to its LF. */
const CHUNK_LINE = /^([0-9A-Fa-f]{1,12})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?\r$/;
const TRAILER_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r$/;
/** Body framings (RFC 9112 §6.3). */
const NONE = 0, LENGTH = 1, CHUNKED = 2, UNTIL_CLOSE = 3;
/** What the next line of a chunked body is. */
const SIZE_LINE = 0, DATA_END = 1, TRAILER = 2;

/** Body finds where one message body ends, across reads, without decoding it. */
class Body {
  mode = NONE;
  /** left is how many bytes of the body (LENGTH) or of the current chunk (CHUNKED) are still to come. */
  left = 0;
  next = SIZE_LINE;
  line = '';
  meta = 0;

  start(mode: number, length: number): void {
    this.mode = mode === LENGTH && length === 0 ? NONE : mode;
    this.left = mode === LENGTH ? length : 0;
    this.next = SIZE_LINE;
    this.line = '';
    this.meta = 0;
  }

  /** end returns where the body ends in `buf` from `start` (`buf.length` while it goes on, -1 for bad chunks); `mode` is NONE after it. */
  end(buf: Buffer, start: number): number {
    if (this.mode === LENGTH) {
      const end = Math.min(buf.length, start + this.left);
      this.left -= end - start;
      if (this.left === 0) this.mode = NONE;
      return end;
    }
    if (this.mode === CHUNKED) return this.chunks(buf, start);
    return this.mode === UNTIL_CLOSE ? buf.length : start;
  }

  /** chunks follows chunked framing (RFC 9112 §7.1) line by line, skipping chunk data. */
  chunks(buf: Buffer, start: number): number {
    const n = buf.length;
    let i = start;
    while (i < n) {
      if (this.left > 0) {
        const take = Math.min(this.left, n - i);
        i += take;
        this.left -= take;
        continue;
      }
      const lf = buf.indexOf(10, i);
      const stop = lf === -1 ? n : lf;
      // Extensions and trailers are passed on, so they are bounded (as in Node, CVE-2024-22019).
      this.meta += stop - i;
      if (this.meta > CHUNK_META_LIMIT_BYTES) return -1;
      this.line += buf.toString('latin1', i, stop);
      if (lf === -1) return n;
      i = lf + 1;
      const line = this.line;
      this.line = '';
      if (this.next === DATA_END) {
        if (line !== '\r') return -1;
        this.next = SIZE_LINE;
        this.meta = 0;
      } else if (this.next === SIZE_LINE) {
        const size = CHUNK_LINE.exec(line);
        if (size === null) return -1;
        this.left = parseInt(size[1], 16);
        this.next = this.left === 0 ? TRAILER : DATA_END;
      } else if (line === '\r') {
        this.mode = NONE;
        return i;
      } else if (!TRAILER_LINE.test(line)) return -1;
    }
    return n;
  }
}

/** part is bytes `start` to `end` of `buf`, without a new view when that is all of it. */
function part(buf: Buffer, start: number, end: number): Buffer {
  return start === 0 && end === buf.length ? buf : buf.subarray(start, end);
}

/** Client connection states; an exchange is one request and its response. */
const HEAD = 0, IDLE = 1, BUSY = 2, CLOSING = 3;

/** nowMs is a coarse clock that the sweep advances: no clock read per request. */
let nowMs = Date.now();
const conns = new Set<Conn>();
/** idle is the upstream pool, oldest first, used last-in first-out. */
const idle: Upstream[] = [];

/** Upstream is one keep-alive connection to the upstream; `owner` is the client it serves now. */
class Upstream {
  readonly sock = net.connect({ port: upstreamPort, host: upstreamHost, noDelay: true });
  owner: Conn | null = null;
  idleSince = 0;

  constructor() {
    this.sock.on('data', (chunk: Buffer) => (this.owner === null ? this.drop() : this.owner.onUpstreamData(chunk)));
    this.sock.on('drain', () => this.owner?.onUpstreamDrain());
    this.sock.on('end', () => (this.owner === null ? this.drop() : this.owner.onUpstreamEnd(false)));
    this.sock.on('close', () => (this.owner === null ? this.drop() : this.owner.onUpstreamEnd(true)));
    this.sock.on('error', () => {});
  }

  /** drop closes a pooled connection that the upstream closed, that timed out, or that spoke out of turn. */
  drop(): void {
    const i = idle.lastIndexOf(this);
    if (i !== -1) idle.splice(i, 1);
    this.sock.destroy();
  }
}

/** Conn is one client connection and the exchange in progress on it. */
class Conn {
  readonly sock: net.Socket;
  readonly ip: string;
  /** tail ends a forwarded head when the client sent no X-Forwarded-For or Via. */
  readonly tail: string;
  state = HEAD;
  since = nowMs;
  /** buf holds a request head being read, or a pipelined request waiting for its turn. */
  buf: Buffer | null = null;
  keepAlive = true;
  clientEnded = false;
  isHead = false;
  up: Upstream | null = null;
  upFull = false;
  upReusable = true;
  readonly req = new Body();
  readonly res = new Body();
  /** responding is true once the response head has gone to the client. */
  responding = false;
  resBuf: Buffer | null = null;

  constructor(sock: net.Socket) {
    this.sock = sock;
    this.ip = sock.remoteAddress ?? '';
    this.tail = `x-forwarded-for: ${this.ip}\r\nx-forwarded-proto: http\r\nvia: 1.1 lean\r\n\r\n`;
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('end', () => this.onEnd());
    sock.on('drain', () => this.up?.sock.resume());
    sock.on('close', () => this.destroy());
    sock.on('error', () => {});
    conns.add(this);
  }

  onData(chunk: Buffer): void {
    if (this.state === CLOSING) return;
    if (this.state !== BUSY) {
      if (this.state === IDLE) {
        this.state = HEAD;
        this.since = nowMs;
      }
      this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
      return this.parse();
    }
    let rest = chunk;
    if (this.req.mode !== NONE) {
      const end = this.forwardBody(chunk, 0);
      if (end === -1 || end === chunk.length) return;
      rest = chunk.subarray(end);
    }
    // A pipelined request waits, unparsed and with the client paused, for this response (RFC 9112 §9.3.2).
    this.buf = this.buf === null ? rest : Buffer.concat([this.buf, rest]);
    this.flow();
  }

  /** parse starts an exchange for the request head at the start of `buf`, once it is whole. */
  parse(): void {
    const buf = this.buf!;
    let start = 0;
    while (buf[start] === 13 && buf[start + 1] === 10) start += 2; // RFC 9112 §2.2: blank lines before a request
    const end = buf.indexOf(CRLF2, start);
    if (end === -1 || end > HEAD_LIMIT_BYTES) {
      if (end !== -1 || buf.length > HEAD_LIMIT_BYTES) this.fail(431);
      return;
    }
    const head = this.request(buf.toString('latin1', start, end));
    if (typeof head === 'number') return this.fail(head);
    this.state = BUSY;
    this.since = nowMs;
    const u = idle.pop() ?? new Upstream();
    u.owner = this;
    this.up = u;
    let rest = end + 4;
    if (this.req.mode === NONE) u.sock.write(head, 'latin1');
    else {
      u.sock.cork();
      u.sock.write(head, 'latin1');
      if (rest < buf.length) rest = this.forwardBody(buf, rest);
      u.sock.uncork();
      if (rest === -1) return;
      // RFC 9110 §10.1.1: the proxy meets the expectation itself and does not forward it.
      if (this.req.mode !== NONE && fields.expect !== null) this.sock.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    }
    this.buf = rest === buf.length ? null : buf.subarray(rest);
    this.flow();
  }

  /** request checks a request head and returns the head to send upstream, or an error status. */
  request(head: string): string | number {
    if (BAD_HEAD_BYTE.test(head)) return 400;
    let eol = head.indexOf('\r\n');
    if (eol === -1) eol = head.length;
    const sp1 = head.indexOf(' ');
    const sp2 = head.indexOf(' ', sp1 + 1);
    if (sp1 === -1 || sp2 === -1 || sp2 > eol) return 400;
    const method = head.slice(0, sp1);
    const target = head.slice(sp1 + 1, sp2);
    if (!TOKEN.test(method) || !TARGET.test(target)) return 400;
    if (eol - sp2 !== 9 || !head.startsWith('HTTP/1.1', sp2 + 1)) return /^HTTP\/\d\.\d$/.test(head.slice(sp2 + 1, eol)) ? 505 : 400;
    fields.out = '';
    let run = 0;
    let absolute = false;
    if (target.charCodeAt(0) !== 47) {
      const form = ABSOLUTE_FORM.exec(target);
      if (form === null && (target !== '*' || method !== 'OPTIONS')) return 400;
      if (form !== null) {
        // RFC 9112 §3.2.2: the target's authority replaces Host; the upstream gets origin-form.
        const path = form[2] === '' ? '/' : form[2].charCodeAt(0) === 63 ? `/${form[2]}` : form[2];
        fields.out = `${method} ${path} HTTP/1.1\r\nhost: ${form[1]}\r\n`;
        run = eol + 2;
        absolute = true;
      }
    }
    if (!scanFields(head, eol + 2, run, true, absolute)) return 400;
    const f = fields;
    if (f.hosts !== 1) return 400; // RFC 9112 §3.2
    if (f.upgrade || method === 'CONNECT') return 501;
    if (f.expect !== null && f.expect !== '100-continue') return 417;
    let out = f.out;
    this.keepAlive = f.connection === null || !CLOSE_TOKEN.test(f.connection);
    this.isHead = method === 'HEAD';
    if (f.te !== null) {
      // RFC 9112 §6.3: Content-Length beside Transfer-Encoding is a smuggling attempt.
      if (f.length !== -1) return 400;
      if (f.te !== 'chunked') return 501;
      this.req.start(CHUNKED, 0);
      out += 'transfer-encoding: chunked\r\n';
    } else if (f.length !== -1) {
      this.req.start(LENGTH, f.length);
      out += `content-length: ${f.length}\r\n`;
    } else this.req.start(NONE, 0);
    if (f.xff === null && f.via === null) return out + this.tail;
    return `${out}x-forwarded-for: ${f.xff === null ? this.ip : `${f.xff}, ${this.ip}`}\r\nx-forwarded-proto: http\r\n` +
      `via: ${f.via === null ? '1.1 lean' : `${f.via}, 1.1 lean`}\r\n\r\n`;
  }

  /** forwardBody writes the request body bytes of `buf` from `start` upstream and returns where the body ends. */
  forwardBody(buf: Buffer, start: number): number {
    const end = this.req.end(buf, start);
    if (end === -1) {
      this.fail(400);
      return -1;
    }
    if (end > start && !this.up!.sock.write(part(buf, start, end))) {
      this.upFull = true;
      this.flow();
    }
    if (this.req.mode === NONE) this.since = nowMs; // the wait for the response starts
    return end;
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.responding) return this.pipeResponse(chunk, 0, null);
    const buf = this.resBuf === null ? chunk : Buffer.concat([this.resBuf, chunk]);
    let start = 0;
    for (;;) {
      const end = buf.indexOf(CRLF2, start);
      if (end === -1 || end - start > HEAD_LIMIT_BYTES) {
        if (end !== -1 || buf.length - start > HEAD_LIMIT_BYTES) return this.fail(502);
        this.resBuf = start === 0 ? buf : buf.subarray(start);
        return;
      }
      const head = this.response(buf.toString('latin1', start, end));
      if (head === null) return this.fail(502);
      start = end + 4;
      if (head !== '') {
        this.resBuf = null;
        this.responding = true;
        return this.pipeResponse(buf, start, head);
      }
    }
  }

  /** response checks a response head and returns the client's head, '' for a 1xx, or null if it is bad. */
  response(head: string): string | null {
    if (BAD_HEAD_BYTE.test(head) || !STATUS_LINE.test(head)) return null;
    const status = (head.charCodeAt(9) - 48) * 100 + (head.charCodeAt(10) - 48) * 10 + head.charCodeAt(11) - 48;
    // RFC 9110 §15.2: interim responses are skipped; 101 answers an upgrade this proxy never asks for.
    if (status < 200) return status === 101 ? null : '';
    let eol = head.indexOf('\r\n');
    if (eol === -1) eol = head.length;
    const http10 = head.charCodeAt(7) === 48;
    fields.out = http10 ? `HTTP/1.1${head.slice(8, eol)}\r\n` : '';
    if (!scanFields(head, eol + 2, http10 ? eol + 2 : 0, false, false)) return null;
    const f = fields;
    // Only exactly "chunked" can be framed without decoding (RFC 9112 §6.1); beside Content-Length it
    // may be response splitting, an error (RFC 9112 §6.3 item 3).
    if (f.te !== null && (f.te !== 'chunked' || f.length !== -1)) return null;
    let out = f.out;
    // RFC 9112 §6.3: no body for HEAD, 204 and 304; chunked wins over Content-Length; else length; else close.
    if (this.isHead || status === 204 || status === 304) this.res.start(NONE, 0);
    else if (f.te !== null) this.res.start(CHUNKED, 0);
    else if (f.length !== -1) this.res.start(LENGTH, f.length);
    else this.res.start(UNTIL_CLOSE, 0);
    if (f.te !== null) out += 'transfer-encoding: chunked\r\n';
    else if (f.length !== -1) out += `content-length: ${f.length}\r\n`;
    const untilClose = this.res.mode === UNTIL_CLOSE;
    this.upReusable = !http10 && !untilClose && (f.connection === null || !CLOSE_TOKEN.test(f.connection));
    // A response that overtakes its request body leaves both connections out of step: close after it.
    if (this.req.mode !== NONE || untilClose || this.clientEnded) this.keepAlive = false;
    if (!this.keepAlive) out += 'connection: close\r\n';
    return `${out}via: ${f.via === null ? '1.1 lean' : `${f.via}, 1.1 lean`}\r\n\r\n`;
  }

  /** pipeResponse writes the response bytes of `buf` from `start` (after `head`, if given) to the client. */
  pipeResponse(buf: Buffer, start: number, head: string | null): void {
    const end = this.res.end(buf, start);
    if (end === -1) return this.destroy();
    let ok: boolean;
    if (head === null) ok = this.sock.write(part(buf, start, end));
    else if (end === start) ok = this.sock.write(head, 'latin1');
    else {
      // Head and first body bytes in one write: a small response leaves in one syscall.
      const out = Buffer.allocUnsafe(head.length + end - start);
      out.write(head, 0, 'latin1');
      buf.copy(out, head.length, start, end);
      ok = this.sock.write(out);
    }
    if (this.res.mode === NONE) this.finish(end === buf.length);
    else if (!ok) this.up!.sock.pause();
  }

  onUpstreamDrain(): void {
    this.upFull = false;
    this.flow();
  }

  /** onUpstreamEnd ends a close-delimited response (RFC 9112 §6.3 item 8); any other end is a failure. */
  onUpstreamEnd(reset: boolean): void {
    if (this.responding && this.res.mode === UNTIL_CLOSE && !reset) this.finish(false);
    else this.fail(502);
  }

  /** finish ends the exchange: the upstream goes back to the pool if it is in step, and the next request is read. */
  finish(clean: boolean): void {
    const u = this.up!;
    this.up = null;
    u.owner = null;
    if (clean && this.upReusable && this.req.mode === NONE && idle.length < UPSTREAM_IDLE_LIMIT) {
      u.idleSince = nowMs;
      if (u.sock.isPaused()) u.sock.resume();
      idle.push(u);
    } else u.sock.destroy();
    this.responding = false;
    this.upFull = false;
    if (!this.keepAlive || this.clientEnded) return this.close();
    this.state = this.buf === null ? IDLE : HEAD;
    this.since = nowMs;
    if (this.buf !== null) this.parse();
    this.flow();
  }

  /** flow pauses the client while the upstream is full or a pipelined request waits, and resumes it after. */
  flow(): void {
    const pause = this.state === BUSY && (this.upFull || this.buf !== null);
    if (pause !== this.sock.isPaused()) {
      if (pause) this.sock.pause();
      else this.sock.resume();
    }
  }

  /** fail answers `status` and closes, or resets the connection once a response has begun. */
  fail(status: number): void {
    if (this.responding) return this.destroy();
    this.sock.write(errorResponse(status), 'latin1');
    this.close();
  }

  /** close ends the connection after what was written, discarding what the client still sends. */
  close(): void {
    this.dropUpstream();
    this.state = CLOSING;
    this.since = nowMs;
    this.buf = null;
    this.sock.end();
    this.flow();
  }

  onEnd(): void {
    this.clientEnded = true;
    if (this.state === BUSY && this.req.mode === NONE) return; // answer, then close
    if (this.state === BUSY) return this.destroy(); // the request body was cut short
    if (this.state !== CLOSING) this.close();
  }

  /** expire applies the head (slowloris), response, idle and linger timeouts; the sweep calls it. */
  expire(): void {
    const age = nowMs - this.since;
    if (this.state === HEAD && age >= headTimeoutMs) {
      if (this.buf === null) this.destroy();
      else this.fail(408);
    } else if (this.state === BUSY && !this.responding && this.req.mode === NONE && age >= RESPONSE_TIMEOUT_MS) {
      this.fail(504);
    } else if ((this.state === IDLE && age >= idleTimeoutMs) || (this.state === CLOSING && age >= LINGER_MS)) this.destroy();
  }

  dropUpstream(): void {
    const u = this.up;
    if (u === null) return;
    this.up = null;
    u.owner = null;
    u.sock.destroy();
  }

  destroy(): void {
    this.dropUpstream();
    this.buf = null;
    conns.delete(this);
    this.sock.destroy();
  }
}

/** sweep advances the coarse clock and applies every timeout: one unref'd timer, none per request. */
function sweep(): void {
  nowMs = Date.now();
  for (const c of conns) c.expire();
  while (idle.length > 0 && nowMs - idle[0].idleSince >= UPSTREAM_IDLE_TIMEOUT_MS) idle[0].drop();
}
const sweeper = setInterval(sweep, Math.min(SWEEP_INTERVAL_MAX_MS, Math.ceil(Math.min(headTimeoutMs, idleTimeoutMs) / 4)));
sweeper.unref();

// allowHalfOpen: a client may send FIN after its request and still read the answer (RFC 9112 §9.6).
const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => new Conn(sock));
server.listen(port, values.host, () => {
  process.stdout.write(`lean-pipe listening on ${values.host}:${port} -> ${values.upstream}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    clearInterval(sweeper);
    server.close();
    for (const c of conns) c.destroy();
    for (const u of idle.splice(0)) u.sock.destroy();
    process.exit(0);
  });
}
