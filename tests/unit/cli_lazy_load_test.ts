/**
 * The CLI answers `version` and `--help` as fast as Deno starts only if starting it loads
 * nothing else: every command's code sits behind a dynamic import in src/cli/main.ts's
 * command table. This reads the real module graph (`deno info --json`) and follows only
 * static imports from main.ts, as the runtime does before running the first line.
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

/** Module specifiers main.ts loads before it runs: its static imports, transitively. */
async function staticClosure(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const queue = [...info.roots];
  while (queue.length > 0) {
    let spec = queue.pop()!;
    spec = info.redirects[spec] ?? spec;
    if (seen.has(spec)) continue;
    seen.add(spec);
    for (const dep of bySpecifier.get(spec)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) queue.push(dep.code.specifier);
    }
  }
  return seen;
}

Deno.test("starting the CLI loads only the dispatcher, its help texts and the version", async () => {
  const loaded = [...await staticClosure("main.ts")].map((s) =>
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

Deno.test("the agent with DatastoreType=local loads neither etcd3 nor gRPC", async () => {
  const etcdish = (s: string) =>
    /etcd3|grpc|protobuf/.test(s) || /src\/datastore\/(connection|syncer|etcd_store)\.ts$/.test(s);
  for (
    const [entry, inside] of [
      ["src/cmd/agent.ts", "src/calc/graph.ts"],
      ["src/cmd/agent_local.ts", "src/model/input.ts"],
    ]
  ) {
    const loaded = [...await staticClosure(entry!)];
    assert.deepEqual(loaded.filter(etcdish), [], `${entry} loads etcd code statically`);
    assert.ok(loaded.some((s) => s.endsWith(inside!)), `the walk from ${entry} reached ${inside}`);
  }
  // The etcd path does load them (the check above can fail).
  assert.ok([...await staticClosure("src/cmd/agent_etcd.ts")].some(etcdish));
});
