/**
 * A copy of `value` without the keys whose value is undefined, as a row read back from a
 * database has them. It builds a new object rather than deleting keys: a deleted property turns
 * a V8 object into a slow dictionary, which made each trace of a 40,000-trace RCA read hold about
 * 2 KB instead of a few hundred bytes.
 */
export function compact<T extends object>(value: T): T {
  const out = {} as T;
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] !== undefined) out[key] = value[key];
  }
  return out;
}
