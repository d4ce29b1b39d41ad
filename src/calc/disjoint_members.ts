/**
 * The elements of one IP set when network sets put prefixes into it. An nft interval set
 * refuses overlapping elements, so a member inside another member (an endpoint's address in
 * a network set's /24, a /24 in a /16) must not be an element; when the outer member goes,
 * the inner ones come back. Kept incrementally in address order, because a set can hold
 * thousands of endpoint addresses and a network set thousands of nets, and either churns by
 * one: every change is a binary search plus the members it really uncovers or covers.
 * Private to src/calc.
 */
import { type Cidr, parseCidr } from "../net/ip.ts";

/** Called for every element that appears (`true`) or disappears (`false`). */
export type ElementReport = (element: string, present: boolean) => void;

/** True for a member text that is a prefix (`addr/len`) rather than one address. */
export function isPrefixMember(text: string): boolean {
  return text.includes("/");
}

/** A member with its sort key: family, address bytes, then prefix length (shorter first). */
interface _Entry {
  readonly text: string;
  readonly cidr: Cidr;
  readonly key: string;
}

/**
 * Entries sorted by key. Two members either nest or are disjoint, so the members inside a
 * prefix are the run of entries starting at its own key, and what contains an address
 * starts at or before it.
 */
class _Sorted {
  readonly list: _Entry[] = [];

  /** Index of the first entry whose key is >= `key`. */
  lowerBound(key: string): number {
    let lo = 0, hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid]!.key < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(e: _Entry): void {
    const i = this.lowerBound(e.key);
    if (this.list[i]?.key !== e.key) this.list.splice(i, 0, e);
  }

  delete(e: _Entry): boolean {
    const i = this.lowerBound(e.key);
    if (this.list[i]?.key !== e.key) return false;
    this.list.splice(i, 1);
    return true;
  }

  /** The entries inside prefix `p` (itself included when present), in order. */
  inside(p: _Entry): _Entry[] {
    const out: _Entry[] = [];
    for (let i = this.lowerBound(p.key); i < this.list.length; i++) {
      const e = this.list[i]!;
      if (!_inside(e.cidr, p.cidr)) break;
      out.push(e);
    }
    return out;
  }

  /** The entry other than `e` that contains it, if any (entries must be disjoint). */
  container(e: _Entry): _Entry | undefined {
    const i = this.lowerBound(e.key);
    // An equal key is `e` itself; a container starts before it.
    const before = this.list[i - 1];
    return before !== undefined && _inside(e.cidr, before.cidr) ? before : undefined;
  }
}

/**
 * See the module comment. Members are canonical texts (bare addresses, `addr/len` with host
 * bits cleared). While the set holds no prefix its elements are its members, and nothing is
 * stored here.
 */
export class DisjointMembers {
  #prefixes = 0;
  /** Every member, while the set holds a prefix. */
  #members: _Sorted | undefined;
  /** The elements (disjoint), while the set holds a prefix. */
  #elements: _Sorted | undefined;
  #texts: Set<string> | undefined;

  /** The elements while the set holds a prefix; undefined when they are the members. */
  get elements(): ReadonlySet<string> | undefined {
    return this.#texts;
  }

  /**
   * `member` just became present in (or absent from) `members`, which already reflects that;
   * reports the elements that change.
   */
  change(
    member: string,
    present: boolean,
    members: ReadonlyMap<string, number>,
    report: ElementReport,
  ): void {
    const prefix = isPrefixMember(member);
    if (this.#elements === undefined) {
      if (!prefix || !present) {
        report(member, present);
        return;
      }
      // The first prefix: until now the elements were the members.
      const all = new _Sorted();
      const els = new _Sorted();
      for (const m of members.keys()) {
        if (m === member) continue;
        all.list.push(_entry(m));
      }
      all.list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      els.list.push(...all.list);
      this.#members = all;
      this.#elements = els;
      this.#texts = new Set(els.list.map((e) => e.text));
    }
    const all = this.#members!, els = this.#elements, texts = this.#texts!;
    const e = _entry(member);
    const drop = (x: _Entry) => {
      els.delete(x);
      texts.delete(x.text);
      report(x.text, false);
    };
    const keep = (x: _Entry) => {
      els.add(x);
      texts.add(x.text);
      report(x.text, true);
    };
    if (present) {
      all.add(e);
      if (prefix) this.#prefixes++;
      if (els.container(e) !== undefined) return;
      if (prefix) { for (const x of els.inside(e)) drop(x); }
      keep(e);
      return;
    }
    all.delete(e);
    if (prefix) this.#prefixes--;
    if (texts.has(member)) {
      drop(e);
      // What it covered comes back: members inside it not inside another one. In key order a
      // container comes before what it contains, so each is judged after its containers.
      if (prefix) { for (const x of all.inside(e)) if (els.container(x) === undefined) keep(x); }
    }
    if (this.#prefixes === 0) {
      this.#members = this.#elements = this.#texts = undefined;
    }
  }
}

/**
 * `inner` lies within `outer` (equal counts as within). Compares the leading bits in place:
 * this runs once per member when a prefix comes or goes, so it must not allocate.
 */
function _inside(inner: Cidr, outer: Cidr): boolean {
  if (outer.prefix > inner.prefix || outer.ip.family !== inner.ip.family) return false;
  const a = outer.ip.bytes, b = inner.ip.bytes;
  const whole = outer.prefix >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = outer.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}

const _entries = new Map<string, _Entry>();

/** The entry of a canonical member text (cached: members recur across sets and changes). */
function _entry(text: string): _Entry {
  let e = _entries.get(text);
  if (e === undefined) {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new TypeError(`Not a canonical IP-set member: '${text}'`);
    let hex = "";
    for (const b of cidr.ip.bytes) hex += b.toString(16).padStart(2, "0");
    e = { text, cidr, key: `${cidr.ip.family}${hex}${String(cidr.prefix).padStart(3, "0")}` };
    if (_entries.size >= 200_000) _entries.clear();
    _entries.set(text, e);
  }
  return e;
}
