// Numbers in evidence text: 4 significant digits is what a human reads.
export function fmt(x: number): string {
  if (!Number.isFinite(x) || x === 0) return String(x);
  return Number(x.toPrecision(4)).toString();
}
