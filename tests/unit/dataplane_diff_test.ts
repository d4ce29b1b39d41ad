/**
 * The differ and the driver, without nft: planUpdate must produce the smallest transaction
 * (only changed chains rewritten, set members as element changes), and NftDataplane must keep
 * its programmed state when nft refuses, repair drift and clean up only our table.
 */
import assert from "node:assert/strict";
import {
  buildNftState,
  NftApplyError,
  NftDataplane,
  type NftRunner,
  planUpdate,
  render,
} from "../../src/dataplane/mod.ts";
import { hostState, iface, ruleSet } from "../../synth/host_states.ts";
import { SCENARIOS, SEED_FAILSAFE, SEED_WEBSERVER } from "../fixtures/dataplane_scenarios.ts";
import type { HostState } from "../../src/calc/host_state.ts";

const seed = SCENARIOS.seed_failsafe_webserver!;

function lines(script: string): string[] {
  return script.split("\n").filter((l) => l !== "");
}

/** Names of chains the script flushes or fills. */
function touchedChains(script: string): string[] {
  const out = new Set<string>();
  for (const l of lines(script)) {
    const m = /^(?:flush chain|add rule|add chain|delete chain) inet hostfence (\S+)/.exec(l);
    if (m) out.add(m[1]!);
  }
  return [...out].sort();
}

function withPolicies(
  base: HostState,
  policies: Record<string, ReturnType<typeof ruleSet>>,
): HostState {
  return { ...base, policies: new Map([...base.policies, ...Object.entries(policies)]) };
}

Deno.test("the first update is the full program", () => {
  const next = buildNftState(seed);
  assert.equal(planUpdate(undefined, next), render(next));
});

Deno.test("an unchanged state gives an empty transaction", () => {
  assert.equal(planUpdate(buildNftState(seed), buildNftState(seed)), "");
});

Deno.test("changing one policy rewrites only that policy's chain", () => {
  const changed = withPolicies(seed, {
    webserver: ruleSet(
      [{ action: "allow", protocol: "tcp", destination: { ports: [80, 443] } }],
      [{ action: "allow" }],
    ),
  });
  const script = planUpdate(buildNftState(seed), buildNftState(changed));
  assert.deepEqual(touchedChains(script), ["pi-webserver"]);
  assert.deepEqual(lines(script), [
    "flush chain inet hostfence pi-webserver",
    "add rule inet hostfence pi-webserver meta l4proto tcp th dport { 80, 443 } counter " +
    'meta mark set meta mark | 0x01000000 return comment "policy webserver ingress rule 1"',
  ]);
});

Deno.test("adding an address to a selector's set is one element add", () => {
  const before = SCENARIOS.selectors!;
  const after: HostState = {
    ...before,
    ipSets: new Map([...before.ipSets, ["s:role-db", {
      v4: ["198.18.1.1", "198.18.1.2", "198.18.1.3"],
      v6: ["2001:db8::1"],
    }]]),
  };
  assert.deepEqual(lines(planUpdate(buildNftState(before), buildNftState(after))), [
    "add element inet hostfence s4-s_3arole-db { 198.18.1.3 }",
  ]);
  const removed: HostState = {
    ...before,
    ipSets: new Map([...before.ipSets, ["s:role-db", { v4: ["198.18.1.2"], v6: [] }]]),
  };
  assert.deepEqual(lines(planUpdate(buildNftState(before), buildNftState(removed))), [
    "delete element inet hostfence s4-s_3arole-db { 198.18.1.1 }",
    "delete element inet hostfence s6-s_3arole-db { 2001:db8::1 }",
  ]);
});

Deno.test("adding an interface adds its chains and map elements, nothing else", () => {
  const one = SCENARIOS.default_drop!;
  const two: HostState = { ...one, interfaces: [...one.interfaces, iface("eth1", "hep1")] };
  const script = planUpdate(buildNftState(one), buildNftState(two));
  assert.deepEqual(touchedChains(script), ["fh-eth1", "th-eth1"]);
  assert.ok(
    script.includes('add element inet hostfence filter-from-hep { "eth1" : jump fh-eth1 }'),
  );
  assert.ok(script.includes('add element inet hostfence filter-to-hep { "eth1" : jump th-eth1 }'));
  assert.ok(!script.includes("delete"));
});

Deno.test("removing an interface drops its map elements before its chains", () => {
  const two: HostState = {
    ...SCENARIOS.default_drop!,
    interfaces: [iface("eth0", "hep0"), iface("eth1", "hep1")],
  };
  const script = lines(planUpdate(buildNftState(two), buildNftState(SCENARIOS.default_drop!)));
  const at = (l: string) => {
    const i = script.indexOf(l);
    assert.ok(i >= 0, `missing: ${l}\n${script.join("\n")}`);
    return i;
  };
  const elem = at('delete element inet hostfence filter-from-hep { "eth1" }');
  const flush = at("flush chain inet hostfence fh-eth1");
  const del = at("delete chain inet hostfence fh-eth1");
  assert.ok(elem < flush && flush < del);
  at('delete element inet hostfence filter-to-hep { "eth1" }');
  at("delete chain inet hostfence th-eth1");
  assert.equal(script.length, 6);
});

