/**
 * closeness turns the node's `[regions]` table (RTT in ms from this node's region) into the
 * balancer's distance function (spec §8.2.3: closeness is the RTT from the edge).
 */

/**
 * UNLISTED_REGION_GAP_MS is how much farther than the farthest listed region every unlisted
 * region is: unknown regions rank after all known ones, and all equally far, so ties between
 * them are broken at random like any other tie (spec §8.2.1).
 */
export const UNLISTED_REGION_GAP_MS = 1000;

/**
 * closeness returns `region => rtt in ms`: 0 for `own` (whatever the table says), the table's
 * value for a listed region, and the farthest listed value plus UNLISTED_REGION_GAP_MS for any
 * other region. Throws a RangeError for an RTT that is not a finite number >= 0.
 */
export function closeness(regions: Record<string, number>, own: string): (region: string) => number {
  if (typeof own !== 'string' || own === '') {
    throw new TypeError(`Cannot compute closeness: own region is ${JSON.stringify(own)}`);
  }
  const table = new Map<string, number>();
  for (const [region, rtt] of Object.entries(regions)) {
    if (typeof rtt !== 'number' || !Number.isFinite(rtt) || rtt < 0) {
      throw new RangeError(
        `Cannot compute closeness: rtt of region "${region}" is ${rtt}, expected a finite number >= 0`,
      );
    }
    table.set(region, rtt);
  }
  table.set(own, 0);
  const unlisted = Math.max(...table.values()) + UNLISTED_REGION_GAP_MS;
  return (region) => table.get(region) ?? unlisted;
}
