// A trace for tests: request `req_<i>` of model `bot`, started at T0 + i ms, answered in 1 ms.
import type { Trace } from '../../core/types.ts';

export const T0 = Date.UTC(2025, 0, 1);

export function testTrace(i: number, extra: Partial<Trace> = {}): Trace {
  return {
    requestId: `req_${i}`,
    model: 'bot',
    version: 'v1',
    kind: 'chat',
    startedAt: T0 + i,
    latencyMs: 1,
    httpStatus: 200,
    status: 'ok',
    stream: false,
    retried: false,
    inputChars: 5,
    outputChars: 5,
    input: 'user: hello',
    output: 'hi there',
    ...extra,
  };
}
