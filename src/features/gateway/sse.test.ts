import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.ts';

describe('SseParser', () => {
  it('returns data of complete events whatever the chunk boundaries', () => {
    const stream = 'data: {"a":1}\n\n: keep-alive comment\n\nevent: x\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new SseParser();
      const out = [...p.push(stream.slice(0, cut)), ...p.push(stream.slice(cut))];
      expect(out).toEqual(['{"a":1}', '{"b":2}', '[DONE]']);
      expect(p.buffered).toBe(0);
    }
  });

  it('handles CRLF line ends, multi-line data and a last event without its blank line', () => {
    const p = new SseParser();
    expect(p.push('data: line1\r\ndata: line2\r\n\r\ndata:nospace\r\n\r\ndata: tail')).toEqual(['line1\nline2', 'nospace']);
    expect(p.end()).toBe('tail');
    expect(p.end()).toBeUndefined();
    const crlf = 'data: x\r\ndata: y\r\n\r\ndata: z\r\n\r\n';
    for (let cut = 1; cut < crlf.length; cut++) {
      const q = new SseParser();
      expect([...q.push(crlf.slice(0, cut)), ...q.push(crlf.slice(cut))]).toEqual(['x\ny', 'z']);
    }
  });
});
