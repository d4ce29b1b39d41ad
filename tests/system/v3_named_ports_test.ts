/**
 * Named ports and failsafe nets written as Calico 3 YAML, end to end: the real CLI applies a
 * projectcalico.org/v3 file (HostEndpoint HEP0 declaring `http` in `spec.ports`, a
 * GlobalNetworkPolicy allowing `ports: [http]`) into a real etcd, where it is stored exactly as
 * Calico 3's backend stored it (what tests/system/named_ports_test.ts writes by hand), and the
 * real agent opens exactly the declared port, v4 and v6, with real packets; a re-applied
 * endpoint moves the opening. `get --api v3` prints it back byte-stable; v1 output says it
 * cannot be applied back. A v3 FelixConfiguration failsafe entry with a `net` keeps tcp/22
 * open from that net only.
 */
import assert from "node:assert/strict";
import { encodeHostEndpoint, encodePolicy } from "../../src/datastore/backend_encode.ts";
import { hostConfigKey, hostEndpointKey, policyKey } from "../../src/datastore/keys.ts";
import { expectAll } from "../../netlab/probe.ts";
import { AGENT_TESTS_IGNORED, openSite, type Site } from "../harness/scenario.ts";
import { ADDR } from "../harness/topology.ts";

const H = "apiVersion: projectcalico.org/v3\n";

/** HEP0 (eth0 of h1) declaring `http` as tcp/`port`, as an operator writes it in Calico 3. */
function hep0(port: number): string {
  return `${H}kind: HostEndpoint
metadata:
  name: hep0
  labels: {host-endpoint: "true", role: web}
spec:
  node: h1
  interfaceName: eth0
  expectedIPs: ["${ADDR.h1Eth0}", "${ADDR.h1Eth0v6}"]
  ports:
  - name: http
    protocol: TCP
    port: ${port}
`;
}

const POLICY = `${H}kind: GlobalNetworkPolicy
metadata:
  name: web-http
spec:
  selector: role == 'web'
  order: 10
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [http]
`;

/** What `get --api v3 -o yaml` prints for the two (sorted keys, as calicoctl prints them). */
const PRINTED_HEP = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  labels:
    host-endpoint: "true"
    role: web
  name: hep0
spec:
  expectedIPs:
  - 198.18.1.1
  - 2001:db8:1::1
  interfaceName: eth0
  node: h1
  ports:
  - name: http
    port: 8080
    protocol: TCP
`;

const PRINTED_POLICY = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: web-http
spec:
  ingress:
  - action: Allow
    destination:
      ports:
      - http
    protocol: TCP
    source: {}
  order: 10
  selector: role == 'web'
  types:
  - Ingress
`;

