/**
 * ApiClient is the CLI's client for a node's Machines API: JSON in and out, the bearer token
 * when one is given, and every failure a CliError with the exit code scripts rely on.
 */
import { CliError, EXIT_CODES, exitCodeForStatus } from './cli-error.ts';

/** DEFAULT_API_URL is the node's default `[listen] api`. */
export const DEFAULT_API_URL = 'http://127.0.0.1:4280';
/** API_URL_ENV and API_TOKEN_ENV are the environment fallbacks of --api and --token. */
export const API_URL_ENV = 'RICOCHET_API';
export const API_TOKEN_ENV = 'RICOCHET_API_TOKEN';

export class ApiClient {
  readonly url: string;
  #token: string | null;

  constructor(url: string, token: string | null) {
    this.url = url.replace(/\/+$/, '');
    this.#token = token;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== null) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      const reason = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(EXIT_CODES.unreachable, `Cannot reach the Machines API at ${this.url}: ${reason?.code ?? reason?.message ?? (error as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!res.ok) {
      const answer = (parsed ?? {}) as { error?: string; code?: string; details?: { path: string; rule: string }[] };
      const details = (answer.details ?? []).slice(1).map((d) => `\n  ${d.path} ${d.rule}`).join('');
      throw new CliError(exitCodeForStatus(res.status), `${answer.error ?? `HTTP ${res.status}`}${details}`, answer.code ?? null);
    }
    return parsed as T;
  }
}
