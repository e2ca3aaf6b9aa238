/**
 * headerOf reads one request header from whatever a framework hands an app: a fetch `Request`
 * or `Headers` (Hono, Deno, Bun, workers), or an object with Node-style `headers` (node:http,
 * Express, Fastify), or such a header record itself. Repeated values are joined with `, `, as
 * Node joins them.
 */

/** HeaderRecord is Node's shape: lower-case names, a string or a list of strings. */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

/** HeaderGetter is anything with fetch's `Headers.get`. */
export interface HeaderGetter {
  get(name: string): string | null | undefined;
}

/** HeaderSource is a request, or its headers, in any of the shapes above. */
export type HeaderSource = HeaderGetter | { readonly headers: HeaderGetter | HeaderRecord } | HeaderRecord;

function isGetter(value: unknown): value is HeaderGetter {
  return typeof value === 'object' && value !== null && typeof (value as HeaderGetter).get === 'function';
}

function fromRecord(record: HeaderRecord, name: string): string | undefined {
  let value = record[name];
  if (value === undefined) {
    // Node lower-cases names; a hand-made record may not have.
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    if (key !== undefined) value = record[key];
  }
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(', ');
}

export function headerOf(source: HeaderSource, name: string): string | undefined {
  const lower = name.toLowerCase();
  if (isGetter(source)) return source.get(lower) ?? undefined;
  const nested = (source as { headers?: unknown }).headers;
  if (typeof nested === 'object' && nested !== null) {
    return isGetter(nested) ? (nested.get(lower) ?? undefined) : fromRecord(nested as HeaderRecord, lower);
  }
  return fromRecord(source as HeaderRecord, lower);
}
