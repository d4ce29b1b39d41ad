/**
 * The hostfence demo (run by scripts/demo.sh, as root): walks the user's guide "Using Calico
 * to Secure Host Interfaces" on a private network of namespaces, with real packets.
 *
 * ```
 *  web-client ------------ eth0 [ my-host ] mgmt0 ------ mgmt-lan (a bridge)
 *  198.18.1.2               198.18.1.1   198.18.0.10       |-- mgmt-peer 198.18.0.20
 *  2001:db8:1::2            2001:db8:1::1                  '-- etcd      198.18.0.1:2379
 * ```
 *
 * my-host runs `hostfence agent` and small echo servers on tcp/22, 80 and 8080 (standing in
 * for sshd and web servers); the operator runs `hostfence` (the calicoctl-compatible CLI) from
 * mgmt-peer, in the management CIDR 198.18.0.0/24. After each step of the guide the same
 * connections are probed and the verdicts are collected into one table.
 *
 * Safety: every namespace is created empty and every link is made inside them (netlab/
 * guarantees this), addresses come only from 198.18.0.0/15 and 2001:db8::/32, and nftables is
 * only ever changed inside my-host's namespace. Everything is removed at the end, also on
 * Ctrl-C (SIGINT/SIGTERM) or error.
 *
 * A short second part (scripts/demo_local.ts) runs the agent again without etcd, on a
 * directory of policy files, in two namespaces of its own.
 *
 * Arguments: `--group G` (namespace names are `hft-G-<role>`; G starts with a live pid so
 * parallel test runs leave them alone) and `--workdir DIR` (removed at the end; TMPDIR points
 * there so etcd's data and the agent's log land inside it).
 */
import {
  Agent,
  type EtcdServer,
  HOSTFENCE,
  NetNs,
  ProbeDaemon,
  type ProbeResult,
  run,
  type RunResult,
  seedFailsafePolicy,
  seedHostEndpointByName,
  seedNode,
  seedWebserverPolicy,
  startEtcd,
  type Verdict,
  veth,
} from "../netlab/mod.ts";
import {
  type Expect,
  makePaint,
  type Paint,
  renderLegend,
  renderTable,
  verdictWord,
} from "./demo_table.ts";
import { errorMessage } from "../src/util/error_message.ts";
import { localDatastorePart } from "./demo_local.ts";

/** Every address of the demo network. */
const ADDR = {
  etcd: "198.18.0.1",
  etcd6: "2001:db8::1",
  hostMgmt: "198.18.0.10",
  hostMgmt6: "2001:db8::10",
  peer: "198.18.0.20",
  peer6: "2001:db8::20",
  hostEth0: "198.18.1.1",
  hostEth0v6: "2001:db8:1::1",
  client: "198.18.1.2",
  client6: "2001:db8:1::2",
  mgmtCidr: "198.18.0.0/24",
} as const;
const ETCD_PORT = 2379;
const ETCD_ENDPOINT = `http://${ADDR.etcd}:${ETCD_PORT}`;
const HOSTNAME = "my-host";
/** HOSTFENCE_DEMO_VERBOSE=1 shows every agent log line instead of the notable ones. */
const VERBOSE = (Deno.env.get("HOSTFENCE_DEMO_VERBOSE") ?? "") !== "";
/** How long a probe waits before calling the connection dropped. */
const PROBE_TIMEOUT_MS = 1000;

// ---------------------------------------------------------------------------------------------
// The guide's resources, verbatim from the seed (netlab/guide_examples.ts) with the
// placeholders filled in.

const NODE_YAML = seedNode(HOSTNAME);

/**
 * The seed's host endpoint for eth0, plus one for the management link labelled as the seed's
 * note suggests (endpoint_type = management): without it the management peer would get in
 * merely because its link is not policed, not because a policy allows it.
 */
