// Incremental Server-Sent Events parsing: upstream TCP chunks split events anywhere, so text is
// buffered until a blank line ends an event. Only `data:` fields matter for OpenAI streams.

export class SseParser {
  private pending = '';

  /** Data payloads of the events completed by this chunk (multi-line data joined with \n). */
  push(text: string): string[] {
    let buf = this.pending + text;
    let heldCr = false;
    if (buf.indexOf('\r') >= 0) {
      // A trailing \r may be the first half of a \r\n split across chunks: keep it for the next one.
      heldCr = buf.endsWith('\r');
      buf = (heldCr ? buf.slice(0, -1) : buf).replace(/\r\n?/g, '\n');
    }
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const end = buf.indexOf('\n\n', start);
      if (end < 0) break;
      const data = dataOf(buf, start, end);
      if (data !== undefined) out.push(data);
      start = end + 2;
    }
    this.pending = (start === 0 ? buf : buf.slice(start)) + (heldCr ? '\r' : '');
    return out;
  }

  /** Data of a last event that was not followed by a blank line (a stream that ended early). */
  end(): string | undefined {
    const rest = this.pending.replace(/\r\n?/g, '\n');
    this.pending = '';
    if (!rest.trim()) return undefined;
    return dataOf(rest, 0, rest.length);
  }

  get buffered(): number {
    return this.pending.length;
  }
}

function dataOf(buf: string, start: number, end: number): string | undefined {
  let data: string | undefined;
  let i = start;
  while (i < end) {
    let nl = buf.indexOf('\n', i);
    if (nl < 0 || nl > end) nl = end;
    if (buf.startsWith('data:', i)) {
      let v = buf.slice(i + 5, nl);
      if (v.charCodeAt(0) === 32) v = v.slice(1);
      data = data === undefined ? v : `${data}\n${v}`;
    }
    i = nl + 1;
  }
  return data;
}
