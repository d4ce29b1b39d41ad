/**
 * Named ports (Calico 3): a host endpoint declares `ports: [{name, protocol, port}]` and a rule
 * lists the name. Scenarios in words, each with what it must give: the etcd JSON the backend
 * stores, the validation filter, the calculation's named-port sets (members `ADDR . PROTO .
 * PORT` over the endpoints the side's selector matches), incremental == fresh, the rendered
 * ruleset (golden), and packets through the interpreter explain uses.
 */
import assert from "node:assert/strict";
import { CalculationGraph, type InterfaceInfo } from "../../src/calc/graph.ts";
import { type HostState, isNamedPortSet } from "../../src/calc/host_state.ts";
import { namedPortSetId } from "../../src/calc/resolve_rules.ts";
import { convertKeyValue } from "../../src/datastore/convert.ts";
import { decodeHostEndpoint, decodeRule } from "../../src/datastore/backend_decode.ts";
import { encodeHostEndpoint, encodeRule } from "../../src/datastore/backend_encode.ts";
import type { ModelUpdate } from "../../src/datastore/updates.ts";
import { policyUpdate } from "../../synth/updates.ts";
import { compilePolicy } from "../../src/dataplane/compile.ts";
import { buildContext } from "../../src/dataplane/context.ts";
import { evaluate, type Packet } from "../../src/dataplane/evaluate.ts";
import {
  buildNftState,
  chainNames,
  DesiredTable,
  planChanges,
  render,
} from "../../src/dataplane/mod.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";
import type {
  EndpointPort,
  HostEndpointResource,
  Labels,
  Rule,
} from "../../src/model/resources.ts";
import { formatResources } from "../../src/model/output.ts";
import { parseResources } from "../../src/model/input.ts";
import { parseSelector } from "../../src/selector/mod.ts";
import { DEFAULT_DATAPLANE_CONFIG } from "../../src/config/defaults.ts";
import { incrementalWalk } from "../fixtures/fresh_check.ts";

const GOLDEN = new URL("../golden/named_ports/", import.meta.url);
const update = Deno.env.get("UPDATE_GOLDEN") === "1";

const IFACES: InterfaceInfo[] = [
  { name: "eth0", up: true, addrs: ["198.18.1.1", "2001:db8:1::1"] },
];

function hep(
  name: string,
  node: string,
  ips: string[],
  labels: Labels,
  ports: EndpointPort[],
  iface?: string,
): ModelUpdate {
  return {
    type: "hostEndpoint",
    node,
    name,
    value: {
      kind: "hostEndpoint",
      metadata: { name, node, labels },
      spec: {
        ...(iface === undefined ? {} : { interfaceName: iface }),
        expectedIPs: ips,
        ...(ports.length ? { ports } : {}),
      },
    },
  };
}

function pol(name: string, ingress: Rule[], egress: Rule[] = [], order = 10): ModelUpdate {
  return policyUpdate(name, {
    selector: "role == 'web'",
    order,
    ingress,
    egress,
    types: ["ingress", "egress"],
  });
}

function graph(compileMinRun = 4): CalculationGraph {
  const g = new CalculationGraph({
    hostname: "h1",
    dataplaneConfig: { ...DEFAULT_DATAPLANE_CONFIG, compileMinRun },
    log: createLogger([memorySink("ERROR")], "calc"),
  });
  g.setInterfaces(IFACES);
  return g;
}

const WEB = hep("web1", "h1", ["198.18.1.1", "2001:db8:1::1"], { role: "web" }, [
  { name: "http", protocol: "tcp", port: 8080 },
  { name: "dns", protocol: "udp", port: 53 },
], "eth0");
const DB = hep("db1", "h2", ["198.18.2.1", "2001:db8:2::1"], { role: "db" }, [
  { name: "http", protocol: "tcp", port: 9090 },
]);
const NAMED = pol("named", [
  { action: "allow", protocol: "tcp", destination: { ports: ["http"] } },
  { action: "allow", protocol: "udp", destination: { ports: [5353, "dns"] } },
], [
  { action: "allow", protocol: "tcp", destination: { selector: "role == 'db'", ports: ["http"] } },
  { action: "deny", protocol: "tcp", destination: { notPorts: ["http"] } },
]);

function stateOf(updates: ModelUpdate[], compileMinRun = 4): HostState {
  const g = graph(compileMinRun);
  g.applyUpdates(updates);
  return g.hostState();
}

const ALL_HTTP = namedPortSetId(parseSelector("all()"), "tcp", "http");
const DB_HTTP = namedPortSetId(parseSelector("role == 'db'"), "tcp", "http");
const ALL_DNS = namedPortSetId(parseSelector("all()"), "udp", "dns");

