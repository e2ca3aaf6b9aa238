/**
 * formatTable lays rows out in columns for people: a header row, then one line per row, each
 * column as wide as its widest cell, separated by two spaces. An empty table says so.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], empty = 'nothing to show'): string {
  if (rows.length === 0) return `${empty}\n`;
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** ago renders an ISO time as "12s ago", "5m ago", "3h ago" or "2d ago" relative to `nowMs`. */
export function ago(iso: string, nowMs: number): string {
  const ms = nowMs - Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}
