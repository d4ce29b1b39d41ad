/**
 * Reader for Felix's INI config file (`/etc/calico/felix.cfg`). Felix merges the keys
 * of every section, so this returns a flat list of entries in file order; the resolver decides
 * what duplicates mean. Pure: it sees text, never the file.
 */
import { quote } from "../log/quote.ts";

/** One `key = value` line. */
export interface IniEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based line number, for messages. */
  readonly line: number;
  /** The section the line is in ("" before the first header); informational only. */
  readonly section: string;
}

/** A line that is neither blank, a comment, a `[section]` header nor `key = value`. */
export class IniSyntaxError extends SyntaxError {
  override name = "IniSyntaxError";
  constructor(
    readonly path: string,
    readonly line: number,
    readonly column: number,
    reason: string,
  ) {
    super(`Error parsing config file ${path} line ${line} column ${column}: ${reason}`);
  }
}

function unquote(v: string): string {
  for (const q of ['"""', '"', "'", "`"]) {
    if (v.length >= 2 * q.length && v.startsWith(q) && v.endsWith(q)) {
      return v.slice(q.length, v.length - q.length);
    }
  }
  // An unquoted value may carry a trailing comment after whitespace: `key = v  # note`.
  const m = /\s[#;]/.exec(v);
  return m ? v.slice(0, m.index).trimEnd() : v;
}

/**
 * Parses INI text: `[section]` headers, `key = value` or `key: value` lines, `#`/`;` comment
 * lines, blank lines. Values may be quoted (quotes are removed) and unquoted values may end in a
 * ` # comment`. Throws `IniSyntaxError` naming path, line and column for anything else.
 */
export function parseIni(text: string, path: string): IniEntry[] {
  const out: IniEntry[] = [];
  let section = "";
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    if (line.startsWith("[")) {
      const end = line.indexOf("]");
      if (end < 0) throw new IniSyntaxError(path, lineNo, indent + 1, "section header lacks ']'");
      const after = line.slice(end + 1);
      const rest = after.trim();
      if (rest !== "" && !rest.startsWith("#") && !rest.startsWith(";")) {
        const col = indent + end + 1 + (after.length - after.trimStart().length) + 1;
        throw new IniSyntaxError(path, lineNo, col, "unexpected text after ']'");
      }
      section = line.slice(1, end).trim();
      return;
    }
    const eq = line.search(/[=:]/);
    if (eq < 0) {
      throw new IniSyntaxError(
        path,
        lineNo,
        indent + 1,
        `expected "key = value" or "[section]", found ${quote(line)}`,
      );
    }
    const key = line.slice(0, eq).trim();
    if (key === "") throw new IniSyntaxError(path, lineNo, indent + 1, "empty key name");
    const value = unquote(line.slice(eq + 1).trim());
    out.push({ key, value, line: lineNo, section });
  });
  return out;
}
