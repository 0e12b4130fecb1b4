// Whether the event loop stays free while native work runs, measured so that
// the answer does not depend on the machine's speed: the work is first sized
// until one run lasts long enough to tell a free loop from a blocked one, and
// the loop is judged against that run's own duration.

/**
 * Calls `work(scale)` with scale 1, 2, 4, ... until one call lasts at least
 * `minMs` (or `maxScale` is reached) and returns that scale. The calls made
 * on the way also warm up the allocator and caches.
 */
export async function scaleToDuration(work: (scale: number) => Promise<unknown>, minMs: number, maxScale = 256): Promise<number> {
  for (let scale = 1; ; scale *= 2) {
    const started = performance.now();
    await work(scale);
    if (performance.now() - started >= minMs || scale >= maxScale) return scale;
  }
}

export interface LoopWatch {
  /** Milliseconds the work took. */
  elapsed: number;
  /** Ticks of a 5 ms interval timer during it. */
  ticks: number;
  /** The longest time between two ticks (or the start and the first tick), in ms. */
  longestGap: number;
}

export async function watchEventLoop(work: () => Promise<unknown>): Promise<LoopWatch> {
  const started = performance.now();
  let ticks = 0, last = started, longestGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
    ticks++;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const elapsed = performance.now() - started;
  return { elapsed, ticks, longestGap: Math.max(longestGap, performance.now() - last) };
}

/**
 * A loop blocked by the work would tick about once in all that time, with one
 * gap as long as the work; a free one ticks every few milliseconds. The
 * bounds leave room for a loaded machine's timer jitter: at least one tick
 * per 50 ms of work, and no gap longer than a third of it.
 */
export function expectLoopFree(watch: LoopWatch): void {
  expect(watch.ticks).toBeGreaterThanOrEqual(Math.floor(watch.elapsed / 50));
  expect(watch.longestGap).toBeLessThan(watch.elapsed / 3);
}
