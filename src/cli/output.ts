// Tables for people, JSON for scripts, a progress bar for long work, and one-line errors with
// exit codes a CI/CD pipeline can branch on.
import { FailsafeError } from '../core/errors.ts';

export const exitCodes = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  conflict: 5,
} as const;

export function exitCodeFor(err: unknown): number {
  if (!(err instanceof FailsafeError)) return exitCodes.failed;
  const status = err.httpStatus;
  if (err.code === 'VALIDATION_FAILED' || err.code === 'BAD_REQUEST' || err.code === 'INVALID_ROUTE') return exitCodes.usage;
  if (status === 404) return exitCodes.notFound;
  if (status === 401 || status === 403) return exitCodes.auth;
  if (status === 409) return exitCodes.conflict;
  return exitCodes.failed;
}

export interface Output {
  json: boolean;
  print(data: unknown, human: () => string): void;
}

export function makeOutput(json: boolean, write: (s: string) => void = (s) => process.stdout.write(s)): Output {
  return {
    json,
    print(data, human) {
      write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
    },
  };
}

const cell = (v: unknown): string => {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

/** A plain aligned table: `table(rows, ['name', 'kind'])`. */
export function table(rows: Record<string, unknown>[], columns: string[], headers: string[] = columns.map((c) => c.toUpperCase())): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export const formatWeights = (weights: Record<string, number>): string =>
  Object.entries(weights)
    .map(([v, w]) => `${v}:${w}`)
    .join(' ') || '-';

/** A progress bar on stderr (so --json output on stdout stays clean); silent when not a TTY. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const enabled = Boolean(stream.isTTY);
  return (done: number, total: number) => {
    if (!enabled || total <= 0) return;
    const width = 30;
    const filled = Math.round((done / total) * width);
    stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    if (done >= total) stream.write('\n');
  };
}
