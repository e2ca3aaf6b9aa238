/**
 * probe sends one request to a case and checks the answer; waitUntilReady repeats it until the
 * case answers correctly, a process of the case exits, or the deadline passes.
 */
import http from 'node:http';
import type { StartedProcess } from './process-group.ts';
import type { Probe } from './scenarios.ts';

const PROBE_TIMEOUT_MS = 5000;
const RETRY_MS = 100;

/** ProbeAnswer is a status and body, or why there was none. */
export type ProbeAnswer = { status: number; body: Buffer } | { error: string };

/** probe sends `p` to 127.0.0.1:port on a fresh connection. */
export function probe(port: number, p: Probe, hostHeader: string | null): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { ...p.headers };
    if (hostHeader !== null) headers.host = hostHeader;
    if (p.body !== null) headers['content-length'] = p.body.length;
    const req = http.request({ host: '127.0.0.1', port, method: p.method, path: p.path, headers, agent: false, timeout: PROBE_TIMEOUT_MS });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(p.body ?? undefined);
  });
}

/** waitUntilReady resolves once `p` gets a correct answer; it throws with the last problem otherwise. */
export async function waitUntilReady(
  port: number,
  p: Probe,
  hostHeader: string | null,
  processes: readonly StartedProcess[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problem = 'no attempt';
  for (;;) {
    for (const started of processes) {
      const status = started.exitStatus();
      if (status !== null) {
        throw new Error(`${started.name} exited (${status}) before it was ready: ${started.outputTail().trim().slice(-800)}`);
      }
    }
    const answer = await probe(port, p, hostHeader);
    if ('error' in answer) {
      problem = answer.error;
    } else {
      // A wrong answer may be a proxy still loading its catalog, so it is retried too.
      const wrong = p.check(answer.status, answer.body);
      if (wrong === null) return;
      problem = `${p.method} ${p.path} answered wrongly: ${wrong}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`not ready after ${timeoutMs} ms: ${problem}`);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