const HEP_YAML = seedHostEndpointByName({
  name: `${HOSTNAME}-eth0`,
  node: HOSTNAME,
  interfaceName: "eth0",
  profiles: [],
  expectedIPs: [ADDR.hostEth0],
}) + `- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: ${HOSTNAME}-mgmt0
    node: ${HOSTNAME}
    labels:
      endpoint_type: management
  spec:
    interfaceName: mgmt0
    expectedIPs: ["${ADDR.hostMgmt}"]
`;

const FAILSAFE_POLICY_YAML = seedFailsafePolicy({
  managementCidr: ADDR.mgmtCidr,
  etcdIp: ADDR.etcd,
  etcdPorts: [2379, 2380],
});

const WEBSERVER_POLICY_YAML = seedWebserverPolicy();

/**
 * Step 6's mistake: the failsafe policy replaced by a "tidied" copy that lost its ssh rule,
 * written with --confirm-within so the agents undo it when nobody confirms.
 */
const FAILSAFE_WITHOUT_SSH_YAML = FAILSAFE_POLICY_YAML.replace(
  / {4}- action: allow\n {6}protocol: tcp\n {6}source:\n {8}net: "[^"]+"\n {6}destination:\n {8}ports: \[22\]\n/,
  "",
);
/** How long step 6 leaves for a confirmation that never comes. */
const CONFIRM_WITHIN = "5s";

// ---------------------------------------------------------------------------------------------
// The connections probed after every step, and what the guide says each step does to them.

interface Connection {
  readonly label: string;
  readonly from: "client" | "peer";
  readonly probe: (p: ProbeDaemon) => Promise<ProbeResult>;
  /** Expected verdict after each step (P = PASS, D = DROP), one letter per step of STEPS. */
  readonly expect: string;
}

function label(svc: string, port: string, from: string, to: string): string {
  return `${svc.padEnd(4)}  ${port.padEnd(8)}  ${from.padEnd(10)} -> ${to}`;
}

const tcp = (host: string, port: number) => (p: ProbeDaemon) =>
  p.tcp(host, port, { timeoutMs: PROBE_TIMEOUT_MS });

const CONNECTIONS: readonly Connection[] = [
  {
    label: label("ssh", "tcp/22", "web-client", "eth0"),
    from: "client",
    probe: tcp(ADDR.hostEth0, 22),
    expect: "PPPPPDD",
  },
  {
    label: label("ssh", "tcp/22", "mgmt-peer", "mgmt0"),
    from: "peer",
    probe: tcp(ADDR.hostMgmt, 22),
    expect: "PPPPPPP",
  },
  {
    label: label("http", "tcp/80", "web-client", "eth0"),
    from: "client",
    probe: tcp(ADDR.hostEth0, 80),
    expect: "PPDDPPP",
  },
  {
    label: label("http", "tcp/8080", "web-client", "eth0"),
    from: "client",
    probe: tcp(ADDR.hostEth0, 8080),
    expect: "PPDDDDD",
  },
  {
    label: label("ping", "icmp", "web-client", "eth0"),
    from: "client",
    probe: (p) => p.ping(ADDR.hostEth0, PROBE_TIMEOUT_MS),
    expect: "PPDPPPP",
  },
  {
    label: label("http", "tcp/80", "web-client", "eth0 (IPv6)"),
    from: "client",
    probe: tcp(ADDR.hostEth0v6, 80),
    expect: "PPDDPPP",
  },
  {
    label: label("http", "tcp/8080", "mgmt-peer", "mgmt0"),
    from: "peer",
    probe: tcp(ADDR.hostMgmt, 8080),
    expect: "PPDDDDD",
  },
];

function expectedAt(c: Connection, step: number): Expect {
  return c.expect[step] === "P" ? "allow" : "drop";
}

// ---------------------------------------------------------------------------------------------
// Output.

const paint: Paint = makePaint(
  Deno.stdout.isTerminal() && (Deno.env.get("NO_COLOR") ?? "") === "",
);

function say(line = ""): void {
  console.log(line);
}

