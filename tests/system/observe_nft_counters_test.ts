/**
 * Metrics from REAL nft counters: a HostState programmed with NftDataplane inside a network
 * namespace this test creates (198.18.20.0/30 and 2001:db8:20::/64 on a veth pair), real
 * packets sent from a peer namespace, and `/metrics` scraped from a real server. The
 * per-policy counters move for the policy that decided, the default-deny counter moves for
 * the endpoint, and the NDP allowance beside the drops is not counted as dropped.
 */
import assert from "node:assert/strict";
import type { AgentStatus } from "../../src/agent/agent.ts";
import {
  commandRunner,
  fixedSource,
  NftDataplane,
  parseCounters,
} from "../../src/dataplane/mod.ts";
import { chainNames } from "../../src/dataplane/build.ts";
import { hostState, iface, ruleSet } from "../../synth/host_states.ts";
import {
  ActivityRecorder,
  agentMetricsSource,
  metricsHandler,
  nftCounterReader,
  startHttpServer,
} from "../../src/observe/mod.ts";
import { canUseNetns, haveCommand, NetNs, veth } from "../../netlab/netns.ts";
import { expectVerdict, ProbeDaemon } from "../../netlab/probe.ts";

const ignore = !canUseNetns() || !haveCommand("nft");

const HOST = "198.18.20.1";
const PEER = "198.18.20.2";
const HOST6 = "2001:db8:20::1";

/** eth0 ingress: deny ICMP (v4) first, then allow tcp/8080; everything else is default deny. */
const STATE = hostState({
  interfaces: [iface("eth0", "hep-metrics", {
    normal: { ingress: ["deny-ping", "allow-web"], egress: ["allow-out"] },
  })],
  policies: {
    "deny-ping": ruleSet([{ action: "deny", protocol: "icmp" }]),
    "allow-web": ruleSet([{ action: "allow", protocol: "tcp", destination: { ports: [8080] } }]),
    "allow-out": ruleSet([], [{ action: "allow" }]),
  },
});

