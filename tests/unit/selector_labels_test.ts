/** Effective labels with profile inheritance and the tag selector. */
import { effectiveLabels, labelLookup, tagSelector } from "../../src/selector/labels.ts";
import { parseSelector } from "../../src/selector/mod.ts";
import { assertStrictEquals } from "../harness/assert.ts";

Deno.test({
  name: "own labels beat profiles, earlier profiles beat later ones, labels beat tags",
  fn: () => {
    const L = effectiveLabels({ role: "db" }, [
      { labels: { zone: "a", role: "web", gold: "yes" }, tags: ["gold", "silver"] },
      { labels: { zone: "b", silver: "no", extra: "e" }, tags: ["bronze", "zone"] },
    ]);
    assertStrictEquals(L("role"), "db", "own beats profile");
    assertStrictEquals(L("zone"), "a", "earlier profile beats later");
    assertStrictEquals(L("gold"), "yes", "label beats same-named tag in one profile");
    assertStrictEquals(L("silver"), "", "earlier profile's tag beats later profile's label");
    assertStrictEquals(L("extra"), "e", "later profile still contributes");
    assertStrictEquals(L("bronze"), "", "tag has empty value");
    assertStrictEquals(L("missing"), undefined, "missing");
  },
});

Deno.test({
  name: "effective labels work without own labels or profiles and ignore Object.prototype",
  fn: () => {
    const none = effectiveLabels(undefined, []);
    assertStrictEquals(none("role"), undefined, "nothing");
    assertStrictEquals(none("constructor"), undefined, "constructor");
    const tagsOnly = effectiveLabels(undefined, [{ tags: ["t"] }, {}]);
    assertStrictEquals(tagsOnly("t"), "", "tag only");
    assertStrictEquals(labelLookup({ a: "1" })("toString"), undefined, "record lookup is own-only");
    assertStrictEquals(labelLookup(new Map([["a", "1"]]))("a"), "1", "map lookup");
  },
});

Deno.test({
  name: "a rule tag T is exactly the selector has(T)",
  fn: () => {
    for (const tag of ["gold", "a.b", "x_y-z", "in", "not", "index"]) {
      const text = tagSelector(tag);
      assertStrictEquals(text, `has(${tag})`, "text");
      const sel = parseSelector(text);
      assertStrictEquals(sel.canonical, text, "already canonical");
      assertStrictEquals(sel.uniqueId, parseSelector(`has( ${tag} )`).uniqueId, "same id as has()");
      assertStrictEquals(
        sel.evaluate(effectiveLabels(undefined, [{ tags: [tag] }])),
        true,
        "tag matches",
      );
      assertStrictEquals(sel.evaluate(effectiveLabels({}, [])), false, "absent");
    }
  },
});