function heading(text: string): void {
  say();
  say(paint.bold(text));
}

function indent(text: string, by = "    "): string {
  return text.replace(/\n$/, "").split("\n").map((l) => by + l).join("\n");
}

/** An agent log line without its date and pid: `12:01:02.345 [INFO] agent: ...`. */
function shortLogLine(line: string): string {
  const m = /^\d{4}-\d\d-\d\d (\S+) \[(\w+)\]\[\d+\] (.*)$/.exec(line);
  return m ? `${m[1]} [${m[2]}] ${m[3]}` : line;
}

function showAgentLines(lines: readonly string[]): void {
  for (const l of lines) say(paint.dim(`    agent| ${shortLogLine(l)}`));
}

// ---------------------------------------------------------------------------------------------
// Clean-up: a list of undo actions, run once in reverse order, also from a signal handler.

class Teardown {
  #actions: { what: string; undo: () => Promise<string | undefined> }[] = [];
  #done: Promise<string[]> | undefined;

  /** Registers an undo action; its result (or `what`) becomes a line of the summary. */
  add(what: string, undo: () => Promise<string | undefined | void>): void {
    this.#actions.push({ what, undo: async () => (await undo()) ?? undefined });
  }

  /** Runs every action once (later calls share the first run); returns the summary lines. */
  run(): Promise<string[]> {
    this.#done ??= (async () => {
      const report: string[] = [];
      for (const a of this.#actions.slice().reverse()) {
        try {
          report.push((await a.undo()) ?? a.what);
        } catch (e) {
          report.push(`FAILED: ${a.what}: ${errorMessage(e)}`);
        }
      }
      return report;
    })();
    return this.#done;
  }
}

// ---------------------------------------------------------------------------------------------
// The network.

/** The network as the demo prints it. */
const DIAGRAM = [
  `web-client  ${ADDR.client}, ${ADDR.client6}`,
  "    |",
  `  eth0      ${ADDR.hostEth0}, ${ADDR.hostEth0v6}`,
  `[${HOSTNAME}]   runs hostfence agent; echo servers on tcp/22, 80 and 8080`,
  "  mgmt0     " + `${ADDR.hostMgmt}, ${ADDR.hostMgmt6}`,
  "    |",
  `mgmt-lan    a bridge: the management network ${ADDR.mgmtCidr}`,
  `    |-- mgmt-peer  ${ADDR.peer}   the operator's machine: runs the hostfence CLI`,
  `    '-- etcd       ${ADDR.etcd}:${ETCD_PORT}`,
];

interface DemoNet {
  readonly group: string;
  readonly etcdNs: NetNs;
  readonly lan: NetNs;
  readonly host: NetNs;
  readonly peer: NetNs;
  readonly client: NetNs;
}

/** IPv6 addresses usable at once (no DAD), no router advertisements. */
async function prepare(ns: NetNs): Promise<void> {
  await ns.exec([
    "sysctl",
    "-q",
    "-w",
    "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0",
    "net.ipv6.conf.all.accept_ra=0",
    "net.ipv6.conf.default.accept_ra=0",
  ]);
}

