/**
 * Network sets end to end: written with the CLI into a real etcd, read by the real agent in h1,
 * enforced by the kernel. A policy on eth0 allows tcp/8080 from the selector
 * `role == 'partner'`, which matches a network set (and one remote host endpoint whose address
 * lies inside the set's nets). Real packets from R, from addresses just inside and just outside
 * the nets, v4 and v6, must get exactly that verdict; editing the set changes the verdicts
 * live, and `nft monitor` in h1 shows that the edit was set elements only, no chain or rule.
 * The set's first prefix arriving and its last one leaving (hashed <-> interval, the one
 * change that reprograms the table) keep the verdicts right too. A v3 GlobalNetworkSet is the
 * same thing, through the CLI into etcd or as a file of a local policy directory (no etcd).
 */
import { assert } from "../harness/assert.ts";
import { expectAll, type ProbeDaemon } from "../../netlab/probe.ts";
import { ADDR, buildTopology, tcpIntoH1Eth0 } from "../harness/topology.ts";
import { tempPolicyDir } from "../fixtures/policy_dir.ts";
import { Agent } from "../../netlab/agent.ts";
import { canUseNetns, haveCommand, type NetNs } from "../../netlab/netns.ts";
import { HOSTFENCE } from "../../netlab/paths.ts";
import { AGENT_TESTS_IGNORED, hep, hep0, openSite, policy, type Res } from "../harness/scenario.ts";
import { run } from "../../netlab/netns.ts";

const PORT = 8080;

/** Sources on R around the nets 198.18.1.4/30 and 2001:db8:1::4/126 (and the edited /30s). */
const SOURCES = {
  v4: [
    "198.18.1.3",
    "198.18.1.4",
    "198.18.1.5",
    "198.18.1.7",
    "198.18.1.8",
    "198.18.1.11",
    "198.18.1.12",
  ],
  v6: [
    "2001:db8:1::3",
    "2001:db8:1::4",
    "2001:db8:1::5",
    "2001:db8:1::7",
    "2001:db8:1::8",
    "2001:db8:1::b",
    "2001:db8:1::c",
  ],
};

/** The sources inside the first nets, 198.18.1.4/30 and 2001:db8:1::4/126. */
const IN_FIRST_NETS = [
  "198.18.1.4",
  "198.18.1.5",
  "198.18.1.7",
  "2001:db8:1::4",
  "2001:db8:1::5",
  "2001:db8:1::7",
];

/** The sources inside the edited nets, 198.18.1.8/30 and 2001:db8:1::8/126. */
const IN_MOVED_NETS = ["198.18.1.8", "198.18.1.11", "2001:db8:1::8", "2001:db8:1::b"];

/** The addresses of the remote host endpoint labelled partner (inside the first nets). */
const REMOTE_PARTNER = ["198.18.1.5", "2001:db8:1::5"];

/** Gives R's br0 every address of SOURCES, so probes can come from each. */
async function addSources(r: NetNs): Promise<void> {
  await r.ipBatch([
    ...SOURCES.v4.filter((a) => a !== ADDR.r).map((a) => `addr add ${a}/24 dev br0`),
    ...SOURCES.v6.filter((a) => a !== ADDR.r6).map((a) => `addr add ${a}/64 dev br0 nodad`),
  ]);
}

/** Probes tcp/8080 on h1's eth0 from each source through R's daemon; `allowed` pass. */
function expectVerdicts(fromR: ProbeDaemon, allowed: readonly string[]): Promise<void> {
  return expectAll([...SOURCES.v4, ...SOURCES.v6].map((src) => {
    const dst = src.includes(":") ? ADDR.h1Eth0v6 : ADDR.h1Eth0;
    return [
      `R ${src} -> ${dst} tcp/${PORT}`,
      fromR.tcp(dst, PORT, { source: src, timeoutMs: 700 }),
      allowed.includes(src) ? "allow" : "drop",
    ] as const;
  }));
}

function partners(nets: string[]): Res {
  return {
    kind: "networkSet",
    metadata: { name: "partners", labels: { role: "partner" } },
    spec: { nets },
  };
}