async function cliOk(site: Site, args: string[], stdin?: string): Promise<string> {
  const r = await site.ds.cli(args, stdin);
  assert.equal(r.code, 0, `hostfence ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function applyV3(site: Site, text: string): Promise<void> {
  await cliOk(site, ["apply", "-f", "-"], text);
  await site.sync();
}

Deno.test({
  name: "v3 YAML: a named port opens exactly the declared port; a failsafe net limits ssh",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite();
    const { probe } = site;
    const h1 = ADDR.h1Eth0, h1v6 = ADDR.h1Eth0v6;

    await t.step("http = tcp/8080: 8080 allowed, 8081 and 80 dropped, v4 and v6", async () => {
      await applyV3(site, hep0(8080) + "---\n" + POLICY);
      await expectAll([
        ["R -> h1 tcp/8080 (http)", probe.r.tcp(h1, 8080), "allow"],
        ["R -> h1 tcp/8081", probe.r.tcp(h1, 8081), "drop"],
        ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "drop"],
        ["R -> h1 v6 tcp/8080 (http)", probe.r.tcp(h1v6, 8080), "allow"],
        ["R -> h1 v6 tcp/8081", probe.r.tcp(h1v6, 8081), "drop"],
      ]);
    });

    await t.step("etcd holds what Calico 3's backend stored for the same objects", async () => {
      const hep = await site.ds.get(hostEndpointKey("h1", "hep0"));
      assert.equal(
        hep,
        encodeHostEndpoint({
          kind: "hostEndpoint",
          metadata: { name: "hep0", node: "h1", labels: { "host-endpoint": "true", role: "web" } },
          spec: {
            interfaceName: "eth0",
            expectedIPs: [h1, h1v6],
            ports: [{ name: "http", protocol: "tcp", port: 8080 }],
          },
        }),
      );
      assert.match(hep ?? "", /"ports":\[\{"name":"http","protocol":"tcp","port":8080\}\]/);
      const pol = await site.ds.get(policyKey("web-http"));
      assert.equal(
        pol,
        encodePolicy({
          kind: "policy",
          metadata: { name: "web-http" },
          spec: {
            selector: "role == 'web'",
            order: 10,
            ingress: [{ action: "allow", protocol: "tcp", destination: { ports: ["http"] } }],
            applyOnForward: false,
          },
        }),
      );
      assert.match(pol ?? "", /"dst_ports":\["http"\]/);
    });

    await t.step("get --api v3 prints them; applying that back changes nothing", async () => {
      const get = (kind: string) => cliOk(site, ["get", kind, "-o", "yaml", "--api", "v3"]);
      assert.equal(await get("hostEndpoint"), PRINTED_HEP);
      assert.equal(await get("globalNetworkPolicy"), PRINTED_POLICY);
      const keys = [hostEndpointKey("h1", "hep0"), policyKey("web-http")];
      const values = () => Promise.all(keys.map((k) => site.ds.get(k)));
      const before = await values();
      await cliOk(site, ["apply", "-f", "-"], PRINTED_HEP + "---\n" + PRINTED_POLICY);
      assert.deepEqual(await values(), before, "etcd values unchanged");
      assert.equal(await get("hostEndpoint"), PRINTED_HEP);
      assert.equal(await get("globalNetworkPolicy"), PRINTED_POLICY);
    });

    await t.step("v1 output prints what is stored and says to round-trip with v3", async () => {
      const r = await site.ds.cli(["get", "hostEndpoint", "-o", "yaml"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /ports:\n {4}- name: http\n {6}port: 8080\n {6}protocol: tcp\n/);
      assert.match(
        r.stderr,
        /hostEndpoint "hep0" \(node h1\) has named ports, which apiVersion v1 cannot apply back; print it with --api v3/,
      );
      const p = await site.ds.cli(["get", "policy", "web-http", "-o", "yaml"]);
      assert.match(p.stderr, /policy "web-http" has named ports/);
      const tbl = await site.ds.cli(["get", "hostEndpoint"]);
      assert.equal(tbl.stderr, "", "a table is not for applying back");
    });

    await t.step("the endpoint re-applied with http = tcp/8081: the opening moves", async () => {
      await applyV3(site, hep0(8081));
      await expectAll([
        ["R -> h1 tcp/8080", probe.r.tcp(h1, 8080), "drop"],
        ["R -> h1 tcp/8081 (http)", probe.r.tcp(h1, 8081), "allow"],
        ["R -> h1 v6 tcp/8080", probe.r.tcp(h1v6, 8080), "drop"],
        ["R -> h1 v6 tcp/8081 (http)", probe.r.tcp(h1v6, 8081), "allow"],
      ]);
    });

    await t.step("FelixConfiguration failsafe entry with a net: tcp/22 from it only", async () => {
      const outside = { source: ADDR.rOutside };
      await expectAll([
        ["R -> h1 tcp/22 (default failsafe)", probe.r.tcp(h1, 22), "allow"],
        ["R(198.18.9.2) -> h1 tcp/22 (default failsafe)", probe.r.tcp(h1, 22, outside), "allow"],
      ]);
      const felix = `${H}kind: FelixConfiguration
metadata:
  name: node.h1
spec:
  failsafeInboundHostPorts:
  - {protocol: TCP, port: 22, net: ${ADDR.mgmtCidr}}
  - {protocol: TCP, port: 22, net: ${ADDR.rNet}}
  - {protocol: TCP, port: 22, net: "2001:db8::/64"}
  - {protocol: UDP, port: 68}
`;
      await applyV3(site, felix);
      assert.equal(
        await site.ds.get(hostConfigKey("h1", "FailsafeInboundHostPorts")),
        "tcp:198.18.0.0/24:22,tcp:198.18.1.0/24:22,tcp:[2001:db8::/64]:22,udp:68",
      );
      await expectAll([
        ["R(198.18.1.2) -> h1 tcp/22", probe.r.tcp(h1, 22), "allow"],
        ["R(198.18.9.2) -> h1 tcp/22 (outside the net)", probe.r.tcp(h1, 22, outside), "drop"],
        ["R(2001:db8:1::2) -> h1 v6 tcp/22 (outside the v6 net)", probe.r.tcp(h1v6, 22), "drop"],
      ]);
      const printed = await cliOk(site, ["get", "felixConfiguration", "node.h1", "-o", "yaml"]);
      assert.match(printed, /- net: 198\.18\.1\.0\/24\n {4}port: 22\n {4}protocol: TCP\n/);
      assert.match(printed, /- net: 2001:db8::\/64\n {4}port: 22\n {4}protocol: TCP\n/);
    });
  },
});
