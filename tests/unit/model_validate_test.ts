/**
 * Field validation (libcalico-go v1's validator, with dotted interface names allowed): every rule,
 * with calicoctl's field names and reasons, and calicoctl's rendering of one or several issues.
 */
import assert from "node:assert/strict";
import { formatIssues, validateResource, type ValidationIssue } from "../../src/model/validate.ts";
import type {
  HostEndpointResource,
  PolicyResource,
  Resource,
  Rule,
  WorkloadEndpointResource,
} from "../../src/model/resources.ts";
import {
  hostEndpointResource,
  policyResource,
  workloadEndpointResource,
} from "../fixtures/resources.ts";

/** Host endpoint `eth0-web1` on `web1` (unless `metadata` says otherwise) with this raw spec. */
const hep = (
  spec: HostEndpointResource["spec"],
  metadata: Partial<HostEndpointResource["metadata"]> = {},
): HostEndpointResource =>
  hostEndpointResource(metadata.name ?? "eth0-web1", {
    node: metadata.node ?? "web1",
    ...(metadata.labels ? { labels: metadata.labels } : {}),
    spec,
  });

const withRule = (rule: Rule): PolicyResource => policyResource("p", { ingress: [rule] });

const wep = (spec: Partial<WorkloadEndpointResource["spec"]>): WorkloadEndpointResource =>
  workloadEndpointResource("h1/k8s/w/eth0", { interfaceName: "cali1", ...spec });

/** The issues as `path | field | rendered` lines, easy to compare. */
function issues(r: Resource): string[] {
  return validateResource(r).map((i) => `${i.path} | ${formatIssues([i])}`);
}

Deno.test("valid resources have no issues", () => {
  const all: Resource[] = [
    { kind: "node", metadata: { name: "host1" }, spec: {} },
    { kind: "node", metadata: { name: "h" }, spec: { bgp: { ipv4Address: "10.0.0.1/24" } } },
    hep({ interfaceName: "eth0" }),
    hep({ expectedIPs: ["10.0.0.1", "fd00::1"], profiles: ["ns/prof"] }, { labels: { a: "" } }),
    hep({ interfaceName: "eth0.100" }),
    policyResource("p", {
      order: 10,
      types: ["ingress", "egress"],
      ingress: [{
        action: "allow",
        protocol: 6,
        source: { nets: ["10.0.0.0/8"], ports: [22, { min: 1, max: 65535 }] },
        destination: { notNets: ["192.168.0.0/16"], notPorts: [80] },
      }],
      egress: [{ action: "pass", ipVersion: 6, source: { net: "fd00::/64" } }],
    }),
    policyResource("p", { preDNAT: true, types: ["ingress"], ingress: [{ action: "deny" }] }),
    {
      kind: "profile",
      metadata: { name: "p", tags: ["db"], labels: { "k8s.io/app": "-x_y.z9" } },
      spec: { egress: [{ action: "log", protocol: "icmp", icmp: { type: 0, code: 255 } }] },
    },
    wep({
      ipNetworks: ["10.65.0.2/32"],
      ipNATs: [{ internalIP: "10.65.0.2", externalIP: "172.16.0.1" }],
      ipv4Gateway: "10.65.0.1",
      ipv6Gateway: "fd00::1",
    }),
  ];
  for (const r of all) assert.deepEqual(validateResource(r), [], JSON.stringify(r));
});

Deno.test("host endpoint rules", async (t) => {
  await t.step("C2: needs an interface name or expected IPs", () => {
    assert.deepEqual(issues(hep({})), [
      "spec.interfaceName | error with field InterfaceName = '' (no interface or expected IPs have been specified)",
    ]);
    assert.equal(issues(hep({ profiles: ["a"], expectedIPs: [] })).length, 1);
  });
  await t.step("interface names: dots allowed (0'), 15 characters at most", () => {
    assert.deepEqual(issues(hep({ interfaceName: "bond0.1234" })), []);
    assert.deepEqual(issues(hep({ interfaceName: "wibblywobblyeth0" })), [
      "spec.interfaceName | error with field InterfaceName = 'wibblywobblyeth0' (must be 1-15 characters from a-z, A-Z, 0-9, '.', '_', '-')",
    ]);
    assert.equal(issues(hep({ interfaceName: "eth 0" })).length, 1);
    assert.equal(issues(hep({ interfaceName: ".." })).length, 1);
  });
  await t.step("name is a namespacedname, node a name", () => {
    assert.deepEqual(issues(hep({ interfaceName: "eth0" }, { name: "a b", node: "h/1" })), [
      "metadata.name | error with field Name = 'a b' (must be 1-128 characters from a-z, A-Z, 0-9, '.', '_', '-', '/')",
      "metadata.node | error with field Node = 'h/1' (must be 1-128 characters from a-z, A-Z, 0-9, '.', '_', '-')",
    ]);
    assert.equal(issues(hep({ interfaceName: "e" }, { name: "x".repeat(129) })).length, 1);
    assert.deepEqual(issues(hep({ interfaceName: "e" }, { name: "x".repeat(128) })), []);
  });
  await t.step("missing identifiers are not validation issues", () => {
    assert.deepEqual(issues(hep({ interfaceName: "eth0" }, { name: "", node: "" })), []);
  });
  await t.step("profile references are namespacednames", () => {
    assert.deepEqual(issues(hep({ interfaceName: "eth0", profiles: ["ok", "not ok"] })), [
      "spec.profiles[1] | error with field Profiles[1] = 'not ok' (must be 1-128 characters from a-z, A-Z, 0-9, '.', '_', '-', '/')",
    ]);
  });
});

