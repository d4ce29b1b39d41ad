/**
 * The failsafe port syntax of FailsafeInboundHostPorts and FailsafeOutboundHostPorts, in both
 * of Felix's forms: Calico 2's `<protocol>:<port>` or a bare `<port>` (tcp), and Calico 3's
 * `<protocol>:<net>:<port>`, where an IPv6 net goes in brackets as Felix writes it
 * (`tcp:[2001:db8::/32]:22`). A net is a CIDR or a single address; it is stored with its host
 * bits cleared, as Felix's parser does. The same entries come structured from a v3
 * FelixConfiguration (`{protocol, port, net}`): `failsafePort` checks and normalises those, so
 * both routes produce identical values. Pure.
 */
import { formatCidr, networkOf, parseCidr } from "../net/ip.ts";

export interface PortSpec {
  readonly protocol: "tcp" | "udp";
  readonly port: number;
}

/**
 * One failsafe entry (FailsafeInboundHostPorts/FailsafeOutboundHostPorts): a port, and in
 * Calico 3's form a network. `net`, when present, is canonical `addr/len` text with host bits
 * cleared; an inbound failsafe then accepts only from it, an outbound one only to it, and only
 * in its address family. Absent = any address of either family.
 */
export interface FailsafePort extends PortSpec {
  readonly net?: string;
}

/** An entry that does not fit the syntax; the message is the reason and names the entry. */
export class FailsafeSyntaxError extends Error {
  override name = "FailsafeSyntaxError";
}

const FORMS = "<protocol>:<net>:<port>, <protocol>:<port> or <port>";

function fail(reason: string): never {
  throw new FailsafeSyntaxError(reason);
}

function portOf(text: string): number {
  if (!/^\d{1,5}$/.test(text)) return fail(`port "${text}" must be a number`);
  const n = Number(text);
  if (n > 65535) return fail(`port ${n} must be in the range 0-65535`);
  return n;
}

/** Canonical network text (`198.18.0.0/24`, `2001:db8::/32`); `undefined` when `text` is none. */
export function failsafeNet(text: string): string | undefined {
  const c = parseCidr(text.trim());
  return c === undefined ? undefined : formatCidr(networkOf(c));
}

/**
 * Checks and normalises a structured entry (a v3 FelixConfiguration's list item): protocol
 * `tcp`/`udp` in any case, port 0-65535, optional net (CIDR or address, brackets not needed).
 * Throws `FailsafeSyntaxError` naming the bad part.
 */
export function failsafePort(
  e: { readonly protocol?: string; readonly port: number; readonly net?: string },
): FailsafePort {
  const protocol = (e.protocol ?? "tcp").toLowerCase();
  if (protocol !== "tcp" && protocol !== "udp") {
    return fail(`unknown protocol "${e.protocol}" (expected tcp or udp)`);
  }
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) {
    return fail(`port ${e.port} must be in the range 0-65535`);
  }
  if (e.net === undefined || e.net === "") return { protocol, port: e.port };
  const net = failsafeNet(e.net);
  if (net === undefined) return fail(`net "${e.net}" is not a CIDR or IP address`);
  return { protocol, port: e.port, net };
}

/** Parses one trimmed, non-empty entry; throws `FailsafeSyntaxError`. */
export function parseFailsafePort(item: string): FailsafePort {
  let rest = item;
  let net: string | undefined;
  const open = item.indexOf("[");
  if (open >= 0) {
    // Felix's IPv6 form: the bracketed net is cut out first, so its colons do not count.
    const close = item.indexOf("]:", open);
    if (close < 0) return fail(`"${item}": an IPv6 net is written [net]:port`);
    net = item.slice(open + 1, close).trim();
    const before = item.slice(0, open).trim();
    if (before !== "" && !before.endsWith(":")) return fail(`"${item}" must be ${FORMS}`);
    rest = before + item.slice(close + 2);
  }
  const pieces = rest.split(":").map((s) => s.trim());
  if (pieces.length > 3 || (net !== undefined && pieces.length > 2)) {
    const hint = net === undefined && pieces.length > 3
      ? " (an IPv6 net goes in brackets: tcp:[2001:db8::/32]:22)"
      : "";
    return fail(`"${item}" must be ${FORMS}${hint}`);
  }
  const protoText = pieces.length >= 2 ? pieces[0] ?? "" : "tcp";
  const protocol = protoText.toLowerCase();
  if (protocol !== "tcp" && protocol !== "udp") {
    return fail(`unknown protocol "${protoText}" in "${item}" (expected tcp or udp)`);
  }
  if (pieces.length === 3) net = pieces[1] ?? "";
  const port = portOf(pieces[pieces.length - 1] ?? "");
  if (net === undefined) return { protocol, port };
  const canonical = failsafeNet(net);
  if (canonical === undefined) {
    return fail(`net "${net}" in "${item}" is not a CIDR or IP address (expected ${FORMS})`);
  }
  return { protocol, port, net: canonical };
}

/** The canonical key of an entry (also its text): equal keys mean the same failsafe. */
export function formatFailsafePort(p: FailsafePort): string {
  if (p.net === undefined) return `${p.protocol}:${p.port}`;
  return p.net.includes(":")
    ? `${p.protocol}:[${p.net}]:${p.port}`
    : `${p.protocol}:${p.net}:${p.port}`;
}

/**
 * Parses a comma list: spaces trimmed, empty items skipped, exact duplicates dropped (first
 * wins) so the dataplane can put ports straight into nft sets. Throws `FailsafeSyntaxError`.
 */
export function parseFailsafePorts(raw: string): FailsafePort[] {
  const out: FailsafePort[] = [];
  const seen = new Set<string>();
  for (const part of raw.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const p = parseFailsafePort(item);
    const key = formatFailsafePort(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** The list as an operator would type it; `none` for an empty list. */
export function formatFailsafePorts(list: readonly FailsafePort[]): string {
  return list.length === 0 ? "none" : list.map(formatFailsafePort).join(",");
}
