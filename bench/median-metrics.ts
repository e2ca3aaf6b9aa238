/**
 * medianMetrics takes the median of each metric over several runs on its own, as the calibration
 * tables do (so the median req/s and the median p99 may come from different runs).
 */
import type { RunMetrics } from './bench-results.ts';

/** median of a list of numbers, NaN and null ignored; null when nothing is left. */
export function median(values: ReadonlyArray<number | null>): number | null {
  const sorted = values.filter((v): v is number => v !== null && !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function medianMetrics(runs: readonly RunMetrics[]): RunMetrics {
  if (runs.length === 0) throw new RangeError('Cannot take the median of no runs');
  // `?? null`: a metric added later is absent from the runs of older results.
  const pick = (key: keyof RunMetrics) => median(runs.map((run) => run[key] ?? null));
  return {
    requestsPerSecond: pick('requestsPerSecond') ?? Number.NaN,
    requests: pick('requests') ?? 0,
    p50Ms: pick('p50Ms') ?? Number.NaN,
    p99Ms: pick('p99Ms') ?? Number.NaN,
    cpuUsPerRequest: pick('cpuUsPerRequest') ?? Number.NaN,
    sleepsPerRequest: pick('sleepsPerRequest'),
    rssMiB: pick('rssMiB') ?? Number.NaN,
    core0Busy: pick('core0Busy'),
    core1Busy: pick('core1Busy'),
    // Errors are summed, not averaged: one bad run must stay visible.
    socketErrors: runs.reduce((sum, run) => sum + run.socketErrors, 0),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
  };
}
