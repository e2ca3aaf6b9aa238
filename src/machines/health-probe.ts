/**
 * healthProbe runs one service check (spec §10) against a machine once and says whether it
 * passed, with a short output for the machine record's `checks`. It never throws: a refused
 * connection, a timeout (the caller aborts `signal`) or a bad response are all a failed probe.
 *
 * - `tcp` passes when a TCP connection opens.
 * - `http` passes only on a 2xx status; redirects are not followed (spec §10.3). A fresh
 *   connection per probe (no pool), so a probe never rides on a connection that a broken
 *   machine left open, and nothing stays open after the probe.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ServiceCheck } from '../catalog/types.ts';

/** HEALTH_OUTPUT_MAX_CHARS bounds the `output` a probe reports (it is stored in the record). */
export const HEALTH_OUTPUT_MAX_CHARS = 512;
/** HEALTH_BODY_MAX_BYTES is how much of an http check's response body is read into the output. */
export const HEALTH_BODY_MAX_BYTES = 256;
/** HEALTH_USER_AGENT is sent by http checks unless the check sets its own User-Agent. */
export const HEALTH_USER_AGENT = 'ricochet-health-check';

/** ProbeTarget is where the check connects: the machine's runtime host and local port. */
export interface ProbeTarget {
  host: string;
  port: number;
}

/** ProbeResult is one probe's outcome. */
export interface ProbeResult {
  ok: boolean;
  output: string;
}

/**
 * healthProbe checks `target` once. Abort `signal` to end it (a timeout); the abort reason's
 * message becomes the output.
 */
export function healthProbe(check: ServiceCheck, target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  const probe = check.type === 'http' ? httpProbe(check, target, signal) : tcpProbe(target, signal);
  return probe.then(
    (result) => ({ ok: result.ok, output: truncate(result.output) }),
    (error: unknown) => ({ ok: false, output: truncate(describe(signal.aborted ? signal.reason : error)) }),
  );
}

function tcpProbe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const socket = net.connect({ host: target.host, port: target.port, signal });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, output: `connected to ${hostPort(target)}` });
    });
    socket.once('error', reject);
  });
}

function httpProbe(check: ServiceCheck, target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const secure = check.protocol === 'https';
    const method = (check.method ?? 'GET').toUpperCase();
    const path = check.path === undefined || check.path === '' ? '/' : check.path.startsWith('/') ? check.path : `/${check.path}`;
    const headers: Record<string, string[]> = { 'user-agent': [HEALTH_USER_AGENT] };
    for (const header of check.headers ?? []) headers[header.name.toLowerCase()] = [...header.values];
    const options = {
      host: target.host,
      port: target.port,
      method,
      path,
      headers,
      signal,
      agent: false as const,
    };
    // spec §10 `tls_server_name`: accepted by the config schema, not (yet) on the ServiceCheck type.
    const serverName = (check as { tls_server_name?: unknown }).tls_server_name;
    const request = secure
      ? https.request({
          ...options,
          rejectUnauthorized: check.tls_skip_verify !== true,
          ...(typeof serverName === 'string' && serverName !== '' ? { servername: serverName } : {}),
        })
      : http.request(options);
    request.once('error', reject);
    request.once('response', (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        response.destroy();
        if (signal.aborted) return reject(signal.reason);
        const body = Buffer.concat(chunks).subarray(0, HEALTH_BODY_MAX_BYTES).toString('utf8').trim();
        const head = `HTTP ${status} ${response.statusMessage ?? ''}`.trim();
        const ok = status >= 200 && status < 300;
        const note = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
        resolve({ ok, output: body === '' ? `${head}${note}` : `${head}${note}: ${body}` });
      };
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= HEALTH_BODY_MAX_BYTES) finish();
      });
      response.once('end', finish);
      // A body cut short still has a status: the status decides (unless the probe timed out).
      response.once('error', finish);
    });
    request.end();
  });
}

function hostPort(target: ProbeTarget): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function truncate(text: string): string {
  return text.length <= HEALTH_OUTPUT_MAX_CHARS ? text : `${text.slice(0, HEALTH_OUTPUT_MAX_CHARS - 1)}…`;
}
