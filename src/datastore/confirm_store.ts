/**
 * Commit-confirm on etcd: a change written together with its rollback record and a guard key
 * on a lease, in one transaction; `confirm` removes both (the change stays); `rollback`
 * (run by the agents once the guard is gone) restores the previous values in one
 * transaction that only one caller can win. The record format and the restore decision are
 * pure (confirm_record.ts); this module only reads, compares and writes.
 */
import type { Etcd3, IOperation } from "etcd3";
import type { Resource } from "../model/resources.ts";
import { checkIdentifiers, deleteRanges, resourceId, writesFor } from "./etcd_store.ts";
import { renderResourceKey } from "./keys.ts";
import {
  type ChangeRecord,
  type CurrentKv,
  decodeRecord,
  encodeRecord,
  guardKey,
  type KeyChange,
  mergeKeyChanges,
  newChangeId,
  planRollback,
  RECORD_PREFIX,
  recordKey,
  type ResourceChange,
  type RollbackPlan,
} from "./confirm_record.ts";
import { AlreadyExistsError, NotExistError, type ResourceId } from "./store.ts";
import { errorMessage } from "../util/error_message.ts";

/** One resource of a confirmable change, as the CLI parsed it. */
export type ConfirmItem =
  | {
    readonly op: "create" | "apply" | "replace";
    readonly resource: Resource;
    /** create: an existing resource is left unchanged and counts as done. */
    readonly skipExists?: boolean;
  }
  | { readonly op: "delete"; readonly id: ResourceId; readonly skipNotExists?: boolean };

/** The change could not be written; nothing was. `index`: the item that failed. */
export class ConfirmCommitError extends Error {
  override name = "ConfirmCommitError";
  constructor(message: string, readonly index: number, override readonly cause?: Error) {
    super(message);
  }
}

/** What `commit` wrote. */
export interface CommitResult {
  readonly id: string;
  readonly deadline: Date;
  readonly revision: number;
  readonly record: ChangeRecord;
}

/** A change waiting for confirmation (or, with `expired`, for the agents to roll it back). */
export interface PendingChange {
  readonly record: ChangeRecord;
  readonly expired: boolean;
}

/** How a rollback attempt ended. */
export type RollbackOutcome =
  | { readonly kind: "restored"; readonly record: ChangeRecord; readonly plan: RollbackPlan }
  /** Confirmed, or rolled back by someone else, before this caller got to it. */
  | { readonly kind: "gone" }
  /** The guard is still there: not expired. */
  | { readonly kind: "pending" }
  /** The record does not decode; left in place for an operator. */
  | { readonly kind: "invalid"; readonly error: string }
  /** The change's resources kept moving during every attempt; the next pass tries again. */
  | { readonly kind: "busy" };

const ATTEMPTS = 5;

async function readKv(client: Etcd3, key: string): Promise<CurrentKv> {
  const res = await client.get(key).exec();
  const kv = res.kvs[0];
  return kv ? { value: kv.value.toString(), modRevision: Number(kv.mod_revision) } : undefined;
}

/** The keys a delete would remove, read one by one so the record names each of them. */
async function readRanges(
  client: Etcd3,
  ranges: readonly [string, boolean][],
): Promise<Map<string, CurrentKv>> {
  const out = new Map<string, CurrentKv>();
  for (const [key, isPrefix] of ranges) {
    const res = isPrefix ? await client.getAll().prefix(key).exec() : await client.get(key).exec();
    for (const kv of res.kvs) {
      out.set(kv.key.toString(), {
        value: kv.value.toString(),
        modRevision: Number(kv.mod_revision),
      });
    }
  }
  return out;
}

/** Commit-confirm operations on one etcd client. */
export class ConfirmStore {
  constructor(readonly client: Etcd3) {}

