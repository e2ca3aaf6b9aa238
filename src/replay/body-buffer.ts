/**
 * BodyBuffer tees a request body while it streams to the first upstream, keeping a copy of up
 * to `capBytes` so the body can be sent again for a replay or a retry (design doc "Replay").
 * A request that is never replayed is never delayed: each reader gets chunks as they arrive.
 *
 * Readers are sequential (one upstream attempt at a time): `reader()` yields every chunk from the
 * start, the kept ones first, then pulls live ones from the source. Once more than `capBytes` has
 * been read the kept chunks are released, and a new reader is refused with PA01.
 */
import { ProxyError } from '../proxy/errors.ts';

export class BodyBuffer {
  readonly capBytes: number;
  #source: AsyncIterator<Buffer>;
  #chunks: Buffer[] = [];
  /** Chunks released from the front of #chunks after an overflow. */
  #released = 0;
  #bytes = 0;
  #overflowed = false;
  #ended = false;
  #pulling: Promise<void> | null = null;

  constructor(source: AsyncIterable<Buffer>, capBytes: number, declaredLength: number | null) {
    this.capBytes = capBytes;
    this.#source = source[Symbol.asyncIterator]();
    // A body declared larger than the cap can never be replayed; say so before reading it.
    if (declaredLength !== null && declaredLength > capBytes) this.#overflowed = true;
  }

  /** rewindable says whether a new reader could still send the body from its first byte. */
  get rewindable(): boolean {
    return !this.#overflowed;
  }

  /** bytesRead is how much of the body has come in from the client so far. */
  get bytesRead(): number {
    return this.#bytes;
  }

  /** complete says whether the whole body has been read from the client. */
  get complete(): boolean {
    return this.#ended;
  }

  /** reader yields the whole body from its first byte; throws PA01 if that is no longer kept. */
  reader(): AsyncGenerator<Buffer> {
    if (this.#overflowed && (this.#released > 0 || this.#bytes > 0)) {
      throw new ProxyError('PA01', `the request body is over the replay limit of ${this.capBytes} bytes`, {
        source: 'downstream',
      });
    }
    return this.#read();
  }

  /** drain reads the rest of the body and throws it away, so the client connection stays usable. */
  async drain(): Promise<void> {
    while (!this.#ended) await this.#pull();
  }

  async *#read(): AsyncGenerator<Buffer> {
    let index = 0;
    for (;;) {
      const local = index - this.#released;
      if (local < this.#chunks.length) {
        const chunk = this.#chunks[local];
        index++;
        if (this.#overflowed) {
          // Only this reader will ever need these bytes: let them go once handed over.
          this.#chunks.splice(0, local + 1);
          this.#released += local + 1;
        }
        yield chunk;
        continue;
      }
      if (this.#ended) return;
      await this.#pull();
    }
  }

  /** #pull reads one chunk from the source; concurrent callers share one read. */
  #pull(): Promise<void> {
    this.#pulling ??= this.#source.next().then(
      (result) => {
        this.#pulling = null;
        if (result.done === true) {
          this.#ended = true;
          return;
        }
        const chunk = result.value;
        this.#bytes += chunk.length;
        if (!this.#overflowed && this.#bytes > this.capBytes) this.#overflowed = true;
        this.#chunks.push(chunk);
      },
      (error: unknown) => {
        this.#pulling = null;
        throw new ProxyError('RC03', 'the client aborted the request body', { source: 'downstream', cause: error });
      },
    );
    return this.#pulling;
  }
}