Deno.test({
  name:
    "a selector over a network set allows exactly its nets, and editing it changes only set elements",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite();
    const { probe, ds, topo } = site;
    await addSources(topo.r);

    const verdicts = (allowed: readonly string[]) => expectVerdicts(probe.r, allowed);

    await t.step(
      "the CLI writes a networkSet (overlapping nets) at /calico/v1/netset/partners",
      async () => {
        await site.apply(
          hep0(),
          policy("from-partners", {
            ingress: [{
              action: "allow",
              protocol: "tcp",
              source: { selector: "role == 'partner'" },
              destination: { ports: [PORT] },
            }],
          }),
          // A remote endpoint inside the nets: its /32 and the /30 must not overlap in nft.
          hep("partner-box", {
            node: "h9",
            ips: REMOTE_PARTNER,
            labels: { role: "partner" },
          }),
          partners(["198.18.1.4/30", "198.18.1.6", "2001:db8:1::4/126", "2001:db8:1::6/128"]),
        );
        const raw = await ds.get("/calico/v1/netset/partners");
        assert(raw !== undefined, "the network set key was written");
        const got = await ds.cli(["get", "netsets", "-o", "yaml"]);
        assert(got.code === 0, got.stderr);
        assert(
          /kind: networkSet/.test(got.stdout) && /198\.18\.1\.4\/30/.test(got.stdout),
          got.stdout,
        );
        const again = await ds.cli(["replace", "-f", "-"], got.stdout);
        assert(again.code === 0, `get -o yaml output replaces back: ${again.stderr}`);
      },
    );

    await t.step(
      "sources inside the nets are allowed, just outside dropped (v4 and v6)",
      async () => {
        const listed = (await topo.h1.exec(["nft", "list", "table", "inet", "hostfence"])).stdout;
        assert(/flags interval/.test(listed), "the selector's sets are interval sets");
        await verdicts(IN_FIRST_NETS);
      },
    );

    await t.step("explain agrees", async () => {
      for (
        const [src, want] of [["198.18.1.7", "ALLOW"], ["198.18.1.8", "DROP"], [
          "2001:db8:1::4",
          "ALLOW",
        ], ["2001:db8:1::3", "DROP"]]
      ) {
        const dst = src!.includes(":") ? ADDR.h1Eth0v6 : ADDR.h1Eth0;
        const r = await run(
          ds.ns.wrap([
            HOSTFENCE,
            "explain",
            ...tcpIntoH1Eth0(src!, dst, PORT),
          ]),
          {
            env: { ETCD_ENDPOINTS: ds.endpoint, NO_COLOR: "1" },
            allowFail: true,
          },
        );
        assert(
          new RegExp(`^Verdict: ${want}`, "m").test(r.stdout),
          `explain ${src}: ${r.stdout}${r.stderr}`,
        );
      }
    });

    await t.step(
      "editing the nets changes the verdicts live; only set elements change",
      async () => {
        const chainsBefore = await chainsOnly(
          site.topo.h1.wrap(["nft", "-a", "list", "table", "inet", "hostfence"]),
        );
        const monitor = new Deno.Command(site.topo.h1.wrap(["nft", "monitor"])[0]!, {
          args: site.topo.h1.wrap(["nft", "monitor"]).slice(1),
          stdout: "piped",
          stderr: "null",
        }).spawn();
        const lines: string[] = [];
        const reading = (async () => {
          const dec = new TextDecoder();
          let buf = "";
          for await (const chunk of monitor.stdout) {
            buf += dec.decode(chunk, { stream: true });
            const parts = buf.split("\n");
            buf = parts.pop()!;
            lines.push(...parts.filter((l) => l.trim() !== ""));
          }
        })();
        try {
          await new Promise((r) => setTimeout(r, 300)); // let the monitor subscribe
          await site.apply(partners(["198.18.1.8/30", "2001:db8:1::8/126"]));
          await new Promise((r) => setTimeout(r, 300));
        } finally {
          monitor.kill("SIGTERM");
          await monitor.status;
          await reading;
        }
        assert(lines.length > 0, "nft monitor saw the edit");
        const other = lines.filter((l) =>
          !/^(add|delete) element inet hostfence s[46]-/.test(l) &&
          !l.startsWith("# new generation")
        );
        assert(
          other.length === 0,
          `only set elements changed, but nft monitor saw:\n${lines.join("\n")}`,
        );
        const chainsAfter = await chainsOnly(
          site.topo.h1.wrap(["nft", "-a", "list", "table", "inet", "hostfence"]),
        );
        assert(chainsAfter === chainsBefore, "chains and rule handles are the same after the edit");
        // .5 and ::5 stay: the remote endpoint's own addresses come back when the /30 goes.
        await verdicts([...REMOTE_PARTNER, ...IN_MOVED_NETS]);
      },
    );

    const listed = async () =>
      (await topo.h1.exec(["nft", "list", "table", "inet", "hostfence"])).stdout;

    await t.step("deleting the network set leaves only the endpoint's addresses", async () => {
      await ds.deleteResource("networkSet", "partners");
      await site.sync();
      // Its last prefix gone, the selector's sets are hashed again (the whole table reprogrammed).
      assert(!/flags interval/.test(await listed()), "no interval set is left");
      await verdicts(REMOTE_PARTNER);
    });

    await t.step(
      "a network set arriving in a set of addresses makes it an interval set",
      async () => {
        await site.apply(partners(["198.18.1.0/29", "2001:db8:1::/125"]));
        assert(/flags interval/.test(await listed()), "the sets are interval sets again");
        // .3 to .7 (and ::3 to ::7) are inside the /29 (/125); .8 (::8) and above are not.
        await verdicts([...SOURCES.v4.slice(0, 4), ...SOURCES.v6.slice(0, 4)]);
      },
    );

    await t.step(
      "a v3 GlobalNetworkSet applied by the CLI is the same network set: stored, enforced, round-tripped",
      async () => {
        await ds.write(
          "apply",
          `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: partners
  labels:
    role: partner
spec:
  nets:
  - 198.18.1.8/30
  - 2001:db8:1::8/126
`,
        );
        await site.sync();
        const stored = await ds.get("/calico/v1/netset/partners");
        assert(
          stored === '{"nets":["198.18.1.8/30","2001:db8:1::8/126"],"labels":{"role":"partner"}}',
          `stored as the v1 networkSet would be: ${stored}`,
        );
        await verdicts([...REMOTE_PARTNER, ...IN_MOVED_NETS]);
        const v3 = await ds.cli(["get", "gns", "partners", "-o", "yaml", "--api", "v3"]);
        assert(v3.code === 0, v3.stderr);
        assert(
          /apiVersion: projectcalico\.org\/v3/.test(v3.stdout) &&
            /kind: GlobalNetworkSet/.test(v3.stdout),
          v3.stdout,
        );
        const back = await ds.cli(["replace", "-f", "-"], v3.stdout);
        assert(back.code === 0, `get --api v3 output replaces back: ${back.stderr}`);
        assert(
          (await ds.get("/calico/v1/netset/partners")) === stored,
          "the v3 round trip leaves the key byte-identical",
        );
      },
    );
  },
});

