/**
 * durationSchema validates a Fly duration and stores it as a duration string (spec §10): a Go
 * duration string ("15s", "500ms", "1m30s") is kept as written; an integer is read in the unit
 * its source uses (fly.toml check durations: milliseconds; fly.toml `kill_timeout`: seconds; the
 * Machines API: nanoseconds, as fly-go's Duration) and written back as a string.
 *
 * It is a zod codec, not a transform, so `z.toJSONSchema` can describe both its input (string or
 * integer) and its output (string).
 */
import { z } from 'zod';
import { DurationError, parseDurationMs } from '../replay/duration.ts';
import { formatDuration } from './format-duration.ts';

/** IntegerUnit is what a bare integer means where the duration is written. */
export type IntegerUnit = 'ns' | 'ms' | 's';

const UNIT_MS: Record<IntegerUnit, number> = { ns: 1e-6, ms: 1, s: 1000 };
const UNIT_WORD: Record<IntegerUnit, string> = { ns: 'nanoseconds', ms: 'milliseconds', s: 'seconds' };

/** isDuration is true for text `parseDurationMs` reads. */
export function isDuration(text: string): boolean {
  try {
    parseDurationMs(text);
    return true;
  } catch (error) {
    if (error instanceof DurationError) return false;
    throw error;
  }
}

export interface DurationSchemaOptions {
  integerUnit: IntegerUnit;
  /** Largest allowed duration; larger values are refused with the limit in the message. */
  maxMs?: number;
}

export function durationSchema(options: DurationSchemaOptions) {
  const { integerUnit, maxMs } = options;
  const limit = maxMs === undefined ? '' : `, at most ${formatDuration(maxMs)}`;
  const message = `is not a duration (a string like "15s" or "500ms", or integer ${UNIT_WORD[integerUnit]}${limit})`;
  const input = z
    .union([z.string().refine(isDuration, { error: message }), z.int({ error: message }).min(0, { error: message })], { error: message })
    // zod runs this refinement even after the union has failed, so it must accept any input.
    .refine((value) => maxMs === undefined || !isDurationValue(value) || toMs(value, integerUnit) <= maxMs, { error: message });
  return z.codec(input, z.string(), {
    decode: (value) => (typeof value === 'string' ? value : formatDuration(toMs(value, integerUnit))),
    encode: (value) => value,
  });
}

function isDurationValue(value: unknown): value is string | number {
  return typeof value === 'string' ? isDuration(value) : Number.isSafeInteger(value) && (value as number) >= 0;
}

function toMs(value: string | number, integerUnit: IntegerUnit): number {
  return typeof value === 'string' ? parseDurationMs(value) : value * UNIT_MS[integerUnit];
}
