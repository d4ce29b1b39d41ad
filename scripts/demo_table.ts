/**
 * The demo's printed results, as pure functions: verdict words, optional colour, and the
 * connections x steps table. Kept apart from scripts/demo.ts (which does all the I/O) so the
 * layout can be read and changed without touching namespaces or processes.
 */
import type { Verdict } from "../netlab/probe.ts";

/** What the guide says a connection should do after a step. */
export type Expect = "allow" | "drop";

/** The word a verdict is shown as: PASS and DROP, or the odd outcome spelled out. */
export function verdictWord(v: Verdict): string {
  switch (v) {
    case "allow":
      return "PASS";
    case "drop":
      return "DROP";
    case "refused":
      return "REFUSED";
    case "unreachable":
      return "UNREACH";
    case "error":
      return "ERROR";
  }
}

/** Colouring helpers; every one is the identity when colour is off (not a TTY, NO_COLOR). */
export interface Paint {
  readonly enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

/** ANSI colours when `enabled`, plain text otherwise. */
export function makePaint(enabled: boolean): Paint {
  const sgr = (code: string) => (s: string) => enabled ? `\x1b[${code}m${s}\x1b[0m` : s;
  return {
    enabled,
    bold: sgr("1"),
    dim: sgr("2"),
    green: sgr("32"),
    red: sgr("31"),
    yellow: sgr("33"),
    cyan: sgr("36"),
  };
}

/** One row of the table: a connection and its verdict after each step so far. */
export interface TableRow {
  readonly label: string;
  readonly verdicts: readonly Verdict[];
  readonly expected: readonly Expect[];
}

/** True when a verdict is what the guide predicts (PASS for allow, DROP for drop). */
export function asExpected(v: Verdict, e: Expect): boolean {
  return v === e;
}

/**
 * The results table as lines: a header row starting with `connection`, one row per
 * connection, cells left-aligned under their step names. A cell that differs from the
 * guide's prediction carries a `*` (so a reader, and the demo's test, can spot it without
 * colour). Padding is computed on the plain text, colour is added afterwards.
 */
export function renderTable(
  steps: readonly string[],
  rows: readonly TableRow[],
  paint: Paint,
): string[] {
  const first = "connection";
  const labelWidth = Math.max(first.length, ...rows.map((r) => r.label.length));
  const widths = steps.map((s, i) =>
    Math.max(
      s.length,
      ...rows.map((r) => cellPlain(r, i).length),
    )
  );
  const gap = "  ";
  const header = [first.padEnd(labelWidth), ...steps.map((s, i) => s.padEnd(widths[i]!))]
    .join(gap).trimEnd();
  const lines = [paint.bold(header)];
  for (const row of rows) {
    const cells = steps.map((_, i) => {
      const plain = cellPlain(row, i);
      const padded = plain.padEnd(widths[i]!);
      const v = row.verdicts[i];
      if (v === undefined) return padded;
      const e = row.expected[i];
      if (e !== undefined && !asExpected(v, e)) return paint.yellow(padded);
      return v === "allow" ? paint.green(padded) : paint.red(padded);
    });
    lines.push([row.label.padEnd(labelWidth), ...cells].join(gap).trimEnd());
  }
  return lines;
}

function cellPlain(row: TableRow, i: number): string {
  const v = row.verdicts[i];
  if (v === undefined) return "-";
  const e = row.expected[i];
  return verdictWord(v) + (e !== undefined && !asExpected(v, e) ? "*" : "");
}

/**
 * A two-column list (`name  text`) with the names padded to one width and the text wrapped
 * at `width` characters under itself, so long explanations stay readable in 80 columns.
 */
export function renderLegend(
  items: readonly (readonly [string, string])[],
  width = 78,
): string[] {
  const w = Math.max(...items.map(([n]) => n.length));
  const room = Math.max(20, width - w - 2);
  const out: string[] = [];
  for (const [name, text] of items) {
    wrap(text, room).forEach((l, i) => out.push(`${(i === 0 ? name : "").padEnd(w)}  ${l}`));
  }
  return out;
}

/** Greedy word wrap; a word longer than `width` gets a line of its own. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((x) => x !== "")) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += " " + word;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}
