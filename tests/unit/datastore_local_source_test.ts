/**
 * The local datastore on a real directory with real inotify: valid sets are delivered as
 * the etcd syncer's updates, a broken file keeps the last good set (and is logged with
 * file:line:col), editors' ways of saving and a re-created directory are all seen.
 */
import assert from "node:assert/strict";
import { LocalSource } from "../../src/datastore/local_source.ts";
import type { ModelUpdate } from "../../src/datastore/updates.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";

const HEP = `- apiVersion: v1
  kind: hostEndpoint
  metadata:
    name: eth0
    labels: {role: web}
  spec:
    interfaceName: eth0
`;

function policy(port: number, name = "web"): string {
  return `apiVersion: v1
kind: policy
metadata:
  name: ${name}
spec:
  selector: role == 'web'
  ingress:
  - action: allow
    protocol: tcp
    destination:
      ports: [${port}]
`;
}

/** A started source on a fresh directory, with what it delivered and logged. */
async function harness(t: { dir?: string } = {}) {
  const root = await Deno.makeTempDir({ prefix: "hostfence-local-" });
  const dir = t.dir ?? `${root}/policy.d`;
  const batches: { batch: ModelUpdate[]; revision: number }[] = [];
  const sink = memorySink("DEBUG");
  let wake: () => void = () => {};
  const source = new LocalSource({
    dir,
    node: "h1",
    debounceMs: 30,
    missingPollMs: 50,
    log: createLogger([sink], "local"),
    onUpdates: (batch, revision) => {
      batches.push({ batch, revision });
      wake();
    },
  });
  /** Waits until `cond` holds (checked on every delivery and every 20 ms), at most 5 s. */
  const until = async (what: string, cond: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > deadline) {
        assert.fail(`timed out waiting for ${what}; log:\n${sink.lines.join("\n")}`);
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 20);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
  };
  const logged = (re: RegExp) => sink.lines.some((l) => re.test(l));
  /** Creates the directory with `files` (name to text), starts the source, waits for the first set. */
  const startWith = async (files: Record<string, string>) => {
    await Deno.mkdir(dir);
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    source.start();
    await until("the first set", () => batches.length === 1);
  };
  /** Writes web.yaml allowing `port` and checks that the next set carries it. */
  const editWeb = async (what: string, port: number) => {
    const n = batches.length;
    await Deno.writeTextFile(`${dir}/web.yaml`, policy(port));
    await until(what, () => batches.length === n + 1);
    assert.deepEqual(ports(batches[n]!), [port]);
  };
  return {
    root,
    dir,
    batches,
    source,
    sink,
    until,
    logged,
    startWith,
    editWeb,
    async [Symbol.asyncDispose]() {
      await source.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

function ports(b: { batch: ModelUpdate[] }): number[] {
  return b.batch.flatMap((u) =>
    u.type === "policy" && u.value
      ? (u.value.spec.ingress ?? []).flatMap((r) => r.destination?.ports ?? []) as number[]
      : []
  );
}

/** Lets any event that would (wrongly) cause a delivery arrive. */
const settle = () => new Promise((r) => setTimeout(r, 300));

Deno.test("a valid directory is delivered once, in sync; an edit delivers only what changed", async () => {
  await using h = await harness();
  await h.startWith({ "10-hep.yaml": HEP, "20-web.yaml": policy(80), "notes.txt": "not read" });
  const first = h.batches[0]!;
  assert.equal(first.revision, 1);
  assert.deepEqual(first.batch.map((u) => u.type), ["ready", "hostEndpoint", "policy", "inSync"]);
  assert.deepEqual(ports(first), [80]);
  assert.ok(h.logged(/Read policy directory .*policy\.d: 2 files, 2 resources \(revision 1\)/));

  await Deno.writeTextFile(`${h.dir}/20-web.yaml`, policy(8080));
  await h.until("the edit", () => h.batches.length === 2);
  assert.deepEqual(h.batches[1]!.batch.map((u) => u.type), ["policy"]);
  assert.deepEqual(ports(h.batches[1]!), [8080]);
  assert.equal(h.batches[1]!.revision, 2);

  // A file that is removed takes its resources with it.
  await Deno.remove(`${h.dir}/20-web.yaml`);
  await h.until("the removal", () => h.batches.length === 3);
  assert.deepEqual(h.batches[2]!.batch, [{ type: "policy", name: "web", value: null }]);
});

Deno.test("a broken file keeps the last good set, is logged with file:line:col, and a fix applies", async () => {
  await using h = await harness();
  await h.startWith({ "hep.yaml": HEP, "web.yaml": policy(80) });

  // Two files change, one of them broken: neither is applied (no half set). The broken one
  // is written first, so that every state the directory passes through is broken.
  await Deno.writeTextFile(`${h.dir}/web.yaml`, policy(99999));
  await Deno.writeTextFile(`${h.dir}/hep.yaml`, HEP.replace("role: web", "role: db"));
  await h.until("the error", () => h.logged(/not applied/));
  await settle();
  assert.equal(h.batches.length, 1, "nothing delivered while a file is broken");
  const line = h.sink.lines.find((l) => /not applied/.test(l))!;
  assert.match(
    line,
    /\[ERROR\].*Policy directory .*policy\.d not applied, keeping the last good state \(revision 1, 2 resources\): .*\/web\.yaml:11:15: policy "web" spec\.ingress\[0\]\.destination\.ports\[0\]: /,
  );
  assert.equal(h.source.current?.resources, 2);

  await Deno.writeTextFile(`${h.dir}/web.yaml`, policy(443));
  await h.until("the fixed set", () => h.batches.length === 2);
  const fixed = h.batches[1]!;
  assert.deepEqual(fixed.batch.map((u) => u.type).sort(), ["hostEndpoint", "policy"]);
  assert.deepEqual(ports(fixed), [443]);
  assert.ok(h.logged(/is valid again/));
});

Deno.test("the same resource in two files is refused, naming both", async () => {
  await using h = await harness();
  await h.startWith({ "a.yaml": policy(80) });
  await Deno.writeTextFile(`${h.dir}/b.yaml`, policy(22));
  await h.until("the error", () => h.logged(/defined twice/));
  assert.ok(
    h.logged(/Policy\(name=web\) is defined twice: in \S+\/a\.yaml:1:1 and in \S+\/b\.yaml:1:1/),
  );
  await settle();
  assert.equal(h.batches.length, 1);
});

Deno.test("editors' saves: temporary files are ignored, rename over the file is seen", async () => {
  await using h = await harness();
  await h.startWith({ "web.yaml": policy(80) });
  // vim-like: a swap file full of garbage, then write a temporary file and rename it over.
  await Deno.writeTextFile(`${h.dir}/.web.yaml.swp`, "\0\0garbage: [");
  await Deno.writeTextFile(`${h.dir}/web.yaml~`, "also: [not read");
  await Deno.writeTextFile(`${h.dir}/.web.yaml.tmp`, policy(8443));
  await Deno.rename(`${h.dir}/.web.yaml.tmp`, `${h.dir}/web.yaml`);
  await h.until("the renamed file", () => h.batches.length === 2);
  assert.deepEqual(ports(h.batches[1]!), [8443]);
  assert.ok(!h.logged(/not applied/), h.sink.lines.join("\n"));
});

Deno.test("a removed directory keeps the last good set; re-created, it is read and watched again", async () => {
  await using h = await harness();
  await h.startWith({ "web.yaml": policy(80) });
  await Deno.remove(h.dir, { recursive: true });
  await h.until("the missing directory", () => h.logged(/does not exist; keeping the last good/));
  await settle();
  assert.equal(h.batches.length, 1, "a missing directory is not an empty set");

  await Deno.mkdir(h.dir);
  await h.editWeb("the re-created directory", 81);
  // The new directory is watched: an edit in it is seen.
  await h.editWeb("an edit in the new directory", 82);
});

Deno.test("a directory removed and re-created at once (no read in between) is watched afresh", async () => {
  await using h = await harness();
  await h.startWith({ "web.yaml": policy(80) });
  // As `rm -rf d && mkdir d && cp ...` does: well within one debounce interval.
  await Deno.remove(h.dir, { recursive: true });
  await Deno.mkdir(h.dir);
  await h.editWeb("the new directory's set", 81);
  await h.editWeb("an edit in the new directory", 82);
});

Deno.test("a directory that does not exist yet at start is waited for", async () => {
  await using h = await harness();
  h.source.start();
  await h.until("the missing directory", () => h.logged(/does not exist; nothing is programmed/));
  await Deno.mkdir(h.dir);
  await Deno.writeTextFile(`${h.dir}/web.yaml`, policy(80));
  await h.until("the first set", () => h.batches.length >= 1);
  assert.equal(h.batches.at(-1)!.batch.at(-1)?.type, "inSync");
});