async function buildNetwork(group: string, teardown: Teardown): Promise<DemoNet> {
  const made: NetNs[] = [];
  teardown.add("namespaces deleted", async () => {
    const names = made.map((n) => n.name);
    for (const ns of made.slice().reverse()) await ns.remove();
    return `${names.length} namespaces deleted (hft-${group}-*)`;
  });
  const mk = async (role: string) => {
    const ns = await NetNs.create(role, group);
    made.push(ns);
    await prepare(ns);
    return ns;
  };
  const etcdNs = await mk("etcd");
  const lan = await mk("mgmt-lan");
  const host = await mk(HOSTNAME);
  const peer = await mk("mgmt-peer");
  const client = await mk("web-client");

  await lan.ipBatch(["link add br0 type bridge", "link set br0 up"]);
  await veth(host, "eth0", client, "eth0");
  await veth(host, "mgmt0", lan, "p-my-host");
  await veth(peer, "eth0", lan, "p-mgmt-peer");
  await veth(etcdNs, "eth0", lan, "p-etcd");
  await lan.ipBatch(
    ["p-my-host", "p-mgmt-peer", "p-etcd"].flatMap((p) => [
      `link set ${p} master br0`,
      `link set ${p} up`,
    ]),
  );
  await host.ipBatch([
    `addr add ${ADDR.hostEth0}/24 dev eth0`,
    `addr add ${ADDR.hostEth0v6}/64 dev eth0 nodad`,
    `addr add ${ADDR.hostMgmt}/24 dev mgmt0`,
    `addr add ${ADDR.hostMgmt6}/64 dev mgmt0 nodad`,
    "link set eth0 up",
    "link set mgmt0 up",
  ]);
  const simple = (ns: NetNs, v4: string, v6: string) =>
    ns.ipBatch([
      `addr add ${v4}/24 dev eth0`,
      `addr add ${v6}/64 dev eth0 nodad`,
      "link set eth0 up",
    ]);
  await simple(client, ADDR.client, ADDR.client6);
  await simple(peer, ADDR.peer, ADDR.peer6);
  await simple(etcdNs, ADDR.etcd, ADDR.etcd6);
  return { group, etcdNs, lan, host, peer, client };
}

// ---------------------------------------------------------------------------------------------
// The operator's side: the CLI, run from the management peer.

class Operator {
  constructor(readonly ns: NetNs) {}

  /** Runs `hostfence ARGS` in mgmt-peer, showing the command, its input and its output. */
  async hostfence(args: readonly string[], stdin?: string): Promise<RunResult> {
    const shown = `mgmt-peer$ hostfence ${args.join(" ")}` + (stdin ? " <<EOF" : "");
    say(paint.cyan(`  ${shown}`));
    if (stdin) say(paint.cyan(indent(stdin + "EOF", "  ")));
    const r = await run(this.ns.wrap([HOSTFENCE, ...args]), {
      env: { ETCD_ENDPOINTS: ETCD_ENDPOINT, NO_COLOR: "1" },
      allowFail: true,
      ...(stdin === undefined ? {} : { stdin }),
    });
    const out = (r.stdout + r.stderr).trim();
    if (out) say(indent(out));
    if (r.code !== 0) {
      throw new Error(`hostfence ${args.join(" ")} failed with exit code ${r.code}`);
    }
    return r;
  }

  /**
   * A sync point: re-puts the Ready flag (already `true`, so nothing changes) and returns
   * the etcd revision of that write. Once the agent logs "Dataplane in sync at revision R"
   * with R >= this, every earlier write is programmed and the probes can run.
   */
  async fence(): Promise<number> {
    const r = await run(
      this.ns.wrap([
        "etcdctl",
        `--endpoints=${ETCD_ENDPOINT}`,
        "put",
        "/calico/v1/Ready",
        "true",
        "-w",
        "json",
      ]),
      { env: { ETCDCTL_API: "3" } },
    );
    const rev = Number(
      (JSON.parse(r.stdout) as { header?: { revision?: string } }).header
        ?.revision,
    );
    if (!Number.isInteger(rev)) throw new Error(`No revision in etcdctl output: ${r.stdout}`);
    return rev;
  }
}

// ---------------------------------------------------------------------------------------------
// The walk-through: the steps of the guide as data, then one loop that runs them.

interface Probes {
  readonly client: ProbeDaemon;
  readonly peer: ProbeDaemon;
}

/** What a step acts on: the running agent, the operator's CLI and the probe clients. */
interface Lab {
  readonly agent: Agent;
  readonly operator: Operator;
  readonly probes: Probes;
}

/** One `hostfence ARGS` the operator runs, with its standard input. */
interface Command {
  readonly args: readonly string[];
  readonly stdin?: string;
}

