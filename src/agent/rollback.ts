/**
 * The agent's half of commit-confirm: finds changes whose confirm window has passed (a
 * record whose leased guard key is gone) and rolls them back. Every agent does this, so a
 * rollback happens as long as any agent runs, including one started after the deadline;
 * the rollback is one etcd transaction only one of them can win (confirm_store.ts).
 *
 * It polls the small record/guard prefix (two keys-only range reads) rather than watching:
 * a poll needs no reconnect or compaction handling, survives etcd restarts by itself, and
 * at one read pair per second per agent costs etcd next to nothing.
 */
import type { Etcd3 } from "etcd3";
import {
  describeRestore,
  GUARD_PREFIX,
  idOfKey,
  RECORD_PREFIX,
} from "../datastore/confirm_record.ts";
import { ConfirmStore, type RollbackOutcome } from "../datastore/confirm_store.ts";
import type { Logger } from "../log/logger.ts";

export interface RollbackKeeperOptions {
  readonly client: Etcd3;
  readonly hostname: string;
  readonly log: Logger;
  /** How often to look for expired changes; default 1000 ms. */
  readonly pollMs?: number;
}

/** The IDs of records whose guard is gone, from the two key lists. Pure. */
export function expiredIds(recordKeys: readonly string[], guardKeys: readonly string[]): string[] {
  const guarded = new Set(guardKeys.map((k) => idOfKey(k)?.id));
  return recordKeys.map((k) => idOfKey(k)?.id).filter((id): id is string =>
    id !== undefined && !guarded.has(id)
  );
}

/** Polls for expired changes and rolls them back. */
export class RollbackKeeper {
  readonly #client: Etcd3;
  readonly #store: ConfirmStore;
  readonly #hostname: string;
  readonly #log: Logger;
  readonly #pollMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #failing = false;
  /** Records already reported as unreadable (reported once, not every poll). */
  readonly #invalid = new Set<string>();

  constructor(opts: RollbackKeeperOptions) {
    this.#client = opts.client;
    this.#store = new ConfirmStore(opts.client);
    this.#hostname = opts.hostname;
    this.#log = opts.log;
    this.#pollMs = opts.pollMs ?? 1000;
  }

  start(): void {
    this.#tick();
  }

  #tick(): void {
    if (this.#closed) return;
    this.#running = this.scan().finally(() => {
      this.#running = undefined;
      if (!this.#closed) this.#timer = setTimeout(() => this.#tick(), this.#pollMs);
    });
  }

  /** One pass: rolls back every expired change. Never throws (etcd away: next pass). */
  async scan(): Promise<void> {
    try {
      // Guards first: a change confirmed between the two reads then has neither key, never
      // a record without a guard.
      const guards = await this.#client.getAll().prefix(GUARD_PREFIX).keys();
      const records = await this.#client.getAll().prefix(RECORD_PREFIX).keys();
      for (const id of expiredIds(records, guards)) {
        if (this.#closed) return;
        this.#report(id, await this.#store.rollback(id));
      }
      if (this.#failing) this.#log.info("Checking for unconfirmed changes works again");
      this.#failing = false;
    } catch (e) {
      if (!this.#failing) {
        this.#log.warning(`Cannot check for unconfirmed changes: ${(e as Error).message}`);
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
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
  }
}
