/**
 * The lockout check of a write command, loaded only when it runs (lockout_guard.ts decides):
 * reads nothing itself; takes the datastore's keys, applies the proposed change to a copy with
 * the store's own key layout (writesFor / deleteRanges), converts both with the agents' own
 * conversion (convertKeyValue) and asks src/lockout whether management access would be cut.
 */
import type { PortSpec } from "../calc/host_state.ts";
import { listInterfaces } from "../agent/interfaces.ts";
import { convertKeyValue } from "../datastore/convert.ts";
import { deleteRanges, writesFor } from "../datastore/etcd_store.ts";
import { globalConfigKey, hostConfigKey, missingIdentifier } from "../datastore/keys.ts";
import type { ModelUpdate } from "../datastore/updates.ts";
import { canonicalIp, familyOf } from "../net/ip.ts";
import { formatFindings, lockoutCheck } from "../lockout/lockout.ts";
import type { ResourceId } from "../datastore/store.ts";
import type { Resource } from "../model/resources.ts";

/** One proposed change, as the write command will make it. */
export type Change =
  | {
    readonly kind: "write";
    readonly verb: "create" | "apply" | "replace";
    readonly resource: Resource;
  }
  | { readonly kind: "delete"; readonly id: ResourceId }
  | {
    readonly kind: "config";
    readonly name: string;
    readonly node?: string;
    readonly value: string | null;
  };

/**
 * The default management sources: this machine's own addresses (not loopback, not
 * link-local), since operators run hostfence from where they manage the nodes from.
 */
export async function defaultManagementSources(): Promise<string[]> {
  const out: string[] = [];
  for (const i of await listInterfaces()) {
    for (const a of i.addrs) {
      const ip = canonicalIp(a);
      if (ip === undefined) continue;
      if (familyOf(ip) === 4 && ip.startsWith("127.")) continue;
      if (ip === "::1" || /^fe[89ab]/i.test(ip)) continue;
      out.push(ip);
    }
  }
  return [...new Set(out)].sort();
}

/** The keys after `changes`, applied in order to a copy of `before`. */
export function applyChanges(
  before: ReadonlyMap<string, string>,
  changes: readonly Change[],
): Map<string, string> {
  const after = new Map(before);
  for (const c of changes) {
    if (c.kind === "write") {
      const { primary, writes } = writesFor(c.resource);
      if (c.verb === "create" && after.has(primary)) continue; // create changes nothing then
      if (c.verb === "replace" && !after.has(primary)) continue; // replace fails then
      for (const w of writes) {
        if (w.value === null) after.delete(w.key);
        else after.set(w.key, w.value);
      }
    } else if (c.kind === "delete") {
      if (missingIdentifier(c.id) !== undefined) continue; // the store refuses it, by name
      for (const [key, isPrefix] of deleteRanges(c.id)) {
        for (const k of [...after.keys()]) {
          if (isPrefix ? k.startsWith(key) : k === key) after.delete(k);
        }
      }
    } else {
      const key = c.node === undefined ? globalConfigKey(c.name) : hostConfigKey(c.node, c.name);
      if (c.value === null) after.delete(key);
      else after.set(key, c.value);
    }
  }
  return after;
}

/** The agents' view of a key space: every key converted as the syncer converts it. */
export function toUpdates(kvs: ReadonlyMap<string, string>): ModelUpdate[] {
  const out: ModelUpdate[] = [];
  for (const [k, v] of [...kvs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const c = convertKeyValue(k, v);
    if (c !== undefined) out.push(c.update);
  }
  out.push({ type: "inSync" });
  return out;
}

/**
 * The refusal text when `changes` applied to the keys `before` would cut management access
 * from `sources` (to the `keepOpen` ports, else each node's failsafe inbound ports), else
 * undefined.
 */
export async function refusal(
  before: ReadonlyMap<string, string>,
  changes: readonly Change[],
  opts: { readonly sources: readonly string[]; readonly keepOpen: readonly PortSpec[] },
): Promise<string | undefined> {
  const after = applyChanges(before, changes);
  const findings = await lockoutCheck(toUpdates(before), toUpdates(after), {
    sources: opts.sources,
    ...(opts.keepOpen.length > 0 ? { keepOpen: opts.keepOpen } : {}),
  });
  if (findings.length === 0) return undefined;
  return [
    "Refusing to write: the change would cut management access (nothing was written; " +
    "use --force to write it anyway):",
    ...formatFindings(findings).map((l) => `  ${l}`),
  ].join("\n");
}
