/**
 * The elements of one IP set when network sets put prefixes into it. An nft interval set
 * refuses overlapping elements, so a member inside another member (an endpoint's address in
 * a network set's /24, a /24 in a /16) must not be an element; when the outer member goes,
 * the inner ones come back. Kept incrementally, because a set can hold thousands of endpoint
 * addresses and churn by one: an address costs a look at the set's prefixes (few), only a
 * prefix coming or going looks at every member. Private to src/calc.
 */
import { type Cidr, parseCidr } from "../model/ip.ts";

/** Called for every element that appears (`true`) or disappears (`false`). */
export type ElementReport = (element: string, present: boolean) => void;

/** True for a member text that is a prefix (`addr/len`) rather than one address. */
export function isPrefixMember(text: string): boolean {
  return text.includes("/");
}

/**
 * See the module comment. Members are canonical texts (bare addresses, `addr/len` with host
 * bits cleared). While the set holds no prefix its elements are its members, and nothing is
 * stored here.
 */
export class DisjointMembers {
  readonly #prefixes = new Map<string, Cidr>();
  #elements: Set<string> | undefined;

  /** The elements while the set holds a prefix; undefined when they are the members. */
  get elements(): ReadonlySet<string> | undefined {
    return this.#elements;
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
      this.#elements = new Set(members.keys());
      this.#elements.delete(member);
    }
    const els = this.#elements;
    const c = _cidr(member);
    if (!prefix) {
      if (present && !this.#covered(c, member)) {
        els.add(member);
        report(member, true);
      } else if (!present && els.delete(member)) report(member, false);
      return;
    }
    if (present) {
      this.#prefixes.set(member, c);
      if (this.#covered(c, member)) return;
      for (const e of [...els]) {
        if (_inside(_cidr(e), c)) {
          els.delete(e);
          report(e, false);
        }
      }
      els.add(member);
      report(member, true);
      return;
    }
    this.#prefixes.delete(member);
    if (els.delete(member)) {
      report(member, false);
      // What it covered comes back, unless another prefix still covers it.
      for (const m of members.keys()) {
        const mc = _cidr(m);
        if (_inside(mc, c) && !this.#covered(mc, m)) {
          els.add(m);
          report(m, true);
        }
      }
    }
    if (this.#prefixes.size === 0) this.#elements = undefined;
  }

  /** True when a prefix other than `self` covers `c`. */
  #covered(c: Cidr, self: string): boolean {
    for (const [text, p] of this.#prefixes) {
      if (text !== self && _inside(c, p)) return true;
    }
    return false;
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

const _parsed = new Map<string, Cidr>();

function _cidr(text: string): Cidr {
  let c = _parsed.get(text);
  if (c === undefined) {
    c = parseCidr(text);
    if (c === undefined) throw new TypeError(`Not a canonical IP-set member: '${text}'`);
    if (_parsed.size >= 100_000) _parsed.clear();
    _parsed.set(text, c);
  }
  return c;
}