Deno.test("label rules", async (t) => {
  const labelled = (labels: Record<string, string>) => hep({ interfaceName: "eth0" }, { labels });
  await t.step("keys: [a-zA-Z0-9_./-]{1,512}", () => {
    assert.deepEqual(issues(labelled({ "example.com/role_1-x": "a" })), []);
    assert.deepEqual(issues(labelled({ "k:": "v" })), [
      "metadata.labels.k: | error with field Labels = 'map[k::v]' (label key 'k:' must be 1-512 characters from a-z, A-Z, 0-9, '.', '_', '/', '-')",
    ]);
    assert.equal(issues(labelled({ ["k".repeat(513)]: "v" })).length, 1);
  });
  await t.step("values: empty, or up to 63 characters ending alphanumeric", () => {
    for (const ok of ["", "a", "-a", "_a.b-c", "x".repeat(63)]) {
      assert.deepEqual(issues(labelled({ k: ok })), [], ok);
    }
    for (const bad of ["-", "a-", "a b", "x".repeat(64), "é"]) {
      assert.equal(issues(labelled({ k: bad })).length, 1, bad);
    }
    assert.match(issues(labelled({ role: "web server" }))[0]!, /Labels = 'map\[role:web server\]'/);
  });
  await t.step("profile labels and tags", () => {
    const r: Resource = {
      kind: "profile",
      metadata: { name: "p", tags: ["ok", "b/ad"], labels: { k: "v!" } },
      spec: {},
    };
    assert.deepEqual(issues(r).map((l) => l.split(" | ")[0]), [
      "metadata.tags[1]",
      "metadata.labels.k",
    ]);
  });
});