Deno.test("etcd JSON: a host endpoint's ports and a rule's port names round-trip", () => {
  const text = '{"name":"eth0","expected_ipv4_addrs":["198.18.1.1"],' +
    '"ports":[{"name":"http","protocol":"TCP","port":8080}]}';
  const h = decodeHostEndpoint("h1", "web1", text);
  // libcalico-go's v3 -> v1 conversion stores protocols in lower case; upper case reads too.
  assert.deepEqual(h.spec.ports, [{ name: "http", protocol: "tcp", port: 8080 }]);
  assert.equal(
    encodeHostEndpoint(h),
    '{"name":"eth0","expected_ipv4_addrs":["198.18.1.1"],' +
      '"ports":[{"name":"http","protocol":"tcp","port":8080}]}',
  );
  const rule = decodeRule({
    action: "allow",
    protocol: "tcp",
    dst_ports: [80, "http", "8000:8080"],
  });
  assert.deepEqual(rule.destination?.ports, [80, "http", { min: 8000, max: 8080 }]);
  assert.deepEqual(encodeRule(rule).dst_ports, [80, "http", "8000:8080"]);
});

Deno.test("the validation filter accepts named ports and refuses bad ones", async (t) => {
  const key = "/calico/v1/host/h1/endpoint/web1";
  await t.step("a valid host endpoint with ports and a policy naming one", () => {
    const c = convertKeyValue(
      key,
      '{"name":"eth0","ports":[{"name":"http","protocol":"tcp","port":8080}]}',
    );
    assert.equal(c?.warning, undefined);
    const p = convertKeyValue(
      "/calico/v1/policy/tier/default/policy/p",
      '{"selector":"","inbound_rules":[{"action":"allow","protocol":"tcp","dst_ports":["http"]}]}',
    );
    assert.equal(p?.warning, undefined);
  });
  for (
    const [what, port, reason] of [
      ["a protocol without ports", '{"name":"x","protocol":"icmp","port":1}', /Protocol/],
      ["port 0", '{"name":"x","protocol":"tcp","port":0}', /EndpointPort.Port/],
      ["a bad name", '{"name":"a b","protocol":"tcp","port":1}', /EndpointPort.Name/],
    ] as const
  ) {
    await t.step(what, () => {
      const c = convertKeyValue(key, `{"name":"eth0","ports":[${port}]}`);
      assert.equal((c?.update as { value: unknown }).value, null);
      assert.match(c!.warning!, /^Validation failed for host endpoint /);
      assert.match(c!.warning!, reason);
    });
  }
  await t.step("a rule port name that breaks the name rule", () => {
    const p = convertKeyValue(
      "/calico/v1/policy/tier/default/policy/p",
      '{"selector":"","inbound_rules":[{"action":"allow","protocol":"tcp","dst_ports":["a b"]}]}',
    );
    assert.match(p!.warning!, /port name invalid/);
  });
});

Deno.test("v1 YAML keeps refusing port names; v1 output prints what is stored", () => {
  const yaml = `- apiVersion: v1
  kind: policy
  metadata: {name: p}
  spec:
    ingress:
    - action: allow
      protocol: tcp
      destination: {ports: [http]}
`;
  assert.throws(() => parseResources(yaml, "p.yaml"), /invalid port format \(http\)/);
  const stored = decodeHostEndpoint(
    "h1",
    "web1",
    '{"name":"eth0","ports":[{"name":"http","protocol":"tcp","port":8080}]}',
  );
  const out = formatResources([stored], "yaml");
  assert.match(out, / {4}ports:\n {4}- name: http\n {6}port: 8080\n {6}protocol: tcp\n/);
});

Deno.test("named-port sets hold ADDR . PROTO . PORT of the endpoints the side selects", () => {
  const s = stateOf([WEB, DB, NAMED]);
  assert.deepEqual(s.ipSets.get(ALL_HTTP), {
    v4: ["198.18.1.1 . tcp . 8080", "198.18.2.1 . tcp . 9090"],
    v6: ["2001:db8:1::1 . tcp . 8080", "2001:db8:2::1 . tcp . 9090"],
  });
  // The egress rule's side selects role == 'db': only db1's http.
  assert.deepEqual(s.ipSets.get(DB_HTTP), {
    v4: ["198.18.2.1 . tcp . 9090"],
    v6: ["2001:db8:2::1 . tcp . 9090"],
  });
  // udp dns: the rule's protocol picks the declared port's protocol.
  assert.deepEqual(s.ipSets.get(ALL_DNS), {
    v4: ["198.18.1.1 . udp . 53"],
    v6: ["2001:db8:1::1 . udp . 53"],
  });
  const rule = s.policies.get("named")!.ingress[1]!;
  assert.deepEqual(rule.destination.ports, [5353]);
  assert.deepEqual(rule.destination.namedPorts, [{ set: ALL_DNS, name: "dns" }]);
  assert.ok(isNamedPortSet(ALL_HTTP) && !isNamedPortSet(parseSelector("all()").uniqueId));
});

