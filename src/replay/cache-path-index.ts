/**
 * PathIndex finds the replay cache's path entries by source app, host and prefix (spec §5.1). A
 * lookup reads three maps with strings the request already has and builds no key, as a key
 * string would be hashed anew on every request.
 */

/** IndexedPathEntry is what the index reads of a path entry. */
export interface IndexedPathEntry {
  sourceApp: string;
  host: string;
  /** Canonical: `/api` for `/api/*`, `/` for `/*`. */
  prefix: string;
}

export class PathIndex<E extends IndexedPathEntry> {
  readonly #byApp = new Map<string, Map<string, Map<string, E>>>();

  /** prefixes maps each prefix of the app's path entries for `host` to its entry, or is undefined when there are none. */
  prefixes(sourceApp: string, host: string): ReadonlyMap<string, E> | undefined {
    return this.#byApp.get(sourceApp)?.get(host);
  }

  /** add indexes `entry`, replacing any entry of the same app, host and prefix. */
  add(entry: E): void {
    let byHost = this.#byApp.get(entry.sourceApp);
    if (byHost === undefined) this.#byApp.set(entry.sourceApp, (byHost = new Map()));
    let byPrefix = byHost.get(entry.host);
    if (byPrefix === undefined) byHost.set(entry.host, (byPrefix = new Map()));
    byPrefix.set(entry.prefix, entry);
  }

  /** remove forgets `entry` if it is the one indexed, and the maps it leaves empty. */
  remove(entry: E): void {
    const byHost = this.#byApp.get(entry.sourceApp);
    const byPrefix = byHost?.get(entry.host);
    if (byHost === undefined || byPrefix === undefined || byPrefix.get(entry.prefix) !== entry) return;
    byPrefix.delete(entry.prefix);
    if (byPrefix.size > 0) return;
    byHost.delete(entry.host);
    if (byHost.size === 0) this.#byApp.delete(entry.sourceApp);
  }
}
