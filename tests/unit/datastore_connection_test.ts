/** calicoctl connection settings: flags, the calicoApiConfig file, and the environment. */
import assert from "node:assert/strict";
import {
  ConnectionConfigError,
  connectionFailureReason,
  connectionFromEnv,
  createEtcdClient,
  parseEndpoints,
  readTlsCredentials,
  resolveConnectionConfig,
} from "../../src/datastore/connection.ts";
import { parseCalicoctlConfig } from "../../src/datastore/calicoctl_config.ts";
import { EtcdUnavailableError } from "../../src/datastore/etcd_client.ts";

const envOf = (vars: Record<string, string>) => (n: string) => vars[n];

Deno.test("environment: defaults, ETCD_ENDPOINTS wins, CALICO_ prefix wins", async (t) => {
  await t.step("defaults to http://127.0.0.1:2379", () => {
    assert.deepEqual(connectionFromEnv(envOf({})), { endpoints: ["http://127.0.0.1:2379"] });
  });
  await t.step("authority and scheme", () => {
    assert.deepEqual(
      connectionFromEnv(envOf({ ETCD_AUTHORITY: "10.0.0.5:4001", ETCD_SCHEME: "https" })),
      { endpoints: ["https://10.0.0.5:4001"] },
    );
  });
  await t.step("ETCD_ENDPOINTS over the authority", () => {
    assert.deepEqual(
      connectionFromEnv(envOf({
        ETCD_AUTHORITY: "10.0.0.5:4001",
        ETCD_ENDPOINTS: "http://a:1, http://b:2",
      })).endpoints,
      ["http://a:1", "http://b:2"],
    );
  });
  await t.step("CALICO_ prefixed names win over bare ones", () => {
    const c = connectionFromEnv(envOf({
      ETCD_ENDPOINTS: "http://bare:1",
      CALICO_ETCD_ENDPOINTS: "http://prefixed:1",
      ETCD_USERNAME: "u1",
      CALICO_ETCD_USERNAME: "u2",
      ETCD_PASSWORD: "pw",
      ETCD_KEY_FILE: "/k",
      CALICO_ETCD_CERT_FILE: "/c",
      ETCD_CA_CERT_FILE: "/ca",
    }));
    assert.deepEqual(c, {
      endpoints: ["http://prefixed:1"],
      username: "u2",
      password: "pw",
      keyFile: "/k",
      certFile: "/c",
      caCertFile: "/ca",
    });
  });
  await t.step("a non-etcd datastore type is refused", () => {
    assert.throws(
      () => connectionFromEnv(envOf({ DATASTORE_TYPE: "kubernetes" })),
      /Unsupported datastore type 'kubernetes'/,
    );
  });
});

Deno.test("endpoint lists get a scheme and reject unknown ones", () => {
  assert.deepEqual(parseEndpoints("127.0.0.1:2379"), ["http://127.0.0.1:2379"]);
  assert.deepEqual(parseEndpoints("https://e:2379/,http://f:1"), ["https://e:2379", "http://f:1"]);
  assert.throws(() => parseEndpoints("unix://x"), ConnectionConfigError);
  assert.throws(() => parseEndpoints(" , "), /Invalid etcd endpoint list/);
});

