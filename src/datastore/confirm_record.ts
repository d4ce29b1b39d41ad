import { errorMessage } from "../util/error_message.ts";
/**
 * Commit-confirm's data, pure: the deadline an operator types (`60s`, `2m`, `1m30s`), the
 * rollback record a confirmable change leaves in etcd, and the decision of what a rollback
 * may restore. The etcd side is confirm_store.ts; the agent's side src/agent/rollback.ts.
 *
 * Layout: the record of change ID lives at `/calico/hostfence/v1/confirm/record/<ID>`
 * (no lease: it survives agent and etcd restarts) and its guard at
 * `/calico/hostfence/v1/confirm/guard/<ID>`, bound to an etcd lease of the confirm window.
 * A record whose guard is gone is an expired, unconfirmed change.
 */

export const CONFIRM_PREFIX = "/calico/hostfence/v1/confirm/";
export const RECORD_PREFIX = CONFIRM_PREFIX + "record/";
export const GUARD_PREFIX = CONFIRM_PREFIX + "guard/";

export function recordKey(id: string): string {
  return RECORD_PREFIX + id;
}
export function guardKey(id: string): string {
  return GUARD_PREFIX + id;
}

/** The change ID under a record or guard key, or undefined for other keys. */
export function idOfKey(key: string): { id: string; part: "record" | "guard" } | undefined {
  for (const [prefix, part] of [[RECORD_PREFIX, "record"], [GUARD_PREFIX, "guard"]] as const) {
    if (key.startsWith(prefix) && key.length > prefix.length) {
      return { id: key.slice(prefix.length), part };
    }
  }
  return undefined;
}

/** Shortest and longest confirm windows: etcd's leases are not exact below a few seconds. */
export const MIN_CONFIRM_SECS = 2;
export const MAX_CONFIRM_SECS = 24 * 3600;

/** A `--confirm-within` value that is not a usable duration. */
export class DurationError extends Error {
  override name = "DurationError";
}

/**
 * Parses `--confirm-within`: hours, minutes and seconds in Go's duration style (`60s`, `2m`,
 * `1h`, `1m30s`), whole seconds only, between MIN_CONFIRM_SECS and MAX_CONFIRM_SECS. A bare
 * number is refused: `60` could be read as seconds or minutes.
 */
export function parseConfirmWithin(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (text.trim() === "" || !m) {
    throw new DurationError(
      `--confirm-within: '${text}' is not a duration; use seconds, minutes or hours ` +
        `such as 60s, 2m, 1m30s or 1h`,
    );
  }
  const secs = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  if (secs < MIN_CONFIRM_SECS || secs > MAX_CONFIRM_SECS) {
    throw new DurationError(
      `--confirm-within: '${text}' is out of range; give between ${MIN_CONFIRM_SECS}s and ` +
        `${MAX_CONFIRM_SECS / 3600}h`,
    );
  }
  return secs;
}

/** One key a change wrote: its value before (null: absent) and after (null: deleted). */
export interface KeyChange {
  readonly key: string;
  readonly before: string | null;
  readonly after: string | null;
}

/** The keys of one resource, restored together or not at all. */
export interface ResourceChange {
  /** calicoctl's rendering, e.g. `Policy(name=drop-ssh)`. */
  readonly resource: string;
  readonly keys: readonly KeyChange[];
}

/** The rollback record, stored as JSON. */
export interface ChangeRecord {
  readonly id: string;
  /** The command that made the change, e.g. `apply`. */
  readonly verb: string;
  /** ISO times. */
  readonly createdAt: string;
  readonly deadline: string;
  readonly ttlSecs: number;
  readonly resources: readonly ResourceChange[];
}

/** A new change ID: 8 hex digits, unique enough among the few pending changes. */
export function newChangeId(): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function encodeRecord(r: ChangeRecord): string {
  return JSON.stringify(r);
}

/** Decodes a stored record; throws naming the key when it is not one. */
export function decodeRecord(key: string, text: string): ChangeRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${key}: not a change record (${errorMessage(e)})`);
  }
  const r = v as ChangeRecord;
  const ok = typeof r === "object" && r !== null && typeof r.id === "string" &&
    Array.isArray(r.resources) &&
    r.resources.every((g: ResourceChange) =>
      typeof g?.resource === "string" && Array.isArray(g.keys) &&
      g.keys.every((k: KeyChange) =>
        typeof k?.key === "string" && (k.before === null || typeof k.before === "string") &&
        (k.after === null || typeof k.after === "string")
      )
    );
  if (!ok) throw new Error(`${key}: not a change record (fields missing or of the wrong type)`);
  return r;
}

/** Merges per-key changes: the first `before` and the last `after` of each key win. */
export function mergeKeyChanges(changes: readonly KeyChange[]): KeyChange[] {
  const byKey = new Map<string, KeyChange>();
  for (const c of changes) {
    const prev = byKey.get(c.key);
    byKey.set(c.key, prev ? { key: c.key, before: prev.before, after: c.after } : c);
  }
  return [...byKey.values()];
}

/** What etcd holds at a key now: absent, or a value written at `modRevision`. */
export type CurrentKv = { readonly value: string; readonly modRevision: number } | undefined;

/** The rollback of one record, as decided from what etcd holds now. */
export interface RollbackPlan {
  /** Resources that still hold what the change wrote: restored. */
  readonly restore: readonly ResourceChange[];
  /** Resources edited since the change: left alone (with the first key that moved). */
  readonly leave: readonly { readonly resource: string; readonly key: string }[];
}

/**
 * Decides what a rollback restores. A key still holds what the change wrote when the change
 * put it and its mod revision is still the change's revision (`changeRevision`, the record's
 * own mod revision: one transaction), or when the change deleted it and it is still absent.
 * A resource is restored only when all of its keys still hold; anything else was edited
 * since (even back to the same text) and is left alone.
 */
export function planRollback(
  record: ChangeRecord,
  changeRevision: number,
  current: (key: string) => CurrentKv,
): RollbackPlan {
  const restore: ResourceChange[] = [];
  const leave: { resource: string; key: string }[] = [];
  for (const g of record.resources) {
    const moved = g.keys.find((k) => {
      const now = current(k.key);
      return k.after === null ? now !== undefined : now?.modRevision !== changeRevision;
    });
    if (moved) leave.push({ resource: g.resource, key: moved.key });
    else restore.push(g);
  }
  return { restore, leave };
}

/** `Policy(name=x) (restored the previous value)` / `(removed: it did not exist before)`. */
export function describeRestore(g: ResourceChange): string {
  const created = g.keys.every((k: KeyChange) => k.before === null);
  const deleted = g.keys.every((k: KeyChange) => k.after === null);
  const what = created
    ? "removed: it did not exist before"
    : deleted
    ? "re-created with its previous value"
    : "restored its previous value";
  return `${g.resource} (${what})`;
}