Deno.test("a policy no longer used is unhooked before its chain and sets are deleted", () => {
  const before = SCENARIOS.selectors!;
  const after = hostState({ interfaces: [iface("eth0", "hep0")] });
  const script = lines(planUpdate(buildNftState(before), buildNftState(after)));
  const i = (l: string) => script.indexOf(l);
  assert.ok(
    i("flush chain inet hostfence fh-eth0") < i("delete chain inet hostfence pi-db-access"),
  );
  assert.ok(
    i("delete chain inet hostfence pi-db-access") < i("delete set inet hostfence s4-s_3arole-db"),
  );
  assert.ok(i("delete set inet hostfence s6-s_3atrusted") > 0);
});

Deno.test("a new policy's chain is declared before any rule jumps to it", () => {
  const before = hostState({ interfaces: [iface("eth0", "hep0")] });
  const script = lines(planUpdate(buildNftState(before), buildNftState(seed)));
  const decl = script.findIndex((l) => l.startsWith("add chain inet hostfence pi-webserver "));
  const jump = script.findIndex((l) => l.includes("jump pi-webserver"));
  assert.ok(decl >= 0 && jump > decl);
});

/** A runner that records scripts, can be told to fail, and lists a canned table. */
class FakeRunner implements NftRunner {
  scripts: string[] = [];
  fail: string | undefined;
  listing: string | null = null;
  run(script: string) {
    this.scripts.push(script);
    if (this.fail !== undefined) return Promise.resolve({ ok: false, stderr: this.fail });
    return Promise.resolve({ ok: true, stderr: "" });
  }
  listTable() {
    return Promise.resolve(this.listing);
  }
}

Deno.test("NftDataplane applies the full program first, then only differences", async () => {
  const runner = new FakeRunner();
  const dp = new NftDataplane(runner);
  const first = await dp.apply(seed);
  assert.equal(first.changed, true);
  assert.equal(runner.scripts[0], render(buildNftState(seed)));
  const same = await dp.apply(seed);
  assert.equal(same.changed, false);
  assert.equal(runner.scripts.length, 1, "no nft run when nothing changed");
  await dp.apply(
    withPolicies(seed, {
      failsafe: ruleSet(SEED_FAILSAFE.ingress.slice(0, 1), SEED_FAILSAFE.egress),
    }),
  );
  assert.deepEqual(touchedChains(runner.scripts[1]!), ["pi-failsafe"]);
});

Deno.test("a refused transaction quotes nft's message and line and keeps the previous state", async () => {
  const runner = new FakeRunner();
  const dp = new NftDataplane(runner);
  await dp.apply(seed);
  const before = dp.programmed;
  runner.fail = "/dev/stdin:2:45-45: Error: syntax error, unexpected newline\nadd rule ...\n";
  const next = withPolicies(seed, {
    webserver: ruleSet([{ action: "deny" }, { action: "log" }], SEED_WEBSERVER.egress),
  });
  const err = await dp.apply(next).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof NftApplyError);
  assert.equal(err.line, 2);
  assert.equal(err.lineText, lines(runner.scripts[1]!)[1]);
  assert.match(err.lineText ?? "", /^add rule inet hostfence pi-webserver counter drop/);
  assert.match(
    err.message,
    /^The nft transaction was rejected: \/dev\/stdin:2:45-45: Error: syntax error/,
  );
  assert.ok(err.message.includes(JSON.stringify(err.lineText)));
  assert.equal(dp.programmed, before);
  runner.fail = undefined;
  await dp.apply(next); // the retry sends the same difference again
  assert.equal(runner.scripts[2], runner.scripts[1]);
});

Deno.test("refresh re-programs a missing or damaged table and leaves a good one alone", async () => {
  const runner = new FakeRunner();
  const dp = new NftDataplane(runner);
  assert.deepEqual(
    await dp.refresh(),
    { repaired: false },
    "nothing to check before the first apply",
  );
  await dp.apply(seed);
  runner.listing = null;
  assert.deepEqual(await dp.refresh(), { repaired: true, reason: "missing" });
  assert.equal(runner.scripts.at(-1), render(buildNftState(seed)));
  runner.listing = listingOf(buildNftState(seed));
  assert.deepEqual(await dp.refresh(), { repaired: false });
  runner.listing = listingOf(buildNftState(seed), "pi-webserver");
  assert.deepEqual(await dp.refresh(), { repaired: true, reason: "differs" });
});

Deno.test("cleanup deletes our table without failing when it is absent", async () => {
  const runner = new FakeRunner();
  const dp = new NftDataplane(runner);
  await dp.apply(seed);
  await dp.cleanup();
  assert.equal(runner.scripts.at(-1), "add table inet hostfence\ndelete table inet hostfence\n");
  assert.equal(dp.programmed, undefined);
});

/** A minimal `nft -j` listing of `state`, optionally with one chain flushed. */
function listingOf(state: ReturnType<typeof buildNftState>, flushed?: string): string {
  const items: unknown[] = [{ metainfo: { version: "1.0.6" } }, {
    table: { family: "inet", name: "hostfence" },
  }];
  for (const s of state.sets.values()) {
    items.push({ set: { name: s.name, type: s.type, elem: [...s.elements] } });
  }
  for (const m of state.maps.values()) {
    items.push({
      map: {
        name: m.name,
        type: "ifname",
        map: "verdict",
        elem: [...m.elements].map(([k, v]) => [k, { jump: { target: v } }]),
      },
    });
  }
  for (const c of state.chains.values()) {
    items.push({ chain: { name: c.name, ...(c.hook ? { hook: c.hook.hook } : {}) } });
  }
  for (const c of state.chains.values()) {
    if (c.name === flushed) continue;
    for (const _ of c.rules) items.push({ rule: { chain: c.name, expr: [] } });
  }
  return JSON.stringify({ nftables: items });
}
