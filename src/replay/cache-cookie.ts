/**
 * readCookie returns the value of the cookie `name` in a raw `Cookie` header (RFC 6265 §4.2),
 * or undefined when it is absent. Pairs are split on `;` and trimmed; the value is everything
 * after the first `=` (so base64 `==` padding survives); one pair of surrounding double quotes is
 * removed; names compare case-sensitively; when a name repeats, the first value wins, as browsers
 * send the most specific cookie first (RFC 6265 §5.4). Pairs without `=` are skipped.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || name === '') return undefined;
  let start = 0;
  while (start <= header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const equals = header.indexOf('=', start);
    if (equals !== -1 && equals < end && header.slice(start, equals).trim() === name) {
      return unquote(header.slice(equals + 1, end).trim());
    }
    start = end + 1;
  }
  return undefined;
}

/** unquote removes one pair of surrounding double quotes (RFC 6265 §4.1.1 cookie-value). */
function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1);
  return value;
}
