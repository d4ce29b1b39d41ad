/**
 * The CLI answers `version` and `--help` as fast as Deno starts only if starting it loads
 * nothing else: every command's code sits behind a dynamic import in src/cli/main.ts's
 * command table. This reads the real module graph (`deno info --json`) and follows only
 * static imports from main.ts, as the runtime does before running the first line. Likewise
 * no command loads etcd3/gRPC unless the grpc etcd transport is chosen.
 */
import assert from "node:assert/strict";
import { COMMAND_HELP, COMMANDS } from "../../src/cli/main.ts";

const ROOT = new URL("../../", import.meta.url);

interface InfoDependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** `deno info --json` of `entry`. */
async function moduleGraph(entry: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
}

/**
 * Module specifiers `entry` loads, transitively: its static imports only (what loads before
 * it runs), or also its dynamic ones except those `skip` accepts.
 */
async function closure(
  entry: string,
  opts: { dynamic?: boolean; skip?: (spec: string) => boolean } = {},
): Promise<Set<string>> {
  const info = await moduleGraph(entry);
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const queue = [...info.roots];
  while (queue.length > 0) {
    let spec = queue.pop()!;
    spec = info.redirects[spec] ?? spec;
    if (seen.has(spec)) continue;
    seen.add(spec);
    for (const dep of bySpecifier.get(spec)?.dependencies ?? []) {
      if (!dep.code) continue;
      if (!dep.isDynamic) queue.push(dep.code.specifier);
      else if (opts.dynamic && !opts.skip?.(dep.code.specifier)) queue.push(dep.code.specifier);
    }
  }
  return seen;
}

Deno.test("starting the CLI loads only the dispatcher, its help texts and the version", async () => {
  const loaded = [...await closure("main.ts")].map((s) =>
    s.startsWith(ROOT.href) ? s.slice(ROOT.href.length) : s
  );
  // npm: etcd3, gRPC and YAML; src/: the agent, the datastore, calculation and dataplane.
  const heavy = loaded.filter((s) =>
    s.startsWith("npm:") ||
    (s.startsWith("src/") &&
      !/^src\/(cli\/|cmd\/(args|io|help)\.ts$|util\/error_message\.ts$)/.test(s) &&
      !s.endsWith("_help.ts"))
  );
  assert.deepEqual(heavy, [], `loaded at start-up: ${loaded.join(", ")}`);
  // The dispatcher itself and the help texts are there (the walk did follow imports).
  for (const m of ["main.ts", "src/cli/main.ts", "src/cmd/help.ts", "src/cmd/render_help.ts"]) {
    assert.ok(loaded.includes(m), `${m} is among ${loaded.join(", ")}`);
  }
});

Deno.test("every command with help has code behind the table, and loading it works", async () => {
  for (const name of [...Object.keys(COMMAND_HELP).filter((c) => c !== "version"), "agent"]) {
    const load = COMMANDS[name];
    assert.ok(load, `COMMANDS has ${name}`);
    assert.equal(typeof await load(), "function", `${name} loads to a runner`);
  }
});

Deno.test("no command loads etcd3 or gRPC unless the grpc transport is chosen", async () => {
  const grpcClient = new URL("src/datastore/etcd_grpc.ts", ROOT).href;
  // Every command (get, apply, the agent, ...) with every module it may load dynamically,
  // except the gRPC client, which connection.ts imports only for ETCD_TRANSPORT=grpc.
  const loaded = [...await closure("main.ts", { dynamic: true, skip: (s) => s === grpcClient })];
  for (const m of ["src/cmd/resources.ts", "src/cmd/agent.ts", "src/datastore/etcd_http.ts"]) {
    assert.ok(loaded.includes(new URL(m, ROOT).href), `${m} is reachable (the walk worked)`);
  }
  const heavy = loaded.filter((s) => /etcd3|grpc|protobuf/.test(s));
  assert.deepEqual(heavy, [], "loaded on the default path");
  // And the gRPC client is reached only through a dynamic import.
  const info = await moduleGraph("main.ts");
  const staticUsers = info.modules.filter((m) =>
    (m.dependencies ?? []).some((d) => d.code?.specifier === grpcClient && !d.isDynamic)
  ).map((m) => m.specifier);
  assert.deepEqual(staticUsers, [], "static importers of etcd_grpc.ts");
  assert.ok(
    info.modules.some((m) => m.specifier === grpcClient),
    "etcd_grpc.ts is in the graph (behind a dynamic import)",
  );
});

