// Incremental regex scanning for streamed answers. A match is judged only once the text after
// it has arrived (`guard` characters), because the next chunk could still extend or cancel it
// ("bad" may become "badly"; 13 digits may be the start of a 16-digit card number). A re-scan
// starts `lookback` characters before the end (or at a held-back match), so a push costs about
// the size of the chunk, not of the whole answer. The full check at the end of the stream stays
// authoritative for matches longer than the lookback.

export interface RegexScanner {
  /** Scans `text` (the whole answer so far); returns the first accepted match, if any. */
  scan(text: string, final: boolean): string | undefined;
}

export interface RegexScannerOptions {
  /** Must have the `g` flag. Shared regexes are fine: each scan sets lastIndex and runs synchronously. */
  regex: RegExp;
  /** Whether a match counts (e.g. Luhn-valid); defaults to every match. */
  accept?: (match: string) => boolean;
  /** Characters that must follow a match before it is judged while streaming (default 1). */
  guard?: number;
  /** How far back from the end the next scan starts when nothing is held (default 4096). */
  lookback?: number;
}

export function createRegexScanner(o: RegexScannerOptions): RegexScanner {
  const { regex } = o;
  const accept = o.accept ?? (() => true);
  const guard = o.guard ?? 1;
  const lookback = o.lookback ?? 4096;
  let pos = 0;
  return {
    scan(text, final) {
      regex.lastIndex = pos;
      let held = -1;
      let m: RegExpExecArray | null;
      while ((m = regex.exec(text)) !== null) {
        if (m[0].length === 0) {
          regex.lastIndex++;
          continue;
        }
        if (!final && text.length - (m.index + m[0].length) < guard) {
          held = m.index;
          break;
        }
        if (accept(m[0])) return m[0];
      }
      pos = held >= 0 ? held : Math.max(pos, text.length - lookback);
      return undefined;
    },
  };
}

/** First accepted match in the whole text (the non-streaming check). */
export function firstMatch(regex: RegExp, text: string, accept?: (match: string) => boolean): string | undefined {
  regex.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = regex.exec(text)) !== null) {
    if (m[0].length === 0) {
      regex.lastIndex++;
      continue;
    }
    if (!accept || accept(m[0])) return m[0];
  }
  return undefined;
}
