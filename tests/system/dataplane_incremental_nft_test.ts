/**
 * The incremental dataplane against the real `nft`: random datastore changes flow through the
 * calculation into one small transaction each (inside a network namespace), and after every few
 * of them the kernel's table must be exactly the table a fresh full program gives in a second
 * namespace, compared as nft lists them both. This proves the planner's transactions (order of
 * sets, chains, elements; compiled sets and their element changes) do what the full render does.
 */
import assert from "node:assert/strict";
import { CalculationGraph } from "../../src/calc/graph.ts";
import { commandRunner, NftDataplane, render } from "../../src/dataplane/mod.ts";
import { DesiredTable } from "../../src/dataplane/desired.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";
import { DEFAULT_DATAPLANE_CONFIG } from "../../src/config/defaults.ts";
import { IFACES, RandomUpdates } from "../fixtures/random_updates.ts";
import { canUseNetns, haveCommand, NetNs } from "../../netlab/netns.ts";

const ignore = !canUseNetns() || !haveCommand("nft");

/** The table as nft lists it, without handles and counters, objects and elements sorted. */
async function listing(ns: NetNs): Promise<string> {
  const r = await ns.exec(["nft", "-j", "list", "table", "inet", "hostfence"]);
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, Record<string, unknown>>[] })
    .nftables.filter((i) => !("metainfo" in i));
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "handle" || k === "counter" || k === "packets" || k === "bytes") continue;
      out[k] = k === "elem" && Array.isArray(x)
        ? x.map(strip).map((e) => JSON.stringify(e)).sort()
        : strip(x);
    }
    return out;
  };
  const lines = items.map((i, n) => {
    const [kind, body] = Object.entries(i)[0]!;
    const key = kind === "rule"
      ? `${kind} ${body.chain} ${String(n).padStart(6, "0")}`
      : `${kind} ${body.name}`;
    return { key, text: `${kind} ${JSON.stringify(strip(body))}` };
  });
  // Rules keep their order within a chain; everything else is compared as a set.
  return lines.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((l) => l.text)
    .join("\n");
}

for (const compileMinRun of [0, 1]) {
  Deno.test({
    name:
      `random changes applied one transaction at a time leave the table a full program gives (NftablesCompileMinRun ${compileMinRun})`,
    ignore,
    async fn() {
      await using live = await NetNs.create("incr");
      await using fresh = await NetNs.create("full");
      const g = new CalculationGraph({
        hostname: "h1",
        dataplaneConfig: { ...DEFAULT_DATAPLANE_CONFIG, compileMinRun },
        log: createLogger([memorySink("ERROR")], "calc"),
      });
      g.setInterfaces(IFACES);
      const dp = new NftDataplane(commandRunner({ netns: live.name }));
      const gen = new RandomUpdates(20261129 + compileMinRun);
      let incremental = 0;
      for (let step = 0; step < 60; step++) {
        g.applyUpdates(gen.batch(4));
        const r = await dp.apply(g);
        if (step > 0 && r.changed) {
          assert.ok(!r.script.startsWith("add table"), `step ${step} was not a full program`);
          incremental++;
        }
        if (step % 6 !== 5) continue;
        await fresh.exec(["nft", "-f", "-"], {
          stdin: render(DesiredTable.build(g.hostState()).state),
        });
        assert.equal(await listing(live), await listing(fresh), `after step ${step}`);
      }
      assert.ok(incremental > 30, `${incremental} incremental transactions`);
    },
  });
}

Deno.test({
  name:
    "with network sets (interval IP sets, prefixes over endpoint addresses) the kernel ends up with the table a full program gives",
  ignore,
  async fn() {
    await using live = await NetNs.create("nsincr");
    await using fresh = await NetNs.create("nsfull");
    const g = new CalculationGraph({
      hostname: "h1",
      dataplaneConfig: { ...DEFAULT_DATAPLANE_CONFIG, compileMinRun: 0 },
      log: createLogger([memorySink("ERROR")], "calc"),
    });
    g.setInterfaces(IFACES);
    const dp = new NftDataplane(commandRunner({ netns: live.name }));
    const gen = new RandomUpdates(20261130, { networkSets: true });
    let prefixEdits = 0;
    let interval = 0;
    for (let step = 0; step < 60; step++) {
      g.applyUpdates(gen.batch(4));
      const r = await dp.apply(g);
      // nft never refused one (a refusal would be repaired by a full program, hiding it).
      assert.equal(r.recovered, undefined, `step ${step}: nft refused ${r.script}`);
      // Incremental transactions that add or delete prefixes in interval sets.
      if (
        step > 0 && r.changed && !r.script.startsWith("add table") &&
        /^(add|delete) element [^{]*\{[^}]*\//m.test(r.script)
      ) prefixEdits++;
      if (step % 6 !== 5) continue;
      const want = render(DesiredTable.build(g.hostState()).state);
      if (/flags interval/.test(want)) interval++;
      await fresh.exec(["nft", "-f", "-"], { stdin: want });
      assert.equal(await listing(live), await listing(fresh), `after step ${step}`);
    }
    assert.ok(interval >= 3, `interval sets were programmed (${interval} checks)`);
    assert.ok(prefixEdits >= 3, `${prefixEdits} incremental transactions changed prefixes`);
  },
});

Deno.test({
  name: "a change after someone deleted our table programs the whole table at once",
  ignore,
  async fn() {
    await using ns = await NetNs.create("gone");
    const g = new CalculationGraph({
      hostname: "h1",
      dataplaneConfig: DEFAULT_DATAPLANE_CONFIG,
      log: createLogger([memorySink("ERROR")], "calc"),
    });
    g.setInterfaces(IFACES);
    const gen = new RandomUpdates(7);
    const dp = new NftDataplane(commandRunner({ netns: ns.name }));
    g.applyUpdates(gen.batch(20));
    await dp.apply(g);
    await ns.exec(["nft", "delete", "table", "inet", "hostfence"]);
    // The next change would be a small incremental transaction against a table that is gone.
    let r;
    do {
      g.applyUpdates(gen.batch(3));
      r = await dp.apply(g);
    } while (!r.changed);
    assert.ok(r.recovered !== undefined, "the incremental transaction was refused first");
    assert.ok(r.script.startsWith("add table inet hostfence\ndelete table inet hostfence\n"));
    const listed = await ns.exec(["nft", "list", "table", "inet", "hostfence"]);
    assert.ok(listed.stdout.includes("chain filter-input"), "the whole table is back");
  },
});
