/**
 * The lockout check at the edge of the write commands: its flags, and whether to run it. The
 * check itself (lockout_check.ts: the datastore's keys before and after the change, through
 * the agents' calculation and nft builder) loads only when it runs, so `get`, and writes with
 * `--force` or `--confirm-within`, load none of that code.
 */
import type { PortSpec } from "../calc/host_state.ts";
import type { ResourceStore } from "../datastore/store.ts";
import { canonicalIp, normaliseCidr } from "../net/ip.ts";
import { listFlag, type OptionSpec, type ParsedCommand } from "./args.ts";
import type { Change } from "./lockout_check.ts";

/** The flags every writing command takes for the check. */
export const LOCKOUT_OPTIONS: OptionSpec = {
  force: { type: "boolean" },
  "keep-open": { type: "string", multiple: true },
  "management-source": { type: "string", multiple: true },
};

// The change type lives with the check that reasons about it; a type import loads nothing.
export type { Change };

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
  const check = await import("./lockout_check.ts");
  const sources = given.length > 0 ? given : await check.defaultManagementSources();
  if (sources.length === 0) return undefined;
  let before;
  try {
    before = await store.snapshot();
  } catch {
    // The datastore cannot be read: the write that follows fails with the usual message.
    return undefined;
  }
  return await check.refusal(before, changes, { sources, keepOpen });
}
