/**
 * TLS to etcd for real: an etcd that serves https and requires client certificates, reached
 * by the CLI through ETCD_CA_CERT_FILE / ETCD_CERT_FILE / ETCD_KEY_FILE and through a
 * calicoctl config file; without a client certificate the CLI fails with one clear line.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { haveEtcd, startEtcd } from "../../netlab/etcd.ts";
import { HOSTFENCE } from "../../netlab/paths.ts";
import { canUseNetns, NetNs, run } from "../../netlab/netns.ts";

const ignore = Deno.env.get("CI") !== "true" && (!haveEtcd() || Deno.uid() !== 0);

/** Runs `cmd` to completion and returns its exit code and output (a failure is a result). */
function sh(
  cmd: string[],
  opts: { cwd?: string; stdin?: string; env?: Record<string, string> } = {},
) {
  return run(cmd, { ...opts, allowFail: true });
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate. */
async function makeCerts(dir: string) {
  const run = async (args: string[]) => {
    const r = await sh(["openssl", ...args], { cwd: dir });
    if (r.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  };
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
  ]);
  await Deno.writeTextFile(`${dir}/server.ext`, "subjectAltName=IP:127.0.0.1\n");
  await Deno.writeTextFile(`${dir}/wrong.ext`, "subjectAltName=IP:198.18.99.1\n");
  await Deno.writeTextFile(`${dir}/client.ext`, "basicConstraints=CA:FALSE\n");
  for (
    const [name, ext] of [
      ["server", ["-extfile", "server.ext"]],
      ["wrong", ["-extfile", "wrong.ext"]],
      ["client", ["-extfile", "client.ext"]],
      // No extensions: an X.509 v1 certificate, which Deno's TLS refuses (see below).
      ["clientv1", []],
    ] as const
  ) {
    await run([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
    ]);
    await run([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      `${name}.crt`,
      ...ext,
    ]);
  }
}