Deno.test("rule rules", async (t) => {
  await t.step("action must be allow, deny, log or pass", () => {
    assert.deepEqual(issues(withRule({ action: "Allow" as Rule["action"] })), [
      "spec.ingress[0].action | error with field Action = 'Allow' (must be one of allow, deny, log, pass)",
    ]);
  });
  await t.step("ipVersion must be 4 or 6", () => {
    assert.deepEqual(issues(withRule({ action: "allow", ipVersion: 5 as 4 })), [
      "spec.ingress[0].ipVersion | error with field IPVersion = '5' (must be 4 or 6)",
    ]);
  });
  await t.step("protocol names are lower case; numbers 1-255", () => {
    assert.deepEqual(issues(withRule({ action: "allow", protocol: "TCP" as "tcp" })), [
      "spec.ingress[0].protocol | error with field Protocol = 'TCP' (protocol name invalid)",
    ]);
    assert.deepEqual(issues(withRule({ action: "allow", notProtocol: 0 })), [
      "spec.ingress[0].notProtocol | error with field Protocol = '0' (protocol number invalid)",
    ]);
    assert.deepEqual(issues(withRule({ action: "allow", protocol: "sctp" })), []);
  });
  await t.step("C3: ports need protocol tcp or udp (or 6, 17); notProtocol does not count", () => {
    assert.deepEqual(
      issues(withRule({ action: "allow", protocol: "icmp", destination: { ports: [80] } })),
      [
        "spec.ingress[0].destination.ports | error with field Destination.Ports = '[80]' (protocol does not support ports)",
      ],
    );
    assert.deepEqual(
      issues(withRule({
        action: "allow",
        notProtocol: "tcp",
        source: { ports: [{ min: 1, max: 2 }], notPorts: [3] },
        destination: { notPorts: [4] },
      })),
      [
        "spec.ingress[0].source.ports | error with field Source.Ports = '[1:2]' (protocol does not support ports)",
        "spec.ingress[0].source.notPorts | error with field Source.NotPorts = '[3]' (protocol does not support ports)",
        "spec.ingress[0].destination.notPorts | error with field Destination.NotPorts = '[4]' (protocol does not support ports)",
      ],
    );
    assert.equal(
      issues(withRule({ action: "allow", protocol: "sctp", source: { ports: [1] } })).length,
      1,
    );
    assert.deepEqual(
      issues(withRule({ action: "allow", protocol: 17, source: { ports: [1] } })),
      [],
    );
  });
  await t.step("port 0 and reversed ranges", () => {
    assert.deepEqual(
      issues(withRule({ action: "allow", protocol: "tcp", destination: { ports: [0] } })),
      [
        "spec.ingress[0].destination.ports[0] | error with field Port = '0' (port range invalid, port number must be between 0 and 65536)",
      ],
    );
    assert.deepEqual(
      issues(
        withRule({
          action: "allow",
          protocol: "tcp",
          destination: { ports: [{ min: 9, max: 2 }] },
        }),
      ),
      ["spec.ingress[0].destination.ports[0] | error with field Port = '2' (port range invalid)"],
    );
  });
  await t.step("C5: ICMP code without type; type 0-254, code 0-255", () => {
    assert.deepEqual(issues(withRule({ action: "allow", protocol: "icmp", icmp: { code: 0 } })), [
      "spec.ingress[0].icmp.code | error with field Code = '0' (ICMP code specified without an ICMP type)",
    ]);
    assert.deepEqual(issues(withRule({ action: "allow", notICMP: { type: 255, code: 256 } })), [
      "spec.ingress[0].notICMP.type | error with field Type = '255' (must be 0-254)",
      "spec.ingress[0].notICMP.code | error with field Code = '256' (must be 0-255)",
    ]);
  });
  await t.step("net and nets may not be mixed anywhere in one rule", () => {
    assert.deepEqual(
      issues(withRule({
        action: "allow",
        source: { net: "10.0.0.0/8" },
        destination: { notNets: ["10.1.0.0/16"] },
      })),
      [
        "spec.ingress[0] | error with field Source/Destination.Net/Nets = '[]' (only one of Net and Nets fields allowed)",
      ],
    );
  });
  await t.step("CIDRs of both families in one rule", () => {
    assert.deepEqual(
      issues(withRule({
        action: "allow",
        source: { nets: ["10.0.0.0/8"] },
        destination: { notNets: ["fd00::/64"] },
      })),
      [
        "spec.ingress[0].destination.notNets | error with field Destination.NotNet(s) = '[fd00::/64]' (rule contains both IPv4 and IPv6 CIDRs)",
      ],
    );
    assert.equal(
      issues(withRule({ action: "allow", source: { nets: ["10.0.0.0/8", "fd00::/8"] } })).length,
      1,
    );
  });
  await t.step("CIDR family must match ipVersion", () => {
    assert.deepEqual(
      issues(withRule({ action: "allow", ipVersion: 6, source: { net: "10.0.0.0/8" } })),
      [
        "spec.ingress[0].source.net | error with field Source.Net(s) = '[10.0.0.0/8]' (rule IP version doesn't match CIDR version)",
      ],
    );
  });
  await t.step("tags are names; selectors must parse", () => {
    const r = issues(withRule({
      action: "allow",
      source: { tag: "a/b", selector: 'role = "db"' },
      destination: { notTag: "ok", notSelector: "has(x)" },
    }));
    assert.equal(r.length, 2);
    assert.match(r[0]!, /^spec\.ingress\[0\]\.source\.tag \| error with field Tag = 'a\/b'/);
    assert.match(
      r[1]!,
      /^spec\.ingress\[0\]\.source\.selector \| error with field Selector = 'role = "db"' \(.+\)$/,
    );
  });
});

Deno.test("policy rules", async (t) => {
  await t.step("C4: doNotTrack and preDNAT together", () => {
    assert.deepEqual(issues(policyResource("p", { doNotTrack: true, preDNAT: true })), [
      "spec.preDNAT | error with field PolicySpec.PreDNAT = 'true' (PreDNAT and DoNotTrack cannot both be true, for a given PolicySpec)",
    ]);
  });
  await t.step("preDNAT with egress rules or the egress type", () => {
    assert.deepEqual(
      issues(
        policyResource("p", {
          preDNAT: true,
          types: ["ingress", "egress"],
          egress: [{ action: "allow" }],
        }),
      ),
      [
        "spec.egress | error with field PolicySpec.EgressRules (PreDNAT PolicySpec cannot have any EgressRules)",
        "spec.types | error with field PolicySpec.Types = '[ingress egress]' (PreDNAT PolicySpec cannot have 'egress' Type)",
      ],
    );
  });
  await t.step("types: ingress or egress, no duplicates", () => {
    assert.deepEqual(
      issues(policyResource("p", { types: ["ingress", "Egress" as "egress", "ingress"] })),
      [
        "spec.types[1] | error with field Types[1] = 'Egress' (must be ingress or egress)",
        "spec.types | error with field PolicySpec.Types = '[ingress Egress ingress]' ('ingress' type specified more than once)",
      ],
    );
  });
  await t.step("the policy selector must parse; empty means all()", () => {
    assert.deepEqual(issues(policyResource("p", { selector: "" })), []);
    const r = issues(policyResource("p", { selector: "a = 'x'" }));
    assert.equal(r.length, 1);
    assert.match(r[0]!, /^spec\.selector \| error with field Selector = 'a = 'x'' \(.+\)$/);
  });
});

