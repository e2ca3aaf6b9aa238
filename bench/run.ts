/**
 * run is `npm run bench`: it runs the selected scenarios, each case on fresh processes pinned to
 * their cores (shared/bench-calibration.md "Method"), prints a table per scenario, and writes
 * bench/results/latest.json. Every process it starts is stopped by PID, also on Ctrl-C.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_VERSION } from './bench-results.ts';
import type { BenchResults, CaseResult, ScenarioResult } from './bench-results.ts';
import { CASES, caseLoads, findExecutable } from './cases.ts';
import type { CaseSpec } from './cases.ts';
import { BenchUsageError, parseBenchOptions, USAGE } from './cli-options.ts';
import type { BenchOptions } from './cli-options.ts';
import { ProcessGroup } from './process-group.ts';
import { resultsTable, toAligned } from './results-table.ts';
import { mergeRound, runCase, settledEarlier, VARIANT_SETTLE_SECONDS } from './run-case.ts';
import type { CaseSettings } from './run-case.ts';
import { SCENARIOS } from './scenarios.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_DIR = path.dirname(BENCH_DIR);
const LATEST_RESULTS = path.join(BENCH_DIR, 'results', 'latest.json');
/** CONNECTIONS and THREADS are wrk's -c and -t, as in the calibration. */
const CONNECTIONS = 50;
const THREADS = 1;
/** CASE_OVERHEAD_SECONDS estimates startup, probes and shutdown of one case. */
const CASE_OVERHEAD_SECONDS = 3;
const MIN_NODE_MAJOR = 24;

const log = (line: string) => process.stderr.write(`${line}\n`);

function toolVersion(command: string, args: string[]): string | null {
  const file = findExecutable(command);
  if (file === null) return null;
  // nginx prints its version on stderr, and wrk exits 1 after printing it: read both, ignore the code.
  const out = spawnSync(file, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  const first = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  const version = first.replace(/ Copyright.*$/, '').replace(/ - https?:.*$/, '').trim();
  return version === '' ? 'installed' : version;
}

function machineInfo(): BenchResults['machine'] {
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    kernel: os.release(),
    node: process.version,
    tools: {
      nginx: toolVersion('nginx', ['-v']),
      haproxy: toolVersion('haproxy', ['-v']),
      caddy: toolVersion('caddy', ['version']),
      wrk: toolVersion('wrk', ['-v']),
    },
  };
}

/** selection returns the scenarios and, for each, the case ids to run; unknown names throw. */
function selection(options: BenchOptions): { name: string; cases: string[] }[] {
  for (const name of options.scenarios ?? []) {
    if (!SCENARIOS.has(name)) {
      throw new BenchUsageError(`Cannot run bench: unknown scenario "${name}" (known: ${[...SCENARIOS.keys()].join(', ')})`);
    }
  }
  for (const id of options.only ?? []) {
    if (!CASES.has(id)) throw new BenchUsageError(`Cannot run bench: unknown case "${id}" (known: ${[...CASES.keys()].join(', ')})`);
  }
  const chosen = [];
  for (const scenario of SCENARIOS.values()) {
    if (options.scenarios !== null && !options.scenarios.includes(scenario.name)) continue;
    const cases = scenario.cases.filter((id) => options.only === null || options.only.includes(id));
    if (cases.length > 0) chosen.push({ name: scenario.name, cases });
  }
  if (chosen.length === 0) throw new BenchUsageError('Cannot run bench: no scenario has any of the selected cases');
  return chosen;
}

/** preflight returns why no case can run on this machine, or null. */
function preflight(): string | null {
  if (process.platform !== 'linux') return `the bench needs Linux (/proc, taskset), this is ${process.platform}`;
  if (os.availableParallelism() < 2) return 'the bench pins the proxy to core 0 and the load to core 1: it needs 2 cores';
  if (findExecutable('taskset') === null) return 'taskset is not installed (Debian package util-linux)';
  if (findExecutable('wrk') === null) return 'wrk is not installed (see bench/README.md)';
  return null;
}

function listAll(): void {
  for (const scenario of SCENARIOS.values()) {
    process.stdout.write(`${scenario.name}: ${scenario.title}\n  cases: ${scenario.cases.join(', ')}\n`);
  }
}

