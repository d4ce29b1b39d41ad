/**
 * NftState -> nft script text. `render` prints a whole program (the first programming, a
 * repair, and `hostfence render`); `planChanges` prints one transaction for the objects an
 * update touched; `planUpdate` diffs two whole states (config changes, tests). All pure, so
 * the text the agent applies is exactly what tests and the dry run see.
 */
import { addressesOfFamily, namedPortElementsOfFamily, namedPortSetType } from "./_cidr.ts";
import type { TableChanges } from "./desired.ts";
import { noTableChanges } from "./desired.ts";
import { quoteComment, quoteIfname, TABLE_FAMILY, TABLE_REF } from "./names.ts";
import { ruleText } from "./rule_text.ts";
import { BASE_CHAINS, DISPATCH_ORDER, FAILSAFE_CHAINS } from "./static.ts";
import type { NftChain, NftHook, NftMap, NftSet, NftState } from "./state.ts";
import { sameList } from "../util/same_list.ts";

const BASE_ORDER: readonly string[] = Object.values(BASE_CHAINS);
const FAILSAFE_ORDER: readonly string[] = Object.values(FAILSAFE_CHAINS);
const STAGE_ORDER = [
  "raw:ingress",
  "raw:egress",
  "mangle:ingress",
  "filter:ingress",
  "filter:egress",
];

/** Sort key of a chain: failsafe, policies in, policies out, profiles, endpoints, base. */
function chainKey(c: NftChain): [number, string, number] {
  const o = c.owner;
  switch (o.kind) {
    case "static":
      return [6, "", BASE_ORDER.indexOf(c.name)];
    case "failsafe":
      return [0, "", FAILSAFE_ORDER.indexOf(c.name)];
    case "policy":
      return [o.direction === "ingress" ? 1 : 2, o.name, 0];
    case "profile":
      return [3, o.name, o.direction === "ingress" ? 0 : 1];
    case "endpoint":
      return [4, o.iface, STAGE_ORDER.indexOf(`${o.stage}:${o.direction}`)];
  }
}

function compareKeys(a: [number, string, number], b: [number, string, number]): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || a[2] - b[2];
}

/** Sort key of a set: IP sets by id then family, then the rest by name. */
function setKey(s: NftSet): [number, string, number] {
  if (s.ipSet !== undefined) return [0, s.ipSet, s.type.startsWith("ipv4_addr") ? 0 : 1];
  return [s.owners === undefined ? 1 : 2, s.name, 0];
}

/** The chains in render order (references point backwards: leaves first, base chains last). */
export function orderedChains(state: NftState): NftChain[] {
  return [...state.chains.values()].sort((a, b) => compareKeys(chainKey(a), chainKey(b)));
}

/** The sets in render order. */
export function orderedSets(state: NftState): NftSet[] {
  return [...state.sets.values()].sort((a, b) => compareKeys(setKey(a), setKey(b)));
}

/** A set's elements as printed: addresses sorted numerically, compiled keys in run order. */
export function setElementTexts(s: NftSet): string[] {
  if (s.type === "ipv4_addr") return addressesOfFamily([...s.elements], 4);
  if (s.type === "ipv6_addr") return addressesOfFamily([...s.elements], 6);
  if (s.type === namedPortSetType(4)) return namedPortElementsOfFamily([...s.elements], 4);
  if (s.type === namedPortSetType(6)) return namedPortElementsOfFamily([...s.elements], 6);
  return [...s.elements];
}

/** Where and how `render` prints the table. */
export interface RenderOptions {
  /** Another table name (same family): the drift check's scratch copy. */
  readonly table?: string;
  /** Leave out the hooks, so the copy's base chains are regular chains that see no packet. */
  readonly noHooks?: boolean;
}

/**
 * The whole table as one transaction: `add table` + `delete table` (so a table left by an
 * earlier run, or a damaged one, goes away whether or not it exists) followed by the full
 * content. nft applies the file atomically: there is never a moment without rules.
 */
