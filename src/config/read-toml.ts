/**
 * TOML input for the loader: `parseToml` turns text into a table or a CONFIG_SYNTAX error that
 * points at the line; `readToml` reads a file first (CONFIG_READ when it can't).
 */
import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { ConfigError } from './config-error.ts';
import type { Location } from './validate-table.ts';

/** parseToml parses `text`; `file` is the name errors show. */
export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
    const detail = `line ${error.line}, column ${error.column}: ${reason}`;
    throw new ConfigError({ code: 'CONFIG_SYNTAX', file, key: '', detail, cause: error });
  }
}

/**
 * readToml reads and parses the file at `path` (`file` is its name in messages). A file that
 * can't be read is reported at `referrer`, the key that named it, when there is one.
 */
export function readToml(path: string, file: string, referrer: Location | null): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const detail = referrer === null ? `cannot be read (${reason})` : `${JSON.stringify(file)} cannot be read (${reason})`;
    throw new ConfigError({ code: 'CONFIG_READ', file: referrer?.file ?? file, key: referrer?.key ?? '', detail, cause: error });
  }
  return parseToml(text, file);
}