async function main(group: ProcessGroup): Promise<number> {
  const options = parseBenchOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (options.list) {
    listAll();
    return 0;
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE_MAJOR) {
    throw new BenchUsageError(`Cannot run bench: Node ${process.version} is too old; run it as \`npm run bench\` (Node ${MIN_NODE_MAJOR})`);
  }
  const chosen = selection(options);
  const settings: CaseSettings = {
    runs: options.runs,
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    idleSeconds: options.idleSeconds,
    connections: CONNECTIONS,
    threads: THREADS,
  };
  const caseCount = chosen.reduce((sum, s) => sum + s.cases.length, 0);
  // Interleaved, each run is a round of its own: one run per case, on fresh processes.
  const rounds = options.interleave ? settings.runs : 1;
  const perRound: CaseSettings = options.interleave ? { ...settings, runs: 1 } : settings;
  /** roundSeconds estimates one round of a case: each of its loads is warmed up and measured. */
  const roundSeconds = (spec: CaseSpec) => {
    const loads = caseLoads(spec).length;
    // Several loads of one process settle before each measured run (run-case.ts).
    const runSeconds = settings.seconds + (loads > 1 ? VARIANT_SETTLE_SECONDS : 0);
    return CASE_OVERHEAD_SECONDS + settings.idleSeconds + loads * (settings.warmupSeconds + perRound.runs * runSeconds);
  };
  const totalSeconds = rounds * chosen.reduce((sum, s) => sum + s.cases.reduce((n, id) => n + roundSeconds(CASES.get(id)!), 0), 0);
  log(`bench: ${chosen.length} scenarios, ${caseCount} cases, about ${Math.ceil(totalSeconds / 60)} min ` +
    `(${settings.runs} x ${settings.seconds} s after ${settings.warmupSeconds} s warm-up per ` +
    `${options.interleave ? 'run, the cases of a scenario in turn' : 'case'}; backend ${options.backend})`);

  const startedAt = new Date();
  const budgetEnd = Date.now() + options.budgetMinutes * 60_000;
  const blocker = preflight();
  const env = { group, repoDir: REPO_DIR, benchDir: BENCH_DIR, node: process.execPath, backend: options.backend, log };
  const scenarios: ScenarioResult[] = [];
  for (const { name, cases } of chosen) {
    const scenario = SCENARIOS.get(name)!;
    let byId = new Map<string, CaseResult>();
    for (let round = 1; round <= rounds; round++) {
      for (const id of cases) {
        const spec = CASES.get(id)!;
        const loads = caseLoads(spec);
        if (settledEarlier(byId, loads.map((load) => load.id))) continue;
        let results: CaseResult[];
        if (blocker !== null) {
          results = loads.map((load) => skipped(load.id, load.label, blocker));
        } else if (Date.now() + roundSeconds(spec) * 1000 > budgetEnd) {
          results = loads.map((load) => skipped(load.id, load.label, `time budget of ${options.budgetMinutes} min used up`));
        } else {
          log(`[${name}] ${id}${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}`);
          results = await runCase(spec, scenario, perRound, env, round - 1);
        }
        for (const result of results) {
          if (result.status !== 'ok') log(`[${name}] ${result.id}: ${result.status}: ${result.reason}`);
        }
        byId = mergeRound(byId, results);
      }
    }
    const results = [...byId.values()];
    const scenarioResult: ScenarioResult = {
      name, title: scenario.title, description: scenario.description, references: scenario.references, cases: results,
    };
    scenarios.push(scenarioResult);
    // The backend is in every heading: tables measured with different backends must not be mixed up.
    process.stdout.write(`\n## ${name}: ${scenario.title} (backend: ${options.backend})\n\n${toAligned(resultsTable(scenarioResult))}\n`);
  }

  const results: BenchResults = {
    version: RESULTS_VERSION,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    settings: { ...settings, quick: options.quick, backend: options.backend },
    scenarios,
  };
  const text = `${JSON.stringify(results, null, 2)}\n`;
  mkdirSync(path.dirname(LATEST_RESULTS), { recursive: true });
  writeFileSync(LATEST_RESULTS, text);
  if (options.json !== null) writeFileSync(path.resolve(options.json), text);
  log(`\nresults: ${path.relative(process.cwd(), LATEST_RESULTS)}${options.json === null ? '' : ` and ${options.json}`}`);
  const failed = scenarios.flatMap((s) => s.cases).filter((c) => c.status === 'failed');
  return failed.length === 0 ? 0 : 1;
}

function skipped(id: string, label: string, reason: string): CaseResult {
  return { id, label, status: 'skipped', reason, startupMs: null, runs: [], median: null, notes: [] };
}

/** installStopHandlers stops every started process on Ctrl-C, SIGTERM, and any exit. */
function installStopHandlers(group: ProcessGroup): void {
  let stopping = false;
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(name, () => {
      if (stopping) return;
      stopping = true;
      log(`\nbench: ${name}, stopping ${group.running().length} processes`);
      void group.stopAll().finally(() => process.exit(130));
    });
  }
  process.on('exit', () => group.killAllNow());
}

const group = new ProcessGroup();
installStopHandlers(group);
try {
  process.exitCode = await main(group);
} catch (err) {
  if (err instanceof BenchUsageError) {
    log(err.message);
    process.exitCode = 2;
  } else {
    log(`bench: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  }
} finally {
  await group.stopAll();
}
