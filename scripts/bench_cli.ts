/**
 * CLI start-up benchmark: how long `hostfence` takes, as a whole process, to answer `version`,
 * `--help`, `get policy` and `apply -f` of one resource against a local etcd, next to the
 * baselines measured in the same run (interleaved, one round of every command at a time):
 * bare Deno (`deno run` of an empty file with the same flags, config, lockfile and DENO_DIR)
 * and `etcdctl get`/`put` of one key. Then the single-file launcher's first run (unpacking
 * into an empty runtime directory) against its later runs, and, as root, the agent's start
 * until its first "Dataplane in sync" inside a network namespace of its own.
 *
 * Forms measured: dist/hostfence (built with scripts/build.sh --if-stale; its runtime is
 * unpacked into a temporary directory, never /var/lib) and this checkout run by `deno run`
 * with the build's permissions; `--compare DIR` adds another checkout (for example an older
 * commit: `git worktree add /tmp/old <commit>`) run the same way. etcd listens on loopback
 * only, on free ports, and is stopped with everything else at the end. Peak memory and CPU
 * time (user + system, steadier than wall time on a loaded machine) come from /usr/bin/time
 * when it is installed. Prints tables of medians; asserts nothing.
 *
 *   deno run -A scripts/bench_cli.ts [--runs N] [--compare DIR]
 */
import { median, timeAsync } from "./_bench.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const arg = (name: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};
const RUNS = Math.max(3, Number(arg("--runs")) || 11);
const FIRST_RUNS = Math.max(3, Math.min(RUNS, 5));
const COMPARE = arg("--compare");
const DENO = Deno.execPath();
/** The build's permissions (scripts/build.sh PERMISSIONS), so every form is run alike. */
const PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write=/var/log/calico",
  "--allow-env",
  "--allow-sys=hostname",
  "--allow-run=nft,ip",
  "--no-prompt",
];
const TIME_BIN = "/usr/bin/time";
const haveTime = await Deno.stat(TIME_BIN).then(() => true, () => false);
const isRoot = Deno.uid() === 0;

/** One command to time: argv, extra environment, standard input. */
interface Cmd {
  argv: string[];
  env?: Record<string, string>;
  stdin?: string;
}

async function exec(c: Cmd, wrapTime?: string): Promise<Deno.CommandOutput> {
  const argv = wrapTime ? [TIME_BIN, "-f", "%M %U %S", "-o", wrapTime, ...c.argv] : c.argv;
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: { NO_COLOR: "1", ...c.env },
    stdin: c.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (c.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(c.stdin));
    await w.close();
  }
  return await child.output();
}

/** Runs `c` and insists it succeeded: a failing command must not be timed as a fast one. */
async function mustRun(c: Cmd, wrapTime?: string): Promise<void> {
  const out = await exec(c, wrapTime);
  if (out.code !== 0) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`${c.argv.join(" ")} failed (${out.code}): ${err}`);
  }
}

/**
 * Peak resident memory in MiB and CPU time (user + system) in ms, medians of 5 runs, or
 * undefined without /usr/bin/time. CPU time hardly moves with the machine's load, which the
 * wall times above do on a shared machine.
 */
async function peakAndCpu(c: Cmd): Promise<{ mib: number; cpuMs: number } | undefined> {
  if (!haveTime) return undefined;
  const file = await Deno.makeTempFile({ prefix: "hostfence-bench-time-" });
  try {
    const kib: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 5; i++) {
      await mustRun(c, file);
      const [m, u, sys] = (await Deno.readTextFile(file)).trim().split("\n").pop()!.split(" ");
      kib.push(Number(m));
      cpu.push((Number(u) + Number(sys)) * 1000);
    }
    return { mib: median(kib) / 1024, cpuMs: median(cpu) };
  } finally {
    await Deno.remove(file);
  }
}

