/**
 * `hostfence explain` agrees with the kernel, packet by packet: with the real agent on h1
 * programming a policy set that uses every stage (untracked, pre-DNAT, failsafe, normal
 * policies with allow/deny/pass, a profile, the default drop) on two host endpoints, random
 * packets (tcp/udp/icmp, v4 and v6, several sources, to the host, from the host, forwarded
 * both ways) are sent for real, and each probe's outcome must equal what `explain` (run as
 * the CLI against the same etcd) says: the packet is allowed and its reply too. Run once with
 * the agent's defaults and once with every run of plain policies compiled into set lookups.
 * The seed is printed; EXPLAIN_SEED=N replays it, EXPLAIN_PACKETS=N sets the count per mode.
 */
import { ok as assert } from "node:assert/strict";
import { HOSTFENCE } from "../../netlab/paths.ts";
import { run } from "../../netlab/netns.ts";
import type { ProbeDaemon, ProbeResult } from "../../netlab/probe.ts";
import {
  AGENT_TESTS_IGNORED,
  hep,
  openSite,
  policy,
  profile,
  type Site,
} from "../harness/scenario.ts";
import { ADDR, DEFAULT_TCP_PORTS, DEFAULT_UDP_PORTS, tcpIntoH1Eth0 } from "../harness/topology.ts";
import { prng as rng } from "../fixtures/prng.ts";

const PACKETS = Number(Deno.env.get("EXPLAIN_PACKETS") ?? "80");

const RESOURCES = [
  // A workload endpoint that only lends R's addresses to a selector (its interface does not
  // exist), so policies can match R by selector: named set membership, plain and negated.
  {
    kind: "workloadEndpoint",
    metadata: {
      name: "peer",
      workload: "peer",
      orchestrator: "test",
      node: "h1",
      labels: { peer: "true" },
    },
    spec: { interfaceName: "cali9", ipNetworks: [`${ADDR.r}/32`, `${ADDR.r6}/128`] },
  },
  hep("hep0", {
    iface: "eth0",
    ips: [ADDR.h1Eth0, ADDR.h1Eth0v6],
    labels: { "host-endpoint": "true", role: "web" },
  }),
  hep("hep1", {
    iface: "eth1",
    ips: [ADDR.h1Eth1, ADDR.h1Eth1v6],
    labels: { "host-endpoint": "true", role: "db" },
    profiles: ["prof-2222"],
  }),
  profile("prof-2222", {
    ingress: [{ action: "allow", protocol: "tcp", destination: { ports: [2222] } }],
    egress: [{ action: "allow" }],
  }),
  policy("ut", {
    order: 1,
    doNotTrack: true,
    selector: "role == 'web'",
    ingress: [{
      action: "allow",
      protocol: "udp",
      source: { net: ADDR.rNet },
      destination: { ports: [999] },
    }],
    egress: [{ action: "allow", protocol: "udp", source: { ports: [999] } }],
  }),
  policy("pd", {
    order: 2,
    preDNAT: true,
    selector: "role == 'web'",
    ingress: [{
      action: "deny",
      protocol: "tcp",
      source: { net: "198.18.9.0/24" },
      destination: { ports: [81] },
    }],
  }),
  policy("web-deny", {
    order: 10,
    selector: "role == 'web'",
    ingress: [{ action: "deny", protocol: "udp", destination: { ports: [999, 67] } }],
  }),
  policy("web-allow", {
    order: 11,
    selector: "role == 'web'",
    ingress: [
      { action: "allow", protocol: "tcp", destination: { ports: [80, 443] } },
      {
        action: "allow",
        protocol: "tcp",
        source: { net: "198.18.9.0/24" },
        destination: { ports: [8080] },
      },
      { action: "allow", protocol: "udp", destination: { ports: [53, 9091] } },
      {
        action: "allow",
        protocol: "tcp",
        source: { selector: "peer == 'true'" },
        destination: { ports: [999] },
      },
      {
        action: "allow",
        protocol: "tcp",
        source: { notSelector: "peer == 'true'" },
        destination: { ports: [8081] },
      },
    ],
    egress: [
      { action: "allow", protocol: "tcp", destination: { ports: [80, 2222, 8080] } },
      { action: "allow", protocol: "udp", destination: { ports: [53] } },
    ],
  }),
  policy("web-icmp", {
    order: 12,
    selector: "role == 'web'",
    ingress: [{ action: "allow", protocol: "icmp" }],
    egress: [{ action: "allow", protocol: "icmpv6" }],
  }),
  policy("db", {
    order: 20,
    selector: "role == 'db'",
    ingress: [
      {
        action: "allow",
        protocol: "tcp",
        source: { net: "198.18.2.0/24" },
        destination: { ports: [9091] },
      },
      {
        action: "allow",
        protocol: "tcp",
        source: { net: "2001:db8:2::/64" },
        destination: { ports: [9091] },
      },
      { action: "pass", protocol: "tcp", destination: { ports: [2222] } },
      { action: "allow", protocol: "icmpv6" },
    ],
    egress: [
      { action: "allow", protocol: "tcp", destination: { ports: [80, 443] } },
      { action: "allow", protocol: "udp", destination: { ports: [9091] } },
    ],
  }),
];

