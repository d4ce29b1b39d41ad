/**
 * The agent's view of etcd: a snapshot of `/calico/v1/` followed by a watch from the
 * snapshot's revision, turned into an ordered stream of ModelUpdates (Felix's syncer).
 *
 * Whenever the watch breaks (etcd restart, network loss, compaction) or the optional safety
 * interval fires, the syncer lists everything again and diffs against what it has already
 * delivered, so the agent sees each change exactly once and never a duplicate, then `inSync`.
 */
import type { EtcdClient, EtcdWatch, WatchEvent } from "./etcd_client.ts";
import type { Logger } from "../log/logger.ts";
import { silentLogger } from "../log/logger.ts";
import { type Clock, realClock, type TimerHandle } from "../time/clock.ts";
import { errorMessage } from "../util/error_message.ts";
import { connectionFailureReason, isConnectionError } from "./connection.ts";
import { convertKeyValue, isAgentKey } from "./convert.ts";
import { CALICO_V1_PREFIX } from "./keys.ts";
import {
  describeBytes,
  isMessageTooLarge,
  pagedRange,
  prefixEnd,
  tooLargeSizes,
} from "./paged_range.ts";
import type { ModelUpdate } from "./updates.ts";

/** Receives each batch in order; the next batch waits until a returned promise settles. */
export type UpdatesCallback = (batch: ModelUpdate[], revision: number) => void | Promise<void>;

export interface SyncerOptions {
  readonly client: EtcdClient;
  readonly onUpdates: UpdatesCallback;
  readonly log?: Logger;
  /** Named in connection warnings, e.g. `http://127.0.0.1:2379`. */
  readonly endpoints?: readonly string[];
  /** Periodic safety resync (list + diff); 0 or absent = only after watch failures. */
  readonly resyncIntervalMs?: number;
  /** Reconnect backoff: first delay, doubled up to the maximum. Defaults 200 ms / 5 s. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Keys per range request while listing; default 1000. */
  readonly pageSize?: number;
  /** Timers and time; default the process's own. */
  readonly clock?: Clock;
}

/** Why a watch ended. */
type WatchEnd = {
  readonly kind: "broken" | "cancelled";
  readonly reason: string;
} | {
  readonly kind: "timer" | "closed";
};

/** See the module comment. Call start() once; close() stops everything and waits for it. */
export class Syncer {
  readonly #client: EtcdClient;
  readonly #onUpdates: UpdatesCallback;
  readonly #log: Logger;
  readonly #endpoints: string;
  readonly #resyncMs: number;
  readonly #retryMin: number;
  readonly #retryMax: number;
  readonly #pageSize: number;
  /** Raw value of every agent key as last delivered. */
  readonly #cache = new Map<string, string>();
  #revision = 0;
  /** Highest revision seen (delivery may lag behind it). */
  #seen = 0;
  #closed = false;
  #loop: Promise<void> | undefined;
  #delivery: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #timer: TimerHandle | undefined;
  readonly #clock: Clock;
  /** Cancels of old watches still in flight (each bounded by the client). */
  readonly #retiring = new Set<Promise<void>>();

  constructor(opts: SyncerOptions) {
    this.#client = opts.client;
    this.#onUpdates = opts.onUpdates;
    this.#log = opts.log ?? silentLogger;
    this.#endpoints = opts.endpoints?.join(",") ?? "etcd";
    this.#resyncMs = opts.resyncIntervalMs ?? 0;
    this.#retryMin = opts.retryMinMs ?? 200;
    this.#retryMax = opts.retryMaxMs ?? 5_000;
    this.#pageSize = opts.pageSize ?? 1000;
    this.#clock = opts.clock ?? realClock;
  }

  /** The etcd revision of the last batch handed to the callback (0 before the first). */
  get revision(): number {
    return this.#revision;
  }

