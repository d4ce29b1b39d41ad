/**
 * Seeded property and fuzz tests. Random selectors are generated from the grammar together with
 * an independent reference meaning, so the parser and evaluator are checked against something
 * other than themselves; random garbage and mutations check that bad input only ever raises
 * SelectorSyntaxError with a position inside the text.
 */
import { type LabelLookup, parseSelector, SelectorSyntaxError } from "../../src/selector/mod.ts";
import { labelLookup } from "../../src/selector/labels.ts";
import { quote } from "../../src/log/quote.ts";
import { prng as rng } from "../fixtures/prng.ts";

type Ref = (labels: ReadonlyMap<string, string>) => boolean;
interface Gen {
  readonly text: string;
  readonly ref: Ref;
}

const LABELS = [
  "role",
  "env",
  "tier",
  "zone",
  "in-zone",
  "notice",
  "index",
  "in",
  "not",
  "has",
  "all",
  "contains",
  "starts",
  "ends",
  "a.b/c",
  "x_1",
  "9",
];
const VALUES = ["db", "web", "", "a", "prod", "it's", 'say "hi"', "x y", "DB", "web-01", "01", "é"];

class Generator {
  constructor(readonly r: () => number) {}

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)] as T;
  }

  /** Optional whitespace, mostly none or a space, sometimes newlines. */
  ws(): string {
    return this.pick(["", "", "", " ", " ", "  ", "\t", "\n", "\r\n", " \n "]);
  }

  /** Whitespace that must separate a label from a word operator. */
  ws1(): string {
    return this.pick([" ", " ", "  ", "\t", "\n", "\r\n"]);
  }

  str(v: string): string {
    if (v.includes('"')) return `'${v}'`;
    if (v.includes("'")) return `"${v}"`;
    return this.r() < 0.5 ? `'${v}'` : `"${v}"`;
  }

  selector(): Gen {
    if (this.r() < 0.03) return { text: this.ws(), ref: () => true };
    const e = this.or(0);
    return { text: this.ws() + e.text + this.ws(), ref: e.ref };
  }

  or(depth: number): Gen {
    const parts = this.list(() => this.and(depth));
    const refs = parts.map((p) => p.ref);
    return {
      text: parts.map((p) => p.text).join(this.ws() + "||" + this.ws()),
      ref: (m) => refs.some((f) => f(m)),
    };
  }

  and(depth: number): Gen {
    const parts = this.list(() => this.unary(depth));
    const refs = parts.map((p) => p.ref);
    return {
      text: parts.map((p) => p.text).join(this.ws() + "&&" + this.ws()),
      ref: (m) => refs.every((f) => f(m)),
    };
  }

  list(make: () => Gen): Gen[] {
    const n = this.r() < 0.55 ? 1 : this.r() < 0.7 ? 2 : 3;
    return Array.from({ length: n }, make);
  }

  unary(depth: number): Gen {
    const nots = this.r() < 0.7 ? 0 : Math.floor(this.r() * 4);
    let prefix = "";
    for (let i = 0; i < nots; i++) prefix += "!" + this.ws();
    const p = this.primary(depth);
    return { text: prefix + p.text, ref: nots % 2 === 1 ? (m) => !p.ref(m) : p.ref };
  }

  primary(depth: number): Gen {
    const k = this.pick(LABELS);
    const v = this.pick(VALUES);
    const choice = depth < 3 && this.r() < 0.2 ? "paren" : this.pick([
      "all",
      "has",
      "eq",
      "ne",
      "in",
      "notIn",
      "contains",
      "starts",
      "ends",
    ]);
    switch (choice) {
      case "paren": {
        const inner = this.or(depth + 1);
        return { text: "(" + this.ws() + inner.text + this.ws() + ")", ref: inner.ref };
      }
      case "all":
        return { text: `all(${this.ws()})`, ref: () => true };
      case "has":
        return { text: `has(${this.ws()}${k}${this.ws()})`, ref: (m) => m.has(k) };
      case "eq":
        return {
          text: `${k}${this.ws()}==${this.ws()}${this.str(v)}`,
          ref: (m) => m.get(k) === v,
        };
      case "ne":
        return {
          text: `${k}${this.ws()}!=${this.ws()}${this.str(v)}`,
          ref: (m) => !m.has(k) || m.get(k) !== v,
        };
      case "in":
      case "notIn": {
        const n = Math.floor(this.r() * 4);
        const vs = Array.from({ length: n }, () => this.pick(VALUES));
        const op = choice === "in" ? "in" : this.pick(["not in", "notin", "not  in", "not\nin"]);
        const text = `${k}${this.ws1()}${op}${this.ws()}{${this.ws()}` +
          vs.map((x) => this.str(x)).join(this.ws() + "," + this.ws()) + this.ws() + "}";
        return choice === "in"
          ? { text, ref: (m) => m.has(k) && vs.includes(m.get(k) as string) }
          : { text, ref: (m) => !m.has(k) || !vs.includes(m.get(k) as string) };
      }
      case "contains":
        return {
          text: `${k}${this.ws1()}contains${this.ws()}${this.str(v)}`,
          ref: (m) => m.has(k) && (m.get(k) as string).includes(v),
        };
      case "starts":
        return {
          text: `${k}${this.ws1()}starts${this.ws1()}with${this.ws()}${this.str(v)}`,
          ref: (m) => m.has(k) && (m.get(k) as string).startsWith(v),
        };
      default:
        return {
          text: `${k}${this.ws1()}ends${this.ws1()}with${this.ws()}${this.str(v)}`,
          ref: (m) => m.has(k) && (m.get(k) as string).endsWith(v),
        };
    }
  }

  labels(): Map<string, string> {
    const m = new Map<string, string>();
    for (const k of LABELS) if (this.r() < 0.4) m.set(k, this.pick(VALUES));
    return m;
  }
}

