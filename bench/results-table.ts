/**
 * resultsTable lays out one scenario's results as rows of text, printed aligned by run.ts and as
 * markdown by report.ts.
 */
import type { CaseResult, ScenarioResult } from './bench-results.ts';

/** Table is a header, body rows and the alignment of each column. */
export interface Table {
  header: string[];
  rows: string[][];
  alignRight: boolean[];
}

const DASH = '—';

function fixed(value: number | null, digits: number): string {
  return value === null || Number.isNaN(value) ? DASH : value.toFixed(digits);
}

function thousands(value: number): string {
  return Number.isNaN(value) ? DASH : Math.round(value).toLocaleString('en-US');
}

function percent(value: number | null): string {
  return value === null ? DASH : `${Math.round(value * 100)}%`;
}

function ratio(result: CaseResult, reference: CaseResult | undefined): string {
  if (result.median === null || reference?.median == null || reference.median.requestsPerSecond === 0) return DASH;
  return (result.median.requestsPerSecond / reference.median.requestsPerSecond).toFixed(2);
}

/** cpuRatio is the proxy CPU per request of `result` over that of `reference`. */
function cpuRatio(result: CaseResult, reference: CaseResult | undefined): string {
  const own = result.median?.cpuUsPerRequest;
  const base = reference?.median?.cpuUsPerRequest;
  if (own === undefined || base === undefined || Number.isNaN(own) || Number.isNaN(base) || base === 0) return DASH;
  return (own / base).toFixed(2);
}

/**
 * resultsTable returns the table of one scenario: one row per case, skipped and failed ones too.
 * After the req/s ratios, `µs/req vs <first reference>` divides the proxy CPU per request: the
 * fairer comparison when core 1 is the bottleneck, and the replay ratio. `sleeps/req`
 * tells whether the proxy was saturated (near 0) or waited for core 1 (near 1 and more).
 */
export function resultsTable(scenario: ScenarioResult): Table {
  const byId = new Map(scenario.cases.map((result) => [result.id, result]));
  const cpuReference = scenario.references.slice(0, 1);
  const header = [
    'case', 'req/s', 'p50 ms', 'p99 ms', 'proxy µs/req', 'sleeps/req', 'RSS MiB', 'core0', 'core1',
    ...scenario.references.map((id) => `vs ${id}`),
    ...cpuReference.map((id) => `µs/req vs ${id}`),
    'errors', 'notes',
  ];
  const rows = scenario.cases.map((result) => {
    const m = result.median;
    const notes = result.status === 'ok' ? result.notes.join('; ') : `${result.status}: ${result.reason ?? ''}`;
    const cpu = m === null ? DASH : fixed(m.cpuUsPerRequest, 1) + (result.id === 'direct' ? ' (backend)' : '');
    return [
      result.id,
      m === null ? DASH : thousands(m.requestsPerSecond),
      fixed(m?.p50Ms ?? null, 2),
      fixed(m?.p99Ms ?? null, 2),
      cpu,
      // Results written before the metric existed lack it: a dash.
      fixed(m?.sleepsPerRequest ?? null, 2),
      fixed(m?.rssMiB ?? null, 0),
      percent(m?.core0Busy ?? null),
      percent(m?.core1Busy ?? null),
      ...scenario.references.map((id) => ratio(result, byId.get(id))),
      ...cpuReference.map((id) => cpuRatio(result, byId.get(id))),
      m === null ? DASH : String(m.socketErrors + m.non2xx),
      notes,
    ];
  });
  const alignRight = header.map((_name, i) => i > 0 && i < header.length - 1);
  return { header, rows, alignRight };
}

/** toMarkdown renders a GitHub-flavoured markdown table. */
export function toMarkdown(table: Table): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const lines = [
    `| ${table.header.map(escape).join(' | ')} |`,
    `|${table.alignRight.map((right) => (right ? '---:' : '---')).join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** toAligned renders the table as padded columns for a terminal. */
export function toAligned(table: Table): string {
  const all = [table.header, ...table.rows];
  const widths = table.header.map((_h, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (table.alignRight[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(table.header), line(widths.map((w) => '-'.repeat(w))), ...table.rows.map(line)].join('\n');
}