Deno.test("the agent with DatastoreType=local loads neither etcd3 nor gRPC", async () => {
  const etcdish = (s: string) =>
    /etcd3|grpc|protobuf/.test(s) ||
    /src\/datastore\/(connection|syncer|etcd_store|etcd_\w+|lazy_client)\.ts$/.test(s);
  for (
    const [entry, inside] of [
      ["src/cmd/agent.ts", "src/calc/graph.ts"],
      ["src/cmd/agent_local.ts", "src/model/input.ts"],
    ]
  ) {
    const loaded = [...await closure(entry!)];
    assert.deepEqual(loaded.filter(etcdish), [], `${entry} loads etcd code statically`);
    assert.ok(loaded.some((s) => s.endsWith(inside!)), `the walk from ${entry} reached ${inside}`);
  }
  // The etcd path does load them (the check above can fail).
  assert.ok([...await closure("src/cmd/agent_etcd.ts")].some(etcdish));
});

Deno.test("get loads no file parser, YAML printer, v3 printer, commit-confirm or lockout code", async () => {
  const rel = (s: string) => s.startsWith(ROOT.href) ? s.slice(ROOT.href.length) : s;
  // What `get policy` loads: the command's static imports (io.openStore adds the store).
  const loaded = [...await closure("src/cmd/resources.ts")].map(rel);
  const behind = (s: string) =>
    s.startsWith("npm:") ||
    /^src\/(lockout|calc|dataplane|explain|agent|selector)\//.test(s) ||
    /^src\/(model\/(input|input_fast|output|v3\/output)|datastore\/confirm_store)\.ts$/.test(s) ||
    s === "src/cmd/lockout_check.ts";
  assert.deepEqual(loaded.filter(behind), [], `loaded by get: ${loaded.join(", ")}`);
  for (const m of ["src/datastore/etcd_store.ts", "src/model/output_table.ts"]) {
    assert.ok(loaded.includes(m), `${m} is among ${loaded.join(", ")}`);
  }
  // Each is still there for the runs that need it, behind a dynamic import.
  const reachable = [...await closure("src/cmd/resources.ts", { dynamic: true })].map(rel);
  for (
    const m of [
      "src/model/input.ts",
      "src/model/input_fast.ts",
      "src/model/output.ts",
      "src/model/v3/output.ts",
      "src/datastore/confirm_store.ts",
      "src/cmd/lockout_check.ts",
      "src/lockout/lockout.ts",
    ]
  ) {
    assert.ok(reachable.includes(m), `${m} is reachable from the write and get commands`);
  }
});

Deno.test("apply of a valid file loads no yaml package, only the fast parser", async () => {
  const rel = (s: string) => s.startsWith(ROOT.href) ? s.slice(ROOT.href.length) : s;
  // What `apply -f` loads besides get's modules: the fast decoder and the lockout check.
  for (
    const [entry, inside] of [
      ["src/model/input_fast.ts", "npm:/js-yaml@"],
      ["src/cmd/lockout_check.ts", "src/lockout/lockout.ts"],
    ]
  ) {
    const loaded = [...await closure(entry!)].map(rel);
    const yaml = loaded.filter((s) => s.startsWith("npm:/yaml@") || s === "src/model/input.ts");
    assert.deepEqual(yaml, [], `${entry} loads the yaml package: ${loaded.join(", ")}`);
    assert.ok(
      loaded.some((s) => s.startsWith(inside!)),
      `the walk from ${entry} reached ${inside}`,
    );
  }
  // The positioned path that reports errors does load it (the check above can fail).
  assert.ok([...await closure("src/model/input.ts")].some((s) => s.startsWith("npm:/yaml@")));
});

Deno.test("the cache warm-up loads what get and the writing commands import lazily", async () => {
  // warmAll (src/cli/warm.ts) imports each command of the table and each module named in its
  // own dynamic imports; a module only a run imports lazily must be among them, or the shipped
  // forms transpile it at that run (every run, where /usr is read-only).
  const info = await moduleGraph("src/cli/warm.ts");
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const walk = (starts: string[], dynamic: boolean) => {
    const seen = new Set<string>();
    const queue = [...starts];
    while (queue.length > 0) {
      const spec = info.redirects[queue[0]!] ?? queue[0]!;
      queue.shift();
      if (seen.has(spec)) continue;
      seen.add(spec);
      for (const dep of bySpecifier.get(spec)?.dependencies ?? []) {
        if (dep.code && (dynamic || !dep.isDynamic)) queue.push(dep.code.specifier);
      }
    }
    return seen;
  };
  const href = (p: string) => new URL(p, ROOT).href;
  const imported = [href("src/cli/warm.ts"), href("src/cli/main.ts")].flatMap((s) =>
    (bySpecifier.get(s)?.dependencies ?? []).filter((d) => d.isDynamic && d.code)
      .map((d) => d.code!.specifier)
  );
  const warmed = walk([href("src/cli/warm.ts"), ...imported], false);
  const lazy = walk([href("src/cmd/resources.ts")], true);
  assert.ok(lazy.has(href("src/cmd/lockout_check.ts")), "the walk follows dynamic imports");
  // Our own modules (npm packages and node: built-ins are not transpiled from the checkout).
  const cold = [...lazy].filter((s) => s.startsWith("file:") && !warmed.has(s));
  assert.deepEqual(cold, [], "loaded lazily by get/apply but not by the warm-up");
});