const LOCAL_HEP = `- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: eth0
    labels:
      role: web
  spec:
    interfaceName: eth0
    expectedIPs: ["${ADDR.h1Eth0}", "${ADDR.h1Eth0v6}"]
- apiVersion: v1
  kind: policy
  metadata:
    name: from-partners
  spec:
    selector: role == 'web'
    order: 10
    ingress:
    - action: allow
      protocol: tcp
      source:
        selector: role == 'partner'
      destination:
        ports: [${PORT}]
    egress:
    - action: allow
`;

function v3Partners(nets: readonly string[]): string {
  return `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: partners
  labels:
    role: partner
spec:
  nets: [${nets.join(", ")}]
`;
}

Deno.test({
  name:
    "local datastore: a v3 GlobalNetworkSet file is enforced and a live edit moves the verdicts",
  ignore: !canUseNetns() || !haveCommand("nft") || !haveCommand("python3"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using topo = await buildTopology({ etcd: false });
    await addSources(topo.r);
    await using policyDir = await tempPolicyDir("hostfence-netsets-d-", {
      "10-web.yaml": LOCAL_HEP,
      "20-partners.yaml": v3Partners(["198.18.1.4/30", "2001:db8:1::4/126"]),
    });
    const dir = policyDir.path;
    await using agent = await Agent.start({
      ns: topo.h1,
      etcdEndpoint: "",
      flags: { "datastore-type": "local", "policy-dir": dir },
    });
    const verdicts = (allowed: readonly string[]) => expectVerdicts(topo.probe.r, allowed);

    await t.step("the network set's nets are allowed, v4 and v6, without etcd", async () => {
      await agent.waitForRevision(1, 30_000);
      assert(agent.hasLogged(/Read policy directory \S+: 2 files, 3 resources/), agent.tail());
      await verdicts(IN_FIRST_NETS);
    });

    await t.step("editing the file moves the nets", async () => {
      await Deno.writeTextFile(
        `${dir}/20-partners.yaml`,
        v3Partners(["198.18.1.8/30", "2001:db8:1::8/126"]),
      );
      await agent.waitForRevision(2, 15_000);
      await verdicts(IN_MOVED_NETS);
    });
  },
});

/** `nft -a list table` without the sets and counter values: chains, rules and their handles. */
async function chainsOnly(argv: string[]): Promise<string> {
  const r = await run(argv);
  const out: string[] = [];
  let inSet = false;
  for (const line of r.stdout.split("\n")) {
    if (/^\t(set|map) /.test(line)) inSet = true;
    if (!inSet) out.push(line.replace(/counter packets \d+ bytes \d+/g, "counter"));
    if (inSet && line === "\t}") inSet = false;
  }
  return out.join("\n");
}
