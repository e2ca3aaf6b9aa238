/**
 * splitReplayHeader cuts a `fly-replay` header value into `name=value` fields (spec §1.1).
 *
 * Grammar, as Ricochet reads it (docs/replay.md):
 * - Fields are separated by `;`. A `,` also separates fields when what follows it, outside
 *   quotes, is `name=` ([CONFLICT] in spec §1.1: a Fly blueprint writes `app=x,state=y`). Any
 *   other `,` belongs to the value, so an unquoted `region=iad,ord` is the list iad, ord, and
 *   two `fly-replay` headers that Node joined with ", " read as one directive.
 * - Field names are letters, digits, `_` and `-`, matched case-insensitively (returned lower
 *   case). Spaces and tabs around names, `=` and values are ignored.
 * - A value is either unquoted (everything up to the next separator, trimmed) or a double-quoted
 *   string where `\x` stands for `x` (RFC 9110 §5.6.4 quoted-pair). After a quoted value only
 *   whitespace and a separator may follow.
 * - Empty segments (`;;`, a trailing `;`) are skipped. A name without `=` is an error.
 * The caller checks names, duplicates and values; this only tokenizes.
 */
import { ReplayParseError } from './replay-parse-error.ts';

export interface ReplayHeaderField {
  /** Lower-case field name. */
  name: string;
  /** Unquoted, unescaped value; may be empty. */
  value: string;
}

const TAB = 0x09;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;

// The scan reads char codes: past the end charCodeAt is NaN, which is no class's member.
function isSpace(code: number): boolean {
  return code === SPACE || code === TAB;
}

/** isSeparator: what may stand between fields, skipped there (empty segments included). */
function isSeparator(code: number): boolean {
  return isSpace(code) || code === SEMICOLON || code === COMMA;
}

/** isNameChar: letters, digits, `_` and `-`. */
function isNameChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f || code === 0x2d;
}

function fail(message: string, field: string | null): never {
  throw new ReplayParseError(`Cannot follow fly-replay: ${message}`, field);
}

/** describe names a character for an error message, visibly even when it is a control code. */
function describe(char: string): string {
  return /^[\x21-\x7e]$/.test(char) ? `"${char}"` : `U+${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** startsField tells whether `name=` (with optional spaces) begins at `from`. */
function startsField(text: string, from: number): boolean {
  let at = from;
  while (isSpace(text.charCodeAt(at))) at++;
  const nameStart = at;
  while (isNameChar(text.charCodeAt(at))) at++;
  if (at === nameStart) return false;
  while (isSpace(text.charCodeAt(at))) at++;
  return text.charCodeAt(at) === EQUALS;
}

/** endsValue tells whether the character at `at` ends a value: end, `;`, or a field's `,`. */
function endsValue(text: string, at: number): boolean {
  if (at >= text.length) return true;
  const code = text.charCodeAt(at);
  return code === SEMICOLON || (code === COMMA && startsField(text, at + 1));
}

export function splitReplayHeader(text: string): ReplayHeaderField[] {
  const fields: ReplayHeaderField[] = [];
  let at = 0;
  for (;;) {
    while (isSeparator(text.charCodeAt(at))) at++;
    if (at >= text.length) return fields;

    const nameStart = at;
    while (isNameChar(text.charCodeAt(at))) at++;
    if (at === nameStart) fail(`unexpected ${describe(text[at])} at position ${at}`, null);
    const name = text.slice(nameStart, at).toLowerCase();
    while (isSpace(text.charCodeAt(at))) at++;
    if (text.charCodeAt(at) !== EQUALS) fail(`field "${name}" has no "=value"`, name);
    at++;
    while (isSpace(text.charCodeAt(at))) at++;

    let value = '';
    if (text.charCodeAt(at) === QUOTE) {
      at++;
      let closed = false;
      while (at < text.length) {
        const code = text.charCodeAt(at);
        if (code === BACKSLASH && at + 1 < text.length) {
          value += text[at + 1];
          at += 2;
        } else if (code === QUOTE) {
          closed = true;
          at++;
          break;
        } else {
          value += text[at];
          at++;
        }
      }
      if (!closed) fail(`the quoted value of "${name}" is not closed`, name);
      while (isSpace(text.charCodeAt(at))) at++;
      if (!endsValue(text, at)) fail(`unexpected ${describe(text[at])} after the quoted value of "${name}"`, name);
    } else {
      const valueStart = at;
      while (!endsValue(text, at)) {
        if (text.charCodeAt(at) === QUOTE) fail(`a quote inside the unquoted value of "${name}"`, name);
        at++;
      }
      let valueEnd = at;
      while (valueEnd > valueStart && isSpace(text.charCodeAt(valueEnd - 1))) valueEnd--;
      value = text.slice(valueStart, valueEnd);
    }
    fields.push({ name, value });
    at++; // the separator, or past the end
  }
}
