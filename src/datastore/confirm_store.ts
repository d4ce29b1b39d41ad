/**
 * Commit-confirm on etcd: a change written together with its rollback record and a guard key
 * on a lease, in one transaction; `confirm` removes both (the change stays); `rollback`
 * (run by the agents once the guard is gone) restores the previous values in one
 * transaction that only one caller can win. The record format and the restore decision are
 * pure (confirm_record.ts); this module only reads, compares and writes.
 */
import { type Compare, type EtcdClient, getKv, getPrefix, type TxnOp } from "./etcd_client.ts";
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

async function readKv(client: EtcdClient, key: string): Promise<CurrentKv> {
  const kv = await getKv(client, key);
  return kv ? { value: kv.value, modRevision: kv.modRevision } : undefined;
}

/** A transaction compare on one key. */
function cmp(key: string, target: Compare["target"], result: Compare["result"], value: number) {
  return { key, target, result, value };
}

/** The keys a delete would remove, read one by one so the record names each of them. */
async function readRanges(
  client: EtcdClient,
  ranges: readonly [string, boolean][],
): Promise<Map<string, CurrentKv>> {
  const out = new Map<string, CurrentKv>();
  for (const [key, isPrefix] of ranges) {
    const kvs = isPrefix ? await getPrefix(client, key) : (await client.range({ key })).kvs;
    for (const kv of kvs) out.set(kv.key, { value: kv.value, modRevision: kv.modRevision });
  }
  return out;
}

/** Commit-confirm operations on one etcd client. */
export class ConfirmStore {
  constructor(readonly client: EtcdClient) {}

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
    const lease = await this.client.leaseGrant(ttlSecs);
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
      await this.client.leaseRevoke(lease).catch(() => {});
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
    const ops: TxnOp[] = [];
    for (const g of resources) {
      for (const k of g.keys) {
        ops.push(k.after === null ? { delete: k.key } : { put: k.key, value: k.after });
      }
    }
    ops.push({ put: recordKey(id), value: encodeRecord(record) });
    ops.push({ put: guardKey(id), value: deadline.toISOString(), lease });
    const compares: Compare[] = [
      cmp(recordKey(id), "version", "==", 0),
      cmp(guardKey(id), "version", "==", 0),
    ];
    for (const [key, kv] of seen) {
      compares.push(
        kv === undefined ? cmp(key, "version", "==", 0) : cmp(key, "mod", "==", kv.modRevision),
      );
    }
    const res = await this.client.txn(compares, ops);
    if (!res.succeeded) return undefined;
    return { id, deadline, revision: res.revision, record };
  }

  /** Every change record, with whether its guard (and so its window) is gone. */
  async pending(): Promise<PendingChange[]> {
    const out: PendingChange[] = [];
    for (const kv of await getPrefix(this.client, RECORD_PREFIX)) {
      let record: ChangeRecord;
      try {
        record = decodeRecord(kv.key, kv.value);
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
    const guard = await getKv(this.client, guardKey(id));
    const res = await this.client.txn(
      [cmp(guardKey(id), "version", ">", 0), cmp(recordKey(id), "version", ">", 0)],
      [{ delete: recordKey(id) }, { delete: guardKey(id) }],
    );
    if (res.succeeded) {
      const lease = guard?.lease;
      if (lease && lease !== "0") await this.client.leaseRevoke(lease).catch(() => {});
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
      const kv = await getKv(this.client, recordKey(id));
      if (!kv) return { kind: "gone" };
      if (await readKv(this.client, guardKey(id)) !== undefined) return { kind: "pending" };
      let record: ChangeRecord;
      try {
        record = decodeRecord(recordKey(id), kv.value);
      } catch (e) {
        return { kind: "invalid", error: errorMessage(e) };
      }
      const changeRevision = kv.modRevision;
      const current = new Map<string, CurrentKv>();
      for (const g of record.resources) {
        for (const k of g.keys) current.set(k.key, await readKv(this.client, k.key));
      }
      const plan = planRollback(record, changeRevision, (key) => current.get(key));
      const compares: Compare[] = [
        cmp(recordKey(id), "mod", "==", changeRevision),
        cmp(guardKey(id), "version", "==", 0),
      ];
      const ops: TxnOp[] = [];
      for (const g of plan.restore) {
        for (const k of g.keys) {
          compares.push(
            k.after === null
              ? cmp(k.key, "version", "==", 0)
              : cmp(k.key, "mod", "==", changeRevision),
          );
          ops.push(k.before === null ? { delete: k.key } : { put: k.key, value: k.before });
        }
      }
      ops.push({ delete: recordKey(id) });
      const res = await this.client.txn(compares, ops);
      if (res.succeeded) return { kind: "restored", record, plan };
      // Lost to another agent (record gone) or a resource moved meanwhile: look again.
    }
    return { kind: "busy" };
  }
}