  /**
   * Writes every item, its rollback record and a guard leased for `ttlSecs`, all in one
   * transaction; all or nothing (a failing item writes nothing, unlike the plain commands'
   * one-by-one writes, because a rollback must cover the whole change). Each key's previous
   * value is read first and compared in the transaction, so a concurrent writer makes it
   * retry instead of recording a stale "before".
   */
  async commit(
    items: readonly ConfirmItem[],
    verb: string,
    ttlSecs: number,
  ): Promise<CommitResult> {
    items.forEach((item, i) => {
      try {
        checkIdentifiers(item.op === "delete" ? item.id : resourceId(item.resource));
      } catch (e) {
        throw new ConfirmCommitError(errorMessage(e), i, e as Error);
      }
    });
    const id = newChangeId();
    const { ID: lease } = await this.client.leaseClient.leaseGrant({ TTL: ttlSecs });
    try {
      for (let attempt = 1;; attempt++) {
        const done = await this.#tryCommit(id, lease, items, verb, ttlSecs);
        if (done) return done;
        if (attempt >= ATTEMPTS) {
          throw new ConfirmCommitError(
            "the resources kept changing while the change was written; nothing was written",
            0,
          );
        }
      }
    } catch (e) {
      await this.client.leaseClient.leaseRevoke({ ID: lease }).catch(() => {});
      throw e;
    }
  }

