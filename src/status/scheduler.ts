/**
 * Time as the status reporters see it: a clock and one-shot timers behind a small interface,
 * so the reporters' timing rules (first heartbeat delay, rate limit, flap damping, periodic
 * resync) are tested with a manual clock instead of real waiting.
 */

/** An opaque timer handle. */
export type TimerHandle = unknown;

/** A clock plus one-shot timers. */
export interface Scheduler {
  /** Milliseconds on a monotonic-enough clock (only differences matter). */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or already-fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The process's real timers. */
export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * `base` spread by up to `fraction` of itself either way (Felix jitters its tickers by 10%
 * so many hosts restarted together do not write to etcd in lock-step). `random` returns
 * values in [0, 1).
 */
export function jittered(base: number, fraction: number, random: () => number): number {
  return base + base * fraction * (2 * random() - 1);
}

interface _Pending {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A scheduler whose clock only moves when told to: for tests. `advance` fires due timers in
 * time order and lets promise callbacks settle after each, so async work started by a timer
 * (an etcd write against a fake store) finishes before the next timer fires.
 */
export class ManualScheduler implements Scheduler {
  #now: number;
  #nextId = 1;
  #timers: _Pending[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Number of armed timers (a stopped reporter must leave none). */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves the clock forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#timers
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
      await settle();
    }
    this.#now = end;
  }
}

/** Lets every queued promise callback run (one real macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
