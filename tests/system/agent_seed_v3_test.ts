/**
 * The seed guide's walkthrough written as Calico 3 operators write it today
 * (`apiVersion: projectcalico.org/v3`) gives the same packets as the guide's own v1 YAML
 * (issue 9): the same site runs both, one after the other, against the same probe table.
 * Policies here only police traffic to and from the host, so v3's applyOnForward default
 * (false) changes nothing; the untracked example must say `applyOnForward: true` in v3.
 */
import { type Check, expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import {
  AGENT_TESTS_IGNORED,
  MGMT_HEP_YAML,
  openSite,
  type Site,
  tailoredFailsafeChecks,
} from "../harness/scenario.ts";
import {
  seedFailsafePolicy,
  seedHostEndpointByIp,
  seedHostEndpointByName,
  seedWebserverPolicy,
} from "../../netlab/guide_examples.ts";

/** The guide's resources (placeholders as in agent_seed_test.ts), v1, as one list. */
const V1_WALKTHROUGH = [
  seedFailsafePolicy({ managementCidr: ADDR.mgmtCidr, etcdIp: ADDR.etcd, etcdPorts: [2379] }),
  MGMT_HEP_YAML,
  seedHostEndpointByName({
    name: "hep-eth0",
    node: "h1",
    interfaceName: "eth0",
    profiles: [],
    expectedIPs: [ADDR.h1Eth0],
  }),
  seedWebserverPolicy(),
  seedHostEndpointByIp({ name: "hep-eth1", node: "h1", profiles: [], expectedIPs: [ADDR.h1Eth1] }),
].join("");

const V1_MEMCACHED = `- apiVersion: v1
  kind: policy
  metadata:
    name: memcached
  spec:
    selector: role == 'webserver'
    order: 10
    doNotTrack: true
    ingress:
    - {action: allow, protocol: tcp, destination: {ports: [999]}}
    - {action: allow, protocol: udp, destination: {ports: [999]}}
    egress:
    - {action: allow, protocol: tcp, source: {ports: [999]}}
    - {action: allow, protocol: udp, source: {ports: [999]}}
`;

/** The same resources as Calico 3 YAML. */
const V3_WALKTHROUGH = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: failsafe
spec:
  selector: all()
  order: 0
  ingress:
  - action: Allow
    protocol: TCP
    source:
      nets: [${ADDR.mgmtCidr}]
    destination:
      ports: [22]
  - action: Allow
    protocol: ICMP
  egress:
  - action: Allow
    protocol: TCP
    destination:
      nets: [${ADDR.etcd}/32]
      ports: [2379]
  - action: Allow
    protocol: UDP
    destination:
      ports: [67]
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: hep-mgmt
  labels:
    endpoint_type: management
spec:
  node: h1
  interfaceName: mgmt0
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: hep-eth0
  labels:
    role: webserver
    environment: production
spec:
  node: h1
  interfaceName: eth0
  expectedIPs: ["${ADDR.h1Eth0}"]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: webserver
spec:
  selector: role == "webserver"
  order: 100
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [80]
  egress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: HostEndpointList
items:
- metadata:
    name: hep-eth1
    labels:
      role: webserver
      environment: production
  spec:
    node: h1
    expectedIPs: ["${ADDR.h1Eth1}"]
`;

const V3_MEMCACHED = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: memcached
spec:
  selector: role == 'webserver'
  order: 10
  doNotTrack: true
  applyOnForward: true
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [999]}}
  - {action: Allow, protocol: UDP, destination: {ports: [999]}}
  egress:
  - {action: Allow, protocol: TCP, source: {ports: [999]}}
  - {action: Allow, protocol: UDP, source: {ports: [999]}}
`;

/** Every claim of the walkthrough with failsafes off, as packets. */
function walkthroughChecks(site: Site): Check[] {
  const { probe } = site;
  const h1 = ADDR.h1Eth0;
  return [
    ...tailoredFailsafeChecks(site),
    ["h1 -> E tcp/80 (mgmt0: not the etcd port)", probe.h1.tcp(ADDR.etcd, 80), "drop"],
    ["h1 -> R tcp/2379 (eth0 is a webserver: egress allowed)", probe.h1.tcp(ADDR.r, 2379), "allow"],
    ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"],
    ["R -> h1 v6 tcp/80", probe.r.tcp(ADDR.h1Eth0v6, 80), "allow"],
    ["R -> h1 tcp/81", probe.r.tcp(h1, 81), "drop"],
    ["h1 -> R tcp/80 (egress allow)", probe.h1.tcp(ADDR.r, 80), "allow"],
    ["R2 -> h1 eth1 tcp/80", probe.r2.tcp(ADDR.h1Eth1, 80), "allow"],
    ["R2 -> h1 eth1 tcp/81", probe.r2.tcp(ADDR.h1Eth1, 81), "drop"],
  ];
}

function memcachedChecks(site: Site): Check[] {
  const { probe } = site;
  return [
    ["R -> h1 tcp/999, symmetric untracked", probe.r.tcp(ADDR.h1Eth0, 999), "allow"],
    ["R -> h1 udp/999, symmetric untracked", probe.r.udp(ADDR.h1Eth0, 999), "allow"],
    ["R -> h1 v6 tcp/999", probe.r.tcp(ADDR.h1Eth0v6, 999), "allow"],
    ["R -> h1 tcp/81", probe.r.tcp(ADDR.h1Eth0, 81), "drop"],
  ];
}

Deno.test({
  name: "the seed walkthrough in v3 YAML gives the same packets as in v1",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite({
      flags: { "failsafe-inbound-host-ports": "none", "failsafe-outbound-host-ports": "none" },
    });
    const versions = [["v1", V1_WALKTHROUGH, V1_MEMCACHED], ["v3", V3_WALKTHROUGH, V3_MEMCACHED]];
    for (const [api, walkthrough, memcached] of versions) {
      await t.step(`${api}: the walkthrough`, async () => {
        await site.reset();
        await site.ds.write("create", walkthrough!);
        await site.sync();
        await expectAll(walkthroughChecks(site));
      });
      await t.step(`${api}: the untracked memcached example`, async () => {
        await site.ds.write("create", memcached!);
        await site.sync();
        await expectAll(memcachedChecks(site));
      });
    }
  },
});
