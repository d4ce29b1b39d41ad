/**
 * The hostfence CLI as operators run it: `scripts/hostfence` as a subprocess against a real
 * etcd, with the endpoint given by `--etcd-endpoints` (while ETCD_ENDPOINTS points at a dead
 * port, proving the flag wins), by ETCD_ENDPOINTS, or by a `-c` calicoApiConfig file. Covers
 * every command and flag, oracle rows C1-C12, the seed's YAML examples and their round trip,
 * partial success, line-exact input errors, the concurrent-create race and a dead etcd.
 */
import assert from "node:assert/strict";
import { type Etcd3, rawEtcd } from "../harness/raw_etcd.ts";
import { parse as parseYaml } from "yaml";
import { haveEtcd, startEtcd } from "../../netlab/etcd.ts";
import {
  seedFailsafePolicy,
  seedHostEndpointByIp,
  seedHostEndpointByName,
  seedNode,
  seedWebserverPolicy,
} from "../../netlab/guide_examples.ts";

const ignore = !haveEtcd();
const ROOT = new URL("../../", import.meta.url).pathname;
const HOSTFENCE = `${ROOT}scripts/hostfence`;
const GOLDEN = new URL("../golden/cli/", import.meta.url);

interface Result {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** How a run finds etcd. */
type Via = "flag" | "env" | { readonly configFile: string };

/** A port nothing listens on (bound, then released). */
function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const DEAD = `http://127.0.0.1:${deadPort()}`;

/** Runs `hostfence ARGS` with `stdin`; never throws on a non-zero exit. */
async function hostfence(
  args: readonly string[],
  opts: { stdin?: string | Uint8Array; env?: Record<string, string> } = {},
): Promise<Result> {
  const child = new Deno.Command(HOSTFENCE, {
    args: [...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...opts.env },
  }).spawn();
  const w = child.stdin.getWriter();
  const input = opts.stdin ?? "";
  // A child that refuses early stops reading: a broken pipe is then expected, not a failure.
  await w.write(typeof input === "string" ? new TextEncoder().encode(input) : input).catch(
    () => {},
  );
  await w.close().catch(() => {});
  const o = await child.output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

/** A CLI bound to one etcd endpoint, reaching it the way `via` says. */
function cliFor(endpoint: string) {
  return (
    args: readonly string[],
    stdin?: string | Uint8Array,
    via: Via = "env",
  ): Promise<Result> => {
    if (via === "flag") {
      return hostfence([...args, "--etcd-endpoints", endpoint], {
        ...(stdin !== undefined ? { stdin } : {}),
        env: { ETCD_ENDPOINTS: DEAD },
      });
    }
    if (via === "env") {
      return hostfence(args, {
        ...(stdin !== undefined ? { stdin } : {}),
        env: { ETCD_ENDPOINTS: endpoint },
      });
    }
    return hostfence([...args, "-c", via.configFile], {
      ...(stdin !== undefined ? { stdin } : {}),
      env: { ETCD_ENDPOINTS: DEAD },
    });
  };
}

function ok(r: Result, stdout: string, what = "") {
  assert.deepEqual(
    { code: r.code, err: r.err, out: r.out },
    { code: 0, err: "", out: stdout },
    what,
  );
}

function fails(r: Result, stderr: string | RegExp, what = "") {
  assert.equal(r.code, 1, `${what} exit code; stderr: ${r.err}`);
  assert.equal(r.out, "", `${what} stdout`);
  if (typeof stderr === "string") assert.equal(r.err, stderr, what);
  else assert.match(r.err, stderr, what);
}

const suffix = () => crypto.randomUUID().slice(0, 8);

async function dump(client: Etcd3, prefix = "/calico/"): Promise<Record<string, string>> {
  return await client.getAll().prefix(prefix).strings();
}

/** Fresh etcd, a CLI bound to it and a raw client for checking keys; all cleaned up. */
async function withEtcd(fn: (cli: ReturnType<typeof cliFor>, raw: Etcd3) => Promise<void>) {
  await using etcd = await startEtcd();
  const raw = rawEtcd(etcd.endpoint);
  try {
    await fn(cliFor(etcd.endpoint), raw);
  } finally {
    raw.close();
  }
}

const policyYaml = (name: string, rules = "    ingress:\n    - action: allow\n") =>
  `- apiVersion: v1
  kind: policy
  metadata:
    name: ${name}
  spec:
    selector: has(host-endpoint)
${rules}`;

Deno.test({
  name: "the seed's YAML examples go in through stdin and come back out unchanged",
  ignore,
  fn: () =>
    withEtcd(async (cli, raw) => {
      const s = suffix();
      const node = `seed-node-${s}`;
      const examples: [string, string][] = [
        ["node", seedNode(node)],
        [
          "policy",
          seedFailsafePolicy({
            name: `failsafe-${s}`,
            managementCidr: "198.18.0.0/24",
            etcdIp: "198.18.0.10",
            etcdPorts: [2379, 2380],
          }),
        ],
        [
          "hostEndpoint",
          seedHostEndpointByName({
            name: `eth0-${s}`,
            node,
            interfaceName: "eth0",
            profiles: [`prof-${s}`],
            expectedIPs: ["10.0.0.1"],
          }),
        ],
        [
          "hostEndpoint",
          seedHostEndpointByIp({
            name: `byip-${s}`,
            node,
            profiles: [`prof-${s}`],
            expectedIPs: ["10.0.0.1"],
          }),
        ],
        ["policy", seedWebserverPolicy({ name: `webserver-${s}` })],
      ];
      for (const [kind, yaml] of examples) {
        ok(
          await cli(["create", "-f", "-"], yaml),
          `Successfully created 1 '${kind}' resource(s)\n`,
        );
      }

      // Read back: every field the examples set is there.
      const heps = parseYaml(
        (await cli(["get", "hostEndpoints", "--node", node, "-o", "yaml"])).out,
      );
      assert.deepEqual(heps, [
        {
          apiVersion: "v1",
          kind: "hostEndpoint",
          metadata: {
            name: `byip-${s}`,
            node,
            labels: { environment: "production", role: "webserver" },
          },
          spec: { expectedIPs: ["10.0.0.1"], profiles: [`prof-${s}`] },
        },
        {
          apiVersion: "v1",
          kind: "hostEndpoint",
          metadata: {
            name: `eth0-${s}`,
            node,
            labels: { environment: "production", role: "webserver" },
          },
          spec: { interfaceName: "eth0", expectedIPs: ["10.0.0.1"], profiles: [`prof-${s}`] },
        },
      ]);
      const failsafe = parseYaml(
        (await cli(["get", "policy", `failsafe-${s}`, "-o", "yaml"], undefined, "flag")).out,
      );
      assert.deepEqual(failsafe[0].spec.egress[0], {
        action: "allow",
        protocol: "tcp",
        source: {},
        // Calico stores `net` as a one-element `nets` and reads it back that way.
        destination: { nets: ["198.18.0.10/32"], ports: [2379, 2380] },
      });
      assert.equal(failsafe[0].spec.order, 0);
      assert.equal(failsafe[0].spec.selector, "all()");
      const web = parseYaml((await cli(["get", "pol", `webserver-${s}`, "-o", "yaml"])).out);
      assert.equal(web[0].spec.selector, 'role=="webserver"');
      assert.deepEqual(web[0].spec.types, ["ingress", "egress"]);
      assert.deepEqual(
        parseYaml((await cli(["get", "nodes", "-o", "yaml"])).out),
        [{ apiVersion: "v1", kind: "node", metadata: { name: node }, spec: {} }],
      );

      // Round trip: get -o yaml | apply -f - changes nothing that get shows; once applied,
      // a second round trip (through JSON and replace) leaves etcd byte-for-byte unchanged.
      // (The first one may rewrite `src_net` as `src_nets`: Calico reads `net` back as
      // `nets`.)
      for (const kind of ["node", "policy", "hostEndpoint"]) {
        const text = (await cli(["get", kind, "-o", "yaml"])).out;
        const n = kind === "node" ? 1 : 2;
        assert.equal(parseYaml(text).length, n);
        ok(
          await cli(["apply", "-f", "-"], text),
          `Successfully applied ${n} '${kind}' resource(s)\n`,
        );
        assert.equal((await cli(["get", kind, "-o", "yaml"])).out, text, `${kind} yaml unchanged`);
        const before = await dump(raw);
        const json = (await cli(["get", kind, "-o", "json"])).out;
        ok(
          await cli(["replace", "-f", "-"], json),
          `Successfully replaced ${n} '${kind}' resource(s)\n`,
        );
        assert.deepEqual(await dump(raw), before, `${kind}: etcd unchanged by the json round trip`);
        assert.equal((await cli(["get", kind, "-o", "yaml"])).out, text, `${kind} yaml unchanged`);
      }

      // Clean up, all kinds in one file (mixed kinds: no kind in the message).
      const all = (await cli(["get", "hep", "-o", "yaml"])).out +
        (await cli(["get", "pol", "-o", "yaml"])).out;
      ok(await cli(["delete", "-f", "-"], all), "Successfully deleted 4 resource(s)\n");
      ok(await cli(["delete", "node", node]), "Successfully deleted 1 'node' resource(s)\n");
      assert.deepEqual(Object.keys(await dump(raw, "/calico/v1/policy/")), []);
      assert.deepEqual(Object.keys(await dump(raw, "/calico/v1/host/")), []);
    }),
});

Deno.test({
  name: "oracle rows C1-C12 against etcd",
  ignore,
  fn: () =>
    withEtcd(async (cli, raw) => {
      const s = suffix();
      // C11 first: nothing defined yet.
      ok(await cli(["get", "policy", "-o", "yaml"]), "[]\n", "C11");
      ok(await cli(["get", "policy", "-o", "json"], undefined, "flag"), "[]\n", "C11 json");
      ok(await cli(["get", "policy"]), "NAME\n\n", "C11 table");

      // C12: the first node initialises the datastore.
      const node = `h1-${s}`;
      ok(
        await cli(
          ["create", "-f", "-"],
          `apiVersion: v1\nkind: node\nmetadata:\n  name: ${node}\n`,
        ),
        "Successfully created 1 'node' resource(s)\n",
      );
      const keys = await dump(raw);
      assert.equal(keys["/calico/v1/Ready"], "true");
      assert.match(keys["/calico/v1/config/ClusterGUID"] ?? "", /^[0-9a-f]{32}$/);
      assert.equal(keys[`/calico/v1/host/${node}/metadata`], "{}");
      assert.equal(keys[`/calico/bgp/v1/host/${node}/ip_addr_v4`], "");
      assert.equal(keys[`/calico/bgp/v1/host/${node}/ip_addr_v6`], "");

      // C1: no node -> store error, nothing written.
      fails(
        await cli(
          ["create", "-f", "-"],
          `apiVersion: v1\nkind: hostEndpoint\nmetadata:\n  name: e-${s}\nspec:\n  interfaceName: eth0\n`,
        ),
        "Failed to create 'hostEndpoint' resource: insufficient identifiers, missing 'node'\n",
        "C1",
      );

      // C2-C5: validation before etcd; nothing written.
      const before = await dump(raw);
      const invalid: [string, string, RegExp][] = [
        [
          "C2",
          `apiVersion: v1\nkind: hostEndpoint\nmetadata:\n  name: e-${s}\n  node: ${node}\nspec: {}\n`,
          /^Failed to execute command: <stdin>:\d+:\d+: .*error with field InterfaceName = '' \(no interface or expected IPs have been specified\)\n$/,
        ],
        [
          "C3",
          policyYaml(
            `c3-${s}`,
            "    ingress:\n    - action: allow\n      protocol: icmp\n      destination:\n        ports: [80]\n",
          ),
          /^Failed to execute command: <stdin>:\d+:\d+: .*protocol does not support ports/,
        ],
        [
          "C4",
          policyYaml(`c4-${s}`, "    doNotTrack: true\n    preDNAT: true\n"),
          /^Failed to execute command: .*PreDNAT and DoNotTrack cannot both be true, for a given PolicySpec/,
        ],
        [
          "C5",
          policyYaml(
            `c5-${s}`,
            "    ingress:\n    - action: allow\n      protocol: icmp\n      icmp: {code: 0}\n",
          ),
          /^Failed to execute command: .*ICMP code specified without an ICMP type/,
        ],
      ];
      for (const [row, yaml, re] of invalid) fails(await cli(["create", "-f", "-"], yaml), re, row);
      assert.deepEqual(await dump(raw), before, "C2-C5 wrote nothing");

      // C6: create an existing policy.
      const p = `p-${s}`;
      ok(
        await cli(["create", "-f", "-"], policyYaml(p)),
        "Successfully created 1 'policy' resource(s)\n",
      );
      fails(
        await cli(["create", "-f", "-"], policyYaml(p), "flag"),
        `Failed to create 'policy' resource: resource already exists: Policy(name=${p})\n`,
        "C6",
      );
      ok(
        await cli(["create", "-f", "-", "--skip-exists"], policyYaml(p)),
        "Successfully created 1 'policy' resource(s)\n",
        "C6 --skip-exists",
      );

      // C7: replace a missing policy.
      fails(
        await cli(["replace", "-f", "-"], policyYaml(`missing-${s}`)),
        `Failed to replace 'policy' resource: resource does not exist: Policy(name=missing-${s})\n`,
        "C7",
      );

      // C8: delete a missing policy with --skip-not-exists.
      ok(
        await cli(["delete", "policy", `missing-${s}`, "--skip-not-exists"]),
        "Successfully deleted 1 'policy' resource(s)\n",
        "C8",
      );
      fails(
        await cli(["delete", "policy", `missing-${s}`]),
        `Failed to delete 'policy' resource: resource does not exist: Policy(name=missing-${s})\n`,
      );

      // C9: egress rules only, no types -> types [egress].
      const c9 = `c9-${s}`;
      ok(
        await cli(["create", "-f", "-"], policyYaml(c9, "    egress:\n    - action: allow\n")),
        "Successfully created 1 'policy' resource(s)\n",
      );
      const stored9 = JSON.parse(
        (await raw.get(`/calico/v1/policy/tier/default/policy/${c9}`).string()) ?? "{}",
      );
      assert.deepEqual(stored9.types, ["egress"], "C9 stored");
      assert.match(
        (await cli(["get", "pol", c9, "-o", "yaml"])).out,
        /\n {4}types:\n {4}- egress\n/,
      );

      // C10: pass is stored as next-tier and read back as pass.
      const c10 = `c10-${s}`;
      ok(
        await cli(["apply", "-f", "-"], policyYaml(c10, "    ingress:\n    - action: pass\n")),
        "Successfully applied 1 'policy' resource(s)\n",
      );
      const stored10 = JSON.parse(
        (await raw.get(`/calico/v1/policy/tier/default/policy/${c10}`).string()) ?? "{}",
      );
      assert.equal(stored10.inbound_rules[0].action, "next-tier", "C10 stored");
      const back10 = parseYaml((await cli(["get", "pol", c10, "-o", "yaml"])).out);
      assert.equal(back10[0].spec.ingress[0].action, "pass", "C10 read back");

      for (const name of [p, c9, c10]) {
        ok(await cli(["delete", "pol", name]), "Successfully deleted 1 'policy' resource(s)\n");
      }
      ok(await cli(["delete", "no", node]), "Successfully deleted 1 'node' resource(s)\n");
    }),
});

Deno.test({
  name: "every command and flag against etcd",
  ignore,
  fn: () =>
    withEtcd(async (cli, raw) => {
      const s = suffix();
      const dir = await Deno.makeTempDir({ prefix: "hostfence-cli-" });
      try {
        await commandsAndFlags(cli, raw, s, dir);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

async function commandsAndFlags(
  cli: ReturnType<typeof cliFor>,
  raw: Etcd3,
  s: string,
  dir: string,
) {
  const node = `n-${s}`;
  const hepYaml = (name: string, n = node, iface = "eth0") =>
    `- apiVersion: v1\n  kind: hostEndpoint\n  metadata:\n    name: ${name}\n    node: ${n}\n` +
    `    labels: {role: web}\n  spec:\n    interfaceName: ${iface}\n    expectedIPs: [198.18.0.1]\n`;

  // -f FILE (not stdin), several kinds in `---` documents and a List kind.
  const file = `${dir}/resources.yaml`;
  await Deno.writeTextFile(
    file,
    hepYaml(`a-${s}`) + "---\n" + hepYaml(`b-${s}`, `other-${s}`) + "---\n" +
      `apiVersion: v1\nkind: profileList\nitems:\n- apiVersion: v1\n  kind: profile\n` +
      `  metadata:\n    name: prof-${s}\n    tags: [t1]\n    labels: {zone: a}\n` +
      `  spec:\n    ingress:\n    - action: allow\n`,
  );
  ok(await cli(["create", "-f", file]), "Successfully created 3 resource(s)\n");

  await (async function getFormats() {
    const ps = (await cli(["get", "heps", "--node", node])).out;
    assert.equal(ps, `NODE${" ".repeat(node.length - 1)}NAME\n${node}   a-${s}\n\n`);
    const wide = (await cli(["get", "HEP", `a-${s}`, "-n", node, "-o", "wide"])).out;
    assert.match(
      wide,
      new RegExp(
        `^NODE +NAME +INTERFACE +IPS +PROFILES\n${node} +a-${s} +eth0 +198\\.18\\.0\\.1 *\n\n$`,
      ),
    );
    const cols =
      (await cli(["get", "hep", "-o", "custom-columns=NAME,INTERFACE"], undefined, "flag")).out;
    assert.equal(
      cols,
      `NAME${" ".repeat(s.length + 1)}INTERFACE\na-${s}   eth0\nb-${s}   eth0\n\n`,
    );
    const prof = parseYaml((await cli(["get", "pro", `prof-${s}`, "-o", "yaml"])).out);
    assert.deepEqual(prof[0].metadata, { name: `prof-${s}`, tags: ["t1"], labels: { zone: "a" } });
    assert.equal(
      (await cli(["get", "profiles", "-o", "wide"])).out,
      `NAME${" ".repeat(s.length + 4)}TAGS\nprof-${s}   t1\n\n`,
    );
    // get -f: each resource of the file, in file order, as JSON.
    const got = JSON.parse((await cli(["get", "-f", file, "-o", "json"])).out);
    assert.deepEqual(got.map((r: { metadata: { name: string } }) => r.metadata.name), [
      `a-${s}`,
      `b-${s}`,
      `prof-${s}`,
    ]);
    // A name that does not exist is not an error.
    ok(await cli(["get", "hep", `nope-${s}`, "--node", node, "-o", "yaml"]), "[]\n");
    fails(await cli(["get", "pol", "-o", "toml"]), "unrecognized output format 'toml'\n");
    fails(
      await cli(["get", "routers"]),
      /^Failed to get resources: Resource type 'routers' is not supported/,
    );
  })();

  // apply replaces fully; replace needs existence.
  ok(
    await cli(["apply", "-f", "-"], hepYaml(`a-${s}`, node, "eth1")),
    "Successfully applied 1 'hostEndpoint' resource(s)\n",
  );
  const a = JSON.parse((await raw.get(`/calico/v1/host/${node}/endpoint/a-${s}`).string()) ?? "{}");
  assert.equal(a.name, "eth1");
  ok(
    await cli(["replace", "-f", "-"], hepYaml(`a-${s}`, node, "eth2"), "flag"),
    "Successfully replaced 1 'hostEndpoint' resource(s)\n",
  );

  // Workload endpoints: identified by node, orchestrator, workload and name.
  const wep =
    `apiVersion: v1\nkind: workloadEndpoint\nmetadata:\n  name: ep-${s}\n  node: ${node}\n` +
    `  orchestrator: k8s\n  workload: wl-${s}\n  labels: {app: db}\nspec:\n  interfaceName: cali0${
      s.slice(0, 4)
    }\n` +
    `  ipNetworks: [198.18.5.2/32]\n  profiles: [prof-${s}]\n`;
  ok(
    await cli(["create", "-f", "-"], wep),
    "Successfully created 1 'workloadEndpoint' resource(s)\n",
  );
  const weps = parseYaml(
    (await cli([
      "get",
      "weps",
      "--node",
      node,
      "--orchestrator",
      "k8s",
      "--workload",
      `wl-${s}`,
      "-o",
      "yaml",
    ])).out,
  );
  assert.equal(weps.length, 1);
  assert.equal(weps[0].metadata.name, `ep-${s}`);
  ok(await cli(["get", "wep", "--node", node, "--workload", `other-${s}`, "-o", "json"]), "[]\n");
  fails(
    await cli(["delete", "wep", `ep-${s}`, "--node", node]),
    "Failed to delete 'workloadEndpoint' resource: insufficient identifiers, missing 'orchestrator'\n",
  );
  ok(
    await cli([
      "delete",
      "workloadEndpoint",
      `ep-${s}`,
      "--node",
      node,
      "--orchestrator",
      "k8s",
      "--workload",
      `wl-${s}`,
    ]),
    "Successfully deleted 1 'workloadEndpoint' resource(s)\n",
  );

  // Partial success: stops at the first failure, later resources untouched.
  const partial = policyYaml(`pa-${s}`) + policyYaml(`pb-${s}`) + policyYaml(`pc-${s}`);
  ok(
    await cli(["create", "-f", "-"], policyYaml(`pb-${s}`)),
    "Successfully created 1 'policy' resource(s)\n",
  );
  fails(
    await cli(["create", "-f", "-"], partial),
    "Partial success: created the first 1 out of 3 'policy' resources:\n" +
      `Hit error: resource already exists: Policy(name=pb-${s})\n`,
  );
  assert.equal(await raw.get(`/calico/v1/policy/tier/default/policy/pc-${s}`).string(), null);
  fails(
    await cli(["create", "-f", "-"], partial),
    `Failed to create any 'policy' resources: resource already exists: Policy(name=pa-${s})\n`,
  );
  ok(
    await cli(["create", "-f", "-", "--skip-exists"], partial),
    "Successfully created 3 'policy' resource(s)\n",
  );
  fails(
    await cli(["replace", "-f", "-"], partial + policyYaml(`pd-${s}`)),
    "Partial success: replaced the first 3 out of 4 'policy' resources:\n" +
      `Hit error: resource does not exist: Policy(name=pd-${s})\n`,
  );
  ok(
    await cli(["delete", "-f", "-", "--skip-not-exists"], partial + policyYaml(`pd-${s}`)),
    "Successfully deleted 4 'policy' resource(s)\n",
  );

  // A broken file names the exact line and column, and writes nothing.
  const before = await dump(raw);
  const broken = `${dir}/broken.yaml`;
  await Deno.writeTextFile(
    broken,
    policyYaml(`ok-${s}`) +
      policyYaml(
        `bad-${s}`,
        "    ingress:\n    - action: allow\n      protocol: tcp\n      destination:\n        ports: [80, 99999]\n",
      ),
  );
  fails(
    await cli(["apply", "-f", broken]),
    new RegExp(
      `^Failed to execute command: ${
        broken.replaceAll("/", "\\/")
      }:19:21: policy "bad-${s}" spec\\.ingress\\[0\\]\\.destination\\.ports\\[1\\]: .*99999`,
    ),
  );
  fails(
    await cli(
      ["create", "-f", "-"],
      "apiVersion: v1\nkind: policy\nmetadata:\n  name: x\nspec:\n  order: 1\n  selector: a: b\n",
    ),
    /^Failed to execute command: <stdin>:7:13: YAML syntax error/,
  );
  fails(
    await cli(["create", "-f", `${dir}/none.yaml`]),
    `Failed to execute command: Cannot read file '${dir}/none.yaml': no such file\n`,
  );
  fails(await cli(["create", "-f", "-"], "# only a comment\n"), "No resources specified in file\n");
  assert.deepEqual(await dump(raw), before, "bad input wrote nothing");

  // config: raw Felix keys, global and per node, and logLevel.
  ok(await cli(["config", "set", "FailsafeInboundHostPorts", "tcp:22,udp:68", "--raw=felix"]), "");
  ok(
    await cli(
      // --force: the node's host endpoint has no policy, so the lockout check would refuse.
      [
        "config",
        "set",
        "FailsafeInboundHostPorts",
        "none",
        "--raw=felix",
        "--node",
        node,
        "--force",
      ],
      undefined,
      "flag",
    ),
    "",
  );
  assert.equal(
    await raw.get("/calico/v1/config/FailsafeInboundHostPorts").string(),
    "tcp:22,udp:68",
  );
  assert.equal(
    await raw.get(`/calico/v1/host/${node}/config/FailsafeInboundHostPorts`).string(),
    "none",
  );
  ok(await cli(["config", "get", "FailsafeInboundHostPorts", "--raw=felix"]), "tcp:22,udp:68\n");
  ok(await cli(["config", "get", "FailsafeInboundHostPorts", "--raw=felix", "-n", node]), "none\n");
  ok(await cli(["config", "unset", "FailsafeInboundHostPorts", "--raw=felix", "--node", node]), "");
  ok(
    await cli(["config", "get", "FailsafeInboundHostPorts", "--raw=felix", "--node", node]),
    "(unset)\n",
  );
  ok(await cli(["config", "set", "logLevel", "debug"]), "");
  assert.equal(await raw.get("/calico/v1/config/LogSeverityScreen").string(), "DEBUG");
  ok(await cli(["config", "get", "logLevel", "--node", node]), "debug (inherited from global)\n");
  ok(await cli(["config", "unset", "logLevel"]), "");
  ok(await cli(["config", "unset", "FailsafeInboundHostPorts", "--raw=felix"]), "");
  assert.deepEqual(
    Object.keys(await dump(raw, "/calico/v1/config/")).filter((k) => !k.endsWith("ClusterGUID")),
    [],
  );

  // Clean up.
  ok(await cli(["delete", "-f", file]), "Successfully deleted 3 resource(s)\n");
  ok(
    await cli(["delete", "hep", `a-${s}`, "--node", node, "--skip-not-exists"]),
    "Successfully deleted 1 'hostEndpoint' resource(s)\n",
  );
  assert.deepEqual(Object.keys(await dump(raw, "/calico/v1/host/")), []);
  assert.deepEqual(Object.keys(await dump(raw, "/calico/v1/policy/")), []);
}

Deno.test({
  name: "concurrent creates of one name: exactly one wins, the rest see it exists",
  ignore,
  fn: () =>
    withEtcd(async (cli, raw) => {
      for (
        const [kind, yaml] of [
          ["policy", (n: string) => policyYaml(n)],
          [
            "hostEndpoint",
            (n: string) =>
              `apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: ${n}, node: race}\n` +
              "spec: {interfaceName: eth0}\n",
          ],
        ] as const
      ) {
        const name = `race-${suffix()}`;
        const results = await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            cli(["create", "-f", "-"], yaml(name), i % 2 ? "flag" : "env")),
        );
        const winners = results.filter((r) =>
          r.code === 0
        );
        assert.equal(winners.length, 1, JSON.stringify(results));
        assert.equal(winners[0]!.out, `Successfully created 1 '${kind}' resource(s)\n`);
        for (const r of results.filter((r) => r.code !== 0)) {
          fails(
            r,
            new RegExp(
              `^Failed to create '${kind}' resource: resource already exists: .*name=${name}\\)\n$`,
            ),
          );
        }
      }
      await raw.delete().prefix("/calico/v1/");
    }),
});

Deno.test({
  name: "connection settings: -c file, flag over environment, and a dead etcd",
  ignore,
  fn: async (t) => {
    await using etcd = await startEtcd();
    const dir = await Deno.makeTempDir({ prefix: "hostfence-cli-cfg-" });
    try {
      const cli = cliFor(etcd.endpoint);
      const cfg = `${dir}/calicoctl.cfg`;
      await Deno.writeTextFile(
        cfg,
        `apiVersion: v1\nkind: calicoApiConfig\nmetadata:\nspec:\n  datastoreType: etcdv2\n` +
          `  etcdEndpoints: ${etcd.endpoint}\n`,
      );
      await t.step("-c FILE gives the endpoint (environment points at a dead port)", async () => {
        const name = `cfg-${suffix()}`;
        ok(
          await cli(["create", "-f", "-"], policyYaml(name), { configFile: cfg }),
          "Successfully created 1 'policy' resource(s)\n",
        );
        ok(
          await cli(["get", "pol", "-o", "custom-columns=NAME"], undefined, { configFile: cfg }),
          `NAME\n${name}\n\n`,
        );
        ok(
          await cli(["config", "get", "LogFilePath", "--raw=felix"], undefined, {
            configFile: cfg,
          }),
          "(unset)\n",
        );
        ok(
          await cli(["delete", "pol", name], undefined, { configFile: cfg }),
          "Successfully deleted 1 'policy' resource(s)\n",
        );
      });
      await t.step("an unreadable -c file is an error", async () => {
        fails(
          await cli(["get", "pol"], undefined, { configFile: `${dir}/none.cfg` }),
          `Error reading config file: ${dir}/none.cfg\n`,
        );
      });
      await t.step("a dead etcd: one line naming the endpoint, within seconds", async () => {
        for (
          const args of [
            ["get", "policy"],
            ["create", "-f", "-"],
            ["apply", "-f", "-"],
            ["replace", "-f", "-"],
            ["delete", "policy", "p"],
            ["config", "get", "X", "--raw=felix"],
          ]
        ) {
          const started = Date.now();
          const r = await hostfence(args, {
            stdin: policyYaml("p"),
            env: { ETCD_ENDPOINTS: DEAD },
          });
          const took = Date.now() - started;
          fails(
            r,
            new RegExp(
              `^[^\n]*Cannot connect to etcd at ${DEAD.replaceAll("/", "\\/")}: [^\n]+\n$`,
            ),
            args[0],
          );
          assert.ok(took < 8000, `${args.join(" ")} took ${took} ms`);
        }
        const r = await hostfence(["get", "pol", "--etcd-endpoints", DEAD], {
          env: { ETCD_ENDPOINTS: etcd.endpoint },
        });
        fails(
          r,
          `Failed to get resources: Cannot connect to etcd at ${DEAD}: connection refused\n`,
        );
        fails(
          await hostfence(["create", "-f", "-", "--etcd-endpoints", DEAD], {
            stdin: policyYaml("p"),
          }),
          `Failed to create 'policy' resource: Cannot connect to etcd at ${DEAD}: connection refused\n`,
        );
      });
      await t.step("a stopped etcd", async () => {
        await etcd.stop();
        const r = await cli(["get", "hep", "-o", "yaml"], undefined, "flag");
        fails(
          r,
          `Failed to get resources: Cannot connect to etcd at ${etcd.endpoint}: connection refused\n`,
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile input (bad UTF-8, oversized, alias bombs) is refused and writes nothing",
  ignore,
  fn: () =>
    withEtcd(async (cli, raw) => {
      const s = suffix();
      const enc = new TextEncoder();
      const before = await dump(raw);
      const head = policyYaml(`utf8-${s}`).replace("has(host-endpoint)", "role == 'a");
      const [pre, post] = head.split("role == 'a");
      const bad = new Uint8Array([
        ...enc.encode(pre + "role == 'a"),
        0xff,
        0xfe,
        ...enc.encode("'" + post),
      ]);
      const line = pre!.split("\n").length;
      const column = pre!.split("\n").at(-1)!.length + "role == 'a".length + 1;
      fails(
        await cli(["create", "-f", "-"], bad),
        new RegExp(
          `^Failed to execute command: <stdin>:${line}:${column}: invalid UTF-8: byte 0xff`,
        ),
        "create -f - with bytes ff fe",
      );
      const dir = await Deno.makeTempDir();
      try {
        await Deno.writeFile(`${dir}/bad.yaml`, bad);
        fails(
          await cli(["apply", "-f", `${dir}/bad.yaml`]),
          new RegExp(
            `^Failed to execute command: ${dir}/bad\\.yaml:${line}:${column}: invalid UTF-8`,
          ),
          "apply -f FILE with bytes ff fe",
        );

        // Over the limit: refused with the flag named; raising the limit lets it through.
        const big = policyYaml(`big-${s}`) + `# ${"x".repeat(4000)}\n`;
        await Deno.writeTextFile(`${dir}/big.yaml`, big);
        fails(
          await cli(["apply", "-f", `${dir}/big.yaml`, "--max-input-bytes=2K"]),
          `Failed to execute command: Cannot read file '${dir}/big.yaml': larger than the input ` +
            "limit of 2048 bytes (raise it with --max-input-bytes, e.g. --max-input-bytes=512M)\n",
        );
        fails(
          await cli(["apply", "-f", "-", "--max-input-bytes=2K"], big),
          /^Failed to execute command: Cannot read file '-': larger than the input limit of 2048 bytes/,
        );
        // One rule anchored and aliased 20k times (200 KB): refused at the alias over the limit.
        const bomb =
          policyYaml(`alias-${s}`, "    ingress:\n    - &r {action: allow, protocol: tcp}\n") +
          "    - *r\n".repeat(20_000);
        fails(
          await cli(["create", "-f", "-"], bomb),
          /^Failed to execute command: <stdin>:2009:7: YAML alias limit exceeded: aliases stand for more than 10000 nodes \(at alias \*r\)/,
        );
        assert.deepEqual(await dump(raw), before, "refused input wrote nothing");
        ok(
          await cli(["apply", "-f", "-", "--max-input-bytes=8K"], big),
          "Successfully applied 1 'policy' resource(s)\n",
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

Deno.test("the installed command prints help, version and option errors", async (t) => {
  for (
    const topic of ["hostfence", "create", "apply", "replace", "delete", "get", "config", "version"]
  ) {
    await t.step(topic, async () => {
      const args = topic === "hostfence" ? ["--help"] : [topic, "--help"];
      ok(await hostfence(args), await Deno.readTextFile(new URL(`${topic}.txt`, GOLDEN)));
    });
  }
  await t.step("version line from deno.json", async () => {
    const cfg = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
    const root = ROOT.replace(/\/$/, "");
    ok(
      await hostfence(["version"]),
      `hostfence ${cfg.version}\nform: source checkout (${root}), Deno ${Deno.version.deno}\n`,
    );
    ok(await hostfence(["--version"]), `hostfence ${cfg.version}\n`);
  });
  await t.step("bad flags", async () => {
    fails(
      await hostfence(["get", "policy", "--frobnicate"]),
      "Invalid option: 'hostfence get policy --frobnicate'. Use flag '--help' to read about a " +
        "specific subcommand.\n",
    );
    fails(
      await hostfence(["create", "-f", "x.yaml", "--skip-not-exists"]),
      "Invalid option: 'hostfence create -f x.yaml --skip-not-exists'. Use flag '--help' to read " +
        "about a specific subcommand.\n",
    );
  });
});