Deno.test("the calicoctl config file decodes strictly (YAML and JSON)", async (t) => {
  await t.step("YAML", () => {
    const c = parseCalicoctlConfig(
      `apiVersion: v1
kind: calicoApiConfig
metadata:
spec:
  datastoreType: "etcdv2"
  etcdEndpoints: "https://etcd1:2379,https://etcd2:2379"
  etcdUsername: root
  etcdPassword: secret
  etcdKeyFile: /etc/calico/key.pem
  etcdCertFile: /etc/calico/cert.pem
  etcdCACertFile: /etc/calico/ca.pem
`,
      "/x.cfg",
    );
    assert.deepEqual(c, {
      endpoints: ["https://etcd1:2379", "https://etcd2:2379"],
      username: "root",
      password: "secret",
      keyFile: "/etc/calico/key.pem",
      certFile: "/etc/calico/cert.pem",
      caCertFile: "/etc/calico/ca.pem",
    });
  });
  await t.step("JSON", () => {
    const c = parseCalicoctlConfig(
      '{"apiVersion":"v1","kind":"calicoApiConfig","metadata":{},' +
        '"spec":{"etcdEndpoints":"http://10.0.0.1:2379"}}',
      "/x.json",
    );
    assert.deepEqual(c, { endpoints: ["http://10.0.0.1:2379"] });
  });
  await t.step("unknown fields are errors naming the field", () => {
    assert.throws(
      () =>
        parseCalicoctlConfig(
          "apiVersion: v1\nkind: calicoApiConfig\nspec:\n  etcdEndpoint: x\n",
          "/f",
        ),
      /Error parsing config file \/f: unknown field 'spec.etcdEndpoint'/,
    );
    assert.throws(
      () => parseCalicoctlConfig("apiVersion: v1\nfoo: 1\n", "/f"),
      /unknown field 'foo'/,
    );
    assert.throws(
      () => parseCalicoctlConfig("kind: other\n", "/f"),
      /kind must be 'calicoApiConfig'/,
    );
    assert.throws(
      () => parseCalicoctlConfig("spec:\n  etcdUsername: [a]\n", "/f"),
      /field 'spec.etcdUsername' must be a string/,
    );
  });
});

