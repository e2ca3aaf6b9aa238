/**
 * optionError turns a ReplayParseError from the proxy's own field checks (reused so that the SDK
 * writes exactly what the proxy reads) into the SDK's error, worded for the writer.
 */
import { ReplayParseError } from '../replay/replay-parse-error.ts';
import { RicochetSdkError, type SdkErrorCode } from './sdk-error.ts';

export function optionError(error: unknown, code: SdkErrorCode, header: string): unknown {
  if (!(error instanceof ReplayParseError)) return error;
  const reason = error.message.replace(/^Cannot follow [^:]+: /, '');
  return new RicochetSdkError(code, `Cannot write ${header}: ${reason}`, { field: error.field, cause: error });
}

/** typeError is the error for an option of the wrong type. */
export function typeError(code: SdkErrorCode, header: string, field: string, expected: string, value: unknown): RicochetSdkError {
  const shown = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return new RicochetSdkError(code, `Cannot write ${header}: "${field}" must be ${expected}, not ${shown}`, { field });
}