/**
 * One step of the guide. Most steps are only `commands`: run them, wait until the agent has
 * programmed them, probe. A step that does more says so with `act` (instead of the commands)
 * and `afterProbes`.
 */
interface Step {
  /** The column name in the results table. */
  readonly name: string;
  /** The heading, after "Step N". */
  readonly title: string;
  /** The one-line explanation shown under the table. */
  readonly explained: string;
  readonly commands?: readonly Command[];
  /** A log line to wait for after the commands, shown with the sync lines. */
  readonly awaitLog?: RegExp;
  readonly act?: (lab: Lab) => Promise<void>;
  readonly afterProbes?: (lab: Lab) => Promise<void>;
}

const create = (stdin: string): Command => ({ args: ["create", "-f", "-"], stdin });

/** The steps, in order; every connection's `expect` has one letter per step. */
const STEPS: readonly Step[] = [
  {
    name: "start",
    title: `Start the agent on ${HOSTNAME} (no node resource exists yet)`,
    explained: "etcd and the agent run, but there is no node resource yet: the agent waits " +
      "(wait-for-ready) and enforces nothing.",
    act: showAgentWaiting,
    afterProbes: showAgentStillWaiting,
  },
  {
    name: "node",
    title: "Create the node resource: the datastore becomes ready",
    explained: `Node '${HOSTNAME}' created: the datastore is ready and the agent programs its ` +
      "table, but no interface is a host endpoint yet, so nothing is policed.",
    commands: [create(NODE_YAML)],
    awaitLog: /leaving wait-for-ready/,
  },
  {
    name: "hep",
    title: "Create host endpoints for eth0 (the guide's YAML) and the management link",
    explained: "eth0 and mgmt0 became host endpoints with no policy: all is dropped except the " +
      "failsafe ports (in: tcp/22, udp/68; out: etcd, DNS, DHCP).",
    commands: [create(HEP_YAML)],
  },
  {
    name: "failsafe",
    title: "Add the guide's failsafe policy",
    explained: `Policy 'failsafe' (order 0, all()): ssh from ${ADDR.mgmtCidr}, ICMP, out to ` +
      `etcd ${ADDR.etcd} and DHCP. ssh from web-client still passes via the failsafe port.`,
    commands: [create(FAILSAFE_POLICY_YAML)],
  },
  {
    name: "webserver",
    title: "Add the guide's webserver policy",
    explained: "Policy 'webserver' (order 100, role == \"webserver\", i.e. eth0): tcp/80 " +
      "from anyone, IPv4 and IPv6; tcp/8080 stays dropped.",
    commands: [create(WEBSERVER_POLICY_YAML)],
  },
  {
    name: "no-failsafe",
    title: "Disable the inbound failsafe ports",
    explained: "FailsafeInboundHostPorts=none, applied live: ssh now needs a policy, so " +
      "only the management peer gets in (by policy 'failsafe').",
    commands: [
      // The lockout check (issue 8) is told where management comes from: the IPv4 network the
      // failsafe policy allows ssh from (by default it would use all of mgmt-peer's addresses).
      {
        args: [
          "config",
          "set",
          "FailsafeInboundHostPorts",
          "none",
          "--raw=felix",
          "--management-source",
          ADDR.mgmtCidr,
        ],
      },
      { args: ["config", "get", "FailsafeInboundHostPorts", "--raw=felix"] },
    ],
  },
  {
    name: "rollback",
    title: "A change that cuts ssh, made with --confirm-within and never confirmed",
    explained: `'failsafe' replaced by a copy without its ssh rule, --confirm-within ` +
      `${CONFIRM_WITHIN}: ssh from the management peer was cut, nobody confirmed, and the ` +
      "agent restored the previous policy by itself.",
    act: cutSshAndAwaitRollback,
  },
];

/** verdicts[connection][step] */
type Results = Verdict[][];

