/**
 * Named ports with the real agent, a real etcd and real packets: host endpoint HEP0 (eth0 of
 * h1) declares `http` as tcp/8080 in the v1 etcd layout Calico 3's backend wrote (`ports` on
 * the host endpoint, the name in a rule's `dst_ports`); a policy allowing `http` opens exactly
 * that port on HEP0's addresses, v4 and v6, and moving the declared port moves the opening
 * live. `explain` and `get -o yaml` read the same data.
 */
import assert from "node:assert/strict";
import { encodeHostEndpoint, encodePolicy } from "../../src/datastore/backend_encode.ts";
import { hostEndpointKey, policyKey } from "../../src/datastore/keys.ts";
import { namedPortSetId } from "../../src/calc/resolve_rules.ts";
import { chainNames } from "../../src/dataplane/mod.ts";
import { parseSelector } from "../../src/selector/mod.ts";
import type { EndpointPort, HostEndpointResource } from "../../src/model/resources.ts";
import { expectAll } from "../../netlab/probe.ts";
import { AGENT_TESTS_IGNORED, openSite, type Site } from "../harness/scenario.ts";
import { ADDR, tcpIntoH1Eth0 } from "../harness/topology.ts";

function hep0(ports: EndpointPort[]): HostEndpointResource {
  return {
    kind: "hostEndpoint",
    metadata: { name: "hep0", node: "h1", labels: { "host-endpoint": "true", role: "web" } },
    spec: { interfaceName: "eth0", expectedIPs: [ADDR.h1Eth0, ADDR.h1Eth0v6], ports },
  };
}

/** Writes the host endpoint's backend JSON straight into etcd and waits for the agent. */
async function putHep(site: Site, ports: EndpointPort[]): Promise<void> {
  await site.ds.put(hostEndpointKey("h1", "hep0"), encodeHostEndpoint(hep0(ports)));
  await site.sync();
}

/** `explain`, reading the same etcd, agrees with the kernel packet by packet. */
async function explainAgrees(site: Site): Promise<void> {
  for (const [src, dst] of [[ADDR.r, ADDR.h1Eth0], [ADDR.r6, ADDR.h1Eth0v6]] as const) {
    for (const port of [80, 81, 8080, 8081]) {
      const ex = await site.ds.cli(["explain", ...tcpIntoH1Eth0(src, dst, port)]);
      const said = /^Verdict: (ALLOW|DROP)/m.exec(ex.stdout)?.[1];
      const got = (await site.probe.r.tcp(dst, port)).verdict;
      assert.equal(said, got === "allow" ? "ALLOW" : "DROP", `${dst} tcp/${port}: ${ex.stdout}`);
    }
  }
}

