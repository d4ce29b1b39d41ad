/**
 * A Prometheus-style histogram accumulator: fixed upper bounds chosen up front, a count per
 * bucket, a running sum. Kept apart from the encoder so the agent only records numbers and
 * the scrape turns them into text.
 */
import type { HistogramSample, Labels } from "./exposition.ts";

/**
 * Bounds for nft transaction times, in seconds: a small incremental change takes a few
 * milliseconds, a full program of a big table can take seconds.
 */
export const APPLY_TIME_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** Observations bucketed under fixed bounds; see the module comment. */
export class Histogram {
  readonly #bounds: readonly number[];
  /** Per-bucket (not cumulative) counts; the last slot is the `+Inf` overflow. */
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  /** Throws RangeError unless `bounds` are finite and strictly ascending. */
  constructor(bounds: readonly number[] = APPLY_TIME_BUCKETS) {
    for (let i = 0; i < bounds.length; i++) {
      const b = bounds[i]!;
      if (!Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!)) {
        throw new RangeError(`Histogram bounds must be finite and ascending: ${bounds.join(",")}`);
      }
    }
    this.#bounds = [...bounds];
    this.#counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** Records one observation. Throws RangeError for NaN (it would poison the sum). */
  observe(value: number): void {
    if (Number.isNaN(value)) throw new RangeError("Cannot observe NaN");
    let i = 0;
    while (i < this.#bounds.length && value > this.#bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** The cumulative view the exposition format wants. */
  snapshot(labels?: Labels): HistogramSample {
    let running = 0;
    const buckets = this.#bounds.map((le, i) => {
      running += this.#counts[i]!;
      return { le, count: running };
    });
    return {
      ...(labels !== undefined ? { labels } : {}),
      buckets,
      count: this.#count,
      sum: this.#sum,
    };
  }
}