  /** Starts the snapshot + watch loop in the background. */
  start(): void {
    if (this.#loop) throw new Error("Syncer already started");
    this.#loop = this.#run();
  }

  /**
   * Stops watching, clears timers, and waits for delivery of batches already queued. Never
   * waits on etcd for long: cancelling a watch is bounded (see #retire).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeUp();
    await this.#loop;
    await Promise.all(this.#retiring);
    await this.#delivery;
  }

  #wakeUp() {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = this.#clock.setTimeout(() => this.#wakeUp(), ms);
    });
  }

  async #run(): Promise<void> {
    let delay = this.#retryMin;
    let watchDelay = this.#retryMin;
    let connectedOnce = false;
    while (!this.#closed) {
      let revision: number;
      try {
        revision = await this.#resync();
      } catch (e) {
        if (this.#closed) break;
        this.#log.warning(
          `${this.#describeFailure(e)}; retrying in ${(delay / 1000).toFixed(1)} s`,
        );
        await this.#sleep(delay);
        delay = Math.min(delay * 2, this.#retryMax);
        continue;
      }
      if (connectedOnce && delay > this.#retryMin) {
        this.#log.info(`Reconnected to etcd at ${this.#endpoints}; resync complete`);
      }
      connectedOnce = true;
      delay = this.#retryMin;
      if (this.#closed) break;
      const started = this.#clock.now();
      const end = await this.#watch(revision);
      if (this.#closed) break;
      if (end.kind === "broken") {
        this.#log.warning(`Lost watch on etcd at ${this.#endpoints} (${end.reason}); resyncing`);
      } else if (end.kind === "cancelled") {
        const why = await this.#whyCancelled(this.#seen + 1, end.reason);
        this.#log.warning(`etcd at ${this.#endpoints} cancelled the watch (${why}); resyncing`);
      } else if (end.kind === "timer") {
        this.#log.info("Periodic datastore resync (ResyncIntervalSecs)");
      }
      // A watch that fails as soon as it starts would otherwise make a tight loop of full
      // reads against etcd: back off as for a failed read.
      const failed = end.kind === "broken" || end.kind === "cancelled";
      if (failed && this.#clock.now() - started < QUICK_WATCH_FAILURE_MS) {
        await this.#sleep(watchDelay);
        watchDelay = Math.min(watchDelay * 2, this.#retryMax);
      } else watchDelay = this.#retryMin;
    }
  }

  /** One line on why a read failed: "Cannot connect" only when etcd could not be reached. */
  #describeFailure(e: unknown): string {
    if (isConnectionError(e)) {
      return `Cannot connect to etcd at ${this.#endpoints}: ${connectionFailureReason(e)}`;
    }
    const msg = errorMessage(e);
    if (/compacted/i.test(msg)) {
      return `Reading the datastore from etcd at ${this.#endpoints} failed: etcd compacted ` +
        "the revision being read";
    }
    return `Reading the datastore from etcd at ${this.#endpoints} failed: ` +
      connectionFailureReason(e);
  }

