/**
 * The lockout check at the edge of the write commands: reads the datastore's keys, applies
 * the proposed change to a copy with the store's own key layout (writesFor / deleteRanges),
 * converts both with the agents' own conversion (convertKeyValue) and asks lockout.ts whether
 * management access would be cut. Returns the refusal text, or undefined to go ahead.
 */
import type { PortSpec } from "../calc/host_state.ts";
import { listInterfaces } from "../agent/interfaces.ts";
import { convertKeyValue } from "../datastore/convert.ts";
import { deleteRanges, writesFor } from "../datastore/etcd_store.ts";
import { globalConfigKey, hostConfigKey, missingIdentifier } from "../datastore/keys.ts";
import type { ResourceId, ResourceStore } from "../datastore/store.ts";
import type { ModelUpdate } from "../datastore/updates.ts";
import { canonicalIp, familyOf, normaliseCidr } from "../net/ip.ts";
import type { Resource } from "../model/resources.ts";
import { listFlag, type OptionSpec, type ParsedCommand } from "./args.ts";
import { formatFindings, lockoutCheck } from "../lockout/lockout.ts";

/** The flags every writing command takes for the check. */
export const LOCKOUT_OPTIONS: OptionSpec = {
  force: { type: "boolean" },
  "keep-open": { type: "string", multiple: true },
  "management-source": { type: "string", multiple: true },
};

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

/** A flag value that makes no sense; the caller prints the message and exits 1. */
export class LockoutFlagError extends Error {}

/** `tcp:22` -> { tcp, 22 }. */
export function parseKeepOpen(text: string): PortSpec {
  const m = /^(tcp|udp):([0-9]{1,5})$/i.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new LockoutFlagError(`--keep-open '${text}' is not PROTO:PORT (tcp:22, udp:53)`);
  }
  return { protocol: m[1]!.toLowerCase() as "tcp" | "udp", port };
}

/** A CIDR or address, canonical. */
export function parseManagementSource(text: string): string {
  const c = text.includes("/") ? normaliseCidr(text) : canonicalIp(text);
  if (c === undefined) {
    throw new LockoutFlagError(`--management-source '${text}' is not a CIDR or an IP address`);
  }
  return c;
}

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
 * Runs the check for `changes` unless `--force` or `--confirm-within` was given. Returns the
 * lines of the refusal, or undefined when the change may be written. Throws LockoutFlagError
 * for a bad `--keep-open` or `--management-source`.
 */
export async function lockoutRefusal(
  p: ParsedCommand,
  store: ResourceStore,
  changes: readonly Change[],
): Promise<string | undefined> {
  const keepOpen = listFlag(p, "keep-open").map(parseKeepOpen);
  const given = listFlag(p, "management-source").map(parseManagementSource);
  if (p.values.force === true || p.values["confirm-within"] !== undefined) return undefined;
  if (store.snapshot === undefined || changes.length === 0) return undefined;
  const sources = given.length > 0 ? given : await defaultManagementSources();
  if (sources.length === 0) return undefined;
  let before;
  try {
    before = await store.snapshot();
  } catch {
    // The datastore cannot be read: the write that follows fails with the usual message.
    return undefined;
  }
  const after = applyChanges(before, changes);
  const findings = await lockoutCheck(toUpdates(before), toUpdates(after), {
    sources,
    ...(keepOpen.length > 0 ? { keepOpen } : {}),
  });
  if (findings.length === 0) return undefined;
  return [
    "Refusing to write: the change would cut management access (nothing was written; " +
    "use --force to write it anyway):",
    ...formatFindings(findings).map((l) => `  ${l}`),
  ].join("\n");
}
