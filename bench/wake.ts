/**
 * wake measures what scale to zero costs a request (docs/load-balancing.md "Suspend and
 * resume"): time to first byte through Ricochet for a request that finds its only machine
 * started, stopped (the request boots it) or suspended (the request resumes it with SIGCONT),
 * next to the machine's own boot time (spawn until its port accepts, the supervisor's `ms`).
 *
 * Usage: node bench/wake.ts [--rounds 20] [--backend bench/backend.ts]
 *
 * The machine runs bench/backend.ts (a plain node:http server) under the process driver, through
 * `sh -c exec` so that it gets its $PORT (the boot time includes that shell). Every
 * round stops or suspends the machine, then sends one request and reads its first byte. The
 * node and its machine are stopped at the end, also on an error.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { parseConfig } from '../src/config/load.ts';
import { RicochetNode } from '../src/node.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    backend: { type: 'string', default: fileURLToPath(new URL('./backend.ts', import.meta.url)) },
  },
});
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);

/** bootMs collects the supervisor's `ms` of each non-resume start, read from its log line. */
const bootMs: number[] = [];
const resumeMs: number[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (text === '') continue;
      const line = JSON.parse(text) as { msg?: string; ms?: number; resumed?: boolean };
      if (line.msg === 'machine started' && typeof line.ms === 'number') (line.resumed === true ? resumeMs : bootMs).push(line.ms);
    }
    callback();
  },
});

const toml = `state = ":memory:"
[listen]
api = "127.0.0.1:0"
ports = { 80 = 0 }
[[apps]]
name = "wake"
hostnames = ["wake.test"]
  [apps.http_service]
  internal_port = 8080
  auto_stop_machines = "suspend"
  [[apps.machines]]
  cmd = ${JSON.stringify(['/bin/sh', '-c', `exec "${process.execPath}" "${values.backend}" --port "$PORT"`])}
`;
const { config } = parseConfig(toml, fileURLToPath(new URL('./wake.toml', import.meta.url)));
const node = await RicochetNode.start(config, { logger: pino({ level: 'info', base: undefined }, logSink) });

/** ttfbMs sends one request through the node and returns the time to its first body byte. */
async function ttfbMs(): Promise<number> {
  const began = performance.now();
  const res = await request(node.url(80), { headers: { host: 'wake.test' } });
  for await (const _chunk of res.body) {
    const ms = performance.now() - began;
    for await (const _rest of res.body);
    return ms;
  }
  throw new Error(`Cannot measure: the answer (status ${res.statusCode}) had no body`);
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `median ${at(0.5).toFixed(1)} ms  p90 ${at(0.9).toFixed(1)} ms  min ${sorted[0].toFixed(1)} ms  (n=${sorted.length})`;
}

try {
  const [machine] = node.catalog.machines('wake');
  const started: number[] = [];
  const fromStopped: number[] = [];
  const fromSuspended: number[] = [];
  bootMs.length = 0;
  await ttfbMs();
  for (let round = 0; round < ROUNDS; round++) {
    started.push(await ttfbMs());
    await node.supervisor.stop(machine.id);
    fromStopped.push(await ttfbMs());
    await node.supervisor.suspend(machine.id);
    fromSuspended.push(await ttfbMs());
  }
  console.log(`wake benchmark, ${ROUNDS} rounds, machine: node ${values.backend}`);
  console.log(`  machine boot (spawn -> port accepts): ${summary(bootMs)}`);
  console.log(`  machine resume (SIGCONT -> running):  ${summary(resumeMs)}`);
  console.log(`  TTFB, machine started:                ${summary(started)}`);
  console.log(`  TTFB, machine stopped (cold start):   ${summary(fromStopped)}`);
  console.log(`  TTFB, machine suspended (resume):     ${summary(fromSuspended)}`);
} finally {
  await node.stop();
}
