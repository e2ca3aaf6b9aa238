/**
 * ConfigError is the one error the config loader throws: a file that can't be read, TOML that
 * doesn't parse, or a value that isn't allowed. The message names the file, the key path, the
 * value and what is allowed, e.g.
 * `ricochet.toml: apps[0].machines[1].region: "xx!" is not a region code (3 lowercase letters or a configured region)`.
 */

/** CONFIG_ERROR_CODES: read = the file can't be read, syntax = not TOML, invalid = a bad value. */
export const CONFIG_ERROR_CODES = ['CONFIG_READ', 'CONFIG_SYNTAX', 'CONFIG_INVALID'] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

export interface ConfigErrorInit {
  code: ConfigErrorCode;
  /** The file the bad value is in; null for a value that came from no file (built-in input). */
  file: string | null;
  /** Key path, e.g. `apps[0].machines[1].region`; "" when the whole file is at fault. */
  key: string;
  /** What is wrong, e.g. `"xx!" is not a region code (...)`; the file and key are prefixed. */
  detail: string;
  cause?: unknown;
}

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly key: string;
  readonly file: string | null;

  constructor(init: ConfigErrorInit) {
    const where = [init.file, init.key].filter((part) => part !== null && part !== '').join(': ');
    super(where === '' ? init.detail : `${where}: ${init.detail}`, { cause: init.cause });
    this.name = 'ConfigError';
    this.code = init.code;
    this.key = init.key;
    this.file = init.file;
  }
}