Deno.test({
  name: "the CLI talks to an etcd that requires TLS client certificates",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "hostfence-tls-" });
    try {
      await makeCerts(dir);
      await using etcd = await startEtcd({
        tls: {
          certFile: `${dir}/server.crt`,
          keyFile: `${dir}/server.key`,
          caFile: `${dir}/ca.crt`,
        },
      });
      assert(etcd.endpoint.startsWith("https://"));
      const env = {
        ETCD_ENDPOINTS: etcd.endpoint,
        ETCD_CA_CERT_FILE: `${dir}/ca.crt`,
        ETCD_CERT_FILE: `${dir}/client.crt`,
        ETCD_KEY_FILE: `${dir}/client.key`,
      };
      const yaml =
        "apiVersion: v1\nkind: policy\nmetadata:\n  name: over-tls\nspec:\n  selector: all()\n";
      const created = await sh([HOSTFENCE, "create", "-f", "-"], { env, stdin: yaml });
      assertEquals(
        created.stdout.trim(),
        "Successfully created 1 'policy' resource(s)",
        created.stderr,
      );

      // The same through a calicoctl config file.
      const cfg = `${dir}/calicoctl.cfg`;
      await Deno.writeTextFile(
        cfg,
        [
          "apiVersion: v1",
          "kind: calicoApiConfig",
          "metadata: {}",
          "spec:",
          "  datastoreType: etcdv2",
          `  etcdEndpoints: ${etcd.endpoint}`,
          `  etcdCACertFile: ${dir}/ca.crt`,
          `  etcdCertFile: ${dir}/client.crt`,
          `  etcdKeyFile: ${dir}/client.key`,
          "",
        ].join("\n"),
      );
      const got = await sh([HOSTFENCE, "get", "policy", "-c", cfg]);
      assertEquals(got.code, 0, got.stderr);
      assert(got.stdout.includes("over-tls"), got.stdout);

      // Without a client certificate: refused, one line, no stack trace.
      const { ETCD_CERT_FILE: _c, ETCD_KEY_FILE: _k, ...noClient } = env;
      const refused = await sh([HOSTFENCE, "get", "policy"], { env: noClient });
      assertEquals(refused.code, 1);
      const lines = refused.stderr.trim().split("\n");
      assertEquals(lines.length, 1, refused.stderr);
      assert(lines[0]!.startsWith("Failed to get resources:"), lines[0] ?? "");

      // An X.509 v1 client certificate: Deno's TLS refuses it, so by default the CLI uses
      // the gRPC client for it; asking for the http transport by name is a clear error.
      const v1 = {
        ...env,
        ETCD_CERT_FILE: `${dir}/clientv1.crt`,
        ETCD_KEY_FILE: `${dir}/clientv1.key`,
      };
      const viaGrpc = await sh([HOSTFENCE, "get", "policy"], { env: v1 });
      assertEquals(viaGrpc.code, 0, viaGrpc.stderr);
      assert(viaGrpc.stdout.includes("over-tls"), viaGrpc.stdout);
      const forced = await sh([HOSTFENCE, "get", "policy"], {
        env: { ...v1, ETCD_TRANSPORT: "http" },
      });
      assertEquals(forced.code, 1, forced.stdout);
      assert(
        forced.stderr.includes(`Invalid etcd certificate file ${dir}/clientv1.crt: Deno's TLS`),
        forced.stderr,
      );

      // A server whose certificate names another address is not trusted.
      await using impostor = await startEtcd({
        tls: { certFile: `${dir}/wrong.crt`, keyFile: `${dir}/wrong.key`, caFile: `${dir}/ca.crt` },
      });
      const bad = await sh([HOSTFENCE, "get", "policy"], {
        env: { ...env, ETCD_ENDPOINTS: impostor.endpoint },
      });
      assertEquals(bad.code, 1, `connected to a server with the wrong certificate: ${bad.stdout}`);
      assert(bad.stderr.includes("Failed to get resources:"), bad.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a TLS file that is not PEM, holds the wrong thing or does not match is refused at start",
  ignore: ignore || !canUseNetns(),
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "hostfence-tlsbad-" });
    try {
      await makeCerts(dir);
      await Deno.writeTextFile(`${dir}/text.pem`, "this is not a certificate\n");
      const der = await sh(["openssl", "x509", "-in", "ca.crt", "-outform", "DER"], { cwd: dir });
      const derOut = await new Deno.Command("openssl", {
        args: ["x509", "-in", `${dir}/ca.crt`, "-outform", "DER"],
        stdout: "piped",
      }).output();
      assert(der.code === 0 && derOut.success);
      await Deno.writeFile(`${dir}/ca.der`, derOut.stdout);
      const ca = await Deno.readTextFile(`${dir}/ca.crt`);
      const broken = ca.replace(/\n[A-Za-z0-9+/]{20}/, "\n" + "A".repeat(20));
      await Deno.writeTextFile(`${dir}/broken.crt`, broken);
      const cases: { name: string; files: Record<string, string>; want: RegExp }[] = [
        {
          name: "CA file of plain text",
          files: { ca: `${dir}/text.pem` },
          want: /Invalid etcd CA certificate file \S+\/text\.pem: it is not PEM/,
        },
        {
          name: "CA file in DER",
          files: { ca: `${dir}/ca.der` },
          want: /Invalid etcd CA certificate file \S+\/ca\.der: .*binary DER/,
        },
        {
          name: "CA file that does not parse",
          files: { ca: `${dir}/broken.crt` },
          want: /Invalid etcd CA certificate file \S+\/broken\.crt: certificate 1 does not parse/,
        },
        {
          name: "missing CA file",
          files: { ca: `${dir}/missing.crt` },
          want: /\/missing\.crt"?: .*(does not exist|No such file)/,
        },
        {
          name: "certificate and key swapped",
          files: { ca: `${dir}/ca.crt`, cert: `${dir}/client.key`, key: `${dir}/client.crt` },
          want:
            /Invalid etcd key file \S+\/client\.crt: it holds no private key \(found: CERTIFICATE\)/,
        },
        {
          name: "a key of another certificate",
          files: { ca: `${dir}/ca.crt`, cert: `${dir}/client.crt`, key: `${dir}/server.key` },
          want:
            /Invalid etcd key file \S+\/server\.key: it is not the private key of the certificate in \S+\/client\.crt/,
        },
      ];
      await using ns = await NetNs.create("tls", `${Deno.pid}-tls`);
      for (const c of cases) {
        await t.step(`CLI: ${c.name}`, async () => {
          const env: Record<string, string> = { ETCD_ENDPOINTS: "https://127.0.0.1:1" };
          if (c.files.ca) env.ETCD_CA_CERT_FILE = c.files.ca;
          if (c.files.cert) env.ETCD_CERT_FILE = c.files.cert;
          if (c.files.key) env.ETCD_KEY_FILE = c.files.key;
          const r = await sh([HOSTFENCE, "get", "policy"], { env });
          assertEquals(r.code, 1, r.stdout);
          const lines = r.stderr.trim().split("\n");
          assertEquals(lines.length, 1, r.stderr);
          assert(c.want.test(lines[0]!), lines[0]!);
        });
        await t.step(`agent: ${c.name}`, async () => {
          const args = [
            "agent",
            "--felix-hostname=tls-test",
            "--etcd-endpoints=https://127.0.0.1:1",
            "--log-file-path=none",
            ...(c.files.ca ? [`--etcd-ca-file=${c.files.ca}`] : []),
            ...(c.files.cert ? [`--etcd-cert-file=${c.files.cert}`] : []),
            ...(c.files.key ? [`--etcd-key-file=${c.files.key}`] : []),
          ];
          // In a namespace of its own, and killed after 20 s if it does not refuse to start.
          const r = await sh(["timeout", "20", ...ns.wrap([HOSTFENCE, ...args])]);
          assertEquals(r.code, 1, `agent exit code (124 = still running):\n${r.stderr}`);
          assert(c.want.test(r.stderr), r.stderr);
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