Deno.test({
  name: "random selectors agree with a reference meaning and canonical forms are fixed points",
  fn: () => {
    const g = new Generator(rng(0x5e1ec7));
    const maps = Array.from({ length: 24 }, () => g.labels());
    maps.push(new Map());
    const lookups: LabelLookup[] = maps.map((m) => labelLookup(m));
    let cases = 0;
    let trues = 0;
    const canonicals = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const { text, ref } = g.selector();
      const sel = parseSelector(text);
      const again = parseSelector(sel.canonical);
      if (again.canonical !== sel.canonical) {
        throw new Error(
          `Canonical ${JSON.stringify(sel.canonical)} re-parsed to ${
            JSON.stringify(again.canonical)
          }`,
        );
      }
      if (again.uniqueId !== sel.uniqueId) {
        throw new Error(`Id changed for ${JSON.stringify(text)}`);
      }
      canonicals.add(sel.canonical);
      for (let j = 0; j < maps.length; j++) {
        const want = ref(maps[j] as Map<string, string>);
        const L = lookups[j] as LabelLookup;
        if (sel.evaluate(L) !== want || again.evaluate(L) !== want) {
          throw new Error(
            `${JSON.stringify(text)} (canonical ${JSON.stringify(sel.canonical)}) on ` +
              `${JSON.stringify([...(maps[j] as Map<string, string>)])}: expected ${want}`,
          );
        }
        cases++;
        if (want) trues++;
      }
    }
    // The generator must exercise both answers and many distinct selectors.
    if (trues < cases * 0.2 || trues > cases * 0.8) throw new Error(`Skewed: ${trues}/${cases}`);
    if (canonicals.size < 4000) throw new Error(`Too few distinct selectors: ${canonicals.size}`);
  },
});

const ALPHABET = [
  ..."()!&|=,{}\"' \t\n\rabcdeghilnorstwz-._/%01",
  "in",
  "not",
  "has(",
  "all(",
  "==",
  "!=",
  "&&",
  "||",
  "\u00e9",
  "\u{1F600}",
  "\0",
];

function checkOutcome(text: string, counts: { ok: number; bad: number }): void {
  let sel;
  try {
    sel = parseSelector(text);
  } catch (e) {
    if (!(e instanceof SelectorSyntaxError)) {
      throw new Error(`${JSON.stringify(text)} threw ${e}, not a SelectorSyntaxError`);
    }
    const p = e.position;
    if (!Number.isInteger(p) || p < 0 || p > text.length) {
      throw new Error(`${JSON.stringify(text)}: position ${p} outside 0..${text.length}`);
    }
    // Quoted as JSON, cut after QUOTE_MAX_CHARS characters (issue 10: long values in logs).
    const head = `Selector ${quote(text)} is invalid at position ${p}: expected `;
    if (!e.message.startsWith(head) || e.selector !== text) {
      throw new Error(`${JSON.stringify(text)}: bad message ${JSON.stringify(e.message)}`);
    }
    counts.bad++;
    return;
  }
  if (parseSelector(sel.canonical).canonical !== sel.canonical) {
    throw new Error(`${JSON.stringify(text)}: canonical is not a fixed point`);
  }
  counts.ok++;
}

Deno.test({
  name: "fuzz: garbage strings only ever raise SelectorSyntaxError with a position in the text",
  fn: () => {
    const g = new Generator(rng(0xbadf00d));
    const counts = { ok: 0, bad: 0 };
    for (let i = 0; i < 6000; i++) {
      const n = Math.floor(g.r() * 30);
      let text = "";
      for (let j = 0; j < n; j++) text += g.pick(ALPHABET);
      checkOutcome(text, counts);
    }
    if (counts.bad < 3000 || counts.ok < 20) throw new Error(`Vacuous: ${JSON.stringify(counts)}`);
  },
});

Deno.test({
  name:
    "fuzz: mutated valid selectors only ever raise SelectorSyntaxError with a position in the text",
  fn: () => {
    const g = new Generator(rng(0xfeed));
    const counts = { ok: 0, bad: 0 };
    for (let i = 0; i < 6000; i++) {
      let text = g.selector().text;
      const edits = 1 + Math.floor(g.r() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(g.r() * (text.length + 1));
        switch (Math.floor(g.r() * 5)) {
          case 0: // delete a character
            text = text.slice(0, at) + text.slice(at + 1);
            break;
          case 1: // insert a token-ish piece
            text = text.slice(0, at) + g.pick(ALPHABET) + text.slice(at);
            break;
          case 2: // replace a character
            text = text.slice(0, at) + g.pick(ALPHABET) + text.slice(at + 1);
            break;
          case 3: // duplicate a slice
            text = text.slice(0, at) + text.slice(at, at + 1 + Math.floor(g.r() * 6)) +
              text.slice(at);
            break;
          default: // truncate
            text = text.slice(0, at);
        }
      }
      checkOutcome(text, counts);
    }
    if (counts.bad < 1000 || counts.ok < 1000) {
      throw new Error(`Vacuous: ${JSON.stringify(counts)}`);
    }
  },
});
