/**
 * scripts/demo.sh, run as a newcomer runs it: the PASS/DROP table it prints must match what
 * the guide says each step does, and it must leave nothing behind (namespaces, processes,
 * temporary files), both when it finishes and when it is interrupted with Ctrl-C.
 *
 * Leftover processes are found by a marker variable in their environment: every process the
 * demo starts (etcd, the agent, the probe helpers, the CLI) inherits it through
 * `ip netns exec`, so after the demo exits no process may still carry it.
 */
import { assert, assertStrictEquals } from "../harness/assert.ts";
import { REPO_ROOT } from "../../netlab/paths.ts";
import { haveCommand, run } from "../../netlab/netns.ts";
import { AGENT_TESTS_IGNORED } from "../harness/scenario.ts";

const DEMO = `${REPO_ROOT}/scripts/demo.sh`;

/**
 * The guide's prediction for every connection, after steps 0-5 (written out independently),
 * and after step 6: an unconfirmed change rolled back, so everything is as after step 5.
 */
const EXPECTED_TABLE: Record<string, string> = {
  "ssh tcp/22 web-client -> eth0": "PASS PASS PASS PASS PASS DROP DROP",
  "ssh tcp/22 mgmt-peer -> mgmt0": "PASS PASS PASS PASS PASS PASS PASS",
  "http tcp/80 web-client -> eth0": "PASS PASS DROP DROP PASS PASS PASS",
  "http tcp/8080 web-client -> eth0": "PASS PASS DROP DROP DROP DROP DROP",
  "ping icmp web-client -> eth0": "PASS PASS DROP PASS PASS PASS PASS",
  "http tcp/80 web-client -> eth0 (IPv6)": "PASS PASS DROP DROP PASS PASS PASS",
  "http tcp/8080 mgmt-peer -> mgmt0": "PASS PASS DROP DROP DROP DROP DROP",
};

/** The results table the demo printed: normalised row label -> cells joined by spaces. */
function parseTable(output: string): { header: string; rows: Map<string, string> } {
  const lines = output.split("\n");
  const start = lines.findIndex((l) => /^\s*connection\s/.test(l));
  assert(start >= 0, `No results table (a line starting 'connection') in:\n${output}`);
  const header = lines[start]!.trim().split(/\s+/).join(" ");
  const cols = header.split(" ").length - 1;
  const rows = new Map<string, string>();
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") break;
    const tokens = line.trim().split(/\s+/);
    rows.set(tokens.slice(0, -cols).join(" "), tokens.slice(-cols).join(" "));
  }
  return { header, rows };
}

/** The namespace group the demo announced (`Namespaces: hft-<group>-{...}`). */
function groupOf(output: string): string {
  const m = /Namespaces: hft-(\d+-[0-9a-f]+)-\{/.exec(output);
  assert(m, `The demo did not print its namespace names:\n${output}`);
  return m[1]!;
}

/** Checks that nothing the demo made is left: namespaces, processes, temporary files. */
async function assertNothingLeft(output: string, mark: string): Promise<void> {
  const group = groupOf(output);
  const netns = (await run(["ip", "netns", "list"])).stdout.split("\n")
    .map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(`hft-${group}-`));
  assertStrictEquals(netns.join(" "), "", "Namespaces left by the demo");

  const procs: string[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const env = await Deno.readTextFile(`/proc/${e.name}/environ`);
      if (env.split("\0").includes(`HOSTFENCE_DEMO_MARK=${mark}`)) {
        const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
        procs.push(`${e.name}: ${cmd.replaceAll("\0", " ").trim()}`);
      }
    } catch { /* gone, or a kernel thread */ }
  }
  assertStrictEquals(procs.join("\n"), "", "Processes left by the demo");

  const tmp = /temporary files removed \((\/tmp\/hostfence-demo\.[^)]+)\)/.exec(output);
  assert(tmp, `The demo did not report removing its temporary files:\n${output}`);
  const exists = await Deno.stat(tmp[1]!).then(() => true, () => false);
  assert(!exists, `Temporary directory ${tmp[1]} is still there`);
}