Deno.test("node rules", () => {
  const node = (bgp: Record<string, unknown>): Resource =>
    ({ kind: "node", metadata: { name: "h1" }, spec: { bgp } }) as Resource;
  assert.deepEqual(issues(node({})), [
    "spec.bgp.ipv4Address | error with field BGP.IPv4Address = '' (no BGP IP address and subnet specified)",
  ]);
  assert.deepEqual(issues(node({ ipv4Address: "fd00::1/64", ipv6Address: "10.0.0.1/24" })), [
    "spec.bgp.ipv4Address | error with field BGP.IPv4Address = 'fd00::1/64' (invalid IPv4 address and subnet specified)",
    "spec.bgp.ipv6Address | error with field BGP.IPv6Address = '10.0.0.1/24' (invalid IPv6 address and subnet specified)",
  ]);
  assert.equal(issues({ kind: "node", metadata: { name: "a/b" }, spec: {} }).length, 1);
});

Deno.test("workload endpoint rules", () => {
  assert.deepEqual(issues(wep({ interfaceName: "" })), [
    "spec.interfaceName | error with field InterfaceName = '' (must be 1-15 characters from a-z, A-Z, 0-9, '.', '_', '-')",
  ]);
  assert.deepEqual(issues(wep({ ipNetworks: ["10.65.0.0/24"] })), [
    "spec.ipNetworks | error with field IPNetworks = '[10.65.0.0/24]' (IP network contains multiple addresses)",
  ]);
  assert.deepEqual(issues(wep({ ipv4Gateway: "fd00::1", ipv6Gateway: "10.0.0.1" })), [
    "spec.ipv4Gateway | error with field IPv4Gateway = 'fd00::1' (invalid IPv4 gateway address specified)",
    "spec.ipv6Gateway | error with field IPv6Gateway = '10.0.0.1' (invalid IPv6 gateway address specified)",
  ]);
  assert.deepEqual(
    issues(wep({
      ipNetworks: ["10.65.0.2/32"],
      ipNATs: [{ internalIP: "10.65.0.3", externalIP: "fd00::9" }],
    })),
    [
      "spec.ipNATs[0].externalIP | error with field ExternalIP = 'fd00::9' (mismatched IP versions)",
      "spec.ipNATs | error with field IPNATs = '[10.65.0.3<>fd00::9]' (NAT is not in the endpoint networks)",
    ],
  );
  const meta: Resource = {
    kind: "workloadEndpoint",
    metadata: { name: "a", workload: "w w", orchestrator: "o", node: "n", activeInstanceID: "x/y" },
    spec: { interfaceName: "cali1" },
  };
  assert.deepEqual(issues(meta).map((l) => l.split(" | ")[0]), [
    "metadata.workload",
    "metadata.activeInstanceID",
  ]);
});

Deno.test("formatIssues renders one or several issues like calicoctl", () => {
  const one: ValidationIssue = {
    path: "spec.interfaceName",
    field: "InterfaceName",
    value: "",
    reason: "no interface or expected IPs have been specified",
  };
  assert.equal(
    formatIssues([one]),
    "error with field InterfaceName = '' (no interface or expected IPs have been specified)",
  );
  assert.equal(
    formatIssues([{ path: "x", field: "Action", value: "jump", reason: "" }]),
    "error with field Action = 'jump'",
  );
  assert.equal(
    formatIssues([one, { path: "y", field: "Labels", value: { b: "2", a: "1" }, reason: "r" }]),
    "error with the following fields:\n" +
      "-  InterfaceName = '' (no interface or expected IPs have been specified)\n" +
      "-  Labels = 'map[a:1 b:2]' (r)",
  );
  assert.equal(
    formatIssues([{ path: "x", field: "PolicySpec.EgressRules", value: undefined, reason: "r" }]),
    "error with field PolicySpec.EgressRules (r)",
  );
});