async function probeAll(p: Probes, results: Results, step: number): Promise<void> {
  const got = await Promise.all(CONNECTIONS.map((c) => c.probe(p[c.from])));
  got.forEach((r, i) => results[i]![step] = r.verdict);
  const changes: string[] = [];
  CONNECTIONS.forEach((c, i) => {
    const now = results[i]![step]!;
    const before = step > 0 ? results[i]![step - 1] : undefined;
    const odd = now !== expectedAt(c, step);
    if (step === 0 || now !== before || odd) {
      const word = verdictWord(now).padEnd(7);
      const colour = odd ? paint.yellow : now === "allow" ? paint.green : paint.red;
      const was = before !== undefined && now !== before ? ` (was ${verdictWord(before)})` : "";
      const warn = odd
        ? `  <- the guide says ${verdictWord(expectedAt(c, step) as Verdict)}` +
          (got[i]!.detail ? `: ${got[i]!.detail}` : "")
        : "";
      changes.push(`    ${colour(word)} ${c.label}${was}${warn}`);
    }
  });
  say(step === 0 ? "  Probes:" : changes.length ? "  Probes that changed:" : "  Probes:");
  if (changes.length) { for (const l of changes) say(l); }
  else say("    no connection changed");
}

/** Builds on the network: probe helpers (and the echo servers), etcd, the agent. */
async function startLab(net: DemoNet, teardown: Teardown): Promise<Lab> {
  heading("A private network of namespaces");
  for (const l of DIAGRAM) say(`  ${l}`);
  say(`  Namespaces: hft-${net.group}-{etcd,mgmt-lan,${HOSTNAME},mgmt-peer,web-client}`);

  const daemons: ProbeDaemon[] = [];
  teardown.add("probe helpers stopped", async () => {
    for (const d of daemons) await d.close();
  });
  const start = async (ns: NetNs) => {
    const d = await ProbeDaemon.start(ns);
    daemons.push(d);
    return d;
  };
  const [server, client, peer] = await Promise.all([
    start(net.host),
    start(net.client),
    start(net.peer),
  ]);
  await server!.serve({ tcp: [22, 80, 8080] });
  const probes: Probes = { client: client!, peer: peer! };

  // Should start-up fail half-way, removing the namespace stops the process anyway.
  const etcd: EtcdServer = await startEtcd({
    netns: net.etcdNs.name,
    host: ADDR.etcd,
    port: ETCD_PORT,
  });
  teardown.add("etcd stopped", async () => {
    await etcd[Symbol.asyncDispose]();
    return "etcd stopped and its data directory removed";
  });
  say(`  etcd is running in its own namespace at ${ETCD_ENDPOINT}`);

  const operator = new Operator(net.peer);
  const agent = await Agent.start({
    ns: net.host,
    hostname: HOSTNAME,
    etcdEndpoint: ETCD_ENDPOINT,
  });
  teardown.add("agent stopped", async () => {
    await agent.stop();
    const c = await run(net.host.wrap([...agent.argv.slice(4), "--cleanup"]), {
      allowFail: true,
      env: { NO_COLOR: "1" },
    });
    await Deno.remove(agent.logDir, { recursive: true }).catch(() => {});
    if (c.code !== 0) throw new Error(`agent --cleanup exited ${c.code}: ${c.stderr.trim()}`);
    const left = (await net.host.exec(["nft", "list", "ruleset"], { allowFail: true })).stdout;
    return `agent stopped; 'hostfence agent --cleanup' removed its nftables table` +
      (left.trim() === "" ? ` (${HOSTNAME}'s ruleset is empty again)` : "");
  });
  return { agent, operator, probes };
}

/** Runs every step in order: act, probe, note each completed step. */
async function walkThrough(
  net: DemoNet,
  teardown: Teardown,
  results: Results,
  stepDone: (n: number) => void,
): Promise<void> {
  const lab = await startLab(net, teardown);
  for (const [i, step] of STEPS.entries()) {
    heading(`Step ${i}  ${step.title}`);
    await (step.act ?? ((l: Lab) => runCommands(l, step)))(lab);
    await probeAll(lab.probes, results, i);
    await step.afterProbes?.(lab);
    stepDone(i);
  }
}

