// Answers carry times as ISO 8601 UTC; the domain keeps epoch milliseconds.
import { FailsafeError } from './errors.ts';
import type { EpochMs } from './types.ts';

export const isoTime = (ms: EpochMs): string => new Date(ms).toISOString();

export const isoTimeOpt = (ms: EpochMs | undefined): string | undefined => (ms === undefined ? undefined : isoTime(ms));

/** Parses a query-string time (ISO 8601 or epoch milliseconds); absent → undefined, garbage → VALIDATION_FAILED. */
export function parseTimeParam(value: string | undefined, name: string): EpochMs | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new FailsafeError('VALIDATION_FAILED', `${name}: expected an ISO 8601 time or epoch milliseconds, got "${value}"`);
  }
  return ms;
}
