/**
 * formatDuration writes a millisecond count as a Fly duration string ("5s", "1500ms", "250us"),
 * the form a machine config's durations are stored in (spec §10). It is the inverse of
 * `parseDurationMs` (`src/replay/duration.ts`) for the values the config produces.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`Cannot format duration ${ms} ms`);
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  if (Number.isInteger(ms)) return `${ms}ms`;
  const us = ms * 1000;
  if (Number.isInteger(us)) return `${us}us`;
  return `${Math.round(ms * 1e6)}ns`;
}
