// One upstream call made for a request. A request has one attempt, two when it was retried on
// the stable version, none when no version was called (bad input, paused model, fallback mode).
export interface AttemptRecord {
  version: string;
  ok: boolean;
  /** Failure class of a failed attempt (`upstream_5xx`, `timeout`, ...). */
  errorClass?: string;
  /** This attempt's own duration (not the request's). */
  latencyMs: number;
  ttfbMs?: number;
}
