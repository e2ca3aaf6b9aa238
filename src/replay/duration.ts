/**
 * parseDurationMs reads Go's duration syntax (`10s`, `800ms`, `1m30s`, `1.5s`, `.5h`), the syntax
 * of the `fly-replay` `timeout` field (spec §3) and of Fly's config durations, and returns
 * milliseconds. The config loader and the Machines API reuse it.
 *
 * Rules, explicit because callers rely on them:
 * - Units are Go's and case-sensitive: `ns`, `us` (or `µs`/`μs`), `ms`, `s`, `m`, `h`.
 * - A leading `+` is accepted as Go does; negative durations are refused (nothing we time can
 *   run backwards).
 * - `0` is the only number accepted without a unit (as in Go). Any other bare number, `10`
 *   included, is refused: whether it means seconds or milliseconds is exactly the mistake we
 *   don't want to guess about. Config keys that take plain numbers handle numbers themselves.
 * - No whitespace anywhere: callers trim if their syntax allows it.
 * - The result can be fractional below a millisecond (`500us` is 0.5); it is exact to the
 *   nanosecond up to about 104 days. Go's int64-nanosecond limit (about 292 years) is the cap.
 */

/** DURATION_MAX_CHARS bounds the input so a hostile header can't make us do big arithmetic. */
export const DURATION_MAX_CHARS = 64;

/** DurationError is thrown for any text parseDurationMs can't read; `input` is that text. */
export class DurationError extends RangeError {
  readonly code = 'INVALID_DURATION' as const;
  readonly input: string;

  constructor(input: string, reason: string) {
    super(`Cannot parse duration "${input}": ${reason}`);
    this.name = 'DurationError';
    this.input = input;
  }
}

const UNIT_NS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // micro sign, as Go accepts
  ['\u03bcs', 1_000n], // Greek small letter mu, as Go accepts
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

// Go's time.Duration is an int64 count of nanoseconds.
const MAX_NS = 2n ** 63n - 1n;

// One component: digits, an optional fraction, then everything up to the next digit or dot,
// which must be a unit. A sticky regex so components are read back to back.
const COMPONENT = /(\d*)(?:\.(\d*))?([^\d.]*)/y;

export function parseDurationMs(text: string): number {
  if (typeof text !== 'string') throw new DurationError(String(text), 'expected a string');
  if (text.length === 0) throw new DurationError(text, 'the text is empty');
  if (text.length > DURATION_MAX_CHARS) {
    throw new DurationError(text.slice(0, DURATION_MAX_CHARS) + '…', `longer than ${DURATION_MAX_CHARS} characters`);
  }
  if (/\s/.test(text)) throw new DurationError(text, 'whitespace is not allowed');
  if (text[0] === '-') throw new DurationError(text, 'negative durations are not allowed');
  const body = text[0] === '+' ? text.slice(1) : text;
  if (body === '0') return 0;
  if (body === '') throw new DurationError(text, 'expected a number after the sign');
  if (/^\d+$/.test(body)) {
    throw new DurationError(text, `missing unit (write "${body}ms" or "${body}s")`);
  }

  let totalNs = 0n;
  let at = 0;
  while (at < body.length) {
    COMPONENT.lastIndex = at;
    const match = COMPONENT.exec(body);
    // The pattern can match the empty string, so a match always exists; guard for the types.
    if (match === null || match[0] === '') throw new DurationError(text, `unexpected "${body[at]}"`);
    const [whole, intDigits, fracDigits, unit] = match;
    if (intDigits === '' && !fracDigits) {
      throw new DurationError(text, `expected a number before "${whole}"`);
    }
    if (unit === '') throw new DurationError(text, `missing unit after "${whole}"`);
    const unitNs = UNIT_NS.get(unit);
    if (unitNs === undefined) {
      throw new DurationError(text, `unknown unit "${unit}" (use ns, us, ms, s, m or h)`);
    }
    totalNs += BigInt(intDigits || '0') * unitNs;
    if (fracDigits) totalNs += (BigInt(fracDigits) * unitNs) / 10n ** BigInt(fracDigits.length);
    if (totalNs > MAX_NS) throw new DurationError(text, 'out of range (more than about 292 years)');
    at += whole.length;
  }
  return Number(totalNs) / 1e6;
}
