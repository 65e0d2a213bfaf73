// JSON columns are text on every engine; these two helpers are the only conversion.
export const toJson = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

export function fromJson<T>(text: string | null | undefined): T | undefined {
  if (text === null || text === undefined) return undefined;
  return JSON.parse(text) as T;
}

export const orUndefined = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);