Deno.test("changing a declared port changes members by one each, and only those", () => {
  const g = graph();
  g.applyUpdates([WEB, DB, NAMED]);
  g.takeChanges();
  const moved = hep("db1", "h2", ["198.18.2.1", "2001:db8:2::1"], { role: "db" }, [
    { name: "http", protocol: "tcp", port: 9091 },
  ]);
  g.applyUpdates([moved]);
  const c = g.takeChanges();
  assert.deepEqual(c.ipSets.size, 0);
  assert.deepEqual([...c.policies], []);
  for (const id of [ALL_HTTP, DB_HTTP]) {
    assert.deepEqual(
      c.members.get(id),
      new Map([
        ["198.18.2.1 . tcp . 9090", false],
        ["2001:db8:2::1 . tcp . 9090", false],
        ["198.18.2.1 . tcp . 9091", true],
        ["2001:db8:2::1 . tcp . 9091", true],
      ]),
    );
  }
  assert.equal(c.members.get(ALL_DNS), undefined);
  // Dropping the name takes its members out; labels no longer matching take db1 out of DB_HTTP.
  g.applyUpdates([hep("db1", "h2", ["198.18.2.1"], { role: "x" }, [])]);
  assert.deepEqual(g.hostState().ipSets.get(ALL_HTTP)!.v4, ["198.18.1.1 . tcp . 8080"]);
  assert.deepEqual(g.hostState().ipSets.get(DB_HTTP)!.v4, []);
});

Deno.test("a declared port change programs as element lines only", () => {
  const g = graph();
  g.applyUpdates([WEB, DB, NAMED]);
  g.takeChanges();
  const table = DesiredTable.build(g.hostState());
  g.applyUpdates([
    hep("db1", "h2", ["198.18.2.1", "2001:db8:2::1"], { role: "db" }, [
      { name: "http", protocol: "tcp", port: 9091 },
    ]),
  ]);
  const lines = planChanges(table.update(g.view(), g.takeChanges()), table.state).trim()
    .split("\n").sort();
  const name = chainNames.set;
  assert.deepEqual(
    lines,
    [
      `add element inet hostfence ${name(ALL_HTTP, 4)} { 198.18.2.1 . tcp . 9091 }`,
      `add element inet hostfence ${name(ALL_HTTP, 6)} { 2001:db8:2::1 . tcp . 9091 }`,
      `add element inet hostfence ${name(DB_HTTP, 4)} { 198.18.2.1 . tcp . 9091 }`,
      `add element inet hostfence ${name(DB_HTTP, 6)} { 2001:db8:2::1 . tcp . 9091 }`,
      `delete element inet hostfence ${name(ALL_HTTP, 4)} { 198.18.2.1 . tcp . 9090 }`,
      `delete element inet hostfence ${name(ALL_HTTP, 6)} { 2001:db8:2::1 . tcp . 9090 }`,
      `delete element inet hostfence ${name(DB_HTTP, 4)} { 198.18.2.1 . tcp . 9090 }`,
      `delete element inet hostfence ${name(DB_HTTP, 6)} { 2001:db8:2::1 . tcp . 9090 }`,
    ].sort(),
  );
});

Deno.test("a named-port policy renders exactly its golden ruleset", async () => {
  const text = render(buildNftState(stateOf([WEB, DB, NAMED])));
  const file = new URL("policy.nft", GOLDEN);
  if (update) {
    await Deno.mkdir(GOLDEN, { recursive: true });
    await Deno.writeTextFile(file, text);
  }
  assert.equal(text, await Deno.readTextFile(file));
});

const tcpIn = (dst: string, dport: number, o: Partial<Packet> = {}): Packet => ({
  path: "input",
  iif: "eth0",
  family: dst.includes(":") ? 6 : 4,
  src: dst.includes(":") ? "2001:db8:5::20" : "198.18.0.20",
  dst,
  protocol: 6,
  sport: 40000,
  dport,
  ...o,
});

