/**
 * Worked selector examples over label sets A-D, invalid selectors (less the two that hostfence
 * makes valid: newlines as whitespace, keys beginning `in`/`not` on the left of a comparison),
 * hostfence's additions (`contains`, `starts with`, `ends with`), and the shape of syntax errors.
 */
import { parseSelector, SelectorSyntaxError } from "../../src/selector/mod.ts";
import { effectiveLabels, labelLookup } from "../../src/selector/labels.ts";
import { assertStrictEquals } from "../harness/assert.ts";

function parseError(text: string): SelectorSyntaxError {
  try {
    parseSelector(text);
  } catch (e) {
    if (e instanceof SelectorSyntaxError) return e;
    throw new Error(`${JSON.stringify(text)} threw a non-selector error: ${e}`);
  }
  throw new Error(`${JSON.stringify(text)} parsed but should not have`);
}

const A = labelLookup({ role: "db", env: "prod" });
const B = labelLookup({ role: "web", env: "dev", tier: "frontend" });
const C = labelLookup({});
const D = effectiveLabels({ role: "db" }, [{ labels: { zone: "a", role: "web" }, tags: ["gold"] }]);

/** [selector, A, B, C, D] with the expected result on each label set. */
const EXAMPLES: readonly [string, boolean, boolean, boolean, boolean][] = [
  ["", true, true, true, true],
  ["all()", true, true, true, true],
  ['role == "db"', true, false, false, true],
  ["role == 'db'", true, false, false, true],
  ['role != "db"', false, true, true, false],
  ["has(role)", true, true, false, true],
  ["!has(role)", false, false, true, false],
  ['role in {"db", "web"}', true, true, false, true],
  ['role not in {"db"}', false, true, true, false],
  ['role == "db" && env == "prod"', true, false, false, false],
  ['role == "db" || tier == "frontend"', true, true, false, true],
  ['!role == "db"', false, true, true, false],
  ["!!has(env)", true, true, false, false],
  ['env == "prod" && (role == "web" || role == "db")', true, false, false, false],
  ['a == "x" && b == "y" || has(tier)', false, true, false, false],
  ["has(zone)", false, false, false, true],
  ['zone == "a"', false, false, false, true],
  ["has(gold)", false, false, false, true],
  ['gold == ""', false, false, false, true],
  ["role in {}", false, false, false, false],
  ["role not in {}", true, true, true, true],
  ['!(has(tier) || env == "prod")', false, false, true, true],
  ['env != "dev" && has(role)', true, false, false, true],
  ['role == "DB"', false, false, false, false],
];

Deno.test({
  name: "the 24 worked examples evaluate as tabled on label sets A-D",
  fn: async (t) => {
    assertStrictEquals(EXAMPLES.length, 24, "example count");
    for (const [i, [text, a, b, c, d]] of EXAMPLES.entries()) {
      await t.step(`#${i + 1} ${JSON.stringify(text)}`, () => {
        const sel = parseSelector(text);
        assertStrictEquals(sel.evaluate(A), a, "A");
        assertStrictEquals(sel.evaluate(B), b, "B");
        assertStrictEquals(sel.evaluate(C), c, "C");
        assertStrictEquals(sel.evaluate(D), d, "D");
        // The canonical form means the same thing.
        const again = parseSelector(sel.canonical);
        assertStrictEquals(again.canonical, sel.canonical, "canonical re-parse");
        for (
          const [name, l, want] of [["A", A, a], ["B", B, b], ["C", C, c], ["D", D, d]] as const
        ) {
          assertStrictEquals(again.evaluate(l), want, `canonical on ${name}`);
        }
      });
    }
  },
});

Deno.test({
  name: "rule tag gold and selector has(gold) are the same selector on D",
  fn: () => {
    assertStrictEquals(parseSelector("has(gold)").evaluate(D), true, "has(gold) on D");
    assertStrictEquals(parseSelector("has(gold)").evaluate(A), false, "has(gold) on A");
  },
});

/** Invalid Calico selectors that stay invalid, with where the parser should stop. */
const INVALID: readonly [string, number][] = [
  ['role = "db"', 5],
  ["role == db", 8],
  ['"db" == role', 0],
  ["role", 4],
  ["a b", 2],
  ["!", 1],
  ['role == "db" &', 13],
  ['role == "db" |', 13],
  ['role in "db"', 8],
  ['(role == "db"', 13],
  [")", 0],
  ["()", 1],
  ["%", 0],
  ["has(role", 8],
];

