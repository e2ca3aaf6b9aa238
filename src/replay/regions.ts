/**
 * Fly's region codes and region aliases (spec §1.2, §4), and RegionTable, which turns a list of
 * codes and aliases such as `iad,ord,us,na` into ordered choices for the balancer.
 */

/** RegionChoice is one entry of an expanded region list: any region, or these regions. */
export type RegionChoice = { kind: 'any' } | { kind: 'regions'; regions: string[] };

/** RegionAliasError is thrown by RegionTable for a custom alias it can't accept. */
export class RegionAliasError extends Error {
  readonly code = 'INVALID_REGION_ALIAS' as const;
  readonly alias: string;

  constructor(alias: string, reason: string) {
    super(`Cannot define region alias "${alias}": ${reason}`);
    this.name = 'RegionAliasError';
    this.alias = alias;
  }
}

type Group = 'na' | 'us' | 'usa' | 'sa' | 'eu' | 'apac';

const US: readonly Group[] = ['na', 'us', 'usa'];
const NA: readonly Group[] = ['na'];
const SA: readonly Group[] = ['sa'];
const EU: readonly Group[] = ['eu'];
const APAC: readonly Group[] = ['apac'];

/**
 * FLY_REGIONS is Fly's region table: code -> city and the aliases that include it. The codes
 * are the 35 of superfly/docs `machines/guides-examples/machine-placement` ("current list",
 * 2025-06); a later `reference/regions` page lists only 18 of them, and the rest are kept so
 * configs that name them still group correctly. Aliases follow Fly's table (`us`/`usa` United
 * States, `na` North America, `sa` South America, `eu` Europe, `apac` Asia-Pacific); Africa has no
 * alias, so `jnb` is reached only by name or by `any`.
 */
export const FLY_REGIONS: Readonly<Record<string, { name: string; groups: readonly string[] }>> = Object.freeze({
  ams: { name: 'Amsterdam, Netherlands', groups: EU },
  arn: { name: 'Stockholm, Sweden', groups: EU },
  atl: { name: 'Atlanta, Georgia (US)', groups: US },
  bog: { name: 'Bogotá, Colombia', groups: SA },
  bom: { name: 'Mumbai, India', groups: APAC },
  bos: { name: 'Boston, Massachusetts (US)', groups: US },
  cdg: { name: 'Paris, France', groups: EU },
  den: { name: 'Denver, Colorado (US)', groups: US },
  dfw: { name: 'Dallas, Texas (US)', groups: US },
  ewr: { name: 'Secaucus, NJ (US)', groups: US },
  eze: { name: 'Ezeiza, Argentina', groups: SA },
  fra: { name: 'Frankfurt, Germany', groups: EU },
  gdl: { name: 'Guadalajara, Mexico', groups: NA },
  gig: { name: 'Rio de Janeiro, Brazil', groups: SA },
  gru: { name: 'Sao Paulo, Brazil', groups: SA },
  hkg: { name: 'Hong Kong, Hong Kong', groups: APAC },
  iad: { name: 'Ashburn, Virginia (US)', groups: US },
  jnb: { name: 'Johannesburg, South Africa', groups: [] },
  lax: { name: 'Los Angeles, California (US)', groups: US },
  lhr: { name: 'London, United Kingdom', groups: EU },
  mad: { name: 'Madrid, Spain', groups: EU },
  mia: { name: 'Miami, Florida (US)', groups: US },
  nrt: { name: 'Tokyo, Japan', groups: APAC },
  ord: { name: 'Chicago, Illinois (US)', groups: US },
  otp: { name: 'Bucharest, Romania', groups: EU },
  phx: { name: 'Phoenix, Arizona (US)', groups: US },
  qro: { name: 'Querétaro, Mexico', groups: NA },
  scl: { name: 'Santiago, Chile', groups: SA },
  sea: { name: 'Seattle, Washington (US)', groups: US },
  sin: { name: 'Singapore, Singapore', groups: APAC },
  sjc: { name: 'San Jose, California (US)', groups: US },
  syd: { name: 'Sydney, Australia', groups: APAC },
  waw: { name: 'Warsaw, Poland', groups: EU },
  yul: { name: 'Montreal, Canada', groups: NA },
  yyz: { name: 'Toronto, Canada', groups: NA },
});

/** ANY_REGION is the alias for "any region with a machine", Fly's "Earth" (spec §1.2). */
export const ANY_REGION = 'any';

