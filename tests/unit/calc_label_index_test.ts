import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LabelIndex, type LabelMap } from "../../src/calc/label_index.ts";
import { parseSelector } from "../../src/selector/mod.ts";

function recorder() {
  const events: string[] = [];
  return {
    events,
    listener: {
      onMatch: (s: string, i: string) => events.push(`+${s}|${i}`),
      onUnmatch: (s: string, i: string) => events.push(`-${s}|${i}`),
    },
  };
}

const labels = (o: Record<string, string>): LabelMap => new Map(Object.entries(o));

Deno.test({
  name: "Label index reports matches and unmatches as items and selectors come and go",
  fn() {
    const { events, listener } = recorder();
    const idx = new LabelIndex(listener);
    const db = parseSelector("role == 'db'");
    idx.updateItem("a", labels({ role: "db" }));
    idx.updateItem("b", labels({ role: "web" }));
    idx.addSelector(db);
    assertEquals(events, [`+${db.uniqueId}|a`]);
    idx.updateItem("b", labels({ role: "db" }));
    idx.updateItem("a", labels({ role: "web" }));
    assertEquals([...idx.matching(db.uniqueId)], ["b"]);
    idx.deleteItem("b");
    assertEquals(idx.matching(db.uniqueId).size, 0);
    idx.updateItem("c", labels({ role: "db" }));
    idx.deleteSelector(db.uniqueId);
    assertEquals(events, [
      `+${db.uniqueId}|a`,
      `+${db.uniqueId}|b`,
      `-${db.uniqueId}|a`,
      `-${db.uniqueId}|b`,
      `+${db.uniqueId}|c`,
      `-${db.uniqueId}|c`,
    ]);
    assertEquals(idx.matchesOf("c").size, 0);
  },
});

Deno.test({
  name: "Label index re-evaluates only selectors that looked at a changed key",
  fn() {
    const idx = new LabelIndex({ onMatch() {}, onUnmatch() {} });
    for (let i = 0; i < 100; i++) idx.addSelector(parseSelector(`k${i} == 'x'`));
    for (let i = 0; i < 50; i++) idx.updateItem(`e${i}`, labels({ [`k${i}`]: "x" }));
    assertEquals(idx.matching(parseSelector("k3 == 'x'").uniqueId).size, 1);
    let before = idx.stats().evaluations;
    idx.updateItem("e3", labels({ k3: "y", k4: "x" }));
    // k3 changed and k4 appeared: exactly the two selectors that read those keys.
    assertEquals(idx.stats().evaluations - before, 2);
    assertEquals(idx.matching(parseSelector("k4 == 'x'").uniqueId).size, 2);
    before = idx.stats().evaluations;
    idx.updateItem("e3", labels({ k3: "y", k4: "x" }));
    assertEquals(idx.stats().evaluations - before, 0, "unchanged labels evaluate nothing");
    before = idx.stats().evaluations;
    idx.addSelector(parseSelector("k7 == 'x' && k8 == 'x'"));
    // One evaluation against "no labels", then only the item carrying k7.
    assertEquals(idx.stats().evaluations - before, 2);
  },
});

Deno.test({
  name: "Label index gives a selector matching no labels to new items without evaluating it",
  fn() {
    const idx = new LabelIndex({ onMatch() {}, onUnmatch() {} });
    const all = parseSelector("all()");
    const notQ = parseSelector("!has(q)");
    idx.addSelector(all);
    idx.addSelector(notQ);
    const before = idx.stats().evaluations;
    idx.updateItem("a", labels({ x: "1" }));
    idx.updateItem("b", labels({ q: "1" }));
    assertEquals(idx.stats().evaluations - before, 1, "only !has(q) on the item carrying q");
    assertEquals([...idx.matching(all.uniqueId)].sort(), ["a", "b"]);
    assertEquals([...idx.matching(notQ.uniqueId)], ["a"]);
    idx.updateItem("a", labels({ q: "" }));
    assertEquals(idx.matching(notQ.uniqueId).size, 0);
  },
});

/** A small deterministic PRNG so a failing sequence can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s % n;
  };
}

Deno.test({
  name: "Label index agrees with brute-force evaluation over random updates",
  fn() {
    const texts = [
      "all()",
      "has(a)",
      "!has(a)",
      "a == '1'",
      "a != '1'",
      "a == '1' && b == '2'",
      "a == '1' || c == '3'",
      "!(b == '2' && has(c))",
      "has(d) && !has(a) || c != '1'",
      "(a == '2' || b == '1') && d == '3'",
    ];
    const sels = texts.map(parseSelector);
    const keys = ["a", "b", "c", "d"];
    const values = ["1", "2", "3"];
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(seed);
      const live = new Map<string, Set<string>>();
      const idx = new LabelIndex({
        onMatch: (s, i) => {
          assert(!live.get(s)?.has(i), `double match ${s} ${i}`);
          live.set(s, (live.get(s) ?? new Set()).add(i));
        },
        onUnmatch: (s, i) => {
          assert(live.get(s)?.delete(i), `unmatch without match ${s} ${i}`);
        },
      });
      const items = new Map<string, LabelMap>();
      const present = new Set<number>();
      for (let step = 0; step < 300; step++) {
        const op = r(10);
        if (op < 6) {
          const m = new Map<string, string>();
          for (const k of keys) if (r(2)) m.set(k, values[r(3)]!);
          const id = `i${r(12)}`;
          items.set(id, m);
          idx.updateItem(id, m);
        } else if (op < 8) {
          const id = `i${r(12)}`;
          items.delete(id);
          idx.deleteItem(id);
        } else {
          const n = r(sels.length);
          if (present.has(n)) {
            present.delete(n);
            idx.deleteSelector(sels[n]!.uniqueId);
          } else {
            present.add(n);
            idx.addSelector(sels[n]!);
          }
        }
        for (const n of present) {
          const sel = sels[n]!;
          const want = [...items].filter(([, l]) => sel.evaluate((k) => l.get(k))).map(([i]) => i)
            .sort();
          assertEquals(
            [...idx.matching(sel.uniqueId)].sort(),
            want,
            `seed ${seed} ${sel.canonical}`,
          );
          assertEquals([...(live.get(sel.uniqueId) ?? [])].sort(), want);
        }
      }
    }
  },
});
