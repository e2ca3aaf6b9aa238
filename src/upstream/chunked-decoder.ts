/**
 * ChunkedDecoder takes the chunked transfer coding off a response body as it streams in (RFC
 * 9112 §7.1): it hands over each chunk's data as a slice of the input (no copy), drops chunk
 * extensions and trailer fields, and says where the message ends so the connection can carry
 * the next one. Every line it reads is bounded.
 */
import { BadResponseError } from './response-head.ts';

/** MAX_CHUNK_LINE_BYTES bounds a chunk-size line with its extensions. */
export const MAX_CHUNK_LINE_BYTES = 4096;
/** MAX_TRAILER_BYTES bounds the trailer section. */
export const MAX_TRAILER_BYTES = 16 * 1024;
/** MAX_CHUNK_SIZE_DIGITS keeps a chunk size within a safe integer (16^13 = 2^52). */
const MAX_CHUNK_SIZE_DIGITS = 13;

const CR = 13;
const LF = 10;

const SIZE = 0;
const EXTENSION = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER_START = 6;
const TRAILER_LINE = 7;
const TRAILER_LF = 8;
const END_LF = 9;
const DONE = 10;

export class ChunkedDecoder {
  #state = SIZE;
  #size = 0;
  #digits = 0;
  #lineBytes = 0;
  #trailerBytes = 0;

  /** done says whether the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * push decodes `input`, calling `onData` with each run of body bytes, and returns how many
   * bytes of `input` belong to this message (all of them unless it ended inside `input`).
   */
  push(input: Buffer, onData: (data: Buffer) => void): number {
    let i = 0;
    const n = input.length;
    while (i < n) {
      switch (this.#state) {
        case SIZE: {
          const c = input[i++];
          const digit = hexValue(c);
          if (digit !== -1) {
            if (++this.#digits > MAX_CHUNK_SIZE_DIGITS) throw new BadResponseError('chunk size too large');
            this.#size = this.#size * 16 + digit;
          } else if (this.#digits === 0) {
            throw new BadResponseError('bad chunk size');
          } else if (c === CR) {
            this.#state = SIZE_LF;
          } else if (c === 59 /* ; */ || c === 32 || c === 9) {
            this.#state = EXTENSION;
            this.#lineBytes = this.#digits + 1;
          } else {
            throw new BadResponseError('bad chunk size');
          }
          break;
        }
        case EXTENSION: {
          const end = lineEnd(input, i, 'chunk line');
          this.#lineBytes += end - i;
          if (this.#lineBytes > MAX_CHUNK_LINE_BYTES) throw new BadResponseError('chunk extension too long');
          i = end;
          if (i < n) {
            i++;
            this.#state = SIZE_LF;
          }
          break;
        }
        case SIZE_LF:
          if (input[i++] !== LF) throw new BadResponseError('chunk size line not ended by CRLF');
          if (this.#size === 0) {
            this.#state = TRAILER_START;
          } else {
            this.#state = DATA;
          }
          this.#digits = 0;
          break;
        case DATA: {
          const take = Math.min(this.#size, n - i);
          onData(take === n && i === 0 ? input : input.subarray(i, i + take));
          i += take;
          this.#size -= take;
          if (this.#size === 0) this.#state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (input[i++] !== CR) throw new BadResponseError('chunk data not ended by CRLF');
          this.#state = DATA_LF;
          break;
        case DATA_LF:
          if (input[i++] !== LF) throw new BadResponseError('chunk data not ended by CRLF');
          this.#state = SIZE;
          break;
        case TRAILER_START:
          if (input[i] === CR) {
            i++;
            this.#state = END_LF;
          } else {
            this.#state = TRAILER_LINE;
          }
          break;
        case TRAILER_LINE: {
          const end = lineEnd(input, i, 'trailer line');
          this.#trailerBytes += end - i;
          if (this.#trailerBytes > MAX_TRAILER_BYTES) throw new BadResponseError('trailer section too long');
          i = end;
          if (i < n) {
            i++;
            this.#state = TRAILER_LF;
          }
          break;
        }
        case TRAILER_LF:
          if (input[i++] !== LF) throw new BadResponseError('trailer line not ended by CRLF');
          this.#state = TRAILER_START;
          break;
        case END_LF:
          if (input[i++] !== LF) throw new BadResponseError('chunked body not ended by CRLF');
          this.#state = DONE;
          return i;
        case DONE:
          return i;
      }
    }
    return i;
  }
}

/**
 * lineEnd is the index of the CR that ends the line going on at `from`, or input.length when the
 * line goes on past `input`; a bare LF before it is an error.
 */
function lineEnd(input: Buffer, from: number, what: string): number {
  const cr = input.indexOf(CR, from);
  const end = cr === -1 ? input.length : cr;
  const lf = input.indexOf(LF, from);
  if (lf !== -1 && lf < end) throw new BadResponseError(`bare LF in ${what}`);
  return end;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
