/**
 * LineSplitter turns a child's output chunks into lines for the logger, each at most
 * `maxChars` long: a longer line is cut into pieces, each marked `truncated` but the last, so a
 * process that never prints a newline cannot grow memory without bound. UTF-8 characters
 * split across chunks are decoded whole.
 */
import { StringDecoder } from 'node:string_decoder';

/** OUTPUT_LINE_MAX_CHARS bounds one logged line of machine output. */
export const OUTPUT_LINE_MAX_CHARS = 8_192;

/** OutputLine is one line of output; `truncated` means the line goes on in the next one. */
export interface OutputLine {
  text: string;
  truncated: boolean;
}

export class LineSplitter {
  #decoder = new StringDecoder('utf8');
  #pending = '';
  #maxChars: number;

  constructor(maxChars: number = OUTPUT_LINE_MAX_CHARS) {
    if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError(`Invalid line length ${maxChars}`);
    this.#maxChars = maxChars;
  }

  /** push takes a chunk and returns the lines it completes. */
  push(chunk: Buffer | string): OutputLine[] {
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    const lines: OutputLine[] = [];
    let newline = this.#pending.indexOf('\n');
    while (newline !== -1) {
      this.#emit(lines, this.#pending.slice(0, newline).replace(/\r$/, ''), false);
      this.#pending = this.#pending.slice(newline + 1);
      newline = this.#pending.indexOf('\n');
    }
    while (this.#pending.length > this.#maxChars) {
      lines.push({ text: this.#pending.slice(0, this.#maxChars), truncated: true });
      this.#pending = this.#pending.slice(this.#maxChars);
    }
    return lines;
  }

  /** end returns what is left once the stream has ended (a last line without a newline). */
  end(): OutputLine[] {
    this.#pending += this.#decoder.end();
    const lines: OutputLine[] = [];
    if (this.#pending !== '') this.#emit(lines, this.#pending, false);
    this.#pending = '';
    return lines;
  }

  #emit(lines: OutputLine[], text: string, truncated: boolean): void {
    let rest = text;
    while (rest.length > this.#maxChars) {
      lines.push({ text: rest.slice(0, this.#maxChars), truncated: true });
      rest = rest.slice(this.#maxChars);
    }
    lines.push({ text: rest, truncated });
  }
}
