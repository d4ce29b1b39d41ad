/**
 * Time as the agent and its stages see it: a clock and timers behind one small interface,
 * passed in, so timing rules (burst spacing, retry backoff, refresh and resync periods, first
 * heartbeat delay, rate limits, flap damping) are tested with a manual clock instead of real
 * waiting. `realClock` is the process's own; `ManualClock` moves only when a test says so.
 * Depends on nothing.
 */

/** An opaque timer handle. */
export type TimerHandle = unknown;

/** A clock plus one-shot and repeating timers. */
export interface Clock {
  /** Milliseconds on a monotonic clock (fractions allowed); only differences mean anything. */
  now(): number;
  /** The wall-clock time, for timestamps people and other hosts read. */
  date(): Date;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or already-fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
  /** Runs `fn` every `ms` milliseconds until cleared. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** Cancels a repeating timer; unknown handles are ignored. */
  clearInterval(handle: TimerHandle): void;
}

type _RealHandle = ReturnType<typeof setTimeout>;

/** The process's real clock and timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as _RealHandle),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as _RealHandle),
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
  at: number;
  readonly fn: () => void;
  /** Set for repeating timers: re-armed this far after each run. */
  readonly every?: number;
}

/**
 * A clock that only moves when told to: for tests. `now()` starts at `start`, and `date()` is
 * `new Date(now())`, so a start like `Date.UTC(...)` gives readable timestamps. `advance`
 * fires due timers in time order and lets promise callbacks settle after each, so async work
 * started by a timer (a write to a fake store, an apply) finishes before the next one fires.
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: _Pending[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  date(): Date {
    return new Date(this.#now);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    // Like the real timers, a period below 1 ms runs every millisecond, never in a tight loop.
    const every = Math.max(1, ms);
    this.#timers.push({ id, at: this.#now + every, fn, every });
    return id;
  }

  clearInterval(handle: TimerHandle): void {
    this.clearTimeout(handle);
  }

  /** Number of armed timers (a stopped component must leave none). */
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
      this.#now = Math.max(this.#now, due.at);
      if (due.every === undefined) this.#timers = this.#timers.filter((t) => t !== due);
      else due.at += due.every;
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
