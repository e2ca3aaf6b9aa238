/**
 * CliError is a failure of an API client command, carrying the exit code scripts rely on
 * (docs/api.md "CLI"). EXIT_CODES is the one table; `exitCodeForStatus` maps API statuses to it.
 */

export const EXIT_CODES = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  timeout: 5,
  unauthorized: 6,
  invalid: 7,
  unreachable: 8,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export class CliError extends Error {
  readonly exitCode: ExitCode;
  /** code is the API's error code, when the API answered one. */
  readonly code: string | null;

  constructor(exitCode: ExitCode, message: string, code: string | null = null) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** exitCodeForStatus maps an API error status to the CLI's exit code. */
export function exitCodeForStatus(status: number): ExitCode {
  switch (status) {
    case 401:
      return EXIT_CODES.unauthorized;
    case 404:
      return EXIT_CODES.notFound;
    case 408:
      return EXIT_CODES.timeout;
    case 409:
      return EXIT_CODES.conflict;
    case 400:
    case 413:
    case 415:
    case 422:
      return EXIT_CODES.invalid;
    default:
      return EXIT_CODES.failure;
  }
}

/** usage is a CliError for bad command-line usage (exit 2). */
export function usage(message: string): CliError {
  return new CliError(EXIT_CODES.usage, message);
}
