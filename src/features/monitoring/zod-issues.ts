// zod errors as `path: problem` lines, in the configuration's path style (`windows[0]`).
import type { ZodError } from 'zod';
import { formatPath } from '../../config.ts';

export function formatZodIssues(err: ZodError | Error, root: string): string[] {
  const issues = (err as ZodError).issues;
  if (!Array.isArray(issues)) return [`${root}: ${err.message}`];
  return issues.map((i) => `${i.path.length ? `${root}.${formatPath(i.path)}` : root}: ${i.message}`);
}