Deno.test({
  name: "a named port opens the declared port on the declaring endpoint, live",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite();
    const { probe } = site;
    await site.ds.put(
      policyKey("web-http"),
      encodePolicy({
        kind: "policy",
        metadata: { name: "web-http" },
        spec: {
          selector: "role == 'web'",
          order: 10,
          ingress: [{ action: "allow", protocol: "tcp", destination: { ports: ["http"] } }],
        },
      }),
    );

    await t.step("http = tcp/8080: 8080 allowed, 8081 dropped, v4 and v6", async () => {
      await putHep(site, [{ name: "http", protocol: "tcp", port: 8080 }]);
      await expectAll([
        ["R -> h1 tcp/8080 (http)", probe.r.tcp(ADDR.h1Eth0, 8080), "allow"],
        ["R -> h1 tcp/8081", probe.r.tcp(ADDR.h1Eth0, 8081), "drop"],
        ["R -> h1 v6 tcp/8080 (http)", probe.r.tcp(ADDR.h1Eth0v6, 8080), "allow"],
        ["R -> h1 v6 tcp/8081", probe.r.tcp(ADDR.h1Eth0v6, 8081), "drop"],
      ]);
      await explainAgrees(site);
    });

    await t.step("explain and get read the same named port", async () => {
      const ex = await site.ds.cli([
        "explain",
        ...tcpIntoH1Eth0(ADDR.r, ADDR.h1Eth0, 8080),
      ]);
      assert.equal(ex.code, 0, ex.stderr);
      assert.match(
        ex.stdout,
        /Verdict: ALLOW by policy web-http rule 1 \(ingress: allow tcp to port http\)/,
      );
      const get = await site.ds.cli(["get", "hostEndpoint", "hep0", "--node", "h1", "-o", "yaml"]);
      assert.equal(get.code, 0, get.stderr);
      assert.match(get.stdout, /ports:\n {4}- name: http\n {6}port: 8080\n {6}protocol: tcp\n/);
    });

    await t.step("negated and mixed: deny everything but http and 80, then allow", async () => {
      // From here on the policy drops tcp unless it is port 80 or this endpoint's http port:
      // the kernel's `!= @set` lookup, and one nft rule per alternative.
      await site.ds.put(
        policyKey("web-http"),
        encodePolicy({
          kind: "policy",
          metadata: { name: "web-http" },
          spec: {
            selector: "role == 'web'",
            order: 10,
            ingress: [
              { action: "deny", protocol: "tcp", destination: { notPorts: ["http", 80] } },
              { action: "allow", protocol: "tcp", destination: { ports: [81, "http"] } },
              { action: "allow", protocol: "tcp", destination: { ports: [80] } },
            ],
          },
        }),
      );
      await site.sync();
      await expectAll([
        ["R -> h1 tcp/8080 (http)", probe.r.tcp(ADDR.h1Eth0, 8080), "allow"],
        ["R -> h1 tcp/80", probe.r.tcp(ADDR.h1Eth0, 80), "allow"],
        ["R -> h1 tcp/81 (denied before its allow)", probe.r.tcp(ADDR.h1Eth0, 81), "drop"],
        ["R -> h1 tcp/8081", probe.r.tcp(ADDR.h1Eth0, 8081), "drop"],
        ["R -> h1 v6 tcp/8080 (http)", probe.r.tcp(ADDR.h1Eth0v6, 8080), "allow"],
        ["R -> h1 v6 tcp/8081", probe.r.tcp(ADDR.h1Eth0v6, 8081), "drop"],
      ]);
      await explainAgrees(site);
    });

    await t.step("the endpoint now declares http = tcp/8081: the opening moves", async () => {
      await putHep(site, [{ name: "http", protocol: "tcp", port: 8081 }]);
      await expectAll([
        ["R -> h1 tcp/8080", probe.r.tcp(ADDR.h1Eth0, 8080), "drop"],
        ["R -> h1 tcp/8081 (http)", probe.r.tcp(ADDR.h1Eth0, 8081), "allow"],
        ["R -> h1 v6 tcp/8080", probe.r.tcp(ADDR.h1Eth0v6, 8080), "drop"],
        ["R -> h1 v6 tcp/8081 (http)", probe.r.tcp(ADDR.h1Eth0v6, 8081), "allow"],
      ]);
      // The kernel's named-port set holds the new triple (the change was element lines).
      const set = chainNames.set(namedPortSetId(parseSelector("all()"), "tcp", "http"), 4);
      const listed = await site.topo.h1.exec(["nft", "list", "set", "inet", "hostfence", set]);
      assert.match(listed.stdout, /198\.18\.1\.1 \. tcp \. 8081/);
      assert.doesNotMatch(listed.stdout, /8080/);
    });

    await t.step("no port named http any more: nothing opens", async () => {
      await putHep(site, [{ name: "admin", protocol: "tcp", port: 8081 }]);
      await expectAll([
        ["R -> h1 tcp/8080", probe.r.tcp(ADDR.h1Eth0, 8080), "drop"],
        ["R -> h1 tcp/8081 (admin, not http)", probe.r.tcp(ADDR.h1Eth0, 8081), "drop"],
        ["R -> h1 tcp/80 (still open)", probe.r.tcp(ADDR.h1Eth0, 80), "allow"],
      ]);
    });
  },
});
