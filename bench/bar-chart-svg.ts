/**
 * barChartSvg draws the median req/s of every case as horizontal bars, one panel per scenario,
 * each panel on its own scale. Plain SVG text, no dependency. Pure: results in, text out.
 */
import type { BenchResults, CaseResult, ScenarioResult } from './bench-results.ts';

const WIDTH_PX = 760;
const LABEL_WIDTH_PX = 190;
const VALUE_WIDTH_PX = 110;
const BAR_HEIGHT_PX = 16;
const ROW_HEIGHT_PX = 22;
const PANEL_TITLE_PX = 30;
const PANEL_GAP_PX = 14;
const MARGIN_PX = 16;
const HEADER_PX = 34;

const COLOR_RICOCHET = '#d9480f';
const COLOR_REFERENCE = '#868e96';
const COLOR_PEER = '#4263eb';
const COLOR_TEXT = '#212529';
const COLOR_MUTED = '#868e96';

/** escapeXml makes a string safe inside SVG text and attributes. */
function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function barColor(result: CaseResult, scenario: ScenarioResult): string {
  if (scenario.references.includes(result.id)) return COLOR_REFERENCE;
  if (result.label.startsWith('Ricochet')) return COLOR_RICOCHET;
  return COLOR_PEER;
}

/** errorSuffix flags a bar whose runs had error responses, so a fast failure is not read as speed. */
function errorSuffix(result: CaseResult): string {
  const errors = result.median === null ? 0 : result.median.non2xx + result.median.socketErrors;
  return errors === 0 ? '' : ` (${errors.toLocaleString('en-US')} errors)`;
}

function panel(scenario: ScenarioResult, top: number): { svg: string[]; height: number } {
  const svg: string[] = [];
  const maxRps = Math.max(1, ...scenario.cases.map((c) => c.median?.requestsPerSecond ?? 0));
  const barSpace = WIDTH_PX - 2 * MARGIN_PX - LABEL_WIDTH_PX - VALUE_WIDTH_PX;
  svg.push(
    `<text x="${MARGIN_PX}" y="${top + 18}" font-size="14" font-weight="bold" fill="${COLOR_TEXT}">` +
      `${escapeXml(scenario.name)}: ${escapeXml(scenario.title.replace(/`/g, ''))}</text>`,
  );
  scenario.cases.forEach((result, i) => {
    const y = top + PANEL_TITLE_PX + i * ROW_HEIGHT_PX;
    const textY = y + BAR_HEIGHT_PX - 4;
    svg.push(`<text x="${MARGIN_PX + LABEL_WIDTH_PX - 8}" y="${textY}" font-size="12" text-anchor="end" fill="${COLOR_TEXT}">${escapeXml(result.id)}</text>`);
    const x = MARGIN_PX + LABEL_WIDTH_PX;
    if (result.median === null) {
      svg.push(`<text x="${x}" y="${textY}" font-size="12" font-style="italic" fill="${COLOR_MUTED}">${escapeXml(result.status)}</text>`);
      return;
    }
    const rps = result.median.requestsPerSecond;
    const width = Math.max(1, Math.round((rps / maxRps) * barSpace));
    svg.push(
      `<rect x="${x}" y="${y}" width="${width}" height="${BAR_HEIGHT_PX}" fill="${barColor(result, scenario)}">` +
        `<title>${escapeXml(`${result.label}: ${Math.round(rps)} req/s, p99 ${result.median.p99Ms.toFixed(2)} ms`)}</title></rect>`,
    );
    svg.push(
      `<text x="${x + width + 6}" y="${textY}" font-size="12" fill="${COLOR_TEXT}">` +
        `${Math.round(rps).toLocaleString('en-US')} req/s${errorSuffix(result)}</text>`,
    );
  });
  return { svg, height: PANEL_TITLE_PX + scenario.cases.length * ROW_HEIGHT_PX };
}

/** barChartSvg returns a standalone SVG document; scenarios with no measured case are left out. */
export function barChartSvg(results: BenchResults): string {
  const body: string[] = [];
  let top = MARGIN_PX + HEADER_PX;
  for (const scenario of results.scenarios) {
    if (!scenario.cases.some((c) => c.median !== null)) continue;
    const drawn = panel(scenario, top);
    body.push(...drawn.svg);
    top += drawn.height + PANEL_GAP_PX;
  }
  const height = top + MARGIN_PX;
  const s = results.settings;
  const subtitle =
    `median of ${s.runs} x ${s.seconds} s, wrk -t${s.threads} -c${s.connections}; proxy on 1 core; backend ${s.backend ?? 'node'}; ` +
    `Node ${results.machine.node}; ${results.startedAt.slice(0, 10)}` + (s.quick ? ' (quick run: indicative only)' : '');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH_PX}" height="${height}" viewBox="0 0 ${WIDTH_PX} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH_PX}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN_PX}" y="${MARGIN_PX + 14}" font-size="16" font-weight="bold" fill="${COLOR_TEXT}">Requests per second (higher is better)</text>`,
    `<text x="${MARGIN_PX}" y="${MARGIN_PX + 30}" font-size="11" fill="${COLOR_MUTED}">${escapeXml(subtitle)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
