/**
 * DisjointMembers against a brute-force oracle: random members of every prefix length come
 * and go (nested, adjacent, equal starts, both families); after every change the elements
 * it holds, and the elements its reports build up, must be exactly the members inside no
 * other member.
 */
import assert from "node:assert/strict";
import { DisjointMembers } from "../../src/calc/disjoint_members.ts";
import { canonicalNet } from "../../src/calc/_addr.ts";
import { cidrContains, parseCidr } from "../../src/net/ip.ts";
import { prng } from "../fixtures/prng.ts";

/** The members inside no other member, by brute force. */
const parsed = new Map<string, NonNullable<ReturnType<typeof parseCidr>>>();

function oracle(members: Iterable<string>): string[] {
  const all = [...members].map((t) => {
    let c = parsed.get(t);
    if (c === undefined) parsed.set(t, c = parseCidr(t)!);
    return { t, c };
  });
  return all.filter((x) =>
    !all.some((y) => y.t !== x.t && y.c.prefix <= x.c.prefix && cidrContains(y.c, x.c.ip))
  ).map((x) => x.t).sort();
}

function randomMember(r: () => number): string {
  const pick = (n: number) => Math.floor(r() * n);
  if (r() < 0.25) {
    const len = [32, 48, 56, 64, 128][pick(5)]!;
    const group = pick(4);
    const base = `2001:db8:${group}:${pick(2)}::`;
    if (len === 128) return `2001:db8:${group}:${pick(2)}::${pick(6) + 1}`;
    if (len === 32) return "2001:db8::/32";
    if (len === 48) return `2001:db8:${group}::/48`;
    return `${base}/${len}`;
  }
  const len = [16, 20, 24, 25, 28, 30, 32, 32, 32][pick(9)]!;
  const ip = [198, 18 + pick(2), pick(4), pick(16) * 16];
  const n = (ip[0]! << 24 | ip[1]! << 16 | ip[2]! << 8 | ip[3]!) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const net = (n & mask) >>> 0;
  const text = [net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join(".");
  return len === 32 ? text : `${text}/${len}`;
}

Deno.test("disjoint elements equal the brute-force oracle under random changes", () => {
  for (const seed of [1, 2, 3, 4]) {
    const r = prng(seed);
    const d = new DisjointMembers();
    const members = new Map<string, number>();
    const reported = new Set<string>();
    const report = (e: string, present: boolean) => {
      if (present) reported.add(e);
      else reported.delete(e);
    };
    for (let step = 0; step < 400; step++) {
      const m = canonicalNet(randomMember(r))!.text;
      const present = !members.has(m);
      if (present) members.set(m, 1);
      else members.delete(m);
      d.change(m, present, members, report);
      const want = oracle(members.keys());
      assert.deepEqual([...reported].sort(), want, `seed ${seed} step ${step} (reports)`);
      const held = d.elements === undefined ? [...members.keys()] : [...d.elements];
      assert.deepEqual(held.sort(), want, `seed ${seed} step ${step} (elements)`);
    }
  }
});
