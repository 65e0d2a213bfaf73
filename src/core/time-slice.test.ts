import { describe, expect, it } from 'vitest';
import { timeSlicer, yieldToEventLoop } from './time-slice.ts';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('timeSlicer', () => {
  it('returns at once within its budget, and yields to the event loop once the budget is spent', async () => {
    const slice = timeSlicer(5);
    let ran = 0;
    setImmediate(() => ran++);
    await slice();
    expect(ran).toBe(0);
    busy(6);
    await slice();
    expect(ran).toBe(1);
    // The budget starts again after a yield.
    setImmediate(() => ran++);
    await slice();
    expect(ran).toBe(1);
    await yieldToEventLoop();
    expect(ran).toBe(2);
  });
});
