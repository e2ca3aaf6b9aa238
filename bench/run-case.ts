/**
 * runCase measures one peer in one scenario on fresh processes: backends, then the proxy, a
 * readiness probe, a warm-up, optional idle time, the measured runs; then it stops everything it
 * started, whatever happened. A case with variants serves several loads from the one process
 * (told apart by Host): each is warmed up, then measured once per round, in turn.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaseResult, RunMetrics } from './bench-results.ts';
import { BACKEND_CORE, caseLoads, missingRequirement } from './cases.ts';
import type { CaseContext, CaseSpec, CaseVariant, RunningBackend } from './cases.ts';
import { freePorts } from './free-ports.ts';
import { medianMetrics } from './median-metrics.ts';
import { probe, waitUntilReady } from './probe.ts';
import type { ProcessGroup, StartedProcess } from './process-group.ts';
import { CLOCK_TICKS_PER_SECOND, coreBusyShare, readCoreTimes, sampleTree } from './proc-stat.ts';
import type { Probe, Scenario } from './scenarios.ts';
import { missingBackend, startBackend } from './start-backend.ts';
import type { BackendKind } from './start-backend.ts';
import { runWrk } from './wrk.ts';

const BACKEND_START_TIMEOUT_MS = 10_000;
/** SLOW_START_NOTE_MS: a startup slower than this is worth a note in the table. */
const SLOW_START_NOTE_MS = 2000;
const MIB = 1024 * 1024;
/** BACKGROUND_SAMPLE_MS and BACKGROUND_BUSY_NOTE: a core busier than this before a case is noted. */
const BACKGROUND_SAMPLE_MS = 1000;
const BACKGROUND_BUSY_NOTE = 0.15;
/** VARIANT_SETTLE_SECONDS of unmeasured load on a variant come before each of its measured runs. */
export const VARIANT_SETTLE_SECONDS = 1;
/** ERROR_SHARE_NOTE: past this share of error responses a case's speed means nothing. */
const ERROR_SHARE_NOTE = 0.01;

/** CaseSettings is how long and how hard each case is loaded. */
export interface CaseSettings {
  runs: number;
  seconds: number;
  warmupSeconds: number;
  idleSeconds: number;
  connections: number;
  threads: number;
}

/** CaseEnvironment is what stays the same for every case of one bench run. */
export interface CaseEnvironment {
  group: ProcessGroup;
  repoDir: string;
  benchDir: string;
  node: string;
  /** What serves the case's backends (`--backend`). */
  backend: BackendKind;
  log(line: string): void;
}

const anyStatus200: Probe = {
  method: 'GET',
  path: '/',
  headers: {},
  body: null,
  check: (status) => (status === 200 ? null : `status ${status}`),
};

function emptyResult(load: CaseVariant): CaseResult {
  return { id: load.id, label: load.label, status: 'ok', reason: null, startupMs: null, runs: [], median: null, notes: [] };
}

/**
 * runCase returns one result per load of the case (its variants, or the case itself). It never
 * throws for a case's own trouble: that becomes `failed` results. `firstRound` carries the
 * order of the variants on across the processes of an interleaved bench (see variantOrder).
 */
