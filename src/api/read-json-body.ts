/**
 * readJsonBody reads a request body of at most API_BODY_LIMIT_BYTES and parses it as JSON.
 * An empty body is `undefined`; a body that is too large (declared or streamed) is
 * `body_too_large`, one that isn't JSON is `invalid_json`, a non-JSON content type is
 * `unsupported_media_type`. It never throws anything but an ApiError.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.ts';

/** API_BODY_LIMIT_BYTES caps a request body: a machine config is a few KiB. */
export const API_BODY_LIMIT_BYTES = 1_048_576;

export async function readJsonBody(req: IncomingMessage, limitBytes = API_BODY_LIMIT_BYTES): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/(?:[\w.+-]*\+)?json\s*(?:;|$)/i.test(type)) {
    throw new ApiError('unsupported_media_type', `Content-Type "${type}" is not application/json`);
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError('invalid_json', `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

function tooLarge(limitBytes: number): ApiError {
  return new ApiError('body_too_large', `The request body is larger than ${limitBytes} bytes`, {
    headers: { connection: 'close' },
  });
}