  /** Tells a compaction (the usual reason) apart from other server-side cancels. */
  async #whyCancelled(from: number, reason: string): Promise<string> {
    try {
      await this.#client.range({ key: CALICO_V1_PREFIX, revision: from });
    } catch (e) {
      if (/compacted/i.test(errorMessage(e))) {
        return `its start revision ${from} has been compacted`;
      }
    }
    return reason;
  }

  /**
   * Lists every key (in pages of bounded size, at one revision), diffs against the cache and
   * delivers. A value too large to receive is skipped with a warning naming its key and size
   * (and so treated as missing), while everything else syncs.
   */
  async #resync(): Promise<number> {
    const snapshot = new Map<string, string>();
    const { kvs, revision } = await pagedRange(
      this.#client,
      CALICO_V1_PREFIX,
      prefixEnd(CALICO_V1_PREFIX),
      {
        pageSize: this.#pageSize,
        onOversized: (o) => {
          if (!isAgentKey(o.key)) return;
          this.#log.warning(
            `Skipping etcd key ${o.key}: its value is ${describeBytes(o.bytes)}, more than ` +
              `the receive limit${o.limit ? ` of ${o.limit} bytes` : ""}; treating it as missing`,
          );
        },
      },
    );
    for (const kv of kvs) if (isAgentKey(kv.key)) snapshot.set(kv.key, kv.value);
    if (this.#closed) return revision;
    const batch: ModelUpdate[] = [];
    const keys = new Set([...this.#cache.keys(), ...snapshot.keys()]);
    for (const key of [...keys].sort()) {
      const now = snapshot.get(key);
      const before = this.#cache.get(key);
      if (now === before) continue;
      this.#apply(key, now ?? null, batch);
    }
    batch.push({ type: "inSync" });
    this.#seen = revision;
    this.#deliver(batch, revision);
    return revision;
  }

  /** Updates the cache for one key and appends its update (with any warning logged). */
  #apply(key: string, raw: string | null, batch: ModelUpdate[]) {
    if (raw === null) this.#cache.delete(key);
    else this.#cache.set(key, raw);
    const c = convertKeyValue(key, raw);
    if (!c) return;
    if (c.warning) this.#log.warning(c.warning);
    batch.push(c.update);
  }

  #deliver(batch: ModelUpdate[], revision: number) {
    this.#delivery = this.#delivery.then(async () => {
      try {
        await this.#onUpdates(batch, revision);
      } catch (e) {
        this.#log.error(`Datastore update handler failed: ${errorMessage(e)}`);
      }
      this.#revision = revision;
    });
  }

  /**
   * Watches from `revision + 1` until the watch breaks, etcd cancels it, the resync timer
   * fires, or close. Resolves at once in every case: the old watcher is retired in the
   * background, so neither the periodic resync nor shutdown ever waits on it.
   */
  #watch(revision: number): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let done = false;
      // Assigned below before any callback can run (clients report asynchronously).
      const watches: EtcdWatch[] = [];
      const finish = (end: WatchEnd) => {
        if (done) return;
        done = true;
        if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#wake = undefined;
        if (end.kind !== "broken" && end.kind !== "cancelled") this.#retire(watches[0]);
        resolve(end);
      };
      watches.push(this.#client.watch({ prefix: CALICO_V1_PREFIX, startRevision: revision + 1 }, {
        onEvents: (events) => {
          if (!done) this.#onWatchEvents(events);
        },
        onEnd: (end) =>
          finish(
            end.kind === "cancelled"
              ? { kind: "cancelled", reason: end.reason }
              : { kind: "broken", reason: _reason(end.error) },
          ),
      }));
      this.#wake = () => finish({ kind: this.#closed ? "closed" : "timer" });
      if (this.#resyncMs > 0) {
        this.#timer = this.#clock.setTimeout(() => this.#wakeUp(), this.#resyncMs);
      }
      if (this.#closed) finish({ kind: "closed" });
    });
  }

  #onWatchEvents(events: WatchEvent[]) {
    if (events.length === 0) return;
    const batch: ModelUpdate[] = [];
    const before = this.#seen;
    let revision = before;
    for (const ev of events) {
      revision = Math.max(revision, ev.modRevision);
      if (!isAgentKey(ev.key)) continue;
      if (ev.value === (this.#cache.get(ev.key) ?? null)) continue;
      this.#apply(ev.key, ev.value, batch);
    }
    this.#seen = revision;
    // An event that changes nothing (a key re-put with its value) is still delivered, as an
    // empty batch, so the consumer can say it has caught up with that revision.
    if (batch.length || revision > before) this.#deliver(batch, revision);
  }

  /**
   * Ends a watch we stopped (timer, close) without ever blocking on it: the client bounds
   * its cancel, and close() waits for the ones in flight. A watch that ended by itself
   * (broken, cancelled by etcd) has nothing left to cancel.
   */
  #retire(w: EtcdWatch | undefined) {
    if (w === undefined) return;
    const bounded = w.cancel().catch(() => {}).finally(() => this.#retiring.delete(bounded));
    this.#retiring.add(bounded);
  }
}

/** A watch ending sooner than this after it started counts as failing at once. */
const QUICK_WATCH_FAILURE_MS = 1_000;

function _reason(e: unknown): string {
  if (isMessageTooLarge(e)) {
    const { bytes, limit } = tooLargeSizes(e);
    return `a watch response of ${describeBytes(bytes)} was over the receive limit` +
      `${limit ? ` of ${limit} bytes` : ""}`;
  }
  return connectionFailureReason(e);
}
