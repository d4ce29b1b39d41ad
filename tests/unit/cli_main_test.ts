/**
 * The CLI's command logic against an in-memory ResourceStore and captured streams: what is
 * printed where, exit codes, file-order processing, and that bad input never reaches the
 * datastore. The same flows run against a real etcd in tests/system/cli_*_test.ts.
 */
import assert from "node:assert/strict";
import { COMMAND_HELP, main, VERSION_LINE } from "../../src/cli/main.ts";
import { type CliIo, readBounded } from "../../src/cmd/io.ts";
import { DEFAULT_MAX_INPUT_BYTES } from "../../src/cmd/args.ts";
import {
  AlreadyExistsError,
  DatastoreUnavailableError,
  type ListFilter,
  NotExistError,
  type ResourceId,
  type ResourceStore,
} from "../../src/datastore/store.ts";
import { ConnectionConfigError, type ConnectionOptions } from "../../src/datastore/connection.ts";
import { renderResourceKey } from "../../src/datastore/keys.ts";
import { checkIdentifiers, resourceId } from "../../src/datastore/etcd_store.ts";
import type { Resource, ResourceKind } from "../../src/model/resources.ts";

/** A ResourceStore in a Map, with the real store's identifier checks and error texts. */
class MemoryStore implements ResourceStore {
  readonly items = new Map<string, Resource>();
  readonly config = new Map<string, string>();
  readonly calls: string[] = [];
  /** Names whose write fails with this error (to test stopping at the first failure). */
  failOn = new Map<string, Error>();
  closed = false;