/** The usual step: the operator's commands, then wait until the agent has programmed them. */
async function runCommands({ agent, operator }: Lab, step: Step): Promise<void> {
  const from = agent.mark();
  for (const c of step.commands ?? []) await operator.hostfence(c.args, c.stdin);
  const seen = step.awaitLog ? [await agent.waitForLog(step.awaitLog, 30_000, from)] : [];
  await syncAndShow(agent, operator, from, seen);
}

/** Step 0: the agent, started before any node resource, says it waits. */
async function showAgentWaiting({ agent }: Lab): Promise<void> {
  say(
    paint.cyan(
      `  ${HOSTNAME}# hostfence agent --felix-hostname=${HOSTNAME} --etcd-endpoints=${ETCD_ENDPOINT}`,
    ),
  );
  const hostnameLine = await agent.waitForLog(/Parameter FelixHostname/, 30_000);
  const waitLine = await agent.waitForLog(/wait-for-ready/, 30_000);
  showAgentLines([hostnameLine, waitLine]);
}

/** The guide: "Felix will make a regular log that it is in state wait-for-ready". */
async function showAgentStillWaiting({ agent }: Lab): Promise<void> {
  const waitLine = await agent.waitForLog(/wait-for-ready/, 30_000);
  const again = await agent.waitForLog(/wait-for-ready/, 30_000, agent.lines.indexOf(waitLine) + 1);
  showAgentLines([again]);
  say("  No Ready flag in etcd yet: the agent waits, repeating that line every 2 s.");
}

/** Step 6: a change that locks the operator out, left unconfirmed until the agent undoes it. */
async function cutSshAndAwaitRollback({ agent, operator, probes }: Lab): Promise<void> {
  let from = agent.mark();
  const change = await operator.hostfence(
    ["replace", "-f", "-", "--confirm-within", CONFIRM_WITHIN],
    FAILSAFE_WITHOUT_SSH_YAML,
  );
  const id = /^Change ID: (\S+)$/m.exec(change.stdout)?.[1];
  if (id === undefined) throw new Error("replace --confirm-within printed no change ID");
  await syncAndShow(agent, operator, from);
  const cut = await tcp(ADDR.hostMgmt, 22)(probes.peer);
  say(`  ssh from mgmt-peer now: ${verdictWord(cut.verdict)} (the operator is locked out)`);
  if (cut.verdict !== "drop") throw new Error("the change did not cut ssh from mgmt-peer");
  say(`  Nobody runs 'hostfence confirm ${id}'; after ${CONFIRM_WITHIN} the agent rolls it back:`);
  from = agent.mark();
  const rolledBack = await agent.waitForLog(new RegExp(`Rolled back change ${id} `), 30_000);
  await syncAndShow(agent, operator, from, [rolledBack]);
}

/** Waits until the agent has programmed every write so far; shows what it logged meanwhile. */
async function syncAndShow(
  agent: Agent,
  operator: Operator,
  from: number,
  already: readonly string[] = [],
): Promise<void> {
  const rev = await operator.fence();
  await agent.waitForRevision(rev, 30_000);
  const interesting =
    /in sync at revision|wait-for-ready|Config parameter|Validation failed|Rolled back|\[(WARNING|ERROR|FATAL)\]/;
  const lines = agent.lines.slice(from).filter((l) =>
    interesting.test(l) && !/Waiting for the datastore/.test(l)
  );
  if (VERBOSE) return showAgentLines(agent.lines.slice(from));
  const shown = [...new Set([...already, ...lines])];
  // Keep the sync lines that changed the ruleset; if none did, the last one.
  const sync = (l: string) => /in sync at revision/.test(l);
  const applied = shown.filter((l) => sync(l) && /applied in/.test(l));
  const keep = applied.length > 0 ? applied : shown.filter(sync).slice(-1);
  showAgentLines(shown.filter((l) => !sync(l) || keep.includes(l)));
}

