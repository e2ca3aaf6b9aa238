/**
 * BenchResults is the shape of bench/results/latest.json, written by run.ts and read by
 * report.ts. Bump RESULTS_VERSION when a field changes meaning; a field added later is optional,
 * so that older files still read.
 */
import type { BackendKind } from './start-backend.ts';

export const RESULTS_VERSION = 1;

/** RunMetrics is one measured wrk run (or the per-metric median of several). */
export interface RunMetrics {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time (utime + stime) of the measured process tree per request, in microseconds. */
  cpuUsPerRequest: number;
  /**
   * Voluntary context switches of the main thread of every process of the measured tree, per
   * request: about 0 when the proxy always had work, about 1 when its event loop slept once per
   * request waiting for core 1. Null without requests; absent in results written before it.
   */
  sleepsPerRequest?: number | null;
  /** RSS of the measured process tree, sampled in the middle of the run, in MiB. */
  rssMiB: number;
  /** Busy share (0..1) of core 0 (the proxy) and core 1 (backend + wrk) during the run. */
  core0Busy: number | null;
  core1Busy: number | null;
  /** Socket errors (connect, read, write, timeout) wrk counted. */
  socketErrors: number;
  /** Responses with a status outside 2xx/3xx. */
  non2xx: number;
}

export type CaseStatus = 'ok' | 'skipped' | 'failed';

/** CaseResult is one peer in one scenario. */
export interface CaseResult {
  id: string;
  label: string;
  status: CaseStatus;
  /** Why it was skipped or failed. */
  reason: string | null;
  /** Time from spawning the proxy to its first correct answer, in ms. */
  startupMs: number | null;
  runs: RunMetrics[];
  /** Per-metric median over `runs`; null unless ok. */
  median: RunMetrics | null;
  notes: string[];
}

/** ScenarioResult is one workload's cases. */
export interface ScenarioResult {
  name: string;
  title: string;
  description: string;
  references: string[];
  cases: CaseResult[];
}

/** BenchResults is one `npm run bench`. */
export interface BenchResults {
  version: number;
  startedAt: string;
  finishedAt: string;
  machine: {
    cpuModel: string;
    cores: number;
    kernel: string;
    node: string;
    tools: Record<string, string | null>;
  };
  settings: {
    runs: number;
    seconds: number;
    warmupSeconds: number;
    idleSeconds: number;
    connections: number;
    threads: number;
    quick: boolean;
    /** What served the proxies (`--backend`); absent in results written before it: node. */
    backend?: BackendKind;
  };
  scenarios: ScenarioResult[];
}
