/**
 * The shippable build (scripts/build.sh) runs on its own: a copy of dist/hostfence alone (the
 * deno-compiled binary, or the single-file launcher when Deno's `denort` runtime is missing)
 * is run from an otherwise empty directory in a bare environment (`env -i`: a PATH of system
 * tools, an empty HOME, no DENO_DIR) inside a fresh network namespace that has only `lo`, so
 * nothing can be fetched. There it prints our version and help, talks to an etcd in the same
 * namespace through its embedded npm dependencies, and runs the agent with only the
 * permissions the build granted. The single-file launcher's first run unpacks its runtime;
 * two first runs at once, and a first run killed midway, must leave one working runtime.
 *
 * Each run gets a private mount namespace in which scratch directories stand in for /var/lib
 * (where the launcher unpacks as root) and /var/log (the agent's log), so the host's own are
 * never touched.
 *
 * The build happens once per test run: `build.sh --if-stale` reuses dist/ when its inputs are
 * unchanged (package_test.ts relies on the same).
 */
import { assert, assertIncludes, assertMatch, assertStrictEquals } from "../harness/assert.ts";
import { startAgent } from "../../netlab/agent.ts";
import { haveEtcd, startEtcd } from "../../netlab/etcd.ts";
import { canUseNetns, NetNs, run } from "../../netlab/netns.ts";
import { TABLE_REF } from "../../src/dataplane/names.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const VERSION: string = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)).version;
/** PATH of the bare environment: the system's tools (nft, ip), nothing from the checkout. */
const BARE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
/** Where the launcher unpacks as root, below the stand-in for /var/lib. */
const RUNTIME_SUBDIR = "hostfence/runtime";

