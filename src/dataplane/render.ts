/**
 * NftState -> nft script text. `render` prints a whole program (the first programming, a
 * repair, and `hostfence render`); `planUpdate` prints the smallest single transaction that
 * turns a programmed state into the next one. Both are pure, so the text the agent applies is
 * exactly what tests and the dry run see.
 */
import { quoteComment, quoteIfname, TABLE_REF } from "./names.ts";
import type { NftChain, NftHook, NftMap, NftSet, NftState } from "./state.ts";

/**
 * The whole table as one transaction: `add table` + `delete table` (so a table left by an
 * earlier run, or a damaged one, goes away whether or not it exists) followed by the full
 * content. nft applies the file atomically: there is never a moment without rules.
 */
export function render(state: NftState): string {
  const lines = [`add table ${TABLE_REF}`, `delete table ${TABLE_REF}`, `table ${TABLE_REF} {`];
  const blocks: string[][] = [];
  for (const set of state.sets.values()) {
    blocks.push([
      `\tset ${set.name} {`,
      `\t\ttype ${set.type}`,
      ...(set.elements.length > 0 ? [`\t\telements = { ${set.elements.join(", ")} }`] : []),
      "\t}",
    ]);
  }
  const regular = [...state.chains.values()].filter((c) => c.hook === undefined);
  const based = [...state.chains.values()].filter((c) => c.hook !== undefined);
  for (const c of regular) blocks.push(chainBlock(c));
  for (const map of state.maps.values()) {
    blocks.push([
      `\tmap ${map.name} {`,
      "\t\ttype ifname : verdict",
      ...(map.elements.size > 0 ? [`\t\telements = { ${mapElements(map)} }`] : []),
      "\t}",
    ]);
  }
  for (const c of based) blocks.push(chainBlock(c));
  blocks.forEach((b, i) => {
    if (i > 0) lines.push("");
    lines.push(...b);
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}

function hookSpec(h: NftHook): string {
  return `type filter hook ${h.hook} priority ${h.priority}; policy accept;`;
}

function chainBlock(c: NftChain): string[] {
  return [
    `\tchain ${c.name} {`,
    ...(c.hook ? [`\t\t${hookSpec(c.hook)}`] : []),
    `\t\tcomment ${quoteComment(c.comment)}`,
    ...c.rules.map((r) => `\t\t${r}`),
    "\t}",
  ];
}

function mapElements(map: NftMap, keys?: readonly string[]): string {
  return (keys ?? [...map.elements.keys()]).map((k) =>
    `${quoteIfname(k)} : jump ${map.elements.get(k)}`
  ).join(", ");
}

function addChain(c: NftChain): string {
  const spec = c.hook ? `${hookSpec(c.hook)} ` : "";
  return `add chain ${TABLE_REF} ${c.name} { ${spec}comment ${quoteComment(c.comment)}; }`;
}

function sameRules(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

function sameHook(a: NftHook | undefined, b: NftHook | undefined): boolean {
  return a?.hook === b?.hook && a?.priority === b?.priority;
}

/**
 * One transaction from `previous` (what is programmed) to `next`; `""` when nothing changed.
 * Without a previous state it is the full program. Otherwise, in an order the kernel accepts:
 * 1. new sets (with elements) and maps; 2. new chains, declared empty so any rule may jump
 * to them; 3. new and changed chains flushed and refilled (unchanged chains are not touched,
 * so their counters survive); 4. set and map elements removed, then added (a retargeted map
 * key is removed and re-added); 5. removed chains flushed first (dropping their jumps), then
 * deleted; 6. removed sets and maps deleted, once nothing refers to them. A chain that turns
 * from regular to base (never happens with our naming) falls back to the full program.
 */
export function planUpdate(previous: NftState | undefined, next: NftState): string {
  if (previous === undefined) return render(next);
  for (const [name, c] of next.chains) {
    const old = previous.chains.get(name);
    if (old !== undefined && !sameHook(old.hook, c.hook)) return render(next);
  }
  for (const [name, s] of next.sets) {
    const old = previous.sets.get(name);
    if (old !== undefined && old.type !== s.type) return render(next);
  }
  const out: string[] = [];
  // 1. new sets and maps
  for (const [name, s] of next.sets) {
    if (previous.sets.has(name)) continue;
    out.push(`add set ${TABLE_REF} ${name} { type ${s.type}; }`);
    if (s.elements.length > 0) {
      out.push(`add element ${TABLE_REF} ${name} { ${s.elements.join(", ")} }`);
    }
  }
  for (const name of next.maps.keys()) {
    if (!previous.maps.has(name)) {
      out.push(`add map ${TABLE_REF} ${name} { type ifname : verdict; }`);
    }
  }
  // 2. new chains, empty
  for (const [name, c] of next.chains) if (!previous.chains.has(name)) out.push(addChain(c));
  // 3. new and changed chains, refilled
  for (const [name, c] of next.chains) {
    const old = previous.chains.get(name);
    if (old !== undefined && sameRules(old.rules, c.rules)) continue;
    if (old !== undefined) out.push(`flush chain ${TABLE_REF} ${name}`);
    for (const r of c.rules) out.push(`add rule ${TABLE_REF} ${name} ${r}`);
  }
  // 4. elements
  for (const [name, s] of next.sets) {
    const old = previous.sets.get(name);
    if (old === undefined) continue;
    out.push(...setElementChanges(old, s));
  }
  for (const [name, m] of next.maps) {
    const old = previous.maps.get(name);
    const removed: string[] = [];
    const added: string[] = [];
    for (const [k, target] of m.elements) {
      const was = old?.elements.get(k);
      if (was === target) continue;
      if (was !== undefined) removed.push(k);
      added.push(k);
    }
    for (const k of old?.elements.keys() ?? []) if (!m.elements.has(k)) removed.push(k);
    if (removed.length > 0) {
      out.push(
        `delete element ${TABLE_REF} ${name} { ${removed.sort().map(quoteIfname).join(", ")} }`,
      );
    }
    if (added.length > 0) out.push(`add element ${TABLE_REF} ${name} { ${mapElements(m, added)} }`);
  }
  // 5. removed chains: flush all, then delete
  const gone = [...previous.chains.keys()].filter((n) => !next.chains.has(n));
  for (const name of gone) out.push(`flush chain ${TABLE_REF} ${name}`);
  for (const name of gone) out.push(`delete chain ${TABLE_REF} ${name}`);
  // 6. removed sets and maps
  for (const name of previous.sets.keys()) {
    if (!next.sets.has(name)) out.push(`delete set ${TABLE_REF} ${name}`);
  }
  for (const name of previous.maps.keys()) {
    if (!next.maps.has(name)) out.push(`delete map ${TABLE_REF} ${name}`);
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

function setElementChanges(old: NftSet, next: NftSet): string[] {
  const before = new Set(old.elements);
  const after = new Set(next.elements);
  const removed = old.elements.filter((e) => !after.has(e));
  const added = next.elements.filter((e) => !before.has(e));
  const out: string[] = [];
  if (removed.length > 0) {
    out.push(`delete element ${TABLE_REF} ${next.name} { ${removed.join(", ")} }`);
  }
  if (added.length > 0) out.push(`add element ${TABLE_REF} ${next.name} { ${added.join(", ")} }`);
  return out;
}
