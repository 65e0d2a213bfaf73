// Long work on the event loop (replays, analyses, large reads) must let requests through: the
// gateway shares this thread.

/** Lets pending I/O (requests, timers) run before the caller goes on. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * For a long CPU-bound loop: `await slice()` between steps returns at once until `budgetMs` of work
 * has passed since the last yield, then yields to the event loop once.
 */
export function timeSlicer(budgetMs = 10): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < budgetMs) return;
    await yieldToEventLoop();
    since = performance.now();
  };
}
