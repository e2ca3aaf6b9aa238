/**
 * logAccess writes the one JSON access-log line of a request (design doc: one line per request):
 * request id, method, host, path, public port, status, the app, machine and region that
 * answered, every hop when the request was replayed, the error code if any, and the duration.
 *
 * It is the only log line on the per-request path, so it is formatted by hand (the fields are
 * fixed), in the same shape as pino's own lines (`level`, ISO `time`, `msg`), and written in a
 * batch with the lines of the next few milliseconds (writeLogLine, src/log.ts).
 */
import { performance } from 'node:perf_hooks';
import { writeLogLine } from '../log.ts';
import type { RequestContext } from './context.ts';
import type { ProxyRuntime } from './runtime.ts';

const INFO_LEVEL = 30;

export function logAccess(rt: ProxyRuntime, ctx: RequestContext): void {
  const logger = rt.logger;
  if (!logger.isLevelEnabled('info')) return;
  const hops = ctx.hops;
  const last = hops.length === 0 ? null : hops[hops.length - 1];
  const app = last?.app ?? ctx.app?.name ?? null;
  const ms = Math.round((performance.now() - ctx.start) * 100) / 100;
  // Ids, app names and regions are validated tokens; client-sent text is escaped.
  let line =
    `{"level":${INFO_LEVEL},"time":"${isoNow()}","request":"${ctx.id}","method":${JSON.stringify(ctx.method)},` +
    `"host":${JSON.stringify(ctx.host)},"path":${JSON.stringify(ctx.url)},"port":${ctx.publicPort},"status":${ctx.status},` +
    `"app":${app === null ? 'null' : `"${app}"`},"machine":${last === null ? 'null' : `"${last.machine}"`},` +
    `"region":${last === null ? 'null' : `"${last.region}"`}`;
  if (hops.length > 1) {
    line += ',"hops":[';
    for (let i = 0; i < hops.length; i++) {
      const hop = hops[i];
      line += `${i === 0 ? '' : ','}{"app":"${hop.app}","machine":"${hop.machine}","region":"${hop.region}","status":${hop.status}}`;
    }
    line += ']';
  }
  if (ctx.errorCode !== null) line += `,"code":"${ctx.errorCode}"`;
  line += `,"ms":${ms},"msg":"request"}\n`;
  writeLogLine(logger, line);
}

let isoMs = -1;
let isoText = '';

/** isoNow is the current time as an ISO string, formatted at most once per millisecond. */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}