/** Times every command RUNS times, interleaved, after one warm-up each; medians in ms. */
async function timeAll(cmds: Map<string, Cmd>): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>([...cmds.keys()].map((k) => [k, []]));
  for (const c of cmds.values()) await mustRun(c);
  for (let r = 0; r < RUNS; r++) {
    for (const [k, c] of cmds) samples.get(k)!.push(await timeAsync(() => mustRun(c)));
  }
  return new Map([...samples].map(([k, xs]) => [k, median(xs)]));
}

function table(head: string[], rows: (string | number | undefined)[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => c === undefined ? "-" : String(c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    "| " + r.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(" | ") +
    " |";
  return [
    line(cells[0]!),
    "|" + widths.map((w, i) => (i === 0 ? "-" : "-").repeat(w + 1) + (i === 0 ? "-" : ":"))
      .join("|") +
    "|",
    ...cells.slice(1).map(line),
  ].join("\n");
}

const ms = (x: number) => x.toFixed(1);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

// ---------------------------------------------------------------------------------------------
// Set-up: the build, a runtime directory for it, an etcd on loopback.

const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup() {
  for (const f of cleanups.reverse()) await f().catch(() => {});
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts etcd on 127.0.0.1 (in netns `ns` when given); resolves once it answers. */
async function startEtcd(ns?: string): Promise<string> {
  const [client, peer] = [freePort(), freePort()];
  const dataDir = await Deno.makeTempDir({ prefix: "hostfence-bench-etcd-" });
  const endpoint = `http://127.0.0.1:${client}`;
  const args = [
    ...["--name", "bench", "--data-dir", dataDir, "--log-level", "error"],
    ...["--listen-client-urls", endpoint, "--advertise-client-urls", endpoint],
    ...["--listen-peer-urls", `http://127.0.0.1:${peer}`],
    ...["--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`],
    ...["--initial-cluster", `bench=http://127.0.0.1:${peer}`],
  ];
  const argv = ns ? ["ip", "netns", "exec", ns, "etcd", ...args] : ["etcd", ...args];
  const child = new Deno.Command(argv[0]!, { args: argv.slice(1), stdout: "null", stderr: "null" })
    .spawn();
  cleanups.push(async () => {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dataDir, { recursive: true });
  });
  const probe = ns ? ["ip", "netns", "exec", ns] : [];
  for (let i = 0; i < 300; i++) {
    const r = await exec({
      argv: [...probe, "etcdctl", `--endpoints=${endpoint}`, "endpoint", "health"],
      env: { ETCDCTL_API: "3" },
    });
    if (r.code === 0) return endpoint;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`etcd on ${endpoint} did not become healthy`);
}

/** argv running checkout `dir`'s main.ts the way the build runs it (flags, lockfile). */
function checkoutArgv(dir: string): string[] {
  return [
    DENO,
    ...["run", "--quiet", "--cached-only", "--no-remote", "--frozen"],
    ...["--config", `${dir}/deno.json`, `--lock=${dir}/deno.lock`, ...PERMISSIONS],
    `${dir}/main.ts`,
  ];
}

const POLICY = `apiVersion: v1
kind: policy
metadata:
  name: bench
spec:
  selector: role == 'bench'
  ingress:
  - action: allow
    protocol: tcp
    destination:
      ports: [22]
`;

try {
  const build = await exec({ argv: ["bash", `${REPO}/scripts/build.sh`, "--if-stale"] });
  if (build.code !== 0) throw new Error(new TextDecoder().decode(build.stderr));
  const kind = (await Deno.readTextFile(`${REPO}/dist/build-info`)).match(/^kind=(\w+)/m)?.[1];
  const runtimeBase = await Deno.makeTempDir({ prefix: "hostfence-bench-runtime-" });
  cleanups.push(() => Deno.remove(runtimeBase, { recursive: true }));
  const distEnv = { HOSTFENCE_RUNTIME_DIR: runtimeBase };
  const dist: Cmd = { argv: [`${REPO}/dist/hostfence`], env: distEnv };
  await mustRun({ ...dist, argv: [...dist.argv, "version"] }); // unpacks (single-file form)

  const empty = await Deno.makeTempFile({ prefix: "hostfence-bench-empty-", suffix: ".ts" });
  cleanups.push(() => Deno.remove(empty));
  // Bare Deno with the shipped runtime's own Deno, flags, config, lockfile and DENO_DIR.
  let bare: Cmd;
  if (kind === "bundle") {
    const [digest] = [...Deno.readDirSync(runtimeBase)].filter((e) => !e.name.startsWith("."))
      .map((e) => e.name);
    const rt = `${runtimeBase}/${digest}`;
    bare = {
      argv: [
        `${rt}/deno`,
        ...["run", "--quiet", "--cached-only", "--no-remote", "--frozen"],
        ...["--config", `${rt}/app/deno.json`, `--lock=${rt}/app/deno.lock`, ...PERMISSIONS],
        empty,
      ],
      env: { DENO_DIR: `${rt}/deno_dir`, DENO_NO_UPDATE_CHECK: "1" },
    };
  } else {
    bare = { argv: [...checkoutArgv(REPO).slice(0, -1), empty] };
  }

  const endpoint = await startEtcd();
  const etcdEnv = { ETCD_ENDPOINTS: endpoint };
  const etcdctl = (...a: string[]): Cmd => ({
    argv: ["etcdctl", `--endpoints=${endpoint}`, ...a],
    env: { ETCDCTL_API: "3" },
  });
  await mustRun({
    argv: [...dist.argv, "apply", "-f", "-"],
    env: { ...distEnv, ...etcdEnv },
    stdin: POLICY,
  });

  const forms: [string, string[]][] = [
    ["dist/hostfence", dist.argv],
    ["checkout", checkoutArgv(REPO)],
  ];
  if (COMPARE) forms.push([`compare (${COMPARE})`, checkoutArgv(COMPARE.replace(/\/$/, ""))]);

  const cmds = new Map<string, Cmd>([
    ["bare Deno (empty file)", bare],
    ["etcdctl get (one key)", etcdctl("get", "--prefix", "/calico/v1/policy")],
    ["etcdctl put (one key)", etcdctl("put", "/hostfence-bench/key", "value")],
  ]);
  for (const [form, argv] of forms) {
    const env = form === "dist/hostfence" ? distEnv : {};
    cmds.set(`${form} version`, { argv: [...argv, "version"], env });
    cmds.set(`${form} --help`, { argv: [...argv, "--help"], env });
    cmds.set(`${form} get policy`, {
      argv: [...argv, "get", "policy"],
      env: { ...env, ...etcdEnv },
    });
    cmds.set(`${form} apply -f (one policy)`, {
      argv: [...argv, "apply", "-f", "-"],
      env: { ...env, ...etcdEnv },
      stdin: POLICY,
    });
  }
  const times = await timeAll(cmds);
  const memory = new Map<string, { mib: number; cpuMs: number } | undefined>();
  for (const [k, c] of cmds) memory.set(k, await peakAndCpu(c));
  const bareCpu = memory.get("bare Deno (empty file)")?.cpuMs;
  const bareMs = times.get("bare Deno (empty file)")!;
  const etcdGetMs = times.get("etcdctl get (one key)")!;
  console.log(
    `\nCLI start-up: median of ${RUNS} runs, whole process, interleaved (dist/hostfence is ` +
      `the ${kind === "bundle" ? "single-file launcher, already unpacked" : "compiled binary"})`,
  );
  console.log(table(
    ["command", "median ms", "x bare Deno", "x etcdctl get", "peak MiB", "CPU ms", "CPU x bare"],
    [...times].map(([k, t]) => {
      const m = memory.get(k);
      return [
        k,
        ms(t),
        ratio(t, bareMs),
        ratio(t, etcdGetMs),
        m?.mib.toFixed(0),
        m ? ms(m.cpuMs) : undefined,
        m && bareCpu ? ratio(m.cpuMs, bareCpu) : undefined,
      ];
    }),
  ));

  if (kind === "bundle") {
    // First runs: each into a fresh, empty runtime directory (check, unpack, warm the cache).
    const first: number[] = [];
    const later: number[] = [];
    for (let r = 0; r < FIRST_RUNS; r++) {
      const fresh = await Deno.makeTempDir({ prefix: "hostfence-bench-first-" });
      first.push(
        await timeAsync(() =>
          mustRun({ argv: [...dist.argv, "version"], env: { HOSTFENCE_RUNTIME_DIR: fresh } })
        ),
      );
      later.push(await timeAsync(() => mustRun({ argv: [...dist.argv, "version"], env: distEnv })));
      await Deno.remove(fresh, { recursive: true });
    }
    console.log(`\nSingle-file launcher start-up, \`version\`: median of ${FIRST_RUNS} runs`);
    console.log(table(["run", "median ms", "x later run"], [
      [
        "first run (check, unpack, warm the code cache)",
        ms(median(first)),
        ratio(median(first), median(later)),
      ],
      ["later run", ms(median(later)), "1.00x"],
    ]));
  }

  if (isRoot) {
    // The agent, in a namespace of its own (its nftables table dies with the namespace),
    // against an etcd in that namespace: from exec to its first "Dataplane in sync".
    // Not "hft-": the test harness removes leftover namespaces of that prefix with their processes.
    const ns = `hfbench-cli-${Deno.pid}`;
    await mustRun({ argv: ["ip", "netns", "add", ns] });
    cleanups.push(() => exec({ argv: ["ip", "netns", "del", ns] }));
    await mustRun({ argv: ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"] });
    const nsEndpoint = await startEtcd(ns);
    const inNs = (argv: string[]) => ["ip", "netns", "exec", ns, ...argv];
    await mustRun({
      argv: inNs([...dist.argv, "apply", "-f", "-"]),
      env: { ...distEnv, ETCD_ENDPOINTS: nsEndpoint },
      stdin: POLICY,
    });
    await mustRun({
      argv: inNs(["etcdctl", `--endpoints=${nsEndpoint}`, "put", "/calico/v1/Ready", "true"]),
      env: { ETCDCTL_API: "3" },
    });
    const agentStart = async (argv: string[], env: Record<string, string>) => {
      const t0 = performance.now();
      const child = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          ns,
          ...argv,
          "agent",
          "--felix-hostname=bench",
          `--etcd-endpoints=${nsEndpoint}`,
          "--log-file-path=none",
        ],
        env,
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let buf = "";
      let took: number | undefined;
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        buf += dec.decode(chunk, { stream: true });
        if (took === undefined && /Dataplane in sync at revision/.test(buf)) {
          took = performance.now() - t0;
          child.kill("SIGTERM");
        }
      }
      await child.status;
      if (took === undefined) throw new Error(`the agent never synced:\n${buf}`);
      return took;
    };
    const agentTimes = new Map<string, number[]>(forms.map(([f]) => [f, []]));
    for (let r = 0; r < FIRST_RUNS + 1; r++) {
      for (const [form, argv] of forms) {
        const t = await agentStart(argv, form === "dist/hostfence" ? distEnv : {});
        if (r > 0) agentTimes.get(form)!.push(t); // the first round warms up
      }
    }
    console.log(
      `\nAgent start until its first "Dataplane in sync": median of ${FIRST_RUNS} runs`,
    );
    const base = median(agentTimes.get("dist/hostfence")!);
    console.log(table(
      ["form", "median ms", "x dist/hostfence"],
      [...agentTimes].map(([f, xs]) => [f, ms(median(xs)), ratio(median(xs), base)]),
    ));
  } else {
    console.log("\n(agent start not measured: it needs root for a network namespace)");
  }
} finally {
  await cleanup();
}