export function render(state: NftState, opts: RenderOptions = {}): string {
  const ref = opts.table === undefined ? TABLE_REF : `${TABLE_FAMILY} ${opts.table}`;
  const lines = [`add table ${ref}`, `delete table ${ref}`, `table ${ref} {`];
  const blocks: string[][] = [];
  for (const set of orderedSets(state)) {
    const elements = setElementTexts(set);
    blocks.push([
      `\tset ${set.name} {`,
      `\t\ttype ${set.type}`,
      ...(set.interval ? ["\t\tflags interval"] : []),
      ...(set.owners === undefined ? [] : ["\t\tcounter"]),
      ...(elements.length > 0 ? [`\t\telements = { ${elements.join(", ")} }`] : []),
      "\t}",
    ]);
  }
  const chains = orderedChains(state);
  const block = (c: NftChain) => {
    if (!opts.noHooks) return chainBlock(c);
    const { hook: _hook, ...regular } = c;
    return chainBlock(regular);
  };
  for (const c of chains) if (c.hook === undefined) blocks.push(block(c));
  for (const name of DISPATCH_ORDER) {
    const map = state.maps.get(name);
    if (map === undefined) continue;
    blocks.push([
      `\tmap ${map.name} {`,
      "\t\ttype ifname : verdict",
      ...(map.elements.size > 0 ? [`\t\telements = { ${mapElements(map)} }`] : []),
      "\t}",
    ]);
  }
  for (const c of chains) if (c.hook !== undefined) blocks.push(block(c));
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
    ...c.rules.map((r) => `\t\t${ruleText(r)}`),
    "\t}",
  ];
}

function mapElements(map: NftMap, keys?: readonly string[]): string {
  const ks = keys ?? [...map.elements.keys()].sort();
  return ks.map((k) => `${quoteIfname(k)} : jump ${map.elements.get(k)}`).join(", ");
}

function addChain(c: NftChain): string {
  const spec = c.hook ? `${hookSpec(c.hook)} ` : "";
  return `add chain ${TABLE_REF} ${c.name} { ${spec}comment ${quoteComment(c.comment)}; }`;
}

function addSet(s: NftSet): string {
  const flags = `${s.interval ? " flags interval;" : ""}${
    s.owners === undefined ? "" : " counter;"
  }`;
  return `add set ${TABLE_REF} ${s.name} { type ${s.type};${flags} }`;
}

function sameRules(a: NftChain, b: NftChain): boolean {
  return sameList(a.rules, b.rules, (x, y) => ruleText(x) === ruleText(y));
}

function sameHook(a: NftHook | undefined, b: NftHook | undefined): boolean {
  return a?.hook === b?.hook && a?.priority === b?.priority;
}

/** Every difference between two whole states, as an update would report it. */
export function diffStates(previous: NftState, next: NftState): TableChanges {
  const out = noTableChanges();
  for (const c of orderedChains(next)) {
    const before = previous.chains.get(c.name);
    if (before !== c) out.chains.set(c.name, before);
  }
  for (const c of orderedChains(previous)) {
    if (!next.chains.has(c.name)) out.chains.set(c.name, c);
  }
  for (const s of orderedSets(next)) {
    if (!previous.sets.has(s.name)) out.sets.set(s.name, undefined);
  }
  for (const s of orderedSets(previous)) {
    const name = s.name;
    const n = next.sets.get(name);
    if (n === s) continue;
    if (n !== undefined && n.type === s.type && n.owners === undefined && s.owners === undefined) {
      const add = new Set([...n.elements].filter((e) => !s.elements.has(e)));
      const del = new Set([...s.elements].filter((e) => !n.elements.has(e)));
      if (add.size + del.size > 0) out.elements.set(name, { add, del });
    } else out.sets.set(name, s);
  }
  for (const [name, m] of next.maps) {
    const old = previous.maps.get(name)?.elements;
    const d = new Map<string, string | undefined>();
    for (const [k, v] of m.elements) if (old?.get(k) !== v) d.set(k, old?.get(k));
    for (const [k, v] of old ?? []) if (!m.elements.has(k)) d.set(k, v);
    if (d.size > 0) out.dispatch.set(name, d);
  }
  return out;
}

/**
 * One transaction from `previous` (what is programmed) to `next`; `""` when nothing changed.
 * Without a previous state it is the full program.
 */
export function planUpdate(previous: NftState | undefined, next: NftState): string {
  if (previous === undefined) return render(next);
  return planChanges(diffStates(previous, next), next);
}