interface TestPacket {
  readonly label: string;
  readonly args: string[];
  readonly send: () => Promise<ProbeResult>;
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** One random packet: a path, a family, a protocol, ports and a source that path allows. */
function randomPacket(site: Site, r: () => number, sport: number): TestPacket {
  const p = site.probe;
  const v6 = r() < 0.35;
  const path = pick(r, ["in0", "in0", "in1", "out0", "fwd01", "fwd10"] as const);
  type Route = [ProbeDaemon, string[], string, string];
  const routes: Record<typeof path, Route> = {
    in0: [
      p.r,
      ["--in", "eth0"],
      v6 ? ADDR.r6 : pick(r, [ADDR.r, ADDR.rOutside]),
      v6 ? ADDR.h1Eth0v6 : ADDR.h1Eth0,
    ],
    in1: [p.r2, ["--in", "eth1"], v6 ? ADDR.r2v6 : ADDR.r2, v6 ? ADDR.h1Eth1v6 : ADDR.h1Eth1],
    out0: [p.h1, ["--out", "eth0"], v6 ? ADDR.h1Eth0v6 : ADDR.h1Eth0, v6 ? ADDR.r6 : ADDR.r],
    fwd01: [
      p.r,
      ["--forward", "eth0", "eth1"],
      v6 ? ADDR.r6 : pick(r, [ADDR.r, ADDR.rOutside]),
      v6 ? ADDR.r2v6 : ADDR.r2,
    ],
    fwd10: [p.r2, ["--forward", "eth1", "eth0"], v6 ? ADDR.r2v6 : ADDR.r2, v6 ? ADDR.r6 : ADDR.r],
  };
  const [from, flag, src, dst] = routes[path];
  const proto = pick(r, ["tcp", "tcp", "udp", "udp", "icmp"] as const);
  const base = [...flag, "--src", src, "--dst", dst];
  if (proto === "icmp") {
    return {
      label: `${path} icmp ${src} -> ${dst}`,
      args: [...base, "icmp"],
      send: () => from.ping(dst, 1000, src),
    };
  }
  const port = proto === "tcp" ? pick(r, DEFAULT_TCP_PORTS) : pick(r, DEFAULT_UDP_PORTS);
  return {
    label: `${path} ${proto} ${src}:${sport} -> ${dst}:${port}`,
    args: [...base, "--sport", String(sport), proto, String(port)],
    send: () =>
      proto === "tcp"
        ? from.tcp(dst, port, { sourcePort: sport, source: src })
        : from.udp(dst, port, { sourcePort: sport, source: src }),
  };
}

interface Explained {
  verdict: "ALLOW" | "DROP";
  decision: string;
  reply?: { verdict: "ALLOW" | "DROP"; text: string };
}

async function explainCli(site: Site, args: string[], env: Record<string, string>) {
  const r = await run(
    site.ds.ns.wrap([HOSTFENCE, "explain", "--node", "h1", "-o", "json", ...args]),
    {
      env: { ETCD_ENDPOINTS: site.ds.endpoint, NO_COLOR: "1", ...env },
      allowFail: true,
    },
  );
  assert(r.code === 0, `explain ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Explained;
}

/** At most `n` of `fns` at once, results in order. */
async function limited<T>(n: number, fns: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(fns.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < fns.length) {
        const i = next++;
        out[i] = await fns[i]!();
      }
    }),
  );
  return out;
}

for (
  const [mode, flags, env] of [
    ["agent defaults", {}, {}],
    [
      "every run compiled (nftables-compile-min-run 1)",
      { "nftables-compile-min-run": "1" },
      { FELIX_NFTABLESCOMPILEMINRUN: "1" },
    ],
  ] as const
) {
  Deno.test({
    name: `explain agrees with the kernel on random real packets: ${mode}`,
    ignore: AGENT_TESTS_IGNORED,
    async fn() {
      const seed = Number(Deno.env.get("EXPLAIN_SEED") ?? Date.now() % 1_000_000);
      console.log(
        `explain packets: seed ${seed}, ${PACKETS} packets (EXPLAIN_SEED=${seed} replays)`,
      );
      const r = rng(seed);
      await using site = await openSite({ flags });
      await site.apply(...RESOURCES);
      const table = (await site.topo.h1.exec(["nft", "list", "table", "inet", "hostfence"])).stdout;
      assert(
        table.includes("@c-") === (Object.keys(flags).length > 0),
        "compiled set lookups exactly in the compiled mode",
      );
      assert(table.includes("@s4-") && table.includes("@s6-"), "selector sets are in use");
      const used = new Set<number>();
      const packets = Array.from({ length: PACKETS }, () => {
        let sport: number;
        do sport = 20000 + Math.floor(r() * 40000); while (used.has(sport));
        used.add(sport);
        return randomPacket(site, r, sport);
      });
      // The programmed table must be the one explain reads: same rules, so explain is fair.
      const explained = await limited(3, packets.map((p) => () => explainCli(site, p.args, env)));
      const results = await limited(8, packets.map((p) => p.send));
      const wrong: string[] = [];
      const counts = { allow: 0, drop: 0 };
      packets.forEach((p, i) => {
        const x = explained[i]!;
        const want = x.verdict === "ALLOW" && (x.reply === undefined || x.reply.verdict === "ALLOW")
          ? "allow"
          : "drop";
        const got = results[i]!.verdict;
        counts[want]++;
        if (got !== want) {
          wrong.push(
            `${p.label}: kernel ${got}, explain ${want} (${x.decision}${
              x.reply ? `; reply: ${x.reply.text}` : ""
            })\n    hostfence explain --node h1 ${p.args.join(" ")}`,
          );
        }
      });
      console.log(
        `explain packets: ${counts.allow} allowed, ${counts.drop} dropped, ${wrong.length} disagree`,
      );
      assert(counts.allow > 0 && counts.drop > 0, "the random packets cover both verdicts");
      assert(
        wrong.length === 0,
        `explain disagrees with the kernel (seed ${seed}):\n${wrong.join("\n")}`,
      );

      // The text form, and what makes no sense: exit 1 with one clear line, as the CLI runs it.
      const text = await site.ds.cli([
        "explain",
        ...tcpIntoH1Eth0(ADDR.rOutside, ADDR.h1Eth0, 81),
      ]);
      assert(text.code === 0, text.stderr);
      assert(
        text.stdout.includes(
          "  pre-DNAT         DROP by policy pd rule 1 (ingress: deny tcp from 198.18.9.0/24 to port 81)",
        ) && text.stdout.includes("Verdict: DROP by policy pd rule 1"),
        text.stdout,
      );
      const bad: [string[], RegExp][] = [
        [["--node", "nobody", "--in", "eth0"], /node 'nobody' does not exist in the datastore/],
        [
          ["--node", "h1", "--in", "eth7"],
          /interface 'eth7' \(--in\) is not an interface of node 'h1' \(known: eth0, eth1/,
        ],
        [
          ["--node", "h1", "--out", "eth0", "--forward", "eth0", "eth1"],
          /give only one of --in, --out and --forward/,
        ],
      ];
      for (const [args, want] of bad) {
        const b = await site.ds.cli([
          "explain",
          ...args,
          "--src",
          ADDR.r,
          "--dst",
          ADDR.h1Eth0,
          "tcp",
          "22",
        ]);
        assert(b.code === 1 && b.stdout === "", `${args.join(" ")}: exit ${b.code}`);
        assert(want.test(b.stderr) && b.stderr.trim().split("\n").length === 1, b.stderr);
      }
    },
  });
}