Deno.test({
  name: "the demo prints the guide's PASS/DROP pattern for every step and cleans up",
  ignore: AGENT_TESTS_IGNORED,
  async fn() {
    const mark = crypto.randomUUID();
    const r = await run(["bash", DEMO], {
      env: { HOSTFENCE_DEMO_MARK: mark, NO_COLOR: "1" },
      allowFail: true,
    });
    const output = r.stdout + r.stderr;
    assertStrictEquals(r.code, 0, `Exit code of scripts/demo.sh (output:\n${output}\n)`);
    assert(!output.includes("\x1b["), "Colour codes in output that is not a terminal");

    const { header, rows } = parseTable(r.stdout);
    assertStrictEquals(header, "connection 0 1 2 3 4 5 6", "Table header");
    for (const [label, want] of Object.entries(EXPECTED_TABLE)) {
      assertStrictEquals(rows.get(label), want, `Row '${label}'`);
    }
    assertStrictEquals(rows.size, Object.keys(EXPECTED_TABLE).length, "Number of table rows");

    // The guide's log claims, and the CLI's calicoctl-style results.
    for (
      const re of [
        /Parameter FelixHostname .* has value 'my-host'/,
        /wait-for-ready[\s\S]*wait-for-ready[\s\S]*Successfully created 1 'node'/,
        /leaving wait-for-ready/,
        /Successfully created 2 'hostEndpoint' resource\(s\)/,
        /Successfully created 1 'policy' resource\(s\)[\s\S]*Successfully created 1 'policy'/,
        /Config parameter FailsafeInboundHostPorts changed/,
        /Successfully replaced 1 'policy' resource\(s\)\s+Change ID: [0-9a-f]+/,
        /ssh from mgmt-peer now: DROP \(the operator is locked out\)/,
        /Rolled back change [0-9a-f]+ .*Policy\(name=failsafe\) \(restored its previous value\)/,
        /removed its nftables table \(my-host's ruleset is empty again\)/,
        /5 namespaces deleted/,
        // Part 2: the agent on a policy directory, no etcd.
        /Read policy directory \S+: 1 file, 2 resources \(revision 1\)/,
        /not applied, keeping the last good state \(revision 2, 2 resources\): \S+\/10-web\.yaml:18:17: /,
        /Without etcd: tcp\/80 PASS -> DROP -> DROP, tcp\/8080 DROP -> PASS -> PASS/,
        /part 2 agent stopped and its nftables table removed \(solo's ruleset is empty again\)/,
        /2 namespaces deleted \(hft-\S+-solo\*\)/,
      ]
    ) {
      assert(re.test(r.stdout), `Output lacks ${re}:\n${r.stdout}`);
    }
    await assertNothingLeft(output, mark);
  },
});

Deno.test({
  name: "the demo interrupted with Ctrl-C still removes everything and says so",
  ignore: AGENT_TESTS_IGNORED || !haveCommand("setsid"),
  async fn() {
    const mark = crypto.randomUUID();
    // Its own session and process group, so SIGINT reaches the whole group as a terminal's
    // Ctrl-C would (bash, the demo, and every child it started).
    const child = new Deno.Command("setsid", {
      args: ["bash", DEMO],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { HOSTFENCE_DEMO_MARK: mark, NO_COLOR: "1" },
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let output = "";
    let sent = false;
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      if (!sent && /\nStep 2 /.test(output)) {
        sent = true;
        await run(["kill", "-INT", "--", `-${child.pid}`]);
      }
    }
    const status = await child.status;
    output += await stderr;
    assert(sent, `The demo never reached step 2:\n${output}`);
    assertStrictEquals(status.code, 130, `Exit code after Ctrl-C (output:\n${output}\n)`);
    assert(
      /Cleaning up \(interrupted by SIGINT\)/.test(output),
      `No clean-up report after Ctrl-C:\n${output}`,
    );
    assert(!/^demo: removed leftover/m.test(output), `The safety net had to clean up:\n${output}`);
    await assertNothingLeft(output, mark);
  },
});
