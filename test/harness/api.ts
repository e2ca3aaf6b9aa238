/**
 * Machines API test helpers: a JSON client for a node's API, a node with the API on port 0,
 * and machine configs for the fixture apps. Everything goes over real sockets.
 */
import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { startNode, type TestNode } from './index.ts';

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/apps/', import.meta.url));

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; undefined for an empty one; the raw text when it isn't JSON. */
  // Tests read fields of many shapes; each asserts what it expects.
  body: any;
}

export interface RequestOptions {
  body?: unknown;
  /** rawBody is sent as is (bad JSON, huge bodies). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** token overrides the client's token; null sends no Authorization header. */
  token?: string | null;
}

export interface ApiClient {
  url: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  get(path: string, options?: RequestOptions): Promise<ApiResponse>;
  post(path: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse>;
  delete(path: string, options?: RequestOptions): Promise<ApiResponse>;
}

const agent = new Agent({ connections: 128, keepAliveTimeout: 1_000 });

/** apiClient talks JSON to the API at `url`, with `token` as bearer token when given. */
export function apiClient(url: string, token: string | null = null): ApiClient {
  const send = async (method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> => {
    const bearer = options.token === undefined ? token : options.token;
    const headers: Record<string, string> = { ...options.headers };
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    let body: string | Buffer | undefined = options.rawBody;
    if (body === undefined && options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await request(url + path, { method: method as 'GET', headers, body, dispatcher: agent });
    const text = await res.body.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed };
  };
  return {
    url,
    request: send,
    get: (path, options) => send('GET', path, options),
    post: (path, body, options) => send('POST', path, { ...options, body }),
    delete: (path, options) => send('DELETE', path, options),
  };
}

export interface ApiTestNode extends TestNode {
  api: ApiClient;
}

/** startApiNode runs a node (in-memory catalog unless the TOML says otherwise) and a client for its API. */
export async function startApiNode(
  t: TestContext,
  toml = '',
  options: Parameters<typeof startNode>[2] & { token?: string } = {},
): Promise<ApiTestNode> {
  // The [api] table also gives startNode a section to put its [listen] (API on port 0) before.
  const withToken = `${toml}\n[api]\n${options.token === undefined ? '' : `token = "${options.token}"\n`}`;
  const node = await startNode(t, withToken, options);
  return { ...node, api: apiClient(node.node.apiUrl, options.token ?? null) };
}

/** echoConfig is a process machine running the echo-env fixture behind an HTTP service on public port 80. */
export function echoConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    init: { exec: [process.execPath, `${FIXTURE_DIR}echo-env.ts`] },
    services: [{ protocol: 'tcp', internal_port: 8080, ports: [{ port: 80, handlers: ['http'] }] }],
    ricochet: { driver: 'process', cwd: FIXTURE_DIR },
    ...extra,
  };
}

/** staticConfig routes public port 80 to `address`, an HTTP server the test runs. */
export function staticConfig(address: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    services: [{ protocol: 'tcp', internal_port: 8080, ports: [{ port: 80, handlers: ['http'] }] }],
    ricochet: { driver: 'static', address },
    ...extra,
  };
}

/** sleepConfig is a process machine with no service: `sleep`, cheap to run by the hundred. */
export function sleepConfig(): Record<string, unknown> {
  return { init: { exec: ['sleep', '300'] }, ricochet: { driver: 'process' } };
}

/** createApp creates an app through the API and fails the test unless it answers 201. */
export async function createApp(api: ApiClient, name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await api.post('/v1/apps', { app_name: name, org_slug: 'personal', ...extra });
  if (res.status !== 201) throw new Error(`creating app ${name}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** createMachine creates a machine and returns its object, failing unless the API answers 200. */
export async function createMachine(api: ApiClient, app: string, body: Record<string, unknown>): Promise<any> {
  const res = await api.post(`/v1/apps/${app}/machines`, body);
  if (res.status !== 200) throw new Error(`creating a machine of ${app}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** waitFor calls the wait endpoint and fails unless it answers 200. */
export async function waitFor(api: ApiClient, app: string, id: string, query = 'state=started&timeout=20'): Promise<void> {
  const res = await api.get(`/v1/apps/${app}/machines/${id}/wait?${query}`);
  if (res.status !== 200) throw new Error(`waiting for ${app}/${id} (${query}): ${res.status} ${JSON.stringify(res.body)}`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLI = fileURLToPath(new URL('../../bin/ricochet.js', import.meta.url));

/**
 * runCli runs `node bin/ricochet.js …args` with this Node, against `api` (via $RICOCHET_API
 * unless `env` says otherwise), and resolves with its exit code and output.
 */
export function runCli(args: string[], env: Record<string, string> = {}, options: { api?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(options.api === undefined ? {} : { RICOCHET_API: options.api }), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