  #key(id: ResourceId) {
    return JSON.stringify([
      id.kind,
      id.node ?? "",
      id.orchestrator ?? "",
      id.workload ?? "",
      id.name,
    ]);
  }
  #check(r: Resource) {
    const id = resourceId(r);
    checkIdentifiers(id);
    const f = this.failOn.get(r.metadata.name);
    if (f) throw f;
    return id;
  }
  create(r: Resource) {
    this.calls.push(`create ${r.metadata.name}`);
    const id = this.#check(r);
    if (this.items.has(this.#key(id))) {
      return Promise.reject(
        new AlreadyExistsError(`resource already exists: ${renderResourceKey(id)}`),
      );
    }
    this.items.set(this.#key(id), r);
    return Promise.resolve();
  }
  replace(r: Resource) {
    this.calls.push(`replace ${r.metadata.name}`);
    const id = this.#check(r);
    if (!this.items.has(this.#key(id))) {
      return Promise.reject(new NotExistError(`resource does not exist: ${renderResourceKey(id)}`));
    }
    this.items.set(this.#key(id), r);
    return Promise.resolve();
  }
  apply(r: Resource) {
    this.calls.push(`apply ${r.metadata.name}`);
    this.items.set(this.#key(this.#check(r)), r);
    return Promise.resolve();
  }
  delete(id: ResourceId) {
    this.calls.push(`delete ${id.name}`);
    checkIdentifiers(id);
    if (!this.items.delete(this.#key(id))) {
      return Promise.reject(new NotExistError(`resource does not exist: ${renderResourceKey(id)}`));
    }
    return Promise.resolve();
  }
  list(kind: ResourceKind, f: ListFilter = {}) {
    this.calls.push(`list ${kind} ${JSON.stringify(f)}`);
    return Promise.resolve(
      [...this.items.values()].filter((r) => {
        if (r.kind !== kind) return false;
        if (f.name !== undefined && r.metadata.name !== f.name) return false;
        const id = resourceId(r);
        return f.node === undefined || id.node === f.node;
      }),
    );
  }
  setFelixConfig(name: string, value: string | null, node?: string) {
    const k = `${node ?? ""}/${name}`;
    if (value === null) this.config.delete(k);
    else this.config.set(k, value);
    return Promise.resolve();
  }
  getFelixConfig(name: string, node?: string) {
    return Promise.resolve(this.config.get(`${node ?? ""}/${name}`));
  }
  close() {
    this.closed = true;
    return Promise.resolve();
  }
}

interface Run {
  code: number;
  out: string;
  err: string;
  opened: ConnectionOptions[];
}

/** Bytes as a stream read through the real bounded reader, as processIo reads them. */
function streamOf(data: string | Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return readBounded(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream(), maxBytes);
}

function harness(
  store = new MemoryStore(),
  files: Record<string, string | Uint8Array> = {},
) {
  const run = async (
    args: string[],
    stdin: string | Uint8Array = "",
    openError?: Error,
  ): Promise<Run> => {
    let out = "";
    let err = "";
    const opened: ConnectionOptions[] = [];
    const io: CliIo = {
      out: (t) => void (out += t),
      err: (t) => void (err += t),
      readStdin: (max) => streamOf(stdin, max),
      readFile: (p, max) =>
        p in files ? streamOf(files[p]!, max) : Promise.reject(new Deno.errors.NotFound(p)),
      openStore: (o) => {
        opened.push(o);
        if (openError) return Promise.reject(openError);
        store.closed = false;
        return Promise.resolve(store);
      },
    };
    const code = await main(args, io);
    return { code, out, err, opened };
  };
  return { store, run };
}

const policy = (name: string, extra = "") =>
  `- apiVersion: v1
  kind: policy
  metadata:
    name: ${name}
  spec:
    selector: all()
    ingress:
    - action: allow${extra}
`;

const hep = (name: string, node: string | undefined) =>
  `apiVersion: v1
kind: hostEndpoint
metadata:
  name: ${name}
${node ? `  node: ${node}\n` : ""}  labels: {role: web}
spec:
  interfaceName: eth0
`;

Deno.test("create, apply, replace and delete print calicoctl's lines", async (t) => {
  const { store, run } = harness();

  await t.step("create two policies from stdin", async () => {
    const r = await run(["create", "-f", "-"], policy("a") + policy("b"));
    assert.deepEqual([r.code, r.out, r.err], [
      0,
      "Successfully created 2 'policy' resource(s)\n",
      "",
    ]);
    assert.equal(store.items.size, 2);
    assert.equal(store.closed, true, "store closed after the command");
  });
  await t.step("C6: create an existing policy fails, --skip-exists counts it", async () => {
    let r = await run(["create", "-f", "-"], policy("a"));
    assert.deepEqual([r.code, r.out, r.err], [
      1,
      "",
      "Failed to create 'policy' resource: resource already exists: Policy(name=a)\n",
    ]);
    r = await run(["create", "-f", "-", "--skip-exists"], policy("a"));
    assert.deepEqual([r.code, r.out], [0, "Successfully created 1 'policy' resource(s)\n"]);
  });
  await t.step("partial success stops at the first failure, in file order", async () => {
    store.calls.length = 0;
    const r = await run(["create", "-f", "-"], policy("c") + policy("a") + policy("d"));
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "Partial success: created the first 1 out of 3 'policy' resources:\n" +
        "Hit error: resource already exists: Policy(name=a)\n",
    );
    assert.deepEqual(store.calls, ["create c", "create a"], "d is never tried");
  });
  await t.step("several resources, first fails", async () => {
    const r = await run(["create", "-f", "-"], policy("a") + policy("e"));
    assert.equal(
      r.err,
      "Failed to create any 'policy' resources: resource already exists: Policy(name=a)\n",
    );
  });
  await t.step("C7: replace a missing policy", async () => {
    const r = await run(["replace", "-f", "-"], policy("zz"));
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "Failed to replace 'policy' resource: resource does not exist: Policy(name=zz)\n",
    );
    const ok = await run(["replace", "--filename=-"], policy("a", "\n    - action: deny"));
    assert.deepEqual([ok.code, ok.out], [0, "Successfully replaced 1 'policy' resource(s)\n"]);
  });
  await t.step("apply creates and replaces", async () => {
    const r = await run(["apply", "-f", "-"], policy("a") + policy("new"));
    assert.deepEqual([r.code, r.out], [0, "Successfully applied 2 'policy' resource(s)\n"]);
  });
  await t.step("mixed kinds leave the kind out", async () => {
    const r = await run(["apply", "-f", "-"], policy("m") + "---\n" + hep("eth0", "h1"));
    assert.equal(r.out, "Successfully applied 2 resource(s)\n");
  });
  await t.step("C1: hostEndpoint without node", async () => {
    const r = await run(["create", "-f", "-"], hep("eth9", undefined));
    assert.deepEqual([r.code, r.err], [
      1,
      "Failed to create 'hostEndpoint' resource: insufficient identifiers, missing 'node'\n",
    ]);
  });
  await t.step("delete by kind alias and name; C8 --skip-not-exists", async () => {
    let r = await run(["delete", "POLICIES", "m"]);
    assert.deepEqual([r.code, r.out], [0, "Successfully deleted 1 'policy' resource(s)\n"]);
    r = await run(["delete", "pol", "m"]);
    assert.deepEqual([r.code, r.err], [
      1,
      "Failed to delete 'policy' resource: resource does not exist: Policy(name=m)\n",
    ]);
    r = await run(["delete", "pol", "m", "--skip-not-exists"]);
    assert.deepEqual([r.code, r.out], [0, "Successfully deleted 1 'policy' resource(s)\n"]);
  });
  await t.step("delete a host endpoint needs --node", async () => {
    let r = await run(["delete", "hep", "eth0"]);
    assert.equal(
      r.err,
      "Failed to delete 'hostEndpoint' resource: insufficient identifiers, missing 'node'\n",
    );
    r = await run(["delete", "hep", "eth0", "--node", "h1"]);
    assert.equal(r.out, "Successfully deleted 1 'hostEndpoint' resource(s)\n");
  });
  await t.step("delete -f ignores the spec and uses the identifiers", async () => {
    const r = await run(["delete", "-f", "-"], policy("a", "\n      protocol: udp") + policy("b"));
    assert.deepEqual([r.code, r.out], [0, "Successfully deleted 2 'policy' resource(s)\n"]);
  });
});

Deno.test("bad input is reported before the datastore is contacted", async (t) => {
  const { run, store } = harness(new MemoryStore(), {
    "/x/broken.yaml":
      "apiVersion: v1\nkind: policy\nmetadata:\n  name: p\nspec:\n  order: 1\n  selector: a: b\n",
    "/x/empty.yaml": "# nothing here\n",
  });
  const cases: [string, string, RegExp][] = [
    [
      "C2: hostEndpoint with neither interfaceName nor expectedIPs",
      "apiVersion: v1\nkind: hostEndpoint\nmetadata: {name: e, node: h}\nspec: {}\n",
      /^Failed to execute command: <stdin>:\d+:\d+: .*error with field InterfaceName = '' \(no interface or expected IPs have been specified\)/,
    ],
    [
      "C3: icmp with ports",
      policy("p", "\n      protocol: icmp\n      destination:\n        ports: [80]"),
      /protocol does not support ports/,
    ],
    [
      "C4: doNotTrack and preDNAT",
      "apiVersion: v1\nkind: policy\nmetadata: {name: p}\nspec: {doNotTrack: true, preDNAT: true}\n",
      /PreDNAT and DoNotTrack cannot both be true, for a given PolicySpec/,
    ],
    [
      "C5: icmp code without type",
      policy("p", "\n      protocol: icmp\n      icmp: {code: 0}"),
      /ICMP code specified without an ICMP type/,
    ],
    [
      "unknown kind",
      "apiVersion: v1\nkind: ipPoool\nmetadata: {name: p}\n",
      /Unknown resource type \(ipPoool\) and\/or version \(v1\)/,
    ],
    [
      "unknown field",
      "apiVersion: v1\nkind: policy\nmetadata: {name: p}\nspec: {colour: red}\n",
      /colour/,
    ],
  ];
  for (const [name, text, re] of cases) {
    await t.step(name, async () => {
      for (const verb of ["create", "apply", "replace", "delete", "get"]) {
        const r = await run([verb, "-f", "-"], text);
        assert.equal(r.code, 1, verb);
        assert.match(r.err, /^Failed to execute command: <stdin>:\d+:\d+: /, verb);
        assert.match(r.err, re, verb);
        assert.equal(r.out, "", verb);
        assert.deepEqual(r.opened, [], `${verb}: no datastore connection`);
      }
    });
  }
  await t.step("a YAML syntax error names the file and line", async () => {
    const r = await run(["create", "-f", "/x/broken.yaml"]);
    assert.match(r.err, /^Failed to execute command: \/x\/broken\.yaml:7:13: YAML syntax error/);
    assert.deepEqual(r.opened, []);
  });
  await t.step("a file that cannot be read", async () => {
    const r = await run(["apply", "-f", "/x/missing.yaml"]);
    assert.equal(
      r.err,
      "Failed to execute command: Cannot read file '/x/missing.yaml': no such file\n",
    );
  });
  await t.step("an empty file", async () => {
    for (const verb of ["create", "apply", "replace", "delete"]) {
      const r = await run([verb, "-f", "/x/empty.yaml"]);
      assert.deepEqual([r.code, r.out, r.err], [1, "", "No resources specified in file\n"], verb);
      assert.deepEqual(r.opened, []);
    }
    const r = await run(["create", "-f", "-"], "");
    assert.equal(r.err, "No resources specified in file\n");
  });
  assert.equal(store.calls.length, 0);
});

Deno.test("hostile input: bad UTF-8, oversized input and alias bombs are refused", async (t) => {
  const enc = new TextEncoder();
  const policyBytes = (selector: Uint8Array) =>
    new Uint8Array([
      ...enc.encode("apiVersion: v1\nkind: policy\nmetadata:\n  name: p\nspec:\n  selector: "),
      ...selector,
      ...enc.encode("\n"),
    ]);
  const badUtf8 = policyBytes(new Uint8Array([...enc.encode("role == 'a"), 0xff, 0xfe, 0x27]));
  const { run, store } = harness(new MemoryStore(), { "/x/bad.yaml": badUtf8 });

  await t.step(
    "invalid UTF-8 on standard input names line and column, writes nothing",
    async () => {
      const r = await run(["create", "-f", "-"], badUtf8);
      assert.deepEqual([r.code, r.out], [1, ""]);
      assert.equal(
        r.err,
        "Failed to execute command: <stdin>:6:23: invalid UTF-8: byte 0xff at offset 76 " +
          "(input must be UTF-8 text)\n",
      );
      assert.deepEqual(r.opened, []);
    },
  );
  await t.step("invalid UTF-8 in a file, for every verb", async () => {
    for (const verb of ["create", "apply", "replace", "delete", "get"]) {
      const r = await run([verb, "-f", "/x/bad.yaml"]);
      assert.equal(r.code, 1, verb);
      assert.match(r.err, /^Failed to execute command: \/x\/bad\.yaml:6:23: invalid UTF-8/, verb);
      assert.deepEqual(r.opened, [], verb);
    }
  });
  await t.step("input over the limit is refused, and --max-input-bytes raises it", async () => {
    const text = "apiVersion: v1\nkind: node\nmetadata:\n  name: n1\n" + "#".repeat(200) + "\n";
    let r = await run(["apply", "-f", "-", "--max-input-bytes", "100"], text);
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "Failed to execute command: Cannot read file '-': larger than the input limit of 100 " +
        "bytes (raise it with --max-input-bytes, e.g. --max-input-bytes=512M)\n",
    );
    assert.deepEqual(r.opened, []);
    r = await run(["apply", "-f", "-", "--max-input-bytes=1K"], text);
    assert.deepEqual([r.code, r.err], [0, ""]);
    r = await run(["apply", "-f", "-", "--max-input-bytes=lots"], text);
    assert.equal(r.code, 1);
    assert.match(r.err, /^Failed to execute command: invalid --max-input-bytes 'lots'/);
  });
  await t.step("the default limit applies without the flag", async () => {
    const big = new Uint8Array(DEFAULT_MAX_INPUT_BYTES + 1).fill(0x23);
    const r = await run(["create", "-f", "-"], big);
    assert.equal(r.code, 1);
    assert.match(r.err, /larger than the input limit of \d+ bytes/);
  });
  assert.deepEqual(store.calls, ["apply n1"]);
});

Deno.test("get prints tables, yaml and json; nothing found is not an error", async (t) => {
  const { run } = harness();
  await t.step("C11: empty yaml and json are []", async () => {
    assert.deepEqual(await run(["get", "policy", "-o", "yaml"]), {
      code: 0,
      out: "[]\n",
      err: "",
      opened: [{}],
    });
    assert.equal((await run(["get", "pol", "-o", "json"])).out, "[]\n");
    assert.equal((await run(["get", "pol"])).out, "NAME\n\n");
    assert.equal((await run(["get", "pol", "nothere", "-o", "yaml"])).out, "[]\n");
  });
  await run(["create", "-f", "-"], policy("web", "\n      protocol: tcp") + policy("alpha"));
  await run(["create", "-f", "-"], hep("eth0", "h1") + "---\n" + hep("eth0", "h2"));
  await t.step("ps and wide tables", async () => {
    assert.equal((await run(["get", "policy"])).out, "NAME\nweb\nalpha\n\n");
    const wide = (await run(["get", "policies", "-o", "wide"])).out;
    assert.match(wide, /^NAME +ORDER +SELECTOR\nweb +all\(\)\n/);
    assert.equal((await run(["get", "hep", "--node", "h2"])).out, "NODE   NAME\nh2     eth0\n\n");
  });
  await t.step("custom columns, and an unknown column fails before etcd", async () => {
    assert.equal(
      (await run(["get", "hep", "-o", "custom-columns=name,interface"])).out,
      "NAME   INTERFACE\neth0   eth0\neth0   eth0\n\n",
    );
    const r = await run(["get", "hep", "-o", "custom-columns=NAME,BOGUS"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^Failed to get resources: .*BOGUS.*valid columns are: NODE, NAME/);
    assert.deepEqual(r.opened, []);
  });
  await t.step("one by name as yaml", async () => {
    const r = await run(["get", "pol", "alpha", "-o", "yaml"]);
    assert.match(r.out, /^- apiVersion: v1\n {2}kind: policy\n {2}metadata:\n {4}name: alpha\n/);
  });
  await t.step("get -f looks up each resource of the file", async () => {
    const r = await run(["get", "-f", "-", "-o", "json"], policy("alpha") + policy("gone"));
    const got = JSON.parse(r.out) as { metadata: { name: string } }[];
    assert.deepEqual(got.map((g) => g.metadata.name), ["alpha"]);
  });
  await t.step("unknown format and kind", async () => {
    let r = await run(["get", "pol", "-o", "xml"]);
    assert.deepEqual([r.code, r.err], [1, "unrecognized output format 'xml'\n"]);
    r = await run(["get", "ippool"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^Failed to get resources: Resource type 'ippool' is not supported/);
  });
});

Deno.test("datastore problems are one line each", async (t) => {
  const { run } = harness();
  const down = new DatastoreUnavailableError(
    "Cannot connect to etcd at http://127.0.0.1:1: connection refused",
  );
  await t.step("config file errors", async () => {
    const r = await run(
      ["get", "pol", "-c", "/nope"],
      "",
      new ConnectionConfigError("Error reading config file: /nope"),
    );
    assert.deepEqual([r.code, r.out, r.err], [1, "", "Error reading config file: /nope\n"]);
    assert.deepEqual(r.opened, [{ configFile: "/nope" }]);
  });
  await t.step("connection flags are passed through", async () => {
    const r = await run(["get", "pol", "--etcd-endpoints", "http://10.1.1.1:2379"]);
    assert.deepEqual(r.opened, [{ endpoints: "http://10.1.1.1:2379" }]);
  });
  await t.step("unreachable during a write", async () => {
    const store = new MemoryStore();
    store.failOn.set("a", down);
    const r = await harness(store).run(["create", "-f", "-"], policy("a"));
    assert.equal(
      r.err,
      "Failed to create 'policy' resource: Cannot connect to etcd at http://127.0.0.1:1: " +
        "connection refused\n",
    );
  });
  await t.step("an unexpected error is one line, not a stack", async () => {
    const r = await run(["get", "pol"], "", new TypeError("boom\n    at somewhere"));
    assert.deepEqual([r.code, r.err], [1, "hostfence: unexpected error: boom\n"]);
  });
});

Deno.test("invalid command lines", async () => {
  const { run } = harness();
  const bad = [
    ["create"],
    ["create", "-f"],
    ["create", "-f", "x", "extra"],
    ["create", "-f", "x", "--node", "n"],
    ["apply", "-f", "x", "--skip-exists"],
    ["replace", "--skip-not-exists", "-f", "x"],
    ["delete"],
    ["delete", "-f", "x", "policy", "p"],
    ["delete", "policy", "p", "q"],
    ["delete", "policy", "p", "-o", "yaml"],
    ["get"],
    ["get", "-f", "x", "policy"],
    ["get", "pol", "a", "b"],
    ["get", "pol", "--skip-exists"],
    ["config"],
    ["config", "set", "X"],
    ["config", "get", "X", "Y"],
    ["config", "frob", "X"],
    ["version", "extra"],
    ["frobnicate"],
    ["help", "frobnicate"],
  ];
  for (const args of bad) {
    const r = await run(args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(
      r.err,
      `Invalid option: 'hostfence ${args.join(" ")}'. Use flag '--help' to read about a ` +
        "specific subcommand.\n",
    );
    assert.deepEqual(r.opened, [], args.join(" "));
  }
  const none = await run([]);
  assert.equal(none.code, 1);
  assert.match(none.err, /^hostfence: /);
});

Deno.test("config set, unset and get", async (t) => {
  const { run, store } = harness();
  await t.step("raw felix keys, global and per node", async () => {
    let r = await run(["config", "set", "FailsafeInboundHostPorts", "none", "--raw=felix"]);
    assert.deepEqual([r.code, r.out, r.err], [0, "", ""]);
    r = await run([
      "config",
      "set",
      "FailsafeInboundHostPorts",
      "tcp:22",
      "--raw",
      "felix",
      "--node",
      "h1",
    ]);
    assert.equal(r.code, 0);
    assert.equal(store.config.get("/FailsafeInboundHostPorts"), "none");
    assert.equal(store.config.get("h1/FailsafeInboundHostPorts"), "tcp:22");
    assert.equal(
      (await run(["config", "get", "FailsafeInboundHostPorts", "--raw=felix"])).out,
      "none\n",
    );
    assert.equal(
      (await run(["config", "get", "FailsafeInboundHostPorts", "--raw=felix", "-n", "h1"])).out,
      "tcp:22\n",
    );
    r = await run(["config", "unset", "FailsafeInboundHostPorts", "--raw=felix"]);
    assert.equal(r.code, 0);
    assert.equal(
      (await run(["config", "get", "FailsafeInboundHostPorts", "--raw=felix"])).out,
      "(unset)\n",
    );
  });
  await t.step("logLevel", async () => {
    assert.equal((await run(["config", "get", "logLevel"])).out, "(unset)\n");
    assert.equal((await run(["config", "set", "logLevel", "warning"])).code, 0);
    assert.equal(store.config.get("/LogSeverityScreen"), "WARNING");
    assert.equal((await run(["config", "get", "loglevel"])).out, "warning\n");
    assert.equal(
      (await run(["config", "get", "logLevel", "--node=h1"])).out,
      "warning (inherited from global)\n",
    );
    await run(["config", "set", "logLevel", "critical", "--node=h1"]);
    assert.equal(store.config.get("h1/LogSeverityScreen"), "FATAL");
    assert.equal((await run(["config", "get", "logLevel", "--node=h1"])).out, "critical\n");
    const bad = await run(["config", "set", "logLevel", "loud"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^Error executing command: invalid log level 'loud'/);
  });
  await t.step(
    "agent parameters need no --raw and are stored under their canonical name",
    async () => {
      assert.equal((await run(["config", "set", "logprefix", "edge", "--node=h1"])).code, 0);
      assert.equal(store.config.get("h1/LogPrefix"), "edge");
      assert.equal((await run(["config", "get", "LogPrefix", "--node=h1"])).out, "edge\n");
      assert.equal((await run(["config", "unset", "LOGPREFIX", "--node=h1"])).code, 0);
      assert.equal((await run(["config", "get", "LogPrefix", "--node=h1"])).out, "(unset)\n");
    },
  );
  await t.step("unknown names and components", async () => {
    let r = await run(["config", "set", "nodeToNodeMesh", "off"]);
    assert.match(r.err, /^Error executing command: unrecognised config name 'nodeToNodeMesh'/);
    r = await run(["config", "get", "x", "--raw=gobgp"]);
    assert.equal(r.err, "Error executing command: unrecognised component 'gobgp'\n");
    r = await run(["config", "get", "x", "--raw=bgp"]);
    assert.match(r.err, /^Error executing command: BGP configuration is not supported/);
    assert.deepEqual(r.opened, []);
  });
});

Deno.test("version comes from deno.json", async () => {
  const { run } = harness();
  const cfg = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION_LINE, `hostfence ${cfg.version}`);
  assert.deepEqual(await run(["--version"]), {
    code: 0,
    out: `${VERSION_LINE}\n`,
    err: "",
    opened: [],
  });
  // `version` adds the form of the build: here, the checkout the test runs from.
  const r = await run(["version"]);
  assert.equal(r.code, 0);
  const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
  assert.equal(
    r.out,
    `${VERSION_LINE}\nform: source checkout (${root}), Deno ${Deno.version.deno}\n`,
  );
});

const GOLDEN_DIR = new URL("../golden/cli/", import.meta.url);

Deno.test("help texts match their golden files (UPDATE_GOLDEN=1 rewrites them)", async (t) => {
  const { run } = harness();
  const update = Deno.env.get("UPDATE_GOLDEN") === "1";
  const topics: [string, string[][]][] = [
    ["hostfence", [["--help"], ["-h"], ["help"]]],
    ...Object.keys(COMMAND_HELP).map((c): [string, string[][]] => [
      c,
      [[c, "--help"], [c, "-h"], ["help", c], [c, "-f", "x", "--help"]],
    ]),
  ];
  for (const [topic, variants] of topics) {
    await t.step(topic, async () => {
      const first = await run(variants[0]!);
      assert.equal(first.code, 0);
      assert.equal(first.err, "");
      const file = new URL(`${topic}.txt`, GOLDEN_DIR);
      if (update) await Deno.writeTextFile(file, first.out);
      assert.equal(first.out, await Deno.readTextFile(file), `golden ${topic}.txt`);
      for (const args of variants.slice(1)) {
        const r = await run(args);
        assert.deepEqual([r.code, r.out], [0, first.out], args.join(" "));
      }
      for (const line of first.out.split("\n")) {
        assert.ok(line.length <= 90, `line too long in ${topic} help: ${line}`);
      }
    });
  }
  await t.step("top-level help lists every command", async () => {
    const out = (await run(["--help"])).out;
    for (const c of [...Object.keys(COMMAND_HELP), "agent", "render"]) {
      assert.match(out, new RegExp(`^  ${c} `, "m"), c);
    }
  });
});

Deno.test("-f files the fast parser does not take go the positioned way, errors keep their place", async () => {
  const { run, store } = harness();
  // An anchor and an alias: the fast parser gives up and the yaml package's path reads it.
  const aliased = policy("a").replace("ingress:", "ingress: &rules") +
    "- apiVersion: v1\n  kind: policy\n  metadata: {name: b}\n  spec:\n" +
    "    selector: all()\n    ingress: *rules\n";
  let r = await run(["apply", "-f", "-"], aliased);
  assert.deepEqual([r.code, r.err, r.out], [
    0,
    "",
    "Successfully applied 2 'policy' resource(s)\n",
  ]);
  assert.deepEqual(store.calls, ["apply a", "apply b"]);
  const b = [...store.items.values()].find((x) => x.metadata.name === "b");
  assert.deepEqual(b?.kind === "policy" ? b.spec.ingress : undefined, [{ action: "allow" }]);
  // The second item of a list is at fault: the message points into it (line 9 on).
  r = await run(
    ["apply", "-f", "-"],
    policy("ok") + policy("bad", "\n      protocol: icmp\n      icmp: {code: 0}"),
  );
  assert.equal(r.code, 1);
  const m = /^Failed to execute command: <stdin>:(\d+):\d+: .*ICMP code specified without/
    .exec(r.err);
  assert.ok(m && Number(m[1]) >= 9, r.err);
  assert.deepEqual(store.calls, ["apply a", "apply b"], "nothing more was written");
});
