/** Canonical text and unique ids, including Calico's published test vectors. */
import { parseSelector } from "../../src/selector/mod.ts";
import { makeUniqueId, selectorUniqueId } from "../../src/selector/unique_id.ts";
import { compareCodePoints, normaliseSet } from "../../src/selector/ast.ts";
import { assertStrictEquals } from "../harness/assert.ts";

Deno.test({
  name: "the unique id of all() is Calico's",
  fn: () => {
    const want = "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug";
    assertStrictEquals(parseSelector("all()").uniqueId, want, "all()");
    assertStrictEquals(parseSelector("").uniqueId, want, "empty");
    assertStrictEquals(selectorUniqueId("all()"), want, "selectorUniqueId");
    assertStrictEquals(makeUniqueId("s", "all()"), want, "makeUniqueId");
  },
});

Deno.test({
  name: "canonical forms and ids match Calico's canonicalisation vectors",
  fn: async (t) => {
    const cases: [string, string, string][] = [
      ["", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"],
      [" all() ", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"],
      [" (all() )", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"],
      [
        "! (has( b)||! has(a ))",
        "!(has(b) || !has(a))",
        "s:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q",
      ],
      [
        '! (a == "b"&&! c != "d")',
        '!(a == "b" && !c != "d")',
        "s:lh3haoY1ikTRkd4UZu0nWSaIBknYLPJLX16d-w",
      ],
    ];
    for (const [text, canonical, id] of cases) {
      await t.step(JSON.stringify(text), () => {
        const sel = parseSelector(text);
        assertStrictEquals(sel.canonical, canonical, "canonical");
        assertStrictEquals(sel.uniqueId, id, "uniqueId");
        assertStrictEquals(parseSelector(canonical).canonical, canonical, "round trip");
      });
    }
  },
});

Deno.test({
  name: "canonical text follows Calico's rules",
  fn: async (t) => {
    const cases: [string, string][] = [
      ["   ", "all()"],
      ["all(   )", "all()"],
      ["all(\t)", "all()"],
      ["has(  role\t)", "has(role)"],
      ["role=='db'", 'role == "db"'],
      ["role!='db'", 'role != "db"'],
      [`role == 'say "hi"'`, `role == 'say "hi"'`],
      [`role == "it's"`, `role == "it's"`],
      ["role == ''", 'role == ""'],
      ['role in {"web","db","web", "app"}', 'role in {"app", "db", "web"}'],
      ["role not  in{'b','a'}", 'role not in {"a", "b"}'],
      ["role notin {}", "role not in {}"],
      ["role in {}", "role in {}"],
      [`role in {'x"y', "a"}`, `role in {"a", 'x"y'}`],
      ["!has(a)", "!has(a)"],
      ["! ! has(a)", "has(a)"],
      ["!!!has(a)", "!has(a)"],
      ["!(!has(a))", "has(a)"],
      ["!(has(a))", "!has(a)"],
      ["((has(a)))", "has(a)"],
      ["has(a)&&has(b)&&has(c)", "(has(a) && has(b) && has(c))"],
      ["has(a)||has(b)&&has(c)", "(has(a) || (has(b) && has(c)))"],
      ["(has(a)||has(b))&&has(c)", "((has(a) || has(b)) && has(c))"],
      ["(has(a)&&has(b))&&has(c)", "((has(a) && has(b)) && has(c))"],
      ["!(has(a) && has(b))", "!(has(a) && has(b))"],
      ["!role == 'x'", '!role == "x"'],
      ['a contains "x"', 'a contains "x"'],
      ["a starts   with 'x'", 'a starts with "x"'],
      ["a startswith 'x'", 'a starts with "x"'],
      [`a ends with 'q"'`, `a ends with 'q"'`],
      ["all()||all()", "(all() || all())"],
    ];
    for (const [text, canonical] of cases) {
      await t.step(JSON.stringify(text), () => {
        const sel = parseSelector(text);
        assertStrictEquals(sel.canonical, canonical, "canonical");
        const again = parseSelector(canonical);
        assertStrictEquals(again.canonical, canonical, "fixed point");
        assertStrictEquals(again.uniqueId, sel.uniqueId, "same id");
      });
    }
  },
});

Deno.test({
  name: "different selectors get different ids and equal ones the same",
  fn: () => {
    const a = parseSelector('role == "db"');
    const b = parseSelector("role=='db'");
    const c = parseSelector('role != "db"');
    assertStrictEquals(a.uniqueId, b.uniqueId, "same");
    assertStrictEquals(a.uniqueId === c.uniqueId, false, "different");
    if (!/^s:[A-Za-z0-9_-]{38}$/.test(a.uniqueId)) throw new Error(`id shape: ${a.uniqueId}`);
  },
});

Deno.test({
  name: "set values sort by code point like Go's byte-wise sort, not by UTF-16 unit",
  fn: () => {
    // U+FF5E (one UTF-16 unit, 0xFF5E) sorts before U+1F600 (surrogates 0xD83D...) by code point.
    const wide = "\u{1F600}";
    const high = "\uFF5E";
    assertStrictEquals(compareCodePoints(high, wide) < 0, true, "code point order");
    assertStrictEquals(high < wide, false, "UTF-16 order disagrees, which is why this exists");
    assertStrictEquals(
      normaliseSet([wide, high, "a", "a", ""]).join("|"),
      `|a|${high}|${wide}`,
      "sorted",
    );
    assertStrictEquals(
      parseSelector(`k in {"${wide}", "${high}"}`).canonical,
      `k in {"${high}", "${wide}"}`,
      "canonical set",
    );
  },
});