// ---------------------------------------------------------------------------------------------

function parseArgs(args: readonly string[]): { group: string; workdir: string | undefined } {
  let group: string | undefined;
  let workdir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--group") group = args[++i];
    else if (a === "--workdir") workdir = args[++i];
    else throw new TypeError(`Unknown argument '${a}' (expected --group G, --workdir DIR)`);
  }
  if (!group || !/^[0-9]+-[0-9a-z]+$/.test(group)) {
    throw new TypeError(`--group must look like '<pid>-<suffix>', got '${group ?? ""}'`);
  }
  return { group, workdir };
}

function printResults(results: Results, completed: number): boolean {
  heading("Results: PASS = connected, DROP = no answer within 1 s; columns are the steps");
  const steps = STEPS.slice(0, completed);
  const rows = CONNECTIONS.map((c, i) => ({
    label: c.label,
    verdicts: results[i]!.slice(0, completed),
    expected: steps.map((_, s) => expectedAt(c, s)),
  }));
  // Columns are step numbers (as in the "Step N" headings) so the table fits 80 columns.
  for (const l of renderTable(steps.map((_, i) => String(i)), rows, paint)) say(`  ${l}`);
  say();
  const legend = steps.map((s, i) => [`${i} ${s.name}`, s.explained] as const);
  for (const l of renderLegend(legend, 76)) say(`  ${l}`);
  const odd = rows.some((r) => r.verdicts.some((v, s) => v !== r.expected[s]));
  if (odd) {
    say();
    say(paint.yellow("  * differs from what the guide says should happen"));
  }
  return !odd;
}

async function main(): Promise<number> {
  const { group, workdir } = parseArgs(Deno.args);
  const teardown = new Teardown();
  if (workdir) {
    teardown.add("temporary files removed", async () => {
      await Deno.remove(workdir, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
      return `temporary files removed (${workdir})`;
    });
  }
  let finished: Promise<void> | undefined;
  const finish = (why: string) =>
    finished ??= (async () => {
      heading(`Cleaning up (${why})`);
      for (const line of await teardown.run()) say(`  ${line}`);
      say("  The machine's own interfaces and firewall were never touched.");
    })();

  let interrupted = false;
  const onSignal = (sig: Deno.Signal) => () => {
    if (interrupted) return;
    interrupted = true;
    say();
    say(paint.yellow(`Interrupted by ${sig}.`));
    finish(`interrupted by ${sig}`).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));

  say(paint.bold("hostfence demo: securing a host's interfaces, step by step, with real packets"));
  say("Everything runs in throw-away network namespaces and is removed at the end.");

  const results: Results = CONNECTIONS.map(() => []);
  let completed = 0;
  let code = 0;
  try {
    const net = await buildNetwork(group, teardown);
    await walkThrough(net, teardown, results, (n) => completed = n + 1);
    if (!printResults(results, completed)) code = 1;
    const local = { group, paint, say, heading, showAgentLines, teardown };
    if (!(await localDatastorePart(local))) code = 1;
  } catch (e) {
    // Ctrl-C reaches the whole process group: a child may die of it (exit 130) before our own
    // signal listener runs. Give the signal a moment to arrive so it is reported as such.
    await new Promise((r) => setTimeout(r, 300));
    if (interrupted) return await new Promise<number>(() => {}); // the handler exits
    if (completed > 0) printResults(results, completed);
    say();
    say(paint.red(`Demo failed: ${errorMessage(e)}`));
    code = 1;
  }
  if (interrupted) return await new Promise<number>(() => {});
  await finish(code === 0 ? "demo finished" : "after a failure");
  return code;
}

if (import.meta.main) Deno.exit(await main());