/** `name{labels} value` lines of a scrape, by series. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const POLICY = (p: string, cls = "normal", dir = "ingress") =>
  `hostfence_policy_packets_total{policy="${p}",direction="${dir}",class="${cls}"}`;
const DROPS =
  'hostfence_endpoint_dropped_packets_total{interface="eth0",host_endpoint="hep-metrics",direction="ingress"}';
const DROP_BYTES =
  'hostfence_endpoint_dropped_bytes_total{interface="eth0",host_endpoint="hep-metrics",direction="ingress"}';

Deno.test({
  name: "per-policy and default-deny counters in /metrics move with real packets",
  ignore,
  async fn() {
    await using host = await NetNs.create("obshost");
    await using peer = await NetNs.create("obspeer", host.name.slice(4, -"-obshost".length));
    await veth(host, "eth0", peer, "p0");
    await host.ipBatch([
      `addr add ${HOST}/30 dev eth0`,
      `addr add ${HOST6}/64 dev eth0 nodad`,
      "link set eth0 up",
    ]);
    await peer.ipBatch([
      `addr add ${PEER}/30 dev p0`,
      "addr add 2001:db8:20::2/64 dev p0 nodad",
      "link set p0 up",
    ]);
    await using server = await ProbeDaemon.start(host);
    await using client = await ProbeDaemon.start(peer);
    await server.serve({ tcp: [8080, 9000] });

    const runner = commandRunner({ netns: host.name });
    const dataplane = new NftDataplane(runner);
    const recorder = new ActivityRecorder();
    const instrumented = recorder.instrument(dataplane);
    const status: AgentStatus = {
      ready: true,
      inSync: true,
      programmed: true,
      revision: 1,
      appliedRevision: 1,
      applies: 1,
      applyFailures: 0,
      lastApplyMs: undefined,
      lastSuccessAt: new Date(),
    };
    const source = agentMetricsSource({
      agent: { status: () => status },
      recorder,
      counters: nftCounterReader(
        runner,
        () => dataplane.programmed,
        () => recorder.programmed,
      ),
      counterCacheMs: 0, // every scrape reads nft: the test compares scrapes seconds apart
    });
    const http = startHttpServer({
      hostname: "127.0.0.1",
      port: 0,
      handler: metricsHandler(source),
    });
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${http.port}/metrics`);
      assert.equal(res.status, 200);
      return series(await res.text());
    };
    try {
      await instrumented.apply(fixedSource(STATE));
      const before = await scrape();
      assert.equal(before.get(POLICY("deny-ping")), 0, "series exist at zero before traffic");
      assert.equal(before.get(POLICY("allow-web")), 0);
      // The host's own IPv6 stack may already have sent a packet out (MLD, router
      // solicitation) through the egress policy: that series only has to exist.
      assert.ok(
        before.get(POLICY("allow-out", "normal", "egress")) !== undefined,
        "egress policy series exists",
      );
      assert.equal(before.get(DROPS), 0);
      assert.equal(before.get("hostfence_active_local_endpoints"), 1);
      assert.equal(before.get("hostfence_active_local_policies"), 3);
      assert.equal(before.get("hostfence_dataplane_apply_time_seconds_count"), 1);

      for (let i = 0; i < 3; i++) {
        expectVerdict(`ping ${i}`, await client.ping(HOST, 500), "drop");
      }
      expectVerdict("tcp/8080", await client.tcp(HOST, 8080), "allow");
      expectVerdict("tcp/9000", await client.tcp(HOST, 9000, { timeoutMs: 500 }), "drop");
      // IPv6: neighbour solicitations are allowed (and counted by the NDP rule), the echo
      // request itself is dropped by default deny; flush the peer's cache to force fresh NDP.
      for (let i = 0; i < 2; i++) {
        await peer.flushNeighbours();
        expectVerdict(`ping6 ${i}`, await client.ping(HOST6, 500), "drop");
      }

      const listing = parseCounters((await runner.listTable())!);
      const fh = chainNames.fromHost("eth0");
      const ndpBefore = listing.filter((r) =>
        r.chain === fh && r.comment === "HostEndpointAllowNDP"
      )
        .reduce((n, r) => n + r.packets, 0);
      const dropsBefore = listing.filter((r) =>
        r.chain === fh && /: no policy allowed$/.test(r.comment ?? "")
      )
        .reduce((n, r) => n + r.packets, 0);
      const after = await scrape();
      const listingAfter = parseCounters((await runner.listTable())!);
      const dropsAfter = listingAfter.filter((r) =>
        r.chain === fh && /: no policy allowed$/.test(r.comment ?? "")
      ).reduce((n, r) => n + r.packets, 0);

      assert.ok(
        after.get(POLICY("deny-ping"))! >= 3,
        `deny-ping: ${after.get(POLICY("deny-ping"))}`,
      );
      assert.ok(
        after.get(POLICY("allow-web"))! >= 1,
        `allow-web: ${after.get(POLICY("allow-web"))}`,
      );
      assert.ok(
        after.get(POLICY("allow-out", "normal", "egress"))! >= 1,
        "egress policy counted the host's own neighbour traffic or replies",
      );
      const drops = after.get(DROPS)!;
      // tcp/9000's SYN (and retransmits) plus the two ICMPv6 echo requests.
      assert.ok(drops >= 3, `default-deny drops: ${drops}`);
      assert.ok(after.get(DROP_BYTES)! >= drops * 40, "bytes count whole packets");
      assert.ok(ndpBefore >= 1, `NDP rule counted neighbour solicitations: ${ndpBefore}`);
      assert.ok(
        dropsBefore <= drops && drops <= dropsAfter,
        `metric ${drops} between the drop rules' counters ${dropsBefore}..${dropsAfter}`,
      );
      assert.ok(drops < dropsBefore + ndpBefore, "the NDP allowance is not counted as drops");
      assert.equal(after.get("hostfence_counter_read_errors_total"), 0);
    } finally {
      await http.close();
      await dataplane.cleanup();
    }
  },
});
