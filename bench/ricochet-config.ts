/**
 * ricochet-config turns the templates in bench/ricochet/ into `ricochet.toml` text with the ports
 * picked at run time, and generates the big-catalog filler apps. Pure: text in, text out.
 */

/** renderTemplate replaces every `{{NAME}}` with `values[NAME]`; a placeholder without a value throws. */
export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new TypeError(`Cannot render Ricochet config: no value for {{${name}}}`);
    return String(value);
  });
}

/** BigCatalogOptions sizes the big-catalog scenario's config. */
export interface BigCatalogOptions {
  /** Apps in all, the measured app "bench" included. */
  apps: number;
  /** Machines in all, the one of app "bench" included. */
  machines: number;
  /** "host:port" every filler machine points at (the backend, so that a check of one succeeds). */
  address: string;
}

/** FILLER_REGIONS spreads the filler machines over a few real Fly regions. */
const FILLER_REGIONS = ['iad', 'ord', 'sjc', 'ams', 'fra', 'nrt', 'syd', 'gru'];

/**
 * bigCatalogApps returns `[[apps]]` sections for `apps - 1` filler apps holding `machines - 1`
 * static machines between them (one group per app, with `count`), to append after the template
 * whose app "bench" has one machine. Each filler app answers at `app-NNNN.bench.localhost`.
 */
export function bigCatalogApps(options: BigCatalogOptions): string {
  const fillerApps = options.apps - 1;
  const fillerMachines = options.machines - 1;
  if (!Number.isInteger(fillerApps) || fillerApps < 1 || !Number.isInteger(fillerMachines) || fillerMachines < fillerApps) {
    throw new RangeError(
      `Cannot generate big catalog: need at least 2 apps and one machine per app, got ${options.apps} apps, ${options.machines} machines`,
    );
  }
  const base = Math.floor(fillerMachines / fillerApps);
  const extra = fillerMachines - base * fillerApps;
  const width = String(fillerApps).length;
  const parts: string[] = [];
  for (let i = 0; i < fillerApps; i++) {
    const name = `app-${String(i + 1).padStart(width, '0')}`;
    const count = base + (i < extra ? 1 : 0);
    parts.push(
      `[[apps]]\nname = "${name}"\nhostnames = ["${name}.bench.localhost"]\n\n` +
        `  [apps.http_service]\n  internal_port = 8080\n\n` +
        `  [[apps.machines]]\n  region = "${FILLER_REGIONS[i % FILLER_REGIONS.length]}"\n` +
        `  count = ${count}\n  address = "${options.address}"\n`,
    );
  }
  return parts.join('\n');
}