/** Builds dist/ unless it is up to date; returns what build-info says was built. */
async function buildOnce(): Promise<{ kind: "binary" | "bundle"; output: string }> {
  const r = await run(["bash", `${REPO}/scripts/build.sh`, "--if-stale"], { allowFail: true });
  if (r.code !== 0) throw new Error(`scripts/build.sh failed:\n${r.stderr}${r.stdout}`);
  const info = Object.fromEntries(
    Deno.readTextFileSync(`${REPO}/dist/build-info`).trim().split("\n").map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
  assertStrictEquals(info["version"], VERSION, "dist/build-info names another version");
  const kind = info["kind"];
  if (kind !== "binary" && kind !== "bundle") throw new Error(`Unknown build kind '${kind}'`);
  return { kind, output: r.stdout + r.stderr };
}

const built = canUseNetns() ? await buildOnce() : undefined;
const singleFile = built?.kind === "bundle";

/** A scratch directory with an empty HOME and the stand-ins for /var/lib and /var/log. */
async function scratchDirs(prefix: string) {
  const root = await Deno.makeTempDir({ prefix });
  const dirs = {
    root,
    home: `${root}/home`,
    varLib: `${root}/var-lib`,
    varLog: `${root}/var-log`,
    /** The runtime directory the launcher unpacks into, seen from outside. */
    runtime: `${root}/var-lib/${RUNTIME_SUBDIR}`,
  };
  for (const d of [dirs.home, dirs.varLib, dirs.varLog]) await Deno.mkdir(d);
  return {
    ...dirs,
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * argv that runs `exe args` in a bare environment (everything else is wiped by env -i) with
 * `varLib` and `varLog` mounted over /var/lib and /var/log for that process only.
 */
function bare(
  dirs: { home: string; varLib: string; varLog: string },
  exe: string,
  args: readonly string[],
  extra: string[] = [],
): string[] {
  const script = `mount --bind "$1" /var/lib && mount --bind "$2" /var/log && shift 2 && exec "$@"`;
  return [
    ...["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"],
    dirs.varLib,
    dirs.varLog,
    ...["env", "-i", `PATH=${BARE_PATH}`, `HOME=${dirs.home}`, ...extra, exe, ...args],
  ];
}

/** Copies dist/hostfence, and nothing else, into an empty directory; returns the copy. */
async function copyAlone(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/bin`);
  const exe = `${dir}/bin/hostfence`;
  await Deno.copyFile(`${REPO}/dist/hostfence`, exe);
  await Deno.chmod(exe, 0o755);
  return exe;
}

/** The entries of the runtime directory: digest-named runtimes, and temporary ones. */
function runtimeEntries(runtime: string): { done: string[]; temporary: string[] } {
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(runtime)].map((e) => e.name).sort();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return {
    done: names.filter((n) => /^[0-9a-f]{64}$/.test(n)),
    temporary: names.filter((n) => n.startsWith(".unpack-")),
  };
}

/** `version`'s output for the launcher unpacked at `digest`. */
function launcherVersion(digest: string): string {
  return `hostfence ${VERSION}\n` +
    `form: single-file launcher (runtime /var/lib/${RUNTIME_SUBDIR}/${digest}), ` +
    `Deno ${Deno.version.deno}\n`;
}

Deno.test({
  name: "dist/hostfence alone runs offline in a bare environment with only its own permissions",
  ignore: !canUseNetns() || !haveEtcd(),
  async fn(t) {
    const { kind, output } = built!;
    await using dirs = await scratchDirs("hostfence-build-test-");
    await t.step("build.sh says which form it built and why", () => {
      // Fresh builds print a "built the ..." line; an up-to-date dist/ says so instead.
      assertMatch(output, /built the (single binary|fallback bundle)|is up to date/, "build.sh");
      if (/built the fallback bundle/.test(output)) {
        assertMatch(output, /no denort runtime for Deno .*DENORT_BIN=/, "build.sh output");
        assertIncludes(output, "single-file launcher", "build.sh output");
      }
    });

    await t.step("dist/hostfence is one executable file", async () => {
      const info = await Deno.stat(`${REPO}/dist/hostfence`);
      assert(info.isFile && ((info.mode ?? 0) & 0o111) === 0o111, "an executable file");
      if (kind === "bundle") {
        // The launcher: a short sh script listing the build's permissions, then the payload.
        const head = new TextDecoder().decode(
          (await Deno.readFile(`${REPO}/dist/hostfence`)).subarray(0, 8192),
        );
        assert(head.startsWith("#!/bin/sh\n"), "starts as a POSIX sh script");
        assert(!head.includes(REPO), "the launcher must not name the checkout");
        const folderLauncher = await Deno.readTextFile(`${REPO}/dist/hostfence-bundle/hostfence`);
        assertIncludes(folderLauncher, "--allow-run=nft,ip", "the runtime's launcher");
        assert(
          !folderLauncher.includes("--allow-all") && !/(^|\s)-A(\s|$)/.test(folderLauncher),
          "the launcher must list permissions, not allow all",
        );
      }
    });

    const exe = await copyAlone(dirs.root);
    await using ns = await NetNs.create("build");
    await t.step("the namespace has no network but loopback", async () => {
      const links = (await ns.exec(["ip", "-o", "link", "show"])).stdout.trim().split("\n");
      assertStrictEquals(
        links.map((l) => l.split(": ")[1]).join(","),
        "lo",
        "links in the namespace",
      );
      const routes = (await ns.exec(["ip", "-4", "route", "show"])).stdout.trim();
      assertStrictEquals(routes, "", "IPv4 routes in the namespace");
    });

    await t.step("hostfence version prints hostfence's version and its form", async () => {
      const r = await ns.exec(bare(dirs, exe, ["version"]), { allowFail: true });
      assertStrictEquals(r.code, 0, `exit code (stderr: ${r.stderr})`);
      assertStrictEquals(r.stderr, "", "standard error");
      if (kind === "binary") {
        assertMatch(r.stdout, new RegExp(`^hostfence ${VERSION}\\nform: compiled binary`), "out");
        return;
      }
      const { done, temporary } = runtimeEntries(dirs.runtime);
      assertStrictEquals(done.length, 1, `one runtime in /var/lib/${RUNTIME_SUBDIR}`);
      assertStrictEquals(temporary.join(","), "", "temporary directories left");
      assertStrictEquals(r.stdout, launcherVersion(done[0]!), "version output");
    });

    if (kind === "bundle") {
      await t.step("the first run warmed Deno's code cache for every command", async () => {
        const [digest] = runtimeEntries(dirs.runtime).done;
        const rt = `${dirs.runtime}/${digest}`;
        // `version` loads none of these: only the warm-up at unpacking can have cached them.
        const gen = `${rt}/deno_dir/gen/file/var/lib/${RUNTIME_SUBDIR}/${digest}/app`;
        for (
          const m of ["src/cmd/agent.ts", "src/cmd/resources.ts", "src/datastore/syncer.ts"]
        ) {
          await Deno.stat(`${gen}/${m}.js`);
        }
      });
    }

    await t.step("--help and render --help print the golden help texts", async () => {
      for (const [args, golden] of [[["--help"], "hostfence"], [["render", "--help"], "render"]]) {
        const r = await ns.exec(bare(dirs, exe, args as string[]), { allowFail: true });
        assertStrictEquals(r.code, 0, `${args} exit code (stderr: ${r.stderr})`);
        const want = await Deno.readTextFile(`${REPO}/tests/golden/cli/${golden}.txt`);
        assertStrictEquals(r.stdout, want, `${(args as string[]).join(" ")} output`);
      }
    });

    await t.step("nothing was written to HOME (no Deno cache was needed)", () => {
      const files = [...Deno.readDirSync(dirs.home)].map((e) => e.name).join(",");
      assertStrictEquals(files, "", "files in HOME");
    });

    await using etcd = await startEtcd({ netns: ns.name });
    const etcdEnv = [`ETCD_ENDPOINTS=${etcd.endpoint}`];

    await t.step("the CLI writes and reads etcd through its embedded npm packages", async () => {
      const policy = [
        "apiVersion: v1",
        "kind: policy",
        "metadata:",
        "  name: build-test",
        "spec:",
        "  selector: role == 'build'",
        "  ingress:",
        "  - action: allow",
        "    protocol: tcp",
        "    destination:",
        "      ports: [22]",
        "",
      ].join("\n");
      const w = await ns.exec(bare(dirs, exe, ["apply", "-f", "-"], etcdEnv), {
        stdin: policy,
        allowFail: true,
      });
      assertStrictEquals(w.code, 0, `apply exit code (stderr: ${w.stderr})`);
      assertIncludes(w.stdout, "Successfully applied 1 'policy' resource(s)", "apply output");
      const g = await ns.exec(bare(dirs, exe, ["get", "policy", "-o", "yaml"], etcdEnv), {
        allowFail: true,
      });
      assertStrictEquals(g.code, 0, `get exit code (stderr: ${g.stderr})`);
      assertIncludes(g.stdout, "name: build-test", "get output");
    });

    await t.step("the agent programs nftables and logs under /var/log/calico", async () => {
      await ns.exec([
        "etcdctl",
        `--endpoints=${etcd.endpoint}`,
        "put",
        "/calico/v1/Ready",
        "true",
      ], { env: { ETCDCTL_API: "3" } });
      await using agent = await startAgent({
        ns,
        hostname: "h1",
        etcdEndpoint: etcd.endpoint,
        flags: { "log-file-path": "/var/log/calico/felix.log" },
        command: bare(dirs, exe, ["agent"]),
      });
      await agent.waitForRevision(1, 30_000);
      const tables = (await ns.exec(["nft", "list", "tables"])).stdout;
      assertIncludes(tables, `table ${TABLE_REF}`, "nft tables in the namespace");
      const logText = await Deno.readTextFile(`${dirs.varLog}/calico/felix.log`);
      assertMatch(logText, /Dataplane in sync at revision/, "the log file");
      assert(
        !agent.hasLogged(/Requires .* access|PermissionDenied|NotCapable/),
        `the agent hit a permission it lacks:\n${agent.tail()}`,
      );
    });
  },
});

Deno.test({
  name: "two first runs of the single-file launcher at once both work and share one runtime",
  ignore: !canUseNetns() || !singleFile,
  async fn() {
    await using dirs = await scratchDirs("hostfence-race-test-");
    const exe = await copyAlone(dirs.root);
    const [a, b] = await Promise.all([
      run(bare(dirs, exe, ["version"]), { allowFail: true }),
      run(bare(dirs, exe, ["version"]), { allowFail: true }),
    ]);
    const { done, temporary } = runtimeEntries(dirs.runtime);
    assertStrictEquals(done.length, 1, "runtime directories");
    assertStrictEquals(temporary.join(","), "", "temporary directories left");
    for (const r of [a!, b!]) {
      assertStrictEquals(r.code, 0, `exit code (stderr: ${r.stderr})`);
      assertStrictEquals(r.stdout, launcherVersion(done[0]!), "version output");
    }
  },
});

Deno.test({
  name: "a first run killed while unpacking leaves no runtime, and the next run unpacks cleanly",
  ignore: !canUseNetns() || !singleFile,
  async fn() {
    await using dirs = await scratchDirs("hostfence-kill-test-");
    const exe = await copyAlone(dirs.root);
    const paused = `${dirs.root}/paused`;
    // The hook makes the launcher stop after unpacking into its temporary directory, before
    // moving it into place: the moment a crash would leave the most behind.
    const argv = bare(dirs, exe, ["version"], [`HOSTFENCE_TEST_UNPACK_PAUSE=${paused}`]);
    const child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const deadline = Date.now() + 60_000;
      while (!(await Deno.stat(paused).then(() => true, () => false))) {
        assert(Date.now() < deadline, "the launcher never reached the pause");
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
    let entries = runtimeEntries(dirs.runtime);
    assertStrictEquals(entries.done.join(","), "", "runtime directories after the kill");
    assertStrictEquals(entries.temporary.length, 1, "temporary directories after the kill");

    const r = await run(bare(dirs, exe, ["version"]), { allowFail: true });
    assertStrictEquals(r.code, 0, `exit code (stderr: ${r.stderr})`);
    entries = runtimeEntries(dirs.runtime);
    assertStrictEquals(entries.done.length, 1, "runtime directories");
    assertStrictEquals(
      entries.temporary.join(","),
      "",
      "the dead run's temporary directory is removed",
    );
    assertStrictEquals(r.stdout, launcherVersion(entries.done[0]!), "version output");
  },
});

Deno.test({
  name: "a damaged single file is refused with the reason, and unpacks nothing",
  ignore: !canUseNetns() || !singleFile,
  async fn() {
    await using dirs = await scratchDirs("hostfence-damage-test-");
    const exe = await copyAlone(dirs.root);
    const bytes = await Deno.readFile(exe);
    bytes[bytes.length - 1000] = bytes[bytes.length - 1000]! ^ 0xff;
    await Deno.writeFile(exe, bytes);
    const r = await run(bare(dirs, exe, ["version"]), { allowFail: true });
    assertStrictEquals(r.code, 1, "exit code");
    assertStrictEquals(r.stdout, "", "standard output");
    assertMatch(
      r.stderr,
      /^hostfence: .*is damaged: its payload's SHA-256 is [0-9a-f]{64}, expected [0-9a-f]{64}; copy it again\n$/,
      "standard error",
    );
    assertStrictEquals(
      JSON.stringify(runtimeEntries(dirs.runtime)),
      '{"done":[],"temporary":[]}',
      "runtime entries",
    );
  },
});

Deno.test({
  name: "as another user the single-file launcher unpacks into that user's cache directory",
  ignore: !canUseNetns() || !singleFile,
  async fn() {
    await using dirs = await scratchDirs("hostfence-user-test-");
    const exe = await copyAlone(dirs.root);
    // nobody may enter the scratch directory and owns only its HOME and XDG cache.
    await Deno.chmod(dirs.root, 0o755);
    const xdg = `${dirs.root}/xdg-cache`;
    await Deno.mkdir(xdg);
    for (const d of [dirs.home, xdg]) await Deno.chown(d, 65534, 65534);
    const asNobody = (extra: string[]) => [
      ...["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
      ...["env", "-i", `PATH=${BARE_PATH}`, `HOME=${dirs.home}`, ...extra, exe, "version"],
    ];
    for (
      const [extra, base] of [
        [[], `${dirs.home}/.cache/hostfence/runtime`],
        [[`XDG_CACHE_HOME=${xdg}`], `${xdg}/hostfence/runtime`],
      ] as const
    ) {
      const r = await run(asNobody([...extra]), { allowFail: true });
      assertStrictEquals(r.code, 0, `exit code (stderr: ${r.stderr})`);
      const { done, temporary } = runtimeEntries(base);
      assertStrictEquals(done.length, 1, `runtime directories in ${base}`);
      assertStrictEquals(temporary.join(","), "", "temporary directories left");
      assertStrictEquals(
        r.stdout,
        `hostfence ${VERSION}\nform: single-file launcher (runtime ${base}/${done[0]}), ` +
          `Deno ${Deno.version.deno}\n`,
        "version output",
      );
    }
  },
});
