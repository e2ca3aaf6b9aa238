/**
 * The shared test harness: real backends, real Ricochet nodes and a raw-socket client, all on
 * 127.0.0.1 port 0, each registering its own cleanup with `t.after` the moment it exists.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import { request as undiciRequest, Agent } from 'undici';
import { parseConfig } from '../../src/config/load.ts';
import { RicochetNode } from '../../src/node.ts';

export interface Backend {
  port: number;
  address: string;
  server: Server;
  requests: IncomingMessage[];
}

/** startBackend runs an HTTP server on port 0 with `handler`, closed after the test. */
export async function startBackend(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Backend> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  // Upgraded sockets leave the HTTP server's bookkeeping, so track every socket to close it.
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as { port: number }).port;
  return { port, address: `127.0.0.1:${port}`, server, requests };
}

/** CapturedLogs collects a node's JSON log lines for assertions. */
export class CapturedLogs {
  readonly lines: Record<string, unknown>[] = [];
  #waiters: { match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];

  readonly logger: Logger;

  constructor(level = 'info') {
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        for (const text of chunk.toString('utf8').split('\n')) {
          if (text.trim() === '') continue;
          const line = JSON.parse(text) as Record<string, unknown>;
          this.lines.push(line);
          this.#waiters = this.#waiters.filter((w) => {
            if (!w.match(line)) return true;
            w.resolve(line);
            return false;
          });
        }
        callback();
      },
    });
    this.logger = pino({ level, base: undefined }, sink);
  }

  /** find returns the logged lines that `match` does. */
  find(match: (line: Record<string, unknown>) => boolean): Record<string, unknown>[] {
    return this.lines.filter(match);
  }

  /** waitFor resolves with the first line (past or future) that `match` does. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}

export interface TestNode {
  node: RicochetNode;
  logs: CapturedLogs;
  /** url of public port `publicPort` (default 80). */
  url(publicPort?: number): string;
  /** localPort of public port `publicPort` (default 80). */
  port(publicPort?: number): number;
  dir: string;
}

/**
 * startNode runs a Ricochet node from TOML text. Unless the text says otherwise the node uses an
 * in-memory catalog, the API on port 0, and `publicPorts` each mapped to a free local port.
 */
export async function startNode(
  t: TestContext,
  toml: string,
  options: { publicPorts?: number[]; random?: () => number; now?: () => number; logLevel?: string } = {},
): Promise<TestNode> {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ports = (options.publicPorts ?? [80, 443]).map((p) => `${p} = 0`).join(', ');
  const preamble = /^\s*\[listen\]/m.test(toml)
    ? ''
    : `[listen]\nhost = "127.0.0.1"\napi = "127.0.0.1:0"\nports = { ${ports} }\n`;
  const head = /^state\s*=/m.test(toml) ? '' : 'state = ":memory:"\n';
  const text = `${head}${toml.replace(/^(\s*\[)/m, `${preamble}$1`)}`;
  const file = join(dir, 'ricochet.toml');
  writeFileSync(file, text);
  const { config } = parseConfig(text, file);
  const logs = new CapturedLogs(options.logLevel ?? 'info');
  const node = await RicochetNode.start(config, { logger: logs.logger, random: options.random, now: options.now });
  t.after(() => node.stop());
  return {
    node,
    logs,
    dir,
    url: (publicPort = 80) => node.url(publicPort),
    port: (publicPort = 80) => {
      const local = node.listeners.localPort(publicPort);
      if (local === undefined) throw new Error(`no listener for public port ${publicPort}`);
      return local;
    },
  };
}

export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const agent = new Agent({ keepAliveTimeout: 1000, connections: 16 });

/** get sends one request through a node with the given Host header and reads the whole answer. */
export async function send(
  url: string,
  options: { host?: string; method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<SimpleResponse> {
  const res = await undiciRequest(url + (options.path ?? '/'), {
    method: (options.method ?? 'GET') as 'GET',
    headers: { ...(options.host === undefined ? {} : { host: options.host }), ...options.headers },
    body: options.body,
    dispatcher: agent,
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

/** rawRequest writes `text` to a fresh connection and returns everything the server sent until it closed or `until` matched. */
export async function rawRequest(port: number, text: string, until?: RegExp): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(text);
  let received = '';
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (until !== undefined && until.test(received)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('end', () => resolve(received));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

/** writeFixture writes a file into the test's temp dir and returns its path. */
export function writeFixture(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** freePort is a port nothing listens on right now (bound on 127.0.0.1, then closed). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