Deno.test("packets: a named port opens the declared port on the declaring endpoint only", async (t) => {
  for (const minRun of [0, 1, 4]) {
    await t.step(`NftablesCompileMinRun ${minRun}`, () => {
      const state = buildNftState(stateOf([WEB, DB, NAMED, pol("more", [])], minRun));
      const verdict = (p: Packet) => evaluate(state, p).verdict;
      assert.equal(verdict(tcpIn("198.18.1.1", 8080)), "accept");
      assert.equal(verdict(tcpIn("198.18.1.1", 8081)), "drop");
      // 9090 is http on db1, not on this endpoint's address.
      assert.equal(verdict(tcpIn("198.18.1.1", 9090)), "drop");
      assert.equal(verdict(tcpIn("2001:db8:1::1", 8080)), "accept");
      assert.equal(verdict(tcpIn("2001:db8:1::1", 9090)), "drop");
      // udp: numeric 5353 or named dns (53); tcp to 53 is not the declared protocol.
      assert.equal(verdict(tcpIn("198.18.1.1", 53, { protocol: 17 })), "accept");
      assert.equal(verdict(tcpIn("198.18.1.1", 5353, { protocol: 17 })), "accept");
      assert.equal(verdict(tcpIn("198.18.1.1", 54, { protocol: 17 })), "drop");
      assert.equal(verdict(tcpIn("198.18.1.1", 53)), "drop");
      // Egress: to db1's http allowed by rule 1; anything not named http denied by rule 2.
      const outP = (dst: string, dport: number): Packet => ({
        path: "output",
        oif: "eth0",
        family: dst.includes(":") ? 6 : 4,
        src: dst.includes(":") ? "2001:db8:1::1" : "198.18.1.1",
        dst,
        protocol: 6,
        sport: 40000,
        dport,
      });
      assert.equal(verdict(outP("198.18.2.1", 9090)), "accept");
      assert.equal(verdict(outP("198.18.2.1", 9091)), "drop");
    });
  }
});

Deno.test("numeric and named ports in one rule: either matches, a log runs once", () => {
  const both = hep("web1", "h1", ["198.18.1.1"], { role: "web" }, [
    { name: "http", protocol: "tcp", port: 80 },
  ], "eth0");
  const s = stateOf([
    both,
    pol("mixed", [
      { action: "log", protocol: "tcp", destination: { ports: [80, "http"] } },
      { action: "allow", protocol: "tcp", destination: { ports: [443, "http"] } },
    ]),
  ]);
  const state = buildNftState(s);
  const run = evaluate(state, tcpIn("198.18.1.1", 80));
  assert.equal(run.verdict, "accept");
  const logs = run.hooks.flatMap((h) => h.steps).filter((st) =>
    st.rule.statements.some((x) => x.kind === "log")
  );
  assert.equal(logs.length, 1, "port 80 is both numeric and named: logged once");
  assert.equal(evaluate(state, tcpIn("198.18.1.1", 443)).verdict, "accept");
  assert.equal(evaluate(state, tcpIn("198.18.1.1", 444)).verdict, "drop");
});

Deno.test("source ports: the packet's source address and port are looked up", () => {
  const s = stateOf([
    WEB,
    DB,
    pol("from-db-http", [
      {
        action: "allow",
        protocol: "tcp",
        source: { selector: "role == 'db'", ports: ["http"] },
      },
    ]),
  ]);
  const state = buildNftState(s);
  const from = (src: string, sport: number) =>
    evaluate(state, { ...tcpIn("198.18.1.1", 5000), src, sport }).verdict;
  assert.equal(from("198.18.2.1", 9090), "accept");
  assert.equal(from("198.18.2.1", 9091), "drop");
  // web1 declares http too, but the side's selector is role == 'db'.
  assert.equal(from("198.18.1.1", 8080), "drop");
  assert.match(render(state), / ip saddr \. meta l4proto \. th sport @s4-n_/);
});

Deno.test("audit mode: a named-port deny counts once and accepts", () => {
  const g = new CalculationGraph({
    hostname: "h1",
    dataplaneConfig: { ...DEFAULT_DATAPLANE_CONFIG, policyAuditMode: true },
    log: createLogger([memorySink("ERROR")], "calc"),
  });
  g.setInterfaces(IFACES);
  g.applyUpdates([
    WEB,
    pol("deny-http", [
      { action: "deny", protocol: "tcp", destination: { ports: [8080, "http"] } },
      { action: "allow" },
    ]),
  ]);
  const run = evaluate(buildNftState(g.hostState()), tcpIn("198.18.1.1", 8080));
  assert.equal(run.verdict, "accept");
  const counted = run.hooks.flatMap((h) => h.steps).filter((st) => {
    const o = st.rule.owner;
    return o !== undefined && "audit" in o && o.audit === true;
  });
  assert.equal(counted.length, 1, "8080 is numeric and named: one would-drop");
});

