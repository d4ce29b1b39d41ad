/**
 * Records what the agent's loop does, for metrics and liveness, without the loop knowing:
 * the syncer's batches pass through `recordBatch` (resyncs, updates by type) and the
 * dataplane the Agent drives is wrapped by `instrument` (apply times, refreshes, repairs,
 * the HostState last programmed, and how long a call has been in flight, which is how a
 * wedged `nft` shows up as "not live").
 */
import type { Dataplane } from "../agent/agent.ts";
import type { HostState, HostStateSource } from "../calc/host_state.ts";
import type { HistogramSample } from "./exposition.ts";
import { APPLY_TIME_BUCKETS, Histogram } from "./histogram.ts";

/** A point-in-time copy of everything recorded. */
export interface ActivitySnapshot {
  /**
   * Snapshots (full datastore listings) delivered: the first one plus one per resync after
   * a broken watch or the periodic safety resync. Felix's `felix_resyncs_started`.
   */
  readonly resyncs: number;
  /** Datastore updates delivered, by ModelUpdate type (`inSync` markers not counted). */
  readonly updates: ReadonlyMap<string, number>;
  /** Seconds per apply that ran nft (unchanged applies, which run nothing, are left out). */
  readonly applyTime: HistogramSample;
  /** Drift checks run, and those that failed with an error. */
  readonly refreshes: number;
  readonly refreshFailures: number;
  /** Drift repairs, by reason (`missing`, `differs`). */
  readonly repairs: ReadonlyMap<string, number>;
  /** The HostState of the last successful apply; undefined before the first. */
  readonly programmed: HostState | undefined;
  /** The oldest dataplane call still in flight, or undefined when idle. */
  readonly busy: { readonly what: "apply" | "refresh"; readonly forMs: number } | undefined;
}

/** Options; `now` is a monotonic clock in milliseconds (tests pass a fake). */
export interface ActivityRecorderOptions {
  readonly now?: () => number;
  readonly applyTimeBuckets?: readonly number[];
}

/** See the module comment. One per agent. */
export class ActivityRecorder {
  readonly #now: () => number;
  readonly #applyTime: Histogram;
  #resyncs = 0;
  readonly #updates = new Map<string, number>();
  #refreshes = 0;
  #refreshFailures = 0;
  readonly #repairs = new Map<string, number>();
  /** Where the last successful apply's state came from; read as a snapshot only on demand. */
  #programmedFrom: HostStateSource | undefined;
  readonly #inFlight = new Map<number, { what: "apply" | "refresh"; since: number }>();
  #nextId = 0;

  constructor(opts: ActivityRecorderOptions = {}) {
    this.#now = opts.now ?? (() => performance.now());
    this.#applyTime = new Histogram(opts.applyTimeBuckets ?? APPLY_TIME_BUCKETS);
  }

  /**
   * Counts one syncer batch. A batch ending in `inSync` is a complete snapshot (the syncer
   * sends one after every listing), so it counts as a resync.
   */
  recordBatch(batch: readonly { readonly type: string }[]): void {
    for (const u of batch) {
      if (u.type === "inSync") {
        this.#resyncs++;
        continue;
      }
      this.#updates.set(u.type, (this.#updates.get(u.type) ?? 0) + 1);
    }
  }

  /** Wraps `dataplane` so every apply and refresh is timed and tracked; pass it to the Agent. */
  instrument(dataplane: Dataplane): Dataplane {
    return {
      apply: async (source) => {
        const done = this.#begin("apply");
        const started = this.#now();
        try {
          const r = await dataplane.apply(source);
          if (r.changed) this.#applyTime.observe((this.#now() - started) / 1000);
          this.#programmedFrom = source;
          return r;
        } catch (err) {
          this.#applyTime.observe((this.#now() - started) / 1000);
          throw err;
        } finally {
          done();
        }
      },
      refresh: async () => {
        const done = this.#begin("refresh");
        this.#refreshes++;
        try {
          const r = await dataplane.refresh();
          if (r.repaired) {
            const why = r.reason ?? "unknown";
            this.#repairs.set(why, (this.#repairs.get(why) ?? 0) + 1);
          }
          return r;
        } catch (err) {
          this.#refreshFailures++;
          throw err;
        } finally {
          done();
        }
      },
    };
  }

  #begin(what: "apply" | "refresh"): () => void {
    const id = this.#nextId++;
    this.#inFlight.set(id, { what, since: this.#now() });
    return () => this.#inFlight.delete(id);
  }

  /** The HostState of the last successful apply (what the counters are attributed with). */
  get programmed(): HostState | undefined {
    return this.#programmedFrom?.hostState();
  }

  snapshot(): ActivitySnapshot {
    let busy: ActivitySnapshot["busy"];
    const now = this.#now();
    for (const call of this.#inFlight.values()) {
      const forMs = now - call.since;
      if (busy === undefined || forMs > busy.forMs) busy = { what: call.what, forMs };
    }
    return {
      resyncs: this.#resyncs,
      updates: new Map(this.#updates),
      applyTime: this.#applyTime.snapshot(),
      refreshes: this.#refreshes,
      refreshFailures: this.#refreshFailures,
      repairs: new Map(this.#repairs),
      programmed: this.programmed,
      busy,
    };
  }
}
