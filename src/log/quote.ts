/**
 * Quoting values in log lines and error messages. Values come from etcd, files and command
 * lines, so they can be huge (a 100k-character selector made a 600 KB log line, issue 10)
 * or hold bytes that a terminal or log shipper interprets (escape sequences, NUL, bidi
 * overrides). Every quoted value goes through here: shortened, with its full length said,
 * and with control and other invisible characters escaped so one value stays one line. Pure.
 */

/** How many characters of a value a message shows before cutting it. */
export const QUOTE_MAX_CHARS = 200;

/** Characters escaped: C0/C1 controls, DEL, line/paragraph separators, bidi and BOM marks. */
const UNSAFE =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SHORT: Readonly<Record<string, string>> = {
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

function _escapeChar(c: string): string {
  return SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** Options of quote(). */
export interface QuoteOptions {
  /**
   * `"` (default): JSON-style, `"` and `\` escaped too, so short printable strings look
   * exactly as JSON.stringify prints them. `'`: Go/calicoctl style `'value'`, only unsafe
   * characters escaped, so calicoctl's messages keep their wording.
   */
  readonly quote?: '"' | "'";
  /** Characters kept before cutting (default QUOTE_MAX_CHARS). */
  readonly max?: number;
}

/**
 * `value` quoted for a message: `"abc"`, or `"abc..." (100000 characters)` when longer than
 * `max`. Non-strings are shown as their JSON text (or String(value)), cut the same way but
 * not quoted again.
 */
export function quote(value: unknown, opts: QuoteOptions = {}): string {
  const max = opts.max ?? QUOTE_MAX_CHARS;
  if (typeof value !== "string") {
    let text: string;
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
    return _cut(escapeUnsafe(text.length > max ? text.slice(0, max) : text), text.length, max);
  }
  const q = opts.quote ?? '"';
  const head = value.length > max ? value.slice(0, max) : value;
  let body = q === '"' ? head.replace(/["\\]/g, (c) => `\\${c}`) : head;
  body = escapeUnsafe(body);
  return value.length > max ? `${q}${body}...${q} (${value.length} characters)` : `${q}${body}${q}`;
}

/** `text` with control and invisible characters written as `\n`, `\u001b` and so on. */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE, _escapeChar);
}

/**
 * `text` for a message that shows it unquoted (calicoctl wording such as `invalid IP address:
 * TEXT`): unsafe characters escaped, cut after `max` characters with the full length said.
 */
export function clip(text: string, max = QUOTE_MAX_CHARS): string {
  return _cut(escapeUnsafe(text.length > max ? text.slice(0, max) : text), text.length, max);
}

/** `escaped` (the escaped text of something `length` long), cut when `length` passes `max`. */
function _cut(escaped: string, length: number, max: number): string {
  return length > max ? `${escaped.slice(0, max)}... (${length} characters)` : escaped;
}
