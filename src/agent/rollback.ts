/**
 * The agent's half of commit-confirm: finds changes whose confirm window has passed (a
 * record whose leased guard key is gone) and rolls them back. Every agent does this, so a
 * rollback happens as long as any agent runs, including one started after the deadline;
 * the rollback is one etcd transaction only one of them can win (confirm_store.ts).
 *
 * Each agent watches the guard keys: a guard's lease expiring deletes it, and the delete event
 * starts a check within a moment (a little random delay spreads the agents' transactions).
 * A check also runs at start (an agent started after a deadline rolls back at once), after
 * the watch reconnects, and every `scanMs` as a safety net for anything a watch missed; a
 * check is two keys-only range reads of a prefix that is empty most of the time.
 */
import { type EtcdClient, type EtcdWatch, getPrefix } from "../datastore/etcd_client.ts";
import {
  describeRestore,
  GUARD_PREFIX,
  idOfKey,
  RECORD_PREFIX,
} from "../datastore/confirm_record.ts";
import { ConfirmStore, type RollbackOutcome } from "../datastore/confirm_store.ts";
import type { Logger } from "../log/logger.ts";
import { type Clock, realClock, type TimerHandle } from "../time/clock.ts";
import { errorMessage } from "../util/error_message.ts";

export interface RollbackKeeperOptions {
  readonly client: EtcdClient;
  readonly hostname: string;
  readonly log: Logger;
  /** Safety-net period of full checks (the watch handles the rest); default 30 s. */
  readonly scanMs?: number;
  /** Timers; default the process's own. */
  readonly clock?: Clock;
}

/** First delay before watching again after the guard watch ended. */
const REWATCH_MIN_MS = 200;

/** The IDs of records whose guard is gone, from the two key lists. Pure. */
export function expiredIds(recordKeys: readonly string[], guardKeys: readonly string[]): string[] {
  const guarded = new Set(guardKeys.map((k) => idOfKey(k)?.id));
  return recordKeys.map((k) => idOfKey(k)?.id).filter((id): id is string =>
    id !== undefined && !guarded.has(id)
  );
}

/** Watches for expired changes and rolls them back. */
export class RollbackKeeper {
  readonly #client: EtcdClient;
  readonly #store: ConfirmStore;
  readonly #hostname: string;
  readonly #log: Logger;
  readonly #scanMs: number;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #soon: TimerHandle | undefined;
  #watch: EtcdWatch | undefined;
  #rewatch: TimerHandle | undefined;
  /** Delay before watching again after the watch ended; doubles up to scanMs. */
  #rewatchMs = REWATCH_MIN_MS;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #failing = false;
  /** Records already reported as unreadable (reported once, not every pass). */
  readonly #invalid = new Set<string>();

  constructor(opts: RollbackKeeperOptions) {
    this.#client = opts.client;
    this.#store = new ConfirmStore(opts.client);
    this.#hostname = opts.hostname;
    this.#log = opts.log;
    this.#scanMs = opts.scanMs ?? 30_000;
    this.#clock = opts.clock ?? realClock;
  }

  start(): void {
    this.#startWatch();
    this.#check();
  }

  /**
   * Watches the guard keys. A watch that ends (etcd restarted, compacted, the member left)
   * is started again after a growing delay; each start is followed by a check, so nothing
   * that expired meanwhile waits for the safety-net period.
   */
  #startWatch(): void {
    if (this.#closed) return;
    let created = false;
    this.#watch = this.#client.watch({ prefix: GUARD_PREFIX }, {
      onCreated: () => {
        created = true;
        this.#rewatchMs = REWATCH_MIN_MS;
        this.#check();
      },
      onEvents: (events) => {
        if (events.some((e) => e.value === null)) this.#checkSoon();
      },
      onEnd: () => {
        if (this.#closed) return;
        this.#watch = undefined;
        const delay = created ? REWATCH_MIN_MS : this.#rewatchMs;
        this.#rewatchMs = Math.min(delay * 2, this.#scanMs);
        this.#rewatch = this.#clock.setTimeout(() => {
          this.#rewatch = undefined;
          this.#startWatch();
        }, delay);
      },
    });
  }

  /** A check after a short random delay, so agents woken by one event do not all collide. */
  #checkSoon(): void {
    if (this.#closed || this.#soon !== undefined) return;
    this.#soon = this.#clock.setTimeout(() => {
      this.#soon = undefined;
      this.#check();
    }, 50 + Math.floor(Math.random() * 200));
  }

  /** Runs a scan now, or right after the one running; then re-arms the safety timer. */
  #check(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#running = this.scan().finally(() => {
      this.#running = undefined;
      if (this.#closed) return;
      if (this.#again) {
        this.#again = false;
        this.#check();
      } else this.#timer = this.#clock.setTimeout(() => this.#check(), this.#scanMs);
    });
  }

  /** One pass: rolls back every expired change. Never throws (etcd away: next pass). */
  async scan(): Promise<void> {
    try {
      // Guards first: a change confirmed between the two reads then has neither key, never
      // a record without a guard.
      const guards = (await getPrefix(this.#client, GUARD_PREFIX, true)).map((kv) => kv.key);
      const records = (await getPrefix(this.#client, RECORD_PREFIX, true)).map((kv) => kv.key);
      for (const id of expiredIds(records, guards)) {
        if (this.#closed) return;
        this.#report(id, await this.#store.rollback(id));
      }
      if (this.#failing) this.#log.info("Checking for unconfirmed changes works again");
      this.#failing = false;
    } catch (e) {
      if (!this.#failing) {
        this.#log.warning(`Cannot check for unconfirmed changes: ${errorMessage(e)}`);
      }
      this.#failing = true;
    }
  }

  #report(id: string, out: RollbackOutcome): void {
    switch (out.kind) {
      case "restored": {
        const { record, plan } = out;
        for (const l of plan.leave) {
          this.#log.warning(
            `Change ${id} was not confirmed, but ${l.resource} was edited after it ` +
              `(${l.key} changed since); left it alone`,
          );
        }
        const restored = plan.restore.length > 0
          ? plan.restore.map(describeRestore).join("; ")
          : "nothing (every resource was edited since)";
        this.#log.info(
          `Rolled back change ${id} (${record.verb} at ${record.createdAt}, not confirmed by ` +
            `${record.deadline}) as agent ${this.#hostname}: ${restored}`,
        );
        return;
      }
      case "gone":
        this.#log.info(
          `Change ${id} expired unconfirmed, but another agent had already rolled it back; ` +
            "nothing to do",
        );
        return;
      case "pending":
        return;
      case "busy":
        this.#log.warning(`Change ${id}: its resources kept changing while rolling back; retrying`);
        return;
      case "invalid":
        if (!this.#invalid.has(id)) {
          this.#invalid.add(id);
          this.#log.error(`Cannot roll back change ${id}: ${out.error}; left in place`);
        }
        return;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    if (this.#soon !== undefined) this.#clock.clearTimeout(this.#soon);
    if (this.#rewatch !== undefined) this.#clock.clearTimeout(this.#rewatch);
    // The client bounds a cancel (an etcd that does not answer is not waited for).
    await this.#watch?.cancel().catch(() => {});
    // A check in flight is not waited for: its transaction is atomic, and etcd may not answer.
  }
}
