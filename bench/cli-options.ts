/**
 * parseBenchOptions reads `npm run bench -- [options]` into BenchOptions; bad input throws a
 * BenchUsageError naming the option.
 */
import { parseArgs } from 'node:util';
import { BACKEND_KINDS } from './start-backend.ts';
import type { BackendKind } from './start-backend.ts';

export const USAGE = `Usage: npm run bench -- [options]

  --quick               1 run of 3 s after a 1 s warm-up (checks that the harness works)
  --runs N              measured runs per case (default 3)
  --interleave          take the runs in rounds, every case of a scenario once per round (each
                        run on fresh processes after its own warm-up), so that drift in the
                        machine's load falls on every case alike
  --seconds N           length of each run in seconds (default 10)
  --warmup N            warm-up before the runs, in seconds (default 5)
  --idle N              seconds with no traffic between warm-up and runs (default 0); Node
                        processes slow down after idle, see bench/README.md
  --backend node|nginx  what serves the proxies on core 1 (default node: bench/backend.ts on
                        node:http); nginx costs core 1 less, so the proxy is not kept
                        waiting for its backends (see bench/README.md)
  --scenario a,b        only these scenarios (default all)
  --only a,b            only these cases (default all)
  --budget-minutes N    skip the cases that would start after N minutes (default 90)
  --json FILE           also write the results here (bench/results/latest.json is always written)
  --list                list scenarios and cases, then exit
  --help                this text
`;

/** BenchOptions is the validated command line. */
export interface BenchOptions {
  runs: number;
  seconds: number;
  warmupSeconds: number;
  idleSeconds: number;
  scenarios: string[] | null;
  only: string[] | null;
  backend: BackendKind;
  budgetMinutes: number;
  json: string | null;
  quick: boolean;
  interleave: boolean;
  list: boolean;
  help: boolean;
}

/** BenchUsageError is a bad command line. */
export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';
}

function count(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new BenchUsageError(`Cannot run bench: --${name} must be an integer >= ${min}, got "${value}"`);
  }
  return n;
}

function backendKind(value: string | undefined): BackendKind {
  if (value === undefined) return BACKEND_KINDS[0];
  const kind = BACKEND_KINDS.find((known) => known === value);
  if (kind === undefined) {
    throw new BenchUsageError(`Cannot run bench: --backend must be one of ${BACKEND_KINDS.join(', ')}, got "${value}"`);
  }
  return kind;
}

function list(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/** parseBenchOptions validates argv (without node and script); names are checked by the caller. */
export function parseBenchOptions(argv: string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        quick: { type: 'boolean', default: false },
        interleave: { type: 'boolean', default: false },
        runs: { type: 'string' },
        seconds: { type: 'string' },
        warmup: { type: 'string' },
        idle: { type: 'string' },
        scenario: { type: 'string' },
        only: { type: 'string' },
        backend: { type: 'string' },
        'budget-minutes': { type: 'string' },
        json: { type: 'string' },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new BenchUsageError(`Cannot run bench: ${(err as Error).message}`);
  }
  const v = parsed.values;
  const quick = v.quick === true;
  return {
    quick,
    runs: count('runs', v.runs, quick ? 1 : 3, 1),
    seconds: count('seconds', v.seconds, quick ? 3 : 10, 1),
    warmupSeconds: count('warmup', v.warmup, quick ? 1 : 5, 0),
    idleSeconds: count('idle', v.idle, 0, 0),
    scenarios: list(v.scenario),
    only: list(v.only),
    backend: backendKind(v.backend),
    budgetMinutes: count('budget-minutes', v['budget-minutes'], 90, 1),
    json: v.json ?? null,
    interleave: v.interleave === true,
    list: v.list === true,
    help: v.help === true,
  };
}