  /**
   * One attempt at the guarded transaction; undefined when a key changed meanwhile. Long on
   * purpose: the compares are built from the same `seen` map the reads filled, so what is
   * checked cannot drift from what was read.
   */
  async #tryCommit(
    id: string,
    lease: string,
    items: readonly ConfirmItem[],
    verb: string,
    ttlSecs: number,
  ): Promise<CommitResult | undefined> {
    const seen = new Map<string, CurrentKv>();
    const groups: { resource: string; keys: KeyChange[] }[] = [];
    for (const [i, item] of items.entries()) {
      if (item.op === "delete") {
        const found = await readRanges(this.client, deleteRanges(item.id));
        const label = renderResourceKey(item.id);
        if (found.size === 0) {
          if (item.skipNotExists) continue;
          throw new ConfirmCommitError(`resource does not exist: ${label}`, i, new NotExistError());
        }
        const keys: KeyChange[] = [];
        for (const [key, kv] of found) {
          if (!seen.has(key)) seen.set(key, kv);
          keys.push({ key, before: kv?.value ?? null, after: null });
        }
        groups.push({ resource: label, keys });
        continue;
      }
      const { primary, writes } = writesFor(item.resource);
      const label = renderResourceKey(resourceId(item.resource));
      const current = new Map<string, CurrentKv>();
      for (const w of writes) {
        current.set(w.key, seen.get(w.key) ?? await readKv(this.client, w.key));
      }
      const exists = current.get(primary) !== undefined;
      if (item.op === "create" && exists) {
        if (item.skipExists) continue;
        throw new ConfirmCommitError(
          `resource already exists: ${label}`,
          i,
          new AlreadyExistsError(),
        );
      }
      if (item.op === "replace" && !exists) {
        throw new ConfirmCommitError(`resource does not exist: ${label}`, i, new NotExistError());
      }
      const keys: KeyChange[] = [];
      for (const w of writes) {
        const kv = current.get(w.key);
        if (!seen.has(w.key)) seen.set(w.key, kv);
        keys.push({ key: w.key, before: kv?.value ?? null, after: w.value });
      }
      groups.push({ resource: label, keys });
    }
    // One group per resource even when the input names it twice.
    const byResource = new Map<string, KeyChange[]>();
    for (const g of groups) {
      byResource.set(g.resource, [...byResource.get(g.resource) ?? [], ...g.keys]);
    }
    const resources: ResourceChange[] = [...byResource].map(([resource, keys]) => ({
      resource,
      keys: mergeKeyChanges(keys),
    }));
    const now = new Date();
    const deadline = new Date(now.getTime() + ttlSecs * 1000);
    const record: ChangeRecord = {
      id,
      verb,
      createdAt: now.toISOString(),
      deadline: deadline.toISOString(),
      ttlSecs,
      resources,
    };
    const ops: IOperation[] = [];
    for (const g of resources) {
      for (const k of g.keys) {
        ops.push(
          k.after === null
            ? this.client.delete().key(k.key)
            : this.client.put(k.key).value(k.after),
        );
      }
    }
    ops.push(this.client.put(recordKey(id)).value(encodeRecord(record)));
    ops.push(this.client.put(guardKey(id)).value(deadline.toISOString()).lease(lease));
    let txn = this.client.if(recordKey(id), "Version", "==", 0).and(
      guardKey(id),
      "Version",
      "==",
      0,
    );
    for (const [key, kv] of seen) {
      txn = kv === undefined
        ? txn.and(key, "Version", "==", 0)
        : txn.and(key, "Mod", "==", kv.modRevision);
    }
    const res = await txn.then(...ops).commit();
    if (!res.succeeded) return undefined;
    return { id, deadline, revision: Number(res.header.revision), record };
  }

  /** Every change record, with whether its guard (and so its window) is gone. */
  async pending(): Promise<PendingChange[]> {
    const res = await this.client.getAll().prefix(RECORD_PREFIX).exec();
    const out: PendingChange[] = [];
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      let record: ChangeRecord;
      try {
        record = decodeRecord(key, kv.value.toString());
      } catch {
        continue;
      }
      out.push({ record, expired: await readKv(this.client, guardKey(record.id)) === undefined });
    }
    return out;
  }

  /**
   * Keeps change `id`: removes its record and guard in one transaction that holds only while
   * the guard exists. Returns "confirmed", "expired" (too late: the agents roll it back) or
   * "unknown" (no such record).
   */
  async confirm(id: string): Promise<"confirmed" | "expired" | "unknown"> {
    const guard = await this.client.get(guardKey(id)).exec();
    const res = await this.client.if(guardKey(id), "Version", ">", 0)
      .and(recordKey(id), "Version", ">", 0)
      .then(this.client.delete().key(recordKey(id)), this.client.delete().key(guardKey(id)))
      .commit();
    if (res.succeeded) {
      const lease = guard.kvs[0]?.lease;
      if (lease && lease !== "0") {
        await this.client.leaseClient.leaseRevoke({ ID: lease }).catch(() => {});
      }
      return "confirmed";
    }
    return await readKv(this.client, recordKey(id)) === undefined ? "unknown" : "expired";
  }

  /**
   * Rolls back change `id` if its guard is gone: restores, in one transaction, every resource
   * that still holds what the change wrote, and deletes the record. The transaction also
   * requires the record unchanged, so of several agents trying at once exactly one wins;
   * the others find the record gone. Edits made after the change are never overwritten.
   */
  async rollback(id: string): Promise<RollbackOutcome> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const rec = await this.client.get(recordKey(id)).exec();
      const kv = rec.kvs[0];
      if (!kv) return { kind: "gone" };
      if (await readKv(this.client, guardKey(id)) !== undefined) return { kind: "pending" };
      let record: ChangeRecord;
      try {
        record = decodeRecord(recordKey(id), kv.value.toString());
      } catch (e) {
        return { kind: "invalid", error: errorMessage(e) };
      }
      const changeRevision = Number(kv.mod_revision);
      const current = new Map<string, CurrentKv>();
      for (const g of record.resources) {
        for (const k of g.keys) current.set(k.key, await readKv(this.client, k.key));
      }
      const plan = planRollback(record, changeRevision, (key) => current.get(key));
      let txn = this.client.if(recordKey(id), "Mod", "==", changeRevision)
        .and(guardKey(id), "Version", "==", 0);
      const ops: IOperation[] = [];
      for (const g of plan.restore) {
        for (const k of g.keys) {
          txn = k.after === null
            ? txn.and(k.key, "Version", "==", 0)
            : txn.and(k.key, "Mod", "==", changeRevision);
          ops.push(
            k.before === null
              ? this.client.delete().key(k.key)
              : this.client.put(k.key).value(k.before),
          );
        }
      }
      ops.push(this.client.delete().key(recordKey(id)));
      const res = await txn.then(...ops).commit();
      if (res.succeeded) return { kind: "restored", record, plan };
      // Lost to another agent (record gone) or a resource moved meanwhile: look again.
    }
    return { kind: "busy" };
  }
}