Deno.test("a policy with a named port is never compiled into set lookups", () => {
  const s = stateOf([WEB, DB, NAMED]);
  const ctx = buildContext({ ...DEFAULT_DATAPLANE_CONFIG, compileMinRun: 1 });
  assert.equal(
    compilePolicy("named", s.policies.get("named")!, "ingress", ctx)?.elements,
    undefined,
  );
  const plain = pol("plain", [{ action: "allow", protocol: "tcp", destination: { ports: [80] } }]);
  const p = stateOf([WEB, plain]).policies.get("plain")!;
  assert.ok(compilePolicy("plain", p, "ingress", ctx)?.elements?.length);
});

/** The members a named-port set must have, worked out directly from the resources. */
function expectedMembers(
  heps: Iterable<HostEndpointResource>,
  selector: string,
  proto: string,
  name: string,
): string[] {
  const sel = parseSelector(selector);
  const out = new Set<string>();
  for (const h of heps) {
    const labels = h.metadata.labels ?? {};
    if (!sel.evaluate((k) => labels[k])) continue;
    for (const p of h.spec.ports ?? []) {
      if (p.name !== name || p.protocol !== proto) continue;
      for (const ip of h.spec.expectedIPs ?? []) out.add(`${ip} . ${proto} . ${p.port}`);
    }
  }
  return [...out].sort();
}

Deno.test("random updates: incremental calculation and table equal a fresh build and the definition", () => {
  const names = ["http", "dns"];
  const sels = [undefined, "role == 'db'", "has(role)"];
  let checked = 0, nonEmpty = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const heps = new Map<string, HostEndpointResource>();
    const policies = new Map<string, ModelUpdate>();
    incrementalWalk({
      seed,
      label: `seed ${seed}`,
      steps: 80,
      checkEvery: 8,
      graph: () => graph(seed % 3),
      next: ({ r, pick }) => {
        if (r(3) > 0) {
          const name = `e${r(4)}`;
          const ports: EndpointPort[] = [];
          for (let i = r(3); i > 0; i--) {
            ports.push({
              name: pick(names),
              protocol: pick(["tcp", "udp"]),
              port: pick([53, 80, 8080]),
            });
          }
          const ips = [pick(["198.18.1.1", "198.18.3.1"]), ...(r(2) ? ["2001:db8:3::1"] : [])];
          const u: ModelUpdate = name === "e0"
            ? hep(name, "h1", ips, { role: pick(["web", "db"]) }, ports, "eth0")
            : r(6) === 0
            ? { type: "hostEndpoint", node: "h2", name, value: null }
            : hep(name, "h2", ips, { role: pick(["web", "db"]) }, ports);
          const v = u.type === "hostEndpoint" ? u.value : null;
          if (v === null) heps.delete(name);
          else heps.set(name, v);
          return [`h/${name}`, u];
        }
        const rule = (): Rule => {
          const sel = pick(sels);
          return {
            action: pick(["allow", "deny", "log"] as const),
            protocol: pick(["tcp", "udp"] as const),
            destination: {
              ...(sel === undefined ? {} : { selector: sel }),
              ...(r(2)
                ? { ports: [pick(names), ...(r(2) ? [80] : [])] }
                : { notPorts: [pick(names)] }),
            },
          };
        };
        const name = `q${r(3)}`;
        const u = pol(name, [rule(), rule()], [rule()], r(3));
        policies.set(name, u);
        return [`p/${name}`, u];
      },
      check: (want) => {
        // Every named-port set holds exactly what the definition gives.
        for (const pu of policies.values()) {
          if (pu.type !== "policy" || pu.value === null) continue;
          for (const rule of [...(pu.value.spec.ingress ?? []), ...(pu.value.spec.egress ?? [])]) {
            const d = rule.destination!;
            const sel = d.selector ?? "all()";
            for (const n of [...(d.ports ?? []), ...(d.notPorts ?? [])]) {
              if (typeof n !== "string") continue;
              const id = namedPortSetId(parseSelector(sel), rule.protocol as string, n);
              const m = want.ipSets.get(id);
              if (m === undefined) continue; // policy not active on this host
              const got = [...m.v4, ...m.v6].sort();
              assert.deepEqual(
                got,
                expectedMembers(heps.values(), sel, rule.protocol as string, n),
              );
              checked++;
              if (got.length > 0) nonEmpty++;
            }
          }
        }
      },
    });
  }
  assert.ok(checked > 100 && nonEmpty > 50, `checked ${checked} sets, ${nonEmpty} non-empty`);
});
