/** Effective labels with profile inheritance and the tag selector. */
import { effectiveLabels, labelLookup, tagSelector } from "../../src/selector/labels.ts";
import { parseSelector } from "../../src/selector/mod.ts";

function assertEquals<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

Deno.test({
  name: "own labels beat profiles, earlier profiles beat later ones, labels beat tags",
  fn: () => {
    const L = effectiveLabels({ role: "db" }, [
      { labels: { zone: "a", role: "web", gold: "yes" }, tags: ["gold", "silver"] },
      { labels: { zone: "b", silver: "no", extra: "e" }, tags: ["bronze", "zone"] },
    ]);
    assertEquals(L("role"), "db", "own beats profile");
    assertEquals(L("zone"), "a", "earlier profile beats later");
    assertEquals(L("gold"), "yes", "label beats same-named tag in one profile");
    assertEquals(L("silver"), "", "earlier profile's tag beats later profile's label");
    assertEquals(L("extra"), "e", "later profile still contributes");
    assertEquals(L("bronze"), "", "tag has empty value");
    assertEquals(L("missing"), undefined, "missing");
  },
});

Deno.test({
  name: "effective labels work without own labels or profiles and ignore Object.prototype",
  fn: () => {
    const none = effectiveLabels(undefined, []);
    assertEquals(none("role"), undefined, "nothing");
    assertEquals(none("constructor"), undefined, "constructor");
    const tagsOnly = effectiveLabels(undefined, [{ tags: ["t"] }, {}]);
    assertEquals(tagsOnly("t"), "", "tag only");
    assertEquals(labelLookup({ a: "1" })("toString"), undefined, "record lookup is own-only");
    assertEquals(labelLookup(new Map([["a", "1"]]))("a"), "1", "map lookup");
  },
});

Deno.test({
  name: "a rule tag T is exactly the selector has(T)",
  fn: () => {
    for (const tag of ["gold", "a.b", "x_y-z", "in", "not", "index"]) {
      const text = tagSelector(tag);
      assertEquals(text, `has(${tag})`, "text");
      const sel = parseSelector(text);
      assertEquals(sel.canonical, text, "already canonical");
      assertEquals(sel.uniqueId, parseSelector(`has( ${tag} )`).uniqueId, "same id as has()");
      assertEquals(
        sel.evaluate(effectiveLabels(undefined, [{ tags: [tag] }])),
        true,
        "tag matches",
      );
      assertEquals(sel.evaluate(effectiveLabels({}, [])), false, "absent");
    }
  },
});