Deno.test({
  name: "the invalid selectors raise SelectorSyntaxError at the offending position",
  fn: async (t) => {
    for (const [text, position] of INVALID) {
      await t.step(JSON.stringify(text), () => {
        const e = parseError(text);
        assertStrictEquals(e.position, position, "position");
        assertStrictEquals(e.selector, text, "selector");
        assertStrictEquals(e.name, "SelectorSyntaxError", "name");
        if (!e.message.startsWith(`Selector ${JSON.stringify(text)} is invalid at position `)) {
          throw new Error(`message shape: ${e.message}`);
        }
      });
    }
  },
});

Deno.test({
  name: "more invalid selectors from Calico's own list are rejected",
  fn: () => {
    for (
      const text of [
        "b == b",
        "'b1' == b",
        "b",
        '"FOO',
        "\"FOO'",
        "'FOO",
        "(",
        'a in {"a",}',
        'a in {"a" "b"}',
        'a in {"a"',
        "has()",
        "has(a b)",
        "all(x)",
        "all",
        "has (a)",
        'a == "b" && ',
        'a == "b" || || b == "c"',
        'a == "b")',
        'a === "b"',
        'a ! "b"',
        "a in",
        'a starts "x"',
        'a containsx "x"',
        'a not "x"',
        'a index {"x"}',
        "x".repeat(513) + ' == "y"',
      ]
    ) {
      parseError(text);
    }
  },
});

Deno.test({
  name: "error messages say what was expected and quote the selector",
  fn: async (t) => {
    const cases: [string, string][] = [
      ["role = 'db'", `Selector "role = 'db'" is invalid at position 5: expected "=="`],
      ['role == "db" &', `Selector "role == \\"db\\" &" is invalid at position 13: expected "&&"`],
      ['role == "db" |', `Selector "role == \\"db\\" |" is invalid at position 13: expected "||"`],
      ["role == db", `Selector "role == db" is invalid at position 8: expected a quoted string`],
      [
        "role",
        `Selector "role" is invalid at position 4: expected "==", "!=", "in", "not in", ` +
        `"contains", "starts with" or "ends with"`,
      ],
      [
        "%",
        `Selector "%" is invalid at position 0: expected a label key, "has(", "all()", "!" or "("`,
      ],
      [
        '(a == "b"',
        `Selector "(a == \\"b\\"" is invalid at position 9: expected "&&", "||" or ")"`,
      ],
      [
        'a == "b" c',
        `Selector "a == \\"b\\" c" is invalid at position 9: expected "&&", "||" or the end of the selector`,
      ],
      ['a in "b', `Selector "a in \\"b" is invalid at position 5: expected "{"`],
      [
        'a == "b',
        `Selector "a == \\"b" is invalid at position 5: expected a closing '"' for the string`,
      ],
      [
        'a in {"b" "c"}',
        `Selector "a in {\\"b\\" \\"c\\"}" is invalid at position 10: expected "," or "}"`,
      ],
      ["has(a", `Selector "has(a" is invalid at position 5: expected ")"`],
      ["has( )", `Selector "has( )" is invalid at position 5: expected a label key`],
      ["a\n=", `Selector "a\\n=" is invalid at position 2: expected "=="`],
    ];
    for (const [text, message] of cases) {
      await t.step(
        JSON.stringify(text),
        () => assertStrictEquals(parseError(text).message, message, "message"),
      );
    }
  },
});

Deno.test({
  name: "hostfence: label keys beginning with in/not work on the left of a comparison",
  fn: async (t) => {
    const L = labelLookup({
      "in-zone": "x",
      notice: "n",
      index: "3",
      in: "i",
      not: "y",
      "not-in": "z",
    });
    // [selector, canonical, on L, on no labels]
    const cases: [string, string, boolean, boolean][] = [
      ['in-zone == "x"', 'in-zone == "x"', true, false],
      ['in-zone != "x"', 'in-zone != "x"', false, true],
      ['notice == "n"', 'notice == "n"', true, false],
      ['index in {"3", "4"}', 'index in {"3", "4"}', true, false],
      ['in == "i"', 'in == "i"', true, false],
      ['not not in {"y"}', 'not not in {"y"}', false, true],
      ['not in {"y"}', 'not in {"y"}', true, false],
      ['not-in notin {"q"}', 'not-in not in {"q"}', true, true],
      ['!in-zone == "x"', '!in-zone == "x"', false, true],
      ["has(in-zone) && has(notice)", "(has(in-zone) && has(notice))", true, false],
      ['in-zone starts with "x"', 'in-zone starts with "x"', true, false],
    ];
    for (const [text, canonical, want, onEmpty] of cases) {
      await t.step(JSON.stringify(text), () => {
        const sel = parseSelector(text);
        assertStrictEquals(sel.canonical, canonical, "canonical");
        assertStrictEquals(sel.evaluate(L), want, "evaluate");
        assertStrictEquals(sel.evaluate(C), onEmpty, "on no labels");
      });
    }
  },
});

