/**
 * The agent's view of etcd: a snapshot of `/calico/v1/` followed by a watch from the
 * snapshot's revision, turned into an ordered stream of ModelUpdates (Felix's syncer).
 *
 * Whenever the watch breaks (etcd restart, network loss, compaction) or the optional safety
 * interval fires, the syncer lists everything again and diffs against what it has already
 * delivered, so the agent sees each change exactly once and never a duplicate, then `inSync`.
 */
import type { Etcd3, IWatchResponse, Watcher } from "etcd3";
import type { Logger } from "../log/logger.ts";
import { silentLogger } from "../log/logger.ts";
import { connectionFailureReason } from "./connection.ts";
import { convertKeyValue, isAgentKey } from "./convert.ts";
import { CALICO_V1_PREFIX } from "./keys.ts";
import type { ModelUpdate } from "./updates.ts";

/** Receives each batch in order; the next batch waits until a returned promise settles. */
export type UpdatesCallback = (batch: ModelUpdate[], revision: number) => void | Promise<void>;

export interface SyncerOptions {
  readonly client: Etcd3;
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
}

/** Why a watch ended. */
type WatchEnd = { readonly kind: "broken"; readonly reason: string } | {
  readonly kind: "timer" | "closed";
};

/** etcd's range end for a prefix: the prefix with its last byte incremented. */
function _rangeEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** See the module comment. Call start() once; close() stops everything and waits for it. */
export class Syncer {
  readonly #client: Etcd3;
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
  #timer: ReturnType<typeof setTimeout> | undefined;
  #watcher: Watcher | undefined;

  constructor(opts: SyncerOptions) {
    this.#client = opts.client;
    this.#onUpdates = opts.onUpdates;
    this.#log = opts.log ?? silentLogger;
    this.#endpoints = opts.endpoints?.join(",") ?? "etcd";
    this.#resyncMs = opts.resyncIntervalMs ?? 0;
    this.#retryMin = opts.retryMinMs ?? 200;
    this.#retryMax = opts.retryMaxMs ?? 5_000;
    this.#pageSize = opts.pageSize ?? 1000;
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

  /** Stops watching, clears timers, and waits for delivery of batches already queued. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeUp();
    await this.#cancelWatcher();
    await this.#loop;
    await this.#delivery;
  }

  #wakeUp() {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => this.#wakeUp(), ms);
    });
  }

  async #run(): Promise<void> {
    let delay = this.#retryMin;
    let connectedOnce = false;
    while (!this.#closed) {
      let revision: number;
      try {
        revision = await this.#resync();
      } catch (e) {
        if (this.#closed) break;
        this.#log.warning(
          `Cannot connect to etcd at ${this.#endpoints}: ${connectionFailureReason(e)}; ` +
            `retrying in ${(delay / 1000).toFixed(1)} s`,
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
      const end = await this.#watch(revision);
      if (end.kind === "broken" && !this.#closed) {
        this.#log.warning(
          `Lost watch on etcd at ${this.#endpoints} (${end.reason}); resyncing`,
        );
      } else if (end.kind === "timer") {
        this.#log.debug("Periodic datastore resync");
      }
    }
  }

  /** Lists every key (paged, at one revision), diffs against the cache and delivers. */
  async #resync(): Promise<number> {
    const snapshot = new Map<string, string>();
    let revision: string | undefined;
    let start = CALICO_V1_PREFIX;
    const end = _rangeEnd(CALICO_V1_PREFIX);
    for (;;) {
      let b = this.#client.getAll().inRange({ start, end }).limit(this.#pageSize);
      if (revision !== undefined) b = b.revision(revision);
      const res = await b.exec();
      revision ??= res.header.revision;
      for (const kv of res.kvs) {
        const key = kv.key.toString();
        if (isAgentKey(key)) snapshot.set(key, kv.value.toString());
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) break;
      start = last.key.toString() + "\0";
    }
    if (this.#closed) return Number(revision);
    const batch: ModelUpdate[] = [];
    const keys = new Set([...this.#cache.keys(), ...snapshot.keys()]);
    for (const key of [...keys].sort()) {
      const now = snapshot.get(key);
      const before = this.#cache.get(key);
      if (now === before) continue;
      this.#apply(key, now ?? null, batch);
    }
    batch.push({ type: "inSync" });
    this.#seen = Number(revision);
    this.#deliver(batch, Number(revision));
    return Number(revision);
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
        this.#log.error(`Datastore update handler failed: ${(e as Error).message}`);
      }
      this.#revision = revision;
    });
  }

  /** Watches from `revision + 1` until the watch breaks, the resync timer fires, or close. */
  #watch(revision: number): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let done = false;
      const finish = (end: WatchEnd) => {
        if (done) return;
        done = true;
        if (this.#timer !== undefined) clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#wake = undefined;
        this.#cancelWatcher().then(() => resolve(end));
      };
      const watcher = this.#client.watch().prefix(CALICO_V1_PREFIX)
        .startRevision(String(revision + 1)).watcher();
      this.#watcher = watcher;
      watcher.on("data", (res: IWatchResponse) => {
        if (done) return;
        this.#onWatchData(res);
      });
      watcher.on("disconnected", (e: Error) => finish({ kind: "broken", reason: _reason(e) }));
      watcher.on("error", (e: Error) => finish({ kind: "broken", reason: _reason(e) }));
      watcher.on("end", () => finish({ kind: "broken", reason: "watch ended" }));
      this.#wake = () => finish({ kind: this.#closed ? "closed" : "timer" });
      if (this.#resyncMs > 0) {
        this.#timer = setTimeout(() => this.#wakeUp(), this.#resyncMs);
      }
      if (this.#closed) finish({ kind: "closed" });
    });
  }

  #onWatchData(res: IWatchResponse) {
    if (!res.events || res.events.length === 0) return;
    const batch: ModelUpdate[] = [];
    const before = this.#seen;
    let revision = before;
    for (const ev of res.events) {
      const key = ev.kv.key.toString();
      revision = Math.max(revision, Number(ev.kv.mod_revision));
      if (!isAgentKey(key)) continue;
      const raw = ev.type === "Delete" ? null : ev.kv.value.toString();
      if (raw === (this.#cache.get(key) ?? null)) continue;
      this.#apply(key, raw, batch);
    }
    this.#seen = revision;
    // An event that changes nothing (a key re-put with its value) is still delivered, as an
    // empty batch, so the consumer can say it has caught up with that revision.
    if (batch.length || revision > before) this.#deliver(batch, revision);
  }

  async #cancelWatcher() {
    const w = this.#watcher;
    this.#watcher = undefined;
    if (!w) return;
    w.removeAllListeners("data");
    // etcd3 emits these while a cancel is in flight; nothing should react any more.
    w.on("error", () => {});
    try {
      await w.cancel();
    } catch { /* the stream is already gone */ }
  }
}

function _reason(e: unknown): string {
  return connectionFailureReason(e);
}
