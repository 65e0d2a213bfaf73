// Request bodies and query strings are checked with zod; a failure becomes VALIDATION_FAILED naming
// the field and the problem (`weights.v2: expected an integer weight`), in the admin API's error shape.
import type { z } from 'zod';
import { formatPath } from '../config.ts';
import { FailsafeError } from '../core/errors.ts';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: 'body' | 'query' | 'params' = 'body'): z.output<S> {
  const result = schema.safeParse(value ?? (what === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${i.path.length ? formatPath(i.path) : what}: ${i.message}`);
  throw new FailsafeError('VALIDATION_FAILED', `invalid request ${what}: ${lines.join('; ')}`, lines);
}
