/**
 * The .deb and .rpm from scripts/package.sh: their metadata, file lists and configuration
 * files, the systemd unit (`systemd-analyze verify`), the default felix.cfg (every line a
 * comment; uncommented, the app accepts it and it restates the defaults), and the installed
 * program: the .deb is unpacked into a scratch root, made read-only like the unit's
 * ProtectSystem makes /usr, and its /usr/bin/hostfence run in a bare environment inside a
 * network namespace with only `lo`.
 *
 * package.sh builds dist/ only when it is missing or stale, so a test run that also runs
 * build_test.ts builds once.
 */
import { assert, assertIncludes, assertMatch, assertStrictEquals } from "../harness/assert.ts";
import { canUseNetns, haveCommand, NetNs, run } from "../../netlab/netns.ts";
import { resolveConfig } from "../../src/config/mod.ts";
import { loadPolicySet } from "../../src/datastore/local_files.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const VERSION: string = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)).version;
const PKG_VERSION = VERSION.replaceAll("-", "~");
const BARE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const ARCH = Deno.build.arch === "x86_64"
  ? { deb: "amd64", rpm: "x86_64" }
  : { deb: "arm64", rpm: "aarch64" };
const DEB = `${REPO}/dist/hostfence_${PKG_VERSION}_${ARCH.deb}.deb`;
const RPM = `${REPO}/dist/hostfence-${PKG_VERSION}-1.${ARCH.rpm}.rpm`;
const UNIT_DEB = "/lib/systemd/system/hostfence.service";
const UNIT_RPM = "/usr/lib/systemd/system/hostfence.service";

async function out(argv: string[]): Promise<string> {
  return (await run(argv)).stdout;
}

/** `Field: value` lines (dpkg-deb -f, rpm -qi) as a map. */
function fields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith(" ")) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

/** sha256 of a file, hex. */
async function sha256(path: string): Promise<string> {
  return (await out(["sha256sum", path])).split(" ")[0]!;
}

const CAN_PACKAGE = canUseNetns() && haveCommand("dpkg-deb") && haveCommand("rpmbuild") &&
  haveCommand("rpm");