export async function runCase(
  spec: CaseSpec,
  scenario: Scenario,
  settings: CaseSettings,
  env: CaseEnvironment,
  firstRound = 0,
): Promise<CaseResult[]> {
  const loads = caseLoads(spec);
  const results = loads.map(emptyResult);
  const missing = missingRequirement(spec, env.repoDir) ?? (spec.backends.length > 0 ? missingBackend(env.backend) : null);
  if (missing !== null) {
    return results.map((result) => ({ ...result, status: 'skipped', reason: missing }));
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), `ricochet-bench-${spec.id}-`));
  // nginx's worker (the nginx peer's, an nginx backend's) drops root and must reach its paths inside this dir.
  chmodSync(dir, 0o755);
  const started: StartedProcess[] = [];
  // Notes about the process (background load, config, slow start) belong to every load of it.
  const shared: string[] = [];
  try {
    await noteBackgroundLoad(shared);
    await measure({ spec, loads, scenario, settings, env, dir, started, results, shared, firstRound });
    return results.map((result) => ({ ...result, notes: [...shared, ...result.notes], median: medianMetrics(result.runs) }));
  } catch (err) {
    const reason = (err as Error).message;
    return results.map((result) => ({ ...result, notes: [...shared, ...result.notes], status: 'failed', reason, median: null }));
  } finally {
    for (const proc of [...new Set(started)].reverse()) await env.group.stop(proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * variantOrder is the order in which the `count` loads of one process are measured in round
 * `round`: forward in even rounds, backward in odd ones (0 1 2, 2 1 0, 0 1 2 …). Then every load
 * follows each of its neighbours equally often, so what one load leaves behind (garbage, a
 * colder cache) falls on the others alike; a plain rotation (0 1 2, 1 2 0, 2 0 1) had the load
 * after the heaviest one follow it in two rounds of three.
 */
export function variantOrder(count: number, round: number): number[] {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(round) || round < 0) {
    throw new RangeError(`Cannot order variants: need an integer count >= 1 and round >= 0, got count ${count}, round ${round}`);
  }
  const forward = Array.from({ length: count }, (_unused, i) => i);
  return round % 2 === 0 ? forward : forward.reverse();
}

/** settledEarlier tells whether an earlier round of the case whose loads have `ids` failed or was skipped. */
export function settledEarlier(byId: ReadonlyMap<string, CaseResult>, ids: readonly string[]): boolean {
  return ids.some((id) => {
    const earlier = byId.get(id);
    return earlier !== undefined && earlier.status !== 'ok';
  });
}

/**
 * mergeRound returns `byId` with one round's results added under their ids: an ok result's runs
 * join those of the earlier ok result (median taken again); a failed or skipped one replaces it.
 */
export function mergeRound(byId: ReadonlyMap<string, CaseResult>, results: readonly CaseResult[]): Map<string, CaseResult> {
  const merged = new Map(byId);
  for (const result of results) {
    const earlier = merged.get(result.id);
    merged.set(result.id, earlier === undefined || earlier.status !== 'ok' || result.status !== 'ok' ? result : withRuns(earlier, result));
  }
  return merged;
}

/** withRuns is `earlier` with the runs of a later round of the same load added. */
function withRuns(earlier: CaseResult, later: CaseResult): CaseResult {
  const runs = [...earlier.runs, ...later.runs];
  const notes = [...new Set([...earlier.notes, ...later.notes])];
  return { ...earlier, runs, median: medianMetrics(runs), notes };
}

/** Measurement is everything `measure` works on; `results` and `shared` are filled in. */
interface Measurement {
  spec: CaseSpec;
  loads: CaseVariant[];
  scenario: Scenario;
  settings: CaseSettings;
  env: CaseEnvironment;
  dir: string;
  started: StartedProcess[];
  results: CaseResult[];
  shared: string[];
  firstRound: number;
}

async function measure(m: Measurement): Promise<void> {
  const { spec, loads, scenario, settings, env, started, results } = m;
  const ports = await freePorts(spec.backends.length + 2);
  const backends: RunningBackend[] = spec.backends.map((mode, i) => {
    const proc = startBackend({
      group: env.group,
      kind: env.backend,
      mode,
      port: ports[i],
      core: spec.backendCore,
      dir: path.join(m.dir, `backend-${i}-${mode}`),
      node: env.node,
      benchDir: env.benchDir,
    });
    started.push(proc);
    return { process: proc, port: ports[i], mode };
  });
  for (const backend of backends) {
    await waitUntilReady(backend.port, anyStatus200, null, [backend.process], BACKEND_START_TIMEOUT_MS);
  }
  const ctx: CaseContext = {
    group: env.group,
    repoDir: env.repoDir,
    benchDir: env.benchDir,
    node: env.node,
    dir: m.dir,
    backends,
    proxyPort: ports[spec.backends.length],
    apiPort: ports[spec.backends.length + 1],
    notes: m.shared,
  };
  const spawnedAt = Date.now();
  const target = spec.start(ctx);
  started.push(target.process);
  await waitUntilReady(target.port, scenario.probe, loads[0].hostHeader, started, spec.startTimeoutMs);
  const startupMs = Date.now() - spawnedAt;
  if (startupMs > SLOW_START_NOTE_MS) m.shared.push(`ready ${(startupMs / 1000).toFixed(1)} s after spawn`);
  // Every load must answer correctly before any is measured (for a replay, the target's body).
  for (const load of loads.slice(1)) {
    await waitUntilReady(target.port, scenario.probe, load.hostHeader, started, spec.startTimeoutMs);
  }
  for (const result of results) result.startupMs = startupMs;

  // Only a case with variants names the load in its log lines: one process, several rows.
  const named = (load: CaseVariant) => (spec.variants === undefined ? '' : ` ${load.id}`);
  const wrkOptions = (load: CaseVariant, seconds: number) => ({
    url: `http://127.0.0.1:${target.port}${scenario.path}`,
    seconds,
    connections: settings.connections,
    threads: settings.threads,
    core: BACKEND_CORE,
    headers: [...scenario.headers, ...(load.hostHeader === null ? [] : [`Host: ${load.hostHeader}`])],
    script: scenario.script === null ? null : path.join(env.benchDir, scenario.script),
  });
  if (settings.warmupSeconds > 0) {
    for (const [i, load] of loads.entries()) {
      env.log(`  warm-up${named(load)} ${settings.warmupSeconds} s`);
      const warm = await runWrk(env.group, wrkOptions(load, settings.warmupSeconds));
      if (warm.non2xx + warm.socketErrors > 0) {
        results[i].notes.push(`warm-up: ${warm.non2xx} non-2xx, ${warm.socketErrors} socket errors`);
      }
    }
  }
  if (settings.idleSeconds > 0) {
    env.log(`  idle ${settings.idleSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1000));
  }
  for (let i = 0; i < settings.runs; i++) {
    for (const index of variantOrder(loads.length, m.firstRound + i)) {
      const load = loads[index];
      // What the previous variant left behind (its garbage, its connections) is paid off unmeasured.
      if (loads.length > 1) await runWrk(env.group, wrkOptions(load, VARIANT_SETTLE_SECONDS));
      const run = await measuredRun(target.process.pid, wrkOptions(load, settings.seconds), env.group);
      assertAlive(started);
      results[index].runs.push(run);
      env.log(
        `  run ${i + 1}/${settings.runs}${named(load)}: ${Math.round(run.requestsPerSecond).toLocaleString('en-US')} req/s, ` +
          `p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms, ${run.cpuUsPerRequest.toFixed(1)} µs/req, ` +
          `${run.sleepsPerRequest?.toFixed(2) ?? '—'} sleeps/req` +
          (run.non2xx + run.socketErrors > 0 ? `, ${run.non2xx} non-2xx, ${run.socketErrors} socket errors` : ''),
      );
    }
  }
  for (const result of results) noteErrorShare(result);
  // The answer must still be right after the load (a proxy that broke under load fails here).
  for (const load of loads) {
    const after = await probe(target.port, scenario.probe, load.hostHeader);
    const wrong = 'error' in after ? after.error : scenario.probe.check(after.status, after.body);
    if (wrong !== null) throw new Error(`wrong answer${named(load)} after the runs: ${wrong}`);
  }
}

/** noteErrorShare marks a load whose runs had too many errors for its speed to mean anything. */
function noteErrorShare(result: CaseResult): void {
  const non2xx = result.runs.reduce((sum, run) => sum + run.non2xx, 0);
  const socketErrors = result.runs.reduce((sum, run) => sum + run.socketErrors, 0);
  const requests = result.runs.reduce((sum, run) => sum + run.requests, 0);
  // One failed exchange often counts twice (a 4xx, then a read error on the closed socket).
  if (requests > 0 && Math.max(non2xx, socketErrors) / requests > ERROR_SHARE_NOTE) {
    result.notes.push(`${non2xx} non-2xx and ${socketErrors} socket errors in ${requests} requests: not comparable`);
  }
}

async function measuredRun(pid: number, options: Parameters<typeof runWrk>[1], group: ProcessGroup): Promise<RunMetrics> {
  const coresBefore = readCoreTimes();
  const before = sampleTree(pid);
  let rssBytes: number | null = null;
  // RSS in the middle of the run, as in the calibration ("RSS MiB (mid-run)").
  const midRun = setTimeout(() => {
    rssBytes = sampleTree(pid).rssBytes;
  }, (options.seconds * 1000) / 2);
  let report;
  try {
    report = await runWrk(group, options);
  } finally {
    clearTimeout(midRun);
  }
  const after = sampleTree(pid);
  const coresAfter = readCoreTimes();
  const cpuUs = ((after.cpuTicks - before.cpuTicks) / CLOCK_TICKS_PER_SECOND) * 1e6;
  const sleeps = after.voluntarySwitches - before.voluntarySwitches;
  return {
    requestsPerSecond: report.requestsPerSecond,
    requests: report.requests,
    p50Ms: report.p50Ms,
    p99Ms: report.p99Ms,
    cpuUsPerRequest: report.requests > 0 ? cpuUs / report.requests : Number.NaN,
    sleepsPerRequest: report.requests > 0 ? sleeps / report.requests : null,
    rssMiB: (rssBytes ?? after.rssBytes) / MIB,
    core0Busy: coreBusyShare(coresBefore, coresAfter, 0),
    core1Busy: coreBusyShare(coresBefore, coresAfter, 1),
    socketErrors: report.socketErrors,
    non2xx: report.non2xx,
  };
}

/**
 * noteBackgroundLoad records how busy the two cores were before the case started anything: on a
 * shared machine, other work on them makes every number of the case low.
 */
async function noteBackgroundLoad(notes: string[]): Promise<void> {
  const before = readCoreTimes();
  await new Promise((resolve) => setTimeout(resolve, BACKGROUND_SAMPLE_MS));
  const after = readCoreTimes();
  const shares = [0, 1].map((core) => coreBusyShare(before, after, core) ?? 0);
  if (shares.some((share) => share > BACKGROUND_BUSY_NOTE)) {
    notes.push(`background load before start: core0 ${Math.round(shares[0] * 100)}%, core1 ${Math.round(shares[1] * 100)}%`);
  }
}

function assertAlive(processes: readonly StartedProcess[]): void {
  for (const proc of processes) {
    const status = proc.exitStatus();
    if (status !== null) {
      throw new Error(`${proc.name} exited (${status}) during the runs: ${proc.outputTail().trim().slice(-800)}`);
    }
  }
}
