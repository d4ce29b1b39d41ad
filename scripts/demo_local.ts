/**
 * The demo's short second part: the same agent with no etcd at all (DatastoreType=local).
 * A host namespace `solo` runs `hostfence agent --datastore-type=local --policy-dir=DIR`
 * with one policy file; a client namespace probes it; the file is edited and the verdict
 * changes; a typo in the file is refused with its line and column and changes nothing.
 *
 * ```
 *  solo-client ---------- eth0 [ solo ]   (no etcd anywhere)
 *  198.18.4.2              198.18.4.1
 * ```
 *
 * Same safety rules as scripts/demo.ts: namespaces of its own (`hft-G-solo`,
 * `hft-G-solo-client`), addresses from 198.18.0.0/15, nftables changed only in `solo`.
 */
import { Agent } from "../netlab/agent.ts";
import { NetNs, veth } from "../netlab/netns.ts";
import { ProbeDaemon, type Verdict } from "../netlab/probe.ts";
import { type Paint, verdictWord } from "./demo_table.ts";

/** What the part needs from the main demo: its output and its clean-up list. */
export interface DemoContext {
  readonly group: string;
  readonly paint: Paint;
  say(line?: string): void;
  heading(text: string): void;
  showAgentLines(lines: readonly string[]): void;
  teardown: { add(what: string, undo: () => Promise<string | undefined | void>): void };
}

const HOST = "198.18.4.1";
const CLIENT = "198.18.4.2";

function policyFile(ports: readonly number[]): string {
  return `# eth0 of this host (no metadata.node needed), and what it accepts
- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: eth0
    labels:
      role: webserver
  spec:
    interfaceName: eth0
- apiVersion: v1
  kind: policy
  metadata:
    name: web
  spec:
    selector: role == 'webserver'
    ingress:
    - action: allow
      protocol: tcp
      destination:
        ports: [${ports.join(", ")}]
    egress:
    - action: allow
`;
}

/** Runs the part; false when a verdict differs from what the files say. */
export async function localDatastorePart(ctx: DemoContext): Promise<boolean> {
  const { say, paint } = ctx;
  ctx.heading("Part 2  The same agent without etcd: a directory of policy files");
  say("  One host, no etcd: `hostfence agent --datastore-type=local` reads the YAML files of a");
  say("  directory (the same format as `hostfence apply`) and applies every valid change at once.");

  const made: NetNs[] = [];
  ctx.teardown.add("part 2 namespaces deleted", async () => {
    for (const ns of made.slice().reverse()) await ns.remove();
    return `${made.length} namespaces deleted (hft-${ctx.group}-solo*)`;
  });
  for (const role of ["solo", "solo-client"]) {
    const ns = await NetNs.create(role, ctx.group);
    made.push(ns);
    await ns.exec(["sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0"]);
  }
  const [solo, client] = made as [NetNs, NetNs];
  await veth(solo, "eth0", client, "eth0");
  await solo.ipBatch([`addr add ${HOST}/24 dev eth0`, "link set eth0 up"]);
  await client.ipBatch([`addr add ${CLIENT}/24 dev eth0`, "link set eth0 up"]);

  const daemons: ProbeDaemon[] = [];
  ctx.teardown.add("part 2 probe helpers stopped", async () => {
    for (const d of daemons) await d.close();
  });
  const server = await ProbeDaemon.start(solo);
  daemons.push(server);
  const prober = await ProbeDaemon.start(client);
  daemons.push(prober);
  await server.serve({ tcp: [80, 8080] });

  const tmp = await Deno.makeTempDir({ prefix: "local-" });
  ctx.teardown.add("part 2 policy directory removed", async () => {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  });
  const dir = `${tmp}/policy.d`;
  await Deno.mkdir(dir);
  const file = `${dir}/10-web.yaml`;
  await Deno.writeTextFile(file, policyFile([80]));
  say(paint.cyan(`  solo# DIR=${dir}`));
  say(paint.cyan(`  solo# cat $DIR/10-web.yaml`));
  for (const l of policyFile([80]).trimEnd().split("\n")) say(`    ${l}`);

  say(
    paint.cyan(
      "  solo# hostfence agent --datastore-type=local --policy-dir=$DIR --felix-hostname=solo",
    ),
  );
  const agent = await Agent.start({
    ns: solo,
    hostname: "solo",
    etcdEndpoint: "",
    flags: { "datastore-type": "local", "policy-dir": dir },
  });
  ctx.teardown.add("part 2 agent stopped", async () => {
    await agent.stop();
    await agent.cleanup();
    await Deno.remove(agent.logDir, { recursive: true }).catch(() => {});
    const left = (await solo.exec(["nft", "list", "ruleset"], { allowFail: true })).stdout;
    return "part 2 agent stopped and its nftables table removed" +
      (left.trim() === "" ? " (solo's ruleset is empty again)" : "");
  });

  const seen: Record<number, Verdict[]> = { 80: [], 8080: [] };
  let ok = true;
  const probe = async (want: Record<number, Verdict>) => {
    for (const port of [80, 8080]) {
      const got = (await prober.tcp(HOST, port, { timeoutMs: 1000 })).verdict;
      seen[port]!.push(got);
      const odd = got !== want[port];
      if (odd) ok = false;
      const word = verdictWord(got).padEnd(7);
      const colour = odd ? paint.yellow : got === "allow" ? paint.green : paint.red;
      say(
        `    ${colour(word)} http  tcp/${String(port).padEnd(5)} solo-client -> eth0` +
          (odd ? `  <- the file says ${verdictWord(want[port]!)}` : ""),
      );
    }
  };
  const show = (re: RegExp, from: number) =>
    ctx.showAgentLines(agent.lines.slice(from).filter((l) => re.test(l)));

  let from = agent.mark();
  await agent.waitForRevision(1, 30_000);
  show(/no etcd|Read policy directory|in sync at revision/, 0);
  say("  Probes:");
  await probe({ 80: "allow", 8080: "drop" });

  ctx.heading("  Edit the file: the policy now allows tcp/8080 instead of tcp/80");
  say(paint.cyan("  solo# sed -i 's/ports: \\[80\\]/ports: [8080]/' $DIR/10-web.yaml"));
  from = agent.mark();
  await Deno.writeTextFile(file, policyFile([8080]));
  await agent.waitForRevision(2, 30_000);
  show(/Read policy directory|in sync at revision/, from);
  say("  Probes:");
  await probe({ 80: "drop", 8080: "allow" });

  ctx.heading("  A typo: the broken file is refused, the last good state stays");
  say(paint.cyan("  solo# sed -i 's/protocol: tcp/protocol: tpc/' $DIR/10-web.yaml"));
  from = agent.mark();
  await Deno.writeTextFile(file, policyFile([8080]).replace("protocol: tcp", "protocol: tpc"));
  await agent.waitForLog(/not applied/, 30_000, from);
  show(/not applied/, from);
  say("  Probes:");
  await probe({ 80: "drop", 8080: "allow" });

  say();
  say(
    `  Without etcd: tcp/80 ${seen[80]!.map(verdictWord).join(" -> ")}, ` +
      `tcp/8080 ${seen[8080]!.map(verdictWord).join(" -> ")} ` +
      "(after the file was written, edited, and broken)",
  );
  return ok;
}
