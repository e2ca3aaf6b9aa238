/**
 * issueRule and valueAt turn zod's validation issues into the wording both the config loader
 * and the Machines API use: the rule a value broke, and the value at an issue's path.
 */
import type { z } from 'zod';

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  array: 'an array',
};

function entries(count: number | bigint): string {
  return Number(count) === 1 ? '1 entry' : `${count} entries`;
}

function characters(count: number | bigint): string {
  return Number(count) === 1 ? '1 character' : `${count} characters`;
}

/**
 * issueRule phrases a zod issue for a schema that carries no message of its own, as the rule the
 * value broke ("is not an integer", "must be at most 65535"). `objectName` is what a nested
 * object is called where the input came from: "a table" in TOML, "an object" in JSON.
 */
export function issueRule(issue: z.core.$ZodRawIssue, objectName: string): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'object' || issue.expected === 'record') return `is not ${objectName}`;
      return `is not ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small': {
      const min = issue.minimum;
      if (issue.origin === 'array') return `must have at least ${entries(min)}`;
      if (issue.origin === 'string') return Number(min) === 1 ? 'must not be empty' : `must be at least ${characters(min)} long`;
      return issue.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = issue.maximum;
      if (issue.origin === 'array') return `must have at most ${entries(max)}`;
      if (issue.origin === 'string') return `must be at most ${characters(max)} long`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'invalid_value':
      return `is not one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'invalid_format':
      return `is not in the expected format (${issue.format})`;
    case 'not_multiple_of':
      return `is not a multiple of ${issue.divisor}`;
    case 'invalid_union':
      return 'is not an allowed value';
    case 'invalid_key':
      return 'is not an allowed key';
    default:
      return 'is not an allowed value';
  }
}

/** valueAt is the value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}