Deno.test({
  name: "the .deb and .rpm hold the build, the unit, the config and logrotate, and run offline",
  ignore: !CAN_PACKAGE,
  async fn(t) {
    const built = await run(["bash", `${REPO}/scripts/build.sh`, "--if-stale"], {
      allowFail: true,
    });
    assertStrictEquals(built.code, 0, `scripts/build.sh failed:\n${built.stderr}${built.stdout}`);
    // Running the folder where it was built leaves Deno caches keyed by that path in it, as an
    // operator trying dist/ would: they must not end up in the packages.
    if (await Deno.stat(`${REPO}/dist/hostfence-bundle/hostfence`).then(() => true, () => false)) {
      await run([`${REPO}/dist/hostfence-bundle/hostfence`, "version"]);
    }
    const made = await run(["bash", `${REPO}/scripts/package.sh`, "all"], { allowFail: true });
    assertStrictEquals(
      made.code,
      0,
      `scripts/package.sh all failed:\n${made.stderr}${made.stdout}`,
    );
    const kind = Deno.readTextFileSync(`${REPO}/dist/build-info`).match(/^kind=(\w+)$/m)?.[1];
    assert(kind === "binary" || kind === "bundle", `dist/build-info kind is '${kind}'`);
    /** The program file whose bytes must survive packaging unchanged. */
    const program = kind === "binary"
      ? { dist: `${REPO}/dist/hostfence`, installed: "/usr/bin/hostfence" }
      : { dist: `${REPO}/dist/hostfence-bundle/deno`, installed: "/usr/lib/hostfence/deno" };
    const scratch = await Deno.makeTempDir({ prefix: "hostfence-package-test-" });
    try {
      await t.step("deb metadata: name, version, architecture, description, depends", async () => {
        const f = fields(await out(["dpkg-deb", "-f", DEB]));
        assertStrictEquals(f.get("Package"), "hostfence", "Package");
        assertStrictEquals(f.get("Version"), PKG_VERSION, "Version");
        assertStrictEquals(f.get("Architecture"), ARCH.deb, "Architecture");
        assertMatch(f.get("Description") ?? "", /Calico/, "Description");
        const depends = (f.get("Depends") ?? "").split(",").map((d) => d.trim());
        for (const d of ["nftables", "iproute2"]) {
          assert(depends.includes(d), `Depends ${JSON.stringify(depends)} lacks ${d}`);
        }
        const info = await out(["dpkg-deb", "-I", DEB]);
        for (const s of ["conffiles", "postinst", "prerm", "postrm"]) {
          assertIncludes(info, s, "dpkg -I");
        }
      });

      await t.step("deb files and conffiles", async () => {
        const list = (await out(["dpkg-deb", "-c", DEB])).split("\n");
        const paths = list.map((l) => l.split(/\s+/).slice(5).join(" ")).join("\n");
        // Caches are made where the program is installed (postinst), never shipped.
        assert(!paths.includes("/deno_dir/gen/"), "no code cache in the package");
        for (const p of ["./usr/bin/hostfence", `.${UNIT_DEB}`, "./etc/calico/felix.cfg"]) {
          assertIncludes(paths, p, "dpkg-deb -c");
        }
        assertIncludes(paths, "./etc/logrotate.d/hostfence", "dpkg-deb -c");
        if (kind === "bundle") {
          assertIncludes(paths, "./usr/bin/hostfence -> ../lib/hostfence/hostfence", "dpkg-deb -c");
          assertIncludes(paths, "./usr/lib/hostfence/deno_dir/npm/", "dpkg-deb -c");
        }
        assert(list.every((l) => l === "" || l.includes(" root/root ")), "files owned by root");
        const conffiles = (await out(["dpkg-deb", "-I", DEB, "conffiles"])).trim().split("\n");
        assertStrictEquals(
          conffiles.sort().join(" "),
          "/etc/calico/felix.cfg /etc/hostfence/policy.d/example.yaml /etc/logrotate.d/hostfence",
          "conffiles",
        );
      });

      await t.step("maintainer scripts are valid shell", async () => {
        for (const s of ["postinst", "prerm", "postrm"]) {
          await run(["sh", "-n", `${REPO}/packaging/deb/${s}`]);
        }
        const scripts = await out(["rpm", "-qp", "--scripts", RPM]);
        assertIncludes(scripts, "agent --cleanup", "rpm scriptlets");
      });

      await t.step("rpm metadata: name, version, architecture, summary, requires", async () => {
        const f = fields(await out(["rpm", "-qpi", RPM]));
        assertStrictEquals(f.get("Name"), "hostfence", "Name");
        assertStrictEquals(f.get("Version"), PKG_VERSION, "Version");
        assertStrictEquals(f.get("Architecture"), ARCH.rpm, "Architecture");
        assertMatch(f.get("Summary") ?? "", /Calico/, "Summary");
        const requires = (await out(["rpm", "-qpR", RPM])).split("\n").map((l) => l.trim());
        assert(requires.includes("nftables"), `Requires lacks nftables: ${requires}`);
        assert(requires.includes("(iproute or iproute2)"), `Requires lacks iproute: ${requires}`);
      });

      await t.step("rpm files, config files and noreplace", async () => {
        const list = (await out(["rpm", "-qpl", RPM])).trim().split("\n");
        for (const p of ["/usr/bin/hostfence", UNIT_RPM, "/etc/logrotate.d/hostfence"]) {
          assert(list.includes(p), `rpm -qpl lacks ${p}`);
        }
        if (kind === "bundle") assert(list.includes("/usr/lib/hostfence/hostfence"), "launcher");
        if (kind === "bundle") assert(list.includes("/usr/lib/hostfence/warm-cache"), "warm-cache");
        assert(!list.some((p) => p.startsWith("/usr/lib/.build-id")), "no build-id links");
        const config = (await out(["rpm", "-qpc", RPM])).trim().split("\n").sort();
        assertStrictEquals(
          config.join(" "),
          "/etc/calico/felix.cfg /etc/hostfence/policy.d/example.yaml /etc/logrotate.d/hostfence",
          "rpm -qpc",
        );
        const flags = await out([
          "rpm",
          "-qp",
          "--qf",
          "[%{FILENAMES} %{FILEFLAGS:fflags}\n]",
          RPM,
        ]);
        assertMatch(
          flags,
          /^\/etc\/calico\/felix\.cfg cn$/m,
          "felix.cfg flags (config, noreplace)",
        );
      });

      await t.step(
        "the packaged program is byte-identical to the build (never stripped)",
        async () => {
          const want = await sha256(program.dist);
          const dump = await out(["rpm", "-qp", "--dump", RPM]);
          const line = dump.split("\n").find((l) => l.startsWith(`${program.installed} `));
          assert(line !== undefined, `rpm --dump lacks ${program.installed}`);
          assertStrictEquals(line.split(" ")[3], want, `sha256 of ${program.installed} in the rpm`);
          await run(["dpkg-deb", "-x", DEB, `${scratch}/root`]);
          assertStrictEquals(
            await sha256(`${scratch}/root${program.installed}`),
            want,
            `sha256 of ${program.installed} in the deb`,
          );
        },
      );

      await t.step("the unpacked .deb runs hostfence offline from a read-only /usr", async () => {
        const root = `${scratch}/root`;
        const home = `${scratch}/home`;
        await Deno.mkdir(home);
        await using ns = await NetNs.create("pkg");
        const script = `mount --bind -o ro "$1" "$1" && shift && exec "$@"`;
        const runIn = (args: string[]) =>
          ns.exec([
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            root,
            "env",
            "-i",
            `PATH=${BARE_PATH}`,
            `HOME=${home}`,
            `${root}/usr/bin/hostfence`,
            ...args,
          ], { allowFail: true });
        if (kind === "bundle") {
          // What postinst does: fill the code cache where the folder is installed, for
          // every command, before /usr turns read-only.
          const lib = `${root}/usr/lib/hostfence`;
          const w = await run([`${lib}/warm-cache`], { allowFail: true });
          assertStrictEquals(w.code, 0, `warm-cache exit code (stderr: ${w.stderr})`);
          for (const m of ["src/cmd/agent.ts", "src/cmd/resources.ts", "src/cli/main.ts"]) {
            await Deno.stat(`${lib}/deno_dir/gen/file${lib}/app/${m}.js`);
          }
        }
        const v = await runIn(["version"]);
        assertStrictEquals(v.code, 0, `exit code (stderr: ${v.stderr})`);
        const form = kind === "bundle" ? `folder (${root}/usr/lib/hostfence)` : "compiled binary";
        const want = `hostfence ${VERSION}\nform: ${form}`;
        assert(v.stdout.startsWith(want), `version output ${v.stdout} should start ${want}`);
        assertStrictEquals(v.stderr, "", "standard error");
        const h = await runIn(["--help"]);
        assertStrictEquals(h.code, 0, `--help exit code (stderr: ${h.stderr})`);
        assertIncludes(h.stdout, "agent", "--help output");
      });

      await t.step(
        "policy.d: a commented example, valid uncommented, read by the program",
        async () => {
          const dir = `${scratch}/root/etc/hostfence/policy.d`;
          const text = await Deno.readTextFile(`${dir}/example.yaml`);
          const lines = text.split("\n").filter((l) => l.trim() !== "");
          for (const l of lines) assert(l.startsWith("#"), `example.yaml line not a comment: ${l}`);
          const bytes = new TextEncoder().encode(text);
          assertStrictEquals(
            loadPolicySet([{ path: "example.yaml", bytes }], "h").resources,
            0,
            "as shipped",
          );
          const from = lines.findIndex((l) => l.startsWith("# - "));
          const yaml = lines.slice(from).map((l) => l.replace(/^# ?/, "")).join("\n");
          const set = loadPolicySet([{
            path: "example.yaml",
            bytes: new TextEncoder().encode(yaml),
          }], "h");
          assertStrictEquals(set.resources, 3, "resources in the uncommented example");
          // The packaged program reads the directory (as the agent with DatastoreType=local does).
          const r = await run([
            `${scratch}/root/usr/bin/hostfence`,
            "render",
            "--policy-dir",
            dir,
            "--node",
            "pkg-test",
          ], { allowFail: true });
          assertStrictEquals(r.code, 0, `render --policy-dir exit code (stderr: ${r.stderr})`);
          assertIncludes(r.stdout, "table inet hostfence", "render --policy-dir output");
        },
      );

      await t.step("the systemd unit: directives, and systemd-analyze verify", async () => {
        const unit = await Deno.readTextFile(`${scratch}/root${UNIT_DEB}`);
        for (
          const line of [
            "Wants=network-online.target",
            "After=network-online.target",
            "ExecStart=/usr/bin/hostfence agent",
            "Restart=always",
            "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW",
            "ConfigurationDirectory=calico",
            "LogsDirectory=calico",
            "StateDirectory=hostfence",
            "ProtectSystem=full",
            "ProtectHome=yes",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "WantedBy=multi-user.target",
          ]
        ) {
          assert(unit.split("\n").includes(line), `the unit lacks the line ${line}`);
        }
        assertMatch(unit, /^RestartSec=\d+$/m, "the unit");
        assert(!/^MemoryDenyWriteExecute=yes/m.test(unit), "the JIT needs W+X memory");
        if (!haveCommand("systemd-analyze")) {
          console.log("note: systemd-analyze is not installed; skipped `systemd-analyze verify`");
          return;
        }
        // verify insists that ExecStart exists: point it at the unpacked program.
        const dir = `${scratch}/unit`;
        await Deno.mkdir(dir);
        await Deno.writeTextFile(
          `${dir}/hostfence.service`,
          unit.replace(
            "ExecStart=/usr/bin/hostfence",
            `ExecStart=${scratch}/root/usr/bin/hostfence`,
          ),
        );
        const r = await run(["systemd-analyze", "verify", `${dir}/hostfence.service`], {
          allowFail: true,
        });
        assertStrictEquals(r.code, 0, `systemd-analyze verify exit code:\n${r.stderr}`);
        assertStrictEquals(r.stderr + r.stdout, "", "systemd-analyze verify output");
      });

      await t.step("logrotate entry rotates felix.log with copytruncate", async () => {
        const text = await Deno.readTextFile(`${scratch}/root/etc/logrotate.d/hostfence`);
        assertMatch(text, /^\/var\/log\/calico\/felix\.log \{$/m, "logrotate entry");
        for (const d of ["copytruncate", "missingok", "compress", "rotate 7"]) {
          assertMatch(text, new RegExp(`^\\s+${d}$`, "m"), "logrotate entry");
        }
        if (haveCommand("logrotate")) {
          const state = `${scratch}/logrotate.state`;
          const r = await run(
            ["logrotate", "-d", "-s", state, `${scratch}/root/etc/logrotate.d/hostfence`],
            { allowFail: true },
          );
          assertStrictEquals(r.code, 0, `logrotate -d:\n${r.stderr}`);
        } else {
          console.log("note: logrotate is not installed; checked the entry's text only");
        }
      });

      await t.step(
        "felix.cfg: all comments; uncommented it is valid and states the defaults",
        async () => {
          const text = await Deno.readTextFile(`${scratch}/root/etc/calico/felix.cfg`);
          const lines = text.split("\n").filter((l) => l.trim() !== "");
          for (const l of lines) assert(l.startsWith("#"), `felix.cfg line not a comment: ${l}`);
          const settings = lines.map((l) => l.replace(/^# ?/, "")).filter((l) =>
            /^[A-Za-z][A-Za-z0-9]* = /.test(l)
          );
          const names = settings.map((l) => l.split(" ")[0]!);
          for (
            const n of [
              "FelixHostname",
              "EtcdEndpoints",
              "FailsafeInboundHostPorts",
              "FailsafeOutboundHostPorts",
              "InterfacePrefix",
              "LogFilePath",
              "LogSeverityScreen",
            ]
          ) {
            assert(names.includes(n), `felix.cfg does not explain ${n}`);
          }
          const base = {
            flags: new Map<string, string>(),
            env: {},
            datastoreGlobal: new Map<string, string>(),
            datastoreHost: new Map<string, string>(),
            detectedHostname: "host1.example.com",
            fileExists: () => true,
          };
          const defaults = resolveConfig(base);
          const uncommented = resolveConfig({
            ...base,
            fileText: "[global]\n" + settings.join("\n") + "\n",
            filePath: "felix.cfg",
          });
          assertStrictEquals(uncommented.fatal, undefined, "fatal error for the uncommented file");
          assertStrictEquals(
            uncommented.warnings.join("\n"),
            "",
            "warnings for the uncommented file",
          );
          // Examples rather than defaults: the etcd location and TLS files.
          const examples = ["EtcdEndpoints", "EtcdKeyFile", "EtcdCertFile", "EtcdCaFile"];
          const a = defaults.config as unknown as Record<string, unknown>;
          const b = uncommented.config as unknown as Record<string, unknown>;
          for (const field of Object.keys(a)) {
            if (examples.some((e) => e.toLowerCase() === field.toLowerCase())) continue;
            assertStrictEquals(
              JSON.stringify(b[field]),
              JSON.stringify(a[field]),
              `felix.cfg's value for ${field} versus the built-in default`,
            );
          }
        },
      );
    } finally {
      await Deno.remove(scratch, { recursive: true }).catch(() => {});
    }
  },
});