/**
 * The transaction that takes the kernel from each touched object's previous version to its
 * version in `state`; `""` when nothing really changed. In an order the kernel accepts:
 * 1. new sets (with elements); 2. new chains, declared empty so any rule may jump to them;
 * 3. new and changed chains flushed and refilled (unchanged chains are not touched, so their
 * counters survive); 4. set and dispatch elements removed, then added (a retargeted key is
 * removed and re-added), a replaced compiled set by its element differences; 5. removed chains
 * flushed first (dropping their jumps), then deleted; 6. removed sets deleted, once nothing
 * refers to them. A base chain whose hook changes, or a set whose type changes, falls back to
 * the full program.
 */
export function planChanges(changes: TableChanges, state: NftState): string {
  for (const [name, before] of changes.chains) {
    const now = state.chains.get(name);
    if (before !== undefined && now !== undefined && !sameHook(before.hook, now.hook)) {
      return render(state);
    }
  }
  for (const [name, before] of changes.sets) {
    const now = state.sets.get(name);
    if (before !== undefined && now !== undefined && before.type !== now.type) return render(state);
  }
  const out: string[] = [];
  const gone: string[] = [];
  // 1. new sets
  for (const [name, before] of changes.sets) {
    const now = state.sets.get(name);
    if (before !== undefined || now === undefined) continue;
    out.push(addSet(now));
    const els = setElementTexts(now);
    if (els.length > 0) out.push(`add element ${TABLE_REF} ${name} { ${els.join(", ")} }`);
  }
  // 2. new chains, empty
  for (const [name, before] of changes.chains) {
    const now = state.chains.get(name);
    if (before === undefined && now !== undefined) out.push(addChain(now));
  }
  // 3. new and changed chains, refilled
  for (const [name, before] of changes.chains) {
    const now = state.chains.get(name);
    if (now === undefined) {
      if (before !== undefined) gone.push(name);
      continue;
    }
    if (before !== undefined && sameRules(before, now)) continue;
    if (before !== undefined) out.push(`flush chain ${TABLE_REF} ${name}`);
    for (const r of now.rules) out.push(`add rule ${TABLE_REF} ${name} ${ruleText(r)}`);
  }
  // 4. elements
  for (const [name, before] of changes.sets) {
    const now = state.sets.get(name);
    if (before === undefined || now === undefined) continue;
    const del = [...before.elements].filter((e) => !now.elements.has(e));
    const add = [...now.elements].filter((e) => !before.elements.has(e));
    out.push(...elementLines(name, add, del));
  }
  for (const [name, e] of changes.elements) {
    if (state.sets.has(name)) out.push(...elementLines(name, [...e.add], [...e.del]));
  }
  for (const [name, d] of changes.dispatch) {
    const map = state.maps.get(name);
    if (map === undefined) continue;
    const removed: string[] = [];
    const added: string[] = [];
    for (const [k, was] of d) {
      const now = map.elements.get(k);
      if (now === was) continue;
      if (was !== undefined) removed.push(k);
      if (now !== undefined) added.push(k);
    }
    if (removed.length > 0) {
      out.push(
        `delete element ${TABLE_REF} ${name} { ${removed.sort().map(quoteIfname).join(", ")} }`,
      );
    }
    if (added.length > 0) {
      out.push(`add element ${TABLE_REF} ${name} { ${mapElements(map, added.sort())} }`);
    }
  }
  // 5. removed chains: flush all, then delete
  for (const name of gone) out.push(`flush chain ${TABLE_REF} ${name}`);
  for (const name of gone) out.push(`delete chain ${TABLE_REF} ${name}`);
  // 6. removed sets
  for (const [name, before] of changes.sets) {
    if (before !== undefined && !state.sets.has(name)) out.push(`delete set ${TABLE_REF} ${name}`);
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

function elementLines(name: string, add: readonly string[], del: readonly string[]): string[] {
  const out: string[] = [];
  if (del.length > 0) out.push(`delete element ${TABLE_REF} ${name} { ${del.join(", ")} }`);
  if (add.length > 0) out.push(`add element ${TABLE_REF} ${name} { ${add.join(", ")} }`);
  return out;
}
