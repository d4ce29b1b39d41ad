/**
 * Content-derived ids (libcalico-go `hash.MakeUniqueID`). A selector's id names its IP set, so
 * it must depend only on the canonical text and be the same on every host and every run.
 */
import { createHash } from "node:crypto";

/**
 * `prefix + ":" + base64url_nopad(SHA-224(prefix + ":" + content))`. SHA-224 because that is
 * Calico's choice (Web Crypto lacks it, hence `node:crypto`, which is synchronous).
 */
export function makeUniqueId(prefix: string, content: string): string {
  const digest = createHash("sha224").update(`${prefix}:${content}`, "utf8").digest("base64url");
  return `${prefix}:${digest}`;
}

/** The unique id of a selector with this canonical text, e.g. `s:5y5I3V...`. */
export function selectorUniqueId(canonical: string): string {
  return makeUniqueId("s", canonical);
}