const BUILT_IN_ALIASES: ReadonlyMap<string, readonly string[]> = (() => {
  const aliases = new Map<string, string[]>();
  for (const [code, { groups }] of Object.entries(FLY_REGIONS)) {
    for (const group of groups) aliases.set(group, [...(aliases.get(group) ?? []), code]);
  }
  return aliases;
})();

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/**
 * RegionTable expands region lists. Codes and aliases are matched case-insensitively and come
 * out lower case.
 *
 * `extraAliases` (config `region_aliases`) adds groups. A custom alias may list region codes,
 * including custom ones no Fly region has, built-in aliases and other custom aliases (cycles are
 * refused). A custom alias with a built-in alias's name replaces it, so a self-hosted fleet can
 * make `us` mean its own regions; `any` and Fly's region codes can't be redefined.
 */
export class RegionTable {
  readonly #aliases = new Map<string, readonly string[]>();

  constructor(extraAliases: Record<string, string[]> = {}) {
    const custom = new Map<string, string[]>();
    for (const [rawName, members] of Object.entries(extraAliases)) {
      const name = rawName.trim().toLowerCase();
      if (!NAME.test(name)) throw new RegionAliasError(rawName, 'use 1-32 letters, digits, "-" or "_"');
      if (name === ANY_REGION) throw new RegionAliasError(rawName, '"any" is built in');
      if (Object.hasOwn(FLY_REGIONS, name)) throw new RegionAliasError(rawName, 'that is a Fly region code');
      if (custom.has(name)) throw new RegionAliasError(rawName, 'defined twice');
      if (!Array.isArray(members) || members.length === 0) throw new RegionAliasError(rawName, 'list at least one region');
      const normalised = members.map((member) => (typeof member === 'string' ? member.trim().toLowerCase() : ''));
      for (const member of normalised) {
        if (!NAME.test(member)) throw new RegionAliasError(rawName, `"${member}" is not a region code`);
        if (member === ANY_REGION) throw new RegionAliasError(rawName, '"any" cannot be part of a group');
      }
      custom.set(name, normalised);
    }
    for (const [name, codes] of BUILT_IN_ALIASES) this.#aliases.set(name, codes);
    for (const name of custom.keys()) this.#aliases.set(name, this.#resolve(name, custom, []));
  }

  #resolve(name: string, custom: ReadonlyMap<string, string[]>, path: string[]): string[] {
    if (path.includes(name)) throw new RegionAliasError(path[0], `it refers to itself through ${[...path, name].join(' -> ')}`);
    const members = custom.get(name);
    if (members === undefined) return [...(BUILT_IN_ALIASES.get(name) ?? [name])];
    const codes: string[] = [];
    for (const member of members) {
      const expanded = custom.has(member) || BUILT_IN_ALIASES.has(member) ? this.#resolve(member, custom, [...path, name]) : [member];
      for (const code of expanded) if (!codes.includes(code)) codes.push(code);
    }
    return codes;
  }

  /** isAlias tells whether `name` stands for a group of regions (`any` included). */
  isAlias(name: string): boolean {
    const lower = name.trim().toLowerCase();
    return lower === ANY_REGION || this.#aliases.has(lower);
  }

  /** codesOf returns the region codes an alias stands for, or null for a plain code or `any`. */
  codesOf(name: string): readonly string[] | null {
    return this.#aliases.get(name.trim().toLowerCase()) ?? null;
  }

  /**
   * expand turns a preference list into ordered choices, one per entry: a code becomes a
   * one-region choice, an alias its regions. A region already offered by an earlier entry is
   * dropped from later ones, and an entry left with no regions yields no choice, so `iad,us`
   * tries iad and then the other US regions. `any` ends the list: nothing after it can add a
   * region. Unknown codes stay as single regions (custom regions, or regions with no machines
   * yet); empty entries are skipped.
   */
  expand(list: readonly string[]): RegionChoice[] {
    const choices: RegionChoice[] = [];
    const offered = new Set<string>();
    for (const entry of list) {
      const name = entry.trim().toLowerCase();
      if (name === '') continue;
      if (name === ANY_REGION) {
        choices.push({ kind: 'any' });
        break;
      }
      const fresh = (this.#aliases.get(name) ?? [name]).filter((code) => !offered.has(code));
      for (const code of fresh) offered.add(code);
      if (fresh.length > 0) choices.push({ kind: 'regions', regions: fresh });
    }
    return choices;
  }
}