Deno.test("config file resolution follows calicoctl", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "hostfence-conn-" });
  try {
    const file = `${dir}/calicoctl.cfg`;
    await Deno.writeTextFile(
      file,
      "apiVersion: v1\nkind: calicoApiConfig\nspec:\n  etcdEndpoints: http://198.18.0.1:2379\n",
    );
    const env = envOf({ ETCD_ENDPOINTS: "http://from-env:2379" });
    await t.step("an unreadable default path falls back to the environment", async () => {
      const c = await resolveConnectionConfig({ defaultConfigFile: `${dir}/missing.cfg`, env });
      assert.deepEqual(c.endpoints, ["http://from-env:2379"]);
    });
    await t.step("an unreadable explicit path is an error", async () => {
      await assert.rejects(
        () => resolveConnectionConfig({ configFile: `${dir}/missing.cfg`, env }),
        { message: `Error reading config file: ${dir}/missing.cfg` },
      );
    });
    await t.step("a readable file is used instead of the environment", async () => {
      const c = await resolveConnectionConfig({ configFile: file, env });
      assert.deepEqual(c.endpoints, ["http://198.18.0.1:2379"]);
      const d = await resolveConnectionConfig({ defaultConfigFile: file, env });
      assert.deepEqual(d.endpoints, ["http://198.18.0.1:2379"]);
    });
    await t.step("--etcd-endpoints overrides both", async () => {
      const c = await resolveConnectionConfig({ configFile: file, endpoints: "127.0.0.1:1", env });
      assert.deepEqual(c.endpoints, ["http://127.0.0.1:1"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TLS credentials are read from the configured files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hostfence-tls-" });
  try {
    // A self-signed certificate serves as CA and as client certificate alike.
    const made = new Deno.Command("openssl", {
      args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        .concat(["-days", "1", "-subj", "/CN=t", "-keyout", `${dir}/key.pem`])
        .concat(["-out", `${dir}/cert.pem`]),
      stdout: "null",
      stderr: "null",
    }).outputSync();
    assert.ok(made.success, "openssl could not make a test certificate");
    const certText = await Deno.readTextFile(`${dir}/cert.pem`);
    const keyText = await Deno.readTextFile(`${dir}/key.pem`);
    await Deno.writeTextFile(`${dir}/ca.pem`, certText);
    assert.equal(readTlsCredentials({ endpoints: ["http://a:1"] }), undefined);
    const creds = readTlsCredentials({
      endpoints: ["https://a:1"],
      caCertFile: `${dir}/ca.pem`,
      certFile: `${dir}/cert.pem`,
      keyFile: `${dir}/key.pem`,
    })!;
    assert.equal(creds.rootCertificate.toString(), certText);
    assert.equal(creds.certChain?.toString(), certText);
    assert.equal(creds.privateKey?.toString(), keyText);
    await Deno.writeTextFile(`${dir}/text.pem`, "CA");
    assert.throws(
      () => readTlsCredentials({ endpoints: ["https://a:1"], caCertFile: `${dir}/text.pem` }),
      new RegExp(`Invalid etcd CA certificate file ${dir}/text.pem: it is not PEM`),
    );
    assert.throws(
      () => readTlsCredentials({ endpoints: ["https://a:1"], caCertFile: `${dir}/nope.pem` }),
      new RegExp(`Cannot read etcd CA certificate file ${dir}/nope.pem`),
    );
    assert.throws(
      () => readTlsCredentials({ endpoints: ["https://a:1"], certFile: `${dir}/cert.pem` }),
      /Both an etcd client certificate and key file are needed/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connection failures are summarised in a few words", () => {
  assert.equal(
    connectionFailureReason(
      new Error("14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED"),
    ),
    "connection refused",
  );
  assert.equal(
    connectionFailureReason(new Error("4 DEADLINE_EXCEEDED: Deadline exceeded")),
    "timed out",
  );
});

Deno.test("gRPC transport: keepalive pings only with several endpoints (grpc-proxy refuses them)", async () => {
  const { createEtcd3 } = await import("../../src/datastore/etcd_grpc.ts");
  const options = (endpoints: string[]) => {
    const client = createEtcd3({ endpoints, transport: "grpc" }, undefined, 5000);
    try {
      const hosts = (client as unknown as {
        pool: { hosts: { channelOptions?: Record<string, unknown> }[] };
      }).pool.hosts;
      return hosts.map((h) => h.channelOptions?.["grpc.keepalive_time_ms"]);
    } finally {
      client.close();
    }
  };
  assert.deepEqual(options(["http://127.0.0.1:1"]), [undefined]);
  assert.deepEqual(options(["http://127.0.0.1:1", "http://127.0.0.1:2"]), [10_000, 10_000]);
});

Deno.test("HTTP failures from Deno's fetch are summarised in a few words", () => {
  const reason = (m: string) => connectionFailureReason(new EtcdUnavailableError(m));
  assert.equal(
    reason("client error (Connect): tcp connect error: Connection refused (os error 111)"),
    "connection refused",
  );
  assert.equal(reason("http://198.18.0.1:2379 did not answer in time (timed out)"), "timed out");
  assert.equal(
    reason("client error (Connect): dns error: failed to lookup address information"),
    "host not found",
  );
  assert.match(reason("Fetch failed: Requests to port 1 are blocked"), /refuses port 1/);
  assert.match(
    reason("client error (Connect): invalid peer certificate: UnknownIssuer"),
    /^TLS error/,
  );
});

Deno.test("the transport comes from ETCD_TRANSPORT (CALICO_ first), http by default", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.equal(connectionFromEnv(env({})).transport, undefined);
  assert.equal(connectionFromEnv(env({ ETCD_TRANSPORT: "grpc" })).transport, "grpc");
  assert.equal(
    connectionFromEnv(env({ ETCD_TRANSPORT: "grpc", CALICO_ETCD_TRANSPORT: "HTTP" })).transport,
    "http",
  );
  assert.throws(
    () => connectionFromEnv(env({ ETCD_TRANSPORT: "quic" })),
    /Invalid etcd transport 'quic' in environment variable ETCD_TRANSPORT: use http or grpc/,
  );
  const c = createEtcdClient({ endpoints: ["http://127.0.0.1:2379"] });
  assert.equal(c.transport, "http");
  c.close();
  const g = createEtcdClient({ endpoints: ["http://127.0.0.1:2379"], transport: "grpc" });
  assert.equal(g.transport, "grpc");
  g.close();
});
