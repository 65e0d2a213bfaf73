// What every detector returns: a Finding without the identity fields (monitor, model, version,
// time), which the monitor that ran it adds with `toFinding`.
import type { EpochMs, Evidence, Finding, FindingStatus, Severity } from '../types.ts';

/** Signal families (Finding.family); free-form strings are allowed for custom monitors. */
export type SignalFamily = 'errors' | 'latency' | 'validity' | 'feedback' | 'accuracy' | 'drift' | 'external' | (string & {});

export interface TimeWindow {
  from: EpochMs;
  to: EpochMs;
}

export interface DetectorResult {
  status: FindingStatus;
  family: SignalFamily;
  evidence: Evidence;
  /** Set on breaches: from severityFor(family, magnitude). */
  severity?: Severity;
  /** The number severity was computed from (see SeverityRules for its meaning per family). */
  magnitude?: number;
  /**
   * Sequential tests only: the always-valid p-value of this look. Pass it back as
   * `previousPValue` on the next look at the SAME growing sample (cumulative window) to keep
   * the running minimum; never across different sliding windows.
   */
  pValue?: number;
}

export function toFinding(
  result: DetectorResult,
  context: { monitor: string; model: string; version: string; at: EpochMs; onsetAt?: EpochMs },
): Finding {
  const finding: Finding = {
    monitor: context.monitor,
    family: result.family,
    model: context.model,
    version: context.version,
    status: result.status,
    at: context.at,
    evidence: result.evidence,
  };
  if (result.severity) finding.severity = result.severity;
  if (context.onsetAt !== undefined) finding.onsetAt = context.onsetAt;
  return finding;
}

export function insufficientData(family: SignalFamily, evidence: Evidence): DetectorResult {
  return { status: 'insufficient_data', family, evidence };
}

/** Round for evidence text: 4 significant digits is what a human reads. */
export function formatStat(x: number): string {
  if (!Number.isFinite(x) || x === 0) return String(x);
  const magnitude = Math.abs(x);
  if (magnitude >= 1e-3 && magnitude < 1e9) {
    // Arithmetic rounding: one number→string conversion instead of three (evidence text is built
    // for every evaluation, every second, for every window).
    const digits = 3 - Math.floor(Math.log10(magnitude));
    if (digits >= 0) {
      const scale = 10 ** digits;
      return String(Math.round(x * scale) / scale);
    }
    const step = 10 ** -digits;
    return String(Math.round(x / step) * step);
  }
  return Number(x.toPrecision(4)).toString();
}
