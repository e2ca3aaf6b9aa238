/**
 * The syntax of HTTP/1.1 heads that both sides share: the request parser for clients
 * (src/downstream/request-head.ts) and the response parser for machines
 * (src/upstream/response-head.ts) check fields by the same rules (RFC 9110 §5, RFC 9112 §2, §5).
 */

/**
 * HEAD_TEXT matches a head with no control character other than HTAB and no CR or LF outside a
 * CRLF line end (RFC 9112 §2.2, RFC 9110 §5.5): one test over a whole head, so that no line can
 * run into another and nothing of the kind is ever forwarded. It says what a head may hold
 * rather than searching for what it may not: without alternatives or lookaround, the test is a
 * single scan, about twice as fast.
 */
export const HEAD_TEXT = /^(?:[\t\x20-\x7e\x80-\xff]*\r\n)*[\t\x20-\x7e\x80-\xff]*$/;

/** TOKEN is a method or a field name (RFC 9110 §5.6.2): whitespace before a colon, or an obs-fold, fails it. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** DIGITS is a Content-Length: at most 15 digits keep it a safe integer. */
const DIGITS = /^[0-9]{1,15}$/;

/** formatFieldLines writes a flat `[name, value, …]` list as header lines, `name: value\r\n` each. */
export function formatFieldLines(headers: readonly string[]): string {
  let lines = '';
  for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return lines;
}

/** trimOws is text[from, to) without leading and trailing spaces and tabs (String#trim also eats others). */
export function trimOws(text: string, from: number, to: number): string {
  while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from++;
  while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--;
  return text.slice(from, to);
}

/** hasToken says whether a lowercase comma-separated list (a Connection value) has `token`. */
export function hasToken(list: string, token: string): boolean {
  if (list === '') return false;
  if (!list.includes(',')) return list.trim() === token;
  return list.split(',').some((t) => t.trim() === token);
}

/**
 * parseContentLength reads a Content-Length value: decimal digits only; -1 for anything else,
 * a list of values included (RFC 9110 §8.6 allows refusing one), or over 15 digits.
 */
export function parseContentLength(value: string): number {
  return DIGITS.test(value) ? Number(value) : -1;
}
