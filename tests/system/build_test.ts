/**
 * The shippable build (scripts/build.sh) runs on its own: a copy of whatever was built (the
 * deno-compiled binary, or the fallback bundle when Deno's `denort` runtime is missing) is run
 * from a temp dir in a bare environment (empty HOME, no DENO_DIR, a PATH without the checkout's
 * .tools) inside a fresh network namespace that has only `lo`, so nothing can be fetched. There
 * it prints our version and help, talks to an etcd in the same namespace through its embedded
 * npm dependencies, and runs the agent with only the permissions the build granted.
 *
 * The build happens once per test run: `build.sh --if-stale` reuses dist/ when its inputs are
 * unchanged (package_test.ts relies on the same).
 */
import { assert, assertEquals, assertIncludes, assertMatch } from "../harness/assert.ts";
import { startAgent } from "../harness/agent.ts";
import { haveEtcd, startEtcd } from "../harness/etcd.ts";
import { canUseNetns, NetNs, run } from "../harness/netns.ts";
import { TABLE_REF } from "../../src/dataplane/names.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const VERSION: string = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)).version;
/** PATH of the bare environment: the system's tools (nft, ip), nothing from the checkout. */
const BARE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

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
  assertEquals(info["version"], VERSION, "dist/build-info names another version");
  const kind = info["kind"];
  if (kind !== "binary" && kind !== "bundle") throw new Error(`Unknown build kind '${kind}'`);
  return { kind, output: r.stdout + r.stderr };
}

/** argv that runs `exe args` in a bare environment (everything else is wiped by env -i). */
function bare(home: string, exe: string, args: readonly string[], extra: string[] = []): string[] {
  return ["env", "-i", `PATH=${BARE_PATH}`, `HOME=${home}`, ...extra, exe, ...args];
}

Deno.test({
  name: "the build runs offline from a copy in a bare environment with only its own permissions",
  ignore: !canUseNetns() || !haveEtcd(),
  async fn(t) {
    const built = await buildOnce();
    const scratch = await Deno.makeTempDir({ prefix: "hostfence-build-test-" });
    try {
      await t.step("build.sh says which form it built and why", () => {
        // Fresh builds print a "built the ..." line; an up-to-date dist/ says so instead.
        assertMatch(
          built.output,
          /built the (single binary|fallback bundle)|is up to date/,
          "build.sh output",
        );
        if (/built the fallback bundle/.test(built.output)) {
          assertMatch(built.output, /no denort runtime for Deno .*DENORT_BIN=/, "build.sh output");
        }
      });

      // The copy: nothing below may refer back to the checkout.
      const home = `${scratch}/home`;
      await Deno.mkdir(home);
      let exe: string;
      if (built.kind === "binary") {
        exe = `${scratch}/hostfence`;
        await Deno.copyFile(`${REPO}/dist/hostfence`, exe);
        await Deno.chmod(exe, 0o755);
      } else {
        await run(["cp", "-a", `${REPO}/dist/hostfence-bundle`, `${scratch}/bundle`]);
        exe = `${scratch}/bundle/hostfence`;
        await t.step("the bundle holds Deno, the app, its lockfile and the npm cache", async () => {
          for (const f of ["deno", "hostfence", "app/main.ts", "app/deno.lock", "deno_dir/npm"]) {
            await Deno.stat(`${scratch}/bundle/${f}`);
          }
          const launcher = await Deno.readTextFile(exe);
          assertIncludes(launcher, "--cached-only", "the launcher");
          assert(
            !launcher.includes("--allow-all") && !/(^|\s)-A(\s|$)/.test(launcher),
            "the launcher must list permissions, not allow all",
          );
          assert(!launcher.includes(REPO), "the launcher must not name the checkout");
        });
      }

      await using ns = await NetNs.create("build");
      await t.step("the namespace has no network but loopback", async () => {
        const links = (await ns.exec(["ip", "-o", "link", "show"])).stdout.trim().split("\n");
        assertEquals(links.map((l) => l.split(": ")[1]).join(","), "lo", "links in the namespace");
        const routes = (await ns.exec(["ip", "-4", "route", "show"])).stdout.trim();
        assertEquals(routes, "", "IPv4 routes in the namespace");
      });

      await t.step("hostfence version prints hostfence's version, not Deno's", async () => {
        const r = await ns.exec(bare(home, exe, ["version"]), { allowFail: true });
        assertEquals(r.code, 0, `exit code (stderr: ${r.stderr})`);
        assertEquals(r.stdout, `hostfence ${VERSION}\n`, "version output");
        assertEquals(r.stderr, "", "standard error");
      });

      await t.step("hostfence --help prints the command overview", async () => {
        const r = await ns.exec(bare(home, exe, ["--help"]), { allowFail: true });
        assertEquals(r.code, 0, `exit code (stderr: ${r.stderr})`);
        for (const word of ["hostfence", "apply", "get", "agent", "version"]) {
          assertIncludes(r.stdout, word, "--help output");
        }
      });

      await t.step("nothing was written to HOME (no Deno cache was needed)", () => {
        assertEquals([...Deno.readDirSync(home)].map((e) => e.name).join(","), "", "files in HOME");
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
        const w = await ns.exec(bare(home, exe, ["apply", "-f", "-"], etcdEnv), {
          stdin: policy,
          allowFail: true,
        });
        assertEquals(w.code, 0, `apply exit code (stderr: ${w.stderr})`);
        assertIncludes(w.stdout, "Successfully applied 1 'policy' resource(s)", "apply output");
        const g = await ns.exec(bare(home, exe, ["get", "policy", "-o", "yaml"], etcdEnv), {
          allowFail: true,
        });
        assertEquals(g.code, 0, `get exit code (stderr: ${g.stderr})`);
        assertIncludes(g.stdout, "name: build-test", "get output");
      });

      await t.step("the agent programs nftables and logs under /var/log/calico", async () => {
        // /var/log is replaced, for the agent only, by a scratch dir (private mount namespace),
        // so the write permission the build grants is exercised without touching the host.
        const varLog = `${scratch}/var-log`;
        await Deno.mkdir(varLog);
        await ns.exec([
          "etcdctl",
          `--endpoints=${etcd.endpoint}`,
          "put",
          "/calico/v1/Ready",
          "true",
        ], { env: { ETCDCTL_API: "3" } });
        const script = `mount --bind "$1" /var/log && shift && exec "$@"`;
        await using agent = await startAgent({
          ns,
          hostname: "h1",
          etcdEndpoint: etcd.endpoint,
          flags: { "log-file-path": "/var/log/calico/felix.log" },
          command: [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            varLog,
            ...bare(home, exe, ["agent"]),
          ],
        });
        await agent.waitForRevision(1, 30_000);
        const tables = (await ns.exec(["nft", "list", "tables"])).stdout;
        assertIncludes(tables, `table ${TABLE_REF}`, "nft tables in the namespace");
        const logText = await Deno.readTextFile(`${varLog}/calico/felix.log`);
        assertMatch(logText, /Dataplane in sync at revision/, "the log file");
        assert(
          !agent.hasLogged(/Requires .* access|PermissionDenied|NotCapable/),
          `the agent hit a permission it lacks:\n${agent.tail()}`,
        );
      });
    } finally {
      await Deno.remove(scratch, { recursive: true }).catch(() => {});
    }
  },
});
