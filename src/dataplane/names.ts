/**
 * Names and quoted text inside our nft table. Policy, profile and interface names may hold
 * characters that nft identifiers cannot (`/`, `:`, `@`, non-ASCII), and selector ids are long,
 * so every object name is built here: deterministic (the differ compares names across runs),
 * injective (two different inputs never share a chain) and bounded in length.
 */
import { createHash } from "node:crypto";

/** The one table hostfence owns; nothing outside it is ever touched. */
export const TABLE_FAMILY = "inet";
export const TABLE_NAME = "hostfence";
/** `inet hostfence`, as it appears after `add chain`, `flush chain`, ... */
export const TABLE_REF = `${TABLE_FAMILY} ${TABLE_NAME}`;

/** Escaped bodies up to this length are used as they are; longer ones are hashed. */
const MAX_PLAIN = 48;
/** Characters kept as they are: all valid anywhere in an nft identifier. */
const PLAIN = /^[A-Za-z0-9.-]$/;

/**
 * `<prefix>-<body>` where body is `raw` with every byte outside `[A-Za-z0-9.-]` (including `_`
 * itself) written `_xx` in hex, so the escape cannot collide with a plain name. A body longer
 * than 48 characters becomes its first 40 characters, `_` and 16 hex digits of SHA-256 of
 * `raw`; hashed bodies are 57 characters, so they never equal a plain one.
 */
export function objectName(prefix: string, raw: string): string {
  let body = "";
  for (const byte of new TextEncoder().encode(raw)) {
    const ch = String.fromCharCode(byte);
    body += byte < 0x80 && PLAIN.test(ch) ? ch : `_${byte.toString(16).padStart(2, "0")}`;
  }
  if (body.length > MAX_PLAIN) {
    const digest = createHash("sha256").update(raw).digest("hex").slice(0, 16);
    body = `${body.slice(0, 40)}_${digest}`;
  }
  return `${prefix}-${body}`;
}

/**
 * A quoted nft string for an interface name (a map key or `iifname` match). nft has no escape
 * for `"` and treats a trailing `*` as a wildcard, so `*` is escaped and a name with `"`, `\`
 * or a control character is refused with a TypeError (Linux names never hold them in
 * practice; the interface then cannot be policed and the caller must say so).
 */
export function quoteIfname(name: string): string {
  if (/["\\]/.test(name) || hasControl(name)) {
    throw new TypeError(`Interface name '${name}' cannot be written in nft syntax`);
  }
  return `"${name.replaceAll("*", "\\*")}"`;
}

/** An interface-prefix wildcard match value: `"cali*"`. */
export function quoteIfPrefix(prefix: string): string {
  if (/["\\*]/.test(prefix) || hasControl(prefix)) {
    throw new TypeError(`Interface prefix '${prefix}' cannot be written in nft syntax`);
  }
  return `"${prefix}*"`;
}

/**
 * A `comment "..."` argument: nft comments cannot hold `"` or newlines and are limited to
 * 127 bytes, so those characters become `'`/space and long text is cut (comments are for
 * people; counters are attributed by chain ownership, not by parsing comments).
 */
export function quoteComment(text: string): string {
  let t = [...text.replace(/["\\]/g, "'")].map((c) => (hasControl(c) ? " " : c)).join("");
  while (new TextEncoder().encode(t).length > 120) t = t.slice(0, -1);
  return `"${t}"`;
}

/** Text for a `log prefix "..."`, bounded like a comment (the kernel keeps 127 bytes). */
export function quoteLogPrefix(logPrefix: string): string {
  return quoteComment(`${logPrefix}: `);
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
