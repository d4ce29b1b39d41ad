/**
 * The incremental dataplane against the whole build: after every random batch of datastore
 * updates, the table kept up to date from the calculation's change reports must print exactly
 * what a fresh build from the whole host state prints, and the planned transaction must touch
 * only what changed (a member change is element lines only).
 */
import assert from "node:assert/strict";
import { DesiredTable, planChanges, render } from "../../src/dataplane/mod.ts";
import { RandomUpdates } from "../fixtures/random_updates.ts";
import { readyGraph as graph } from "../fixtures/calc_graph.ts";
import {
  allowFromSelector,
  allowTcp,
  webHostEndpoint,
  webPolicy,
} from "../../synth/scale_fixture.ts";

for (const compileMinRun of [0, 1, 2]) {
  Deno.test(`incremental updates equal a fresh build (NftablesCompileMinRun ${compileMinRun})`, () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const g = graph(compileMinRun);
      const gen = new RandomUpdates(seed * 7919 + compileMinRun);
      assert.equal(g.takeChanges().full, true, "the first report is a full one");
      const table = DesiredTable.build(g.hostState());
      let compiledSeen = 0;
      for (let step = 0; step < 120; step++) {
        g.applyUpdates(gen.batch(step % 10 === 0 ? 12 : 3));
        const changes = g.takeChanges();
        assert.equal(changes.full, false);
        planChanges(table.update(g.view(), changes), table.state);
        const want = render(DesiredTable.build(g.hostState()).state);
        assert.equal(render(table.state), want, `seed ${seed} step ${step}`);
        for (const s of table.state.sets.values()) if (s.owners !== undefined) compiledSeen++;
      }
      if (compileMinRun > 0) assert.ok(compiledSeen > 0, `seed ${seed}: some run was compiled`);
      else assert.equal(compiledSeen, 0, "compilation off: no compiled set");
    }
  });
}

Deno.test("a remote endpoint's address change is one element line per set", () => {
  const g = graph(4);
  g.applyUpdates([
    webPolicy("from-db", 10, allowFromSelector("role == 'db'")),
    webHostEndpoint(),
  ]);
  g.takeChanges();
  const table = DesiredTable.build(g.hostState());
  const db = (ip: string | null) => ({
    type: "hostEndpoint" as const,
    node: "h2",
    name: "db",
    value: ip === null ? null : {
      kind: "hostEndpoint" as const,
      metadata: { name: "db", node: "h2", labels: { role: "db" } },
      spec: { expectedIPs: [ip] },
    },
  });
  const step = (u: ReturnType<typeof db>) => {
    g.applyUpdates([u]);
    return planChanges(table.update(g.view(), g.takeChanges()), table.state).trim().split("\n");
  };
  const set = [...table.state.sets.values()].find((s) => s.type === "ipv4_addr")!.name;
  assert.deepEqual(step(db("198.19.0.1")), [`add element inet hostfence ${set} { 198.19.0.1 }`]);
  assert.deepEqual(step(db("198.19.0.2")), [
    `delete element inet hostfence ${set} { 198.19.0.1 }`,
    `add element inet hostfence ${set} { 198.19.0.2 }`,
  ]);
  assert.deepEqual(step(db(null)), [`delete element inet hostfence ${set} { 198.19.0.2 }`]);
});

Deno.test("opening a port before many compiled policies and a selector allow is one element line", () => {
  const g = graph(4);
  const pol = (name: string, order: number, port: number) => webPolicy(name, order, allowTcp(port));
  g.applyUpdates([
    webHostEndpoint(),
    ...Array.from({ length: 50 }, (_, i) => pol(`filler-${i}`, 1000 + i, 20000 + i)),
    // An allow from a selector cannot be a lookup, but being an allow it stays in the run.
    webPolicy("db-clients", 500, allowFromSelector("role == 'db'")),
  ]);
  g.takeChanges();
  const table = DesiredTable.build(g.hostState());
  g.applyUpdates([pol("probe", 10, 8080)]);
  const open = planChanges(table.update(g.view(), g.takeChanges()), table.state);
  assert.equal(open, "add element inet hostfence c-fh-eth0.0.p.dp { tcp . 8080 }\n");
  g.applyUpdates([{ type: "policy", name: "probe", value: null }]);
  const close = planChanges(table.update(g.view(), g.takeChanges()), table.state);
  assert.equal(close, "delete element inet hostfence c-fh-eth0.0.p.dp { tcp . 8080 }\n");
  assert.ok(!table.state.chains.has("pi-filler-0"), "compiled policies need no chain of their own");
  assert.ok(table.state.chains.has("pi-db-clients"), "the selector policy keeps its chain");
});
