/**
 * validateInput runs a zod schema over a request body or query and turns every problem into a
 * ValidationProblem naming the JSON path (`config.services[0].ports`) and the rule it broke
 * (`must have at least 1 entry (every service needs a port)`). Bodies answer 422
 * `validation_failed`, queries 400 `invalid_request` (spec §14 status codes).
 */
import type { z } from 'zod';
import { issueRule, valueAt } from '../config/issue-rule.ts';
import { formatKeyPath } from '../config/validate-table.ts';
import { ApiError, type ApiErrorCode, type ValidationProblem } from './api-error.ts';

/** VALIDATION_PROBLEMS_MAX bounds the problems listed in one answer. */
export const VALIDATION_PROBLEMS_MAX = 20;

export type InputKind = 'body' | 'query';

export function validateInput<S extends z.ZodType>(schema: S, input: unknown, kind: InputKind): z.output<S> {
  const result = schema.safeParse(input, { error: (issue) => issueRule(issue, 'an object') });
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, VALIDATION_PROBLEMS_MAX).map((issue) => problemOf(issue, input));
  throw validationError(kind, problems);
}

/** validationError builds the error for problems found outside a schema (e.g. an unknown region). */
export function validationError(kind: InputKind, problems: ValidationProblem[]): ApiError {
  const code: ApiErrorCode = kind === 'body' ? 'validation_failed' : 'invalid_request';
  const where = kind === 'body' ? 'request body' : 'query';
  const first = problems[0];
  const summary = first === undefined ? '' : `: ${first.path === '' ? '' : `${first.path} `}${first.rule}`;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new ApiError(code, `Invalid ${where}${summary}${more}`, { details: problems });
}

function problemOf(issue: z.core.$ZodIssue, input: unknown): ValidationProblem {
  const parts = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
  const path = formatKeyPath(parts);
  if (issue.code === 'invalid_key') return { path, rule: issue.issues[0]?.message ?? issue.message };
  if (issue.code === 'invalid_type' && valueAt(input, parts) === undefined) return { path, rule: 'is required' };
  return { path, rule: issue.message };
}