Deno.test({
  name: "hostfence: newlines and carriage returns count as whitespace",
  fn: () => {
    const text = 'role == "db"\n  && (env == "prod"\r\n  || has(\ntier\n))\n';
    const sel = parseSelector(text);
    assertStrictEquals(
      sel.canonical,
      '(role == "db" && (env == "prod" || has(tier)))',
      "canonical",
    );
    assertStrictEquals(sel.evaluate(A), true, "A");
    assertStrictEquals(sel.evaluate(B), false, "B");
    assertStrictEquals(parseSelector("\n\r\n\t ").canonical, "all()", "whitespace only");
    assertStrictEquals(parseSelector("all(\n)").canonical, "all()", "all() with newline");
    assertStrictEquals(
      parseSelector('role\nnot\nin\n{\n"db"\n,\n"x"\n}').canonical,
      'role not in {"db", "x"}',
      "set",
    );
    assertStrictEquals(
      parseSelector('role == "a\nb"').evaluate(labelLookup({ role: "a\nb" })),
      true,
      "in string",
    );
  },
});

Deno.test({
  name: "hostfence: contains, starts with and ends with; a missing label is false",
  fn: async (t) => {
    const L = labelLookup({ host: "web-01.example", empty: "" });
    const cases: [string, string, boolean][] = [
      ['host contains "01"', 'host contains "01"', true],
      ['host contains "02"', 'host contains "02"', false],
      ['host starts with "web-"', 'host starts with "web-"', true],
      ["host starts  with 'db'", 'host starts with "db"', false],
      ['host ends with ".example"', 'host ends with ".example"', true],
      ['host endswith "web"', 'host ends with "web"', false],
      ['host contains ""', 'host contains ""', true],
      ['empty starts with ""', 'empty starts with ""', true],
      ['missing contains ""', 'missing contains ""', false],
      ['missing starts with ""', 'missing starts with ""', false],
      ['missing ends with ""', 'missing ends with ""', false],
      ['!missing contains "x"', '!missing contains "x"', true],
      [`host contains 'say "hi"'`, `host contains 'say "hi"'`, false],
      ['contains contains "x"', 'contains contains "x"', false],
    ];
    for (const [text, canonical, want] of cases) {
      await t.step(JSON.stringify(text), () => {
        const sel = parseSelector(text);
        assertStrictEquals(sel.canonical, canonical, "canonical");
        assertStrictEquals(sel.evaluate(L), want, "evaluate");
      });
    }
  },
});

Deno.test({
  name: "Calico's own evaluation cases behave the same",
  fn: () => {
    const cases: [string, Record<string, string>, boolean][] = [
      ['a != "a"', {}, true],
      ['!a in {"a"}', { a: "b" }, true],
      ['a not in {"d", "e"}', { a: "a" }, true],
      ["!!! has(a)", { a: "b" }, false],
      ["!! ! has(a)", { a: "b" }, false],
      ["! !!has(a)", { a: "b" }, false],
      ["!(!has(a) || has(b))", { a: "a" }, true],
      ["! a == 'a1' || ! b == 'b1'", { a: "a1", b: "b1" }, false],
      ["a != 'a1' && !b == 'b1'", { a: "a1", b: "b1" }, false],
      ['a in {"a", "b", "c", "d", "e", "f", "g", "h", "i"}', { a: "i" }, true],
      ['a not in {"a", "b", "c", "d", "e", "f", "g", "h", "i"}', { a: "i" }, false],
      ['a not in {"a", "b", "c", "d", "e", "f", "g", "h", "i"}', {}, true],
      ["has(constructor)", {}, false],
      ['toString == "x"', {}, false],
    ];
    for (const [text, labels, want] of cases) {
      assertStrictEquals(
        parseSelector(text).evaluate(labelLookup(labels)),
        want,
        `${text} on ${JSON.stringify(labels)}`,
      );
    }
  },
});

Deno.test({
  name: "only SelectorSyntaxError escapes, even for absurd nesting",
  fn: () => {
    const deep = parseError("(".repeat(100_000));
    assertStrictEquals(deep.position <= 100_000, true, "position in range");
    const nested = "(".repeat(150) + "has(a)" + ")".repeat(150);
    assertStrictEquals(parseSelector(nested).canonical, "has(a)", "150 levels are fine");
    assertStrictEquals(
      parseSelector("!".repeat(100_001) + "has(a)").canonical,
      "!has(a)",
      "many nots",
    );
  },
});
