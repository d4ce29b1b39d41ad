/**
 * The CLI side of commit-confirm without an etcd: a bad `--confirm-within` or change ID is
 * refused before any datastore is opened (so nothing can be written), and the notice names
 * the change ID and the command that keeps it.
 */
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import type { CliIo } from "../../src/cmd/io.ts";
import { confirmNotice } from "../../src/cmd/results.ts";

const POLICY = `- apiVersion: v1
  kind: policy
  metadata:
    name: p
  spec:
    selector: all()
`;

async function run(args: string[]) {
  let out = "";
  let err = "";
  let opened = 0;
  const io: CliIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    readStdin: () => Promise.resolve(new TextEncoder().encode(POLICY)),
    readFile: () => Promise.resolve(new TextEncoder().encode(POLICY)),
    openStore: () => {
      opened++;
      return Promise.reject(new Error("no datastore in this test"));
    },
  };
  const code = await main(args, io);
  return { code, out, err, opened };
}

Deno.test("a deadline that is not a duration is refused before etcd is contacted", async () => {
  for (const verb of ["create", "apply", "replace"]) {
    for (const bad of ["60", "2 min", "1s", "48h", ""]) {
      const r = await run([verb, "-f", "-", "--confirm-within", bad]);
      assert.equal(r.code, 1, `${verb} --confirm-within '${bad}'`);
      assert.match(r.err, /^--confirm-within: '.*' is (not a duration|out of range)/);
      assert.equal(r.opened, 0, "no datastore opened");
    }
  }
  const d = await run(["delete", "policy", "p", "--confirm-within=soon"]);
  assert.equal(d.code, 1);
  assert.match(d.err, /'soon' is not a duration; use seconds, minutes or hours such as 60s/);
  assert.equal(d.opened, 0);
});

Deno.test("confirm refuses a malformed ID and extra arguments without etcd", async () => {
  const bad = await run(["confirm", "../x"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.err, "Failed to confirm: '../x' is not a change ID\n");
  assert.equal(bad.opened, 0);
  const two = await run(["confirm", "a", "b"]);
  assert.equal(two.code, 1);
  assert.match(two.err, /^Invalid option: 'hostfence confirm a b'/);
});

Deno.test("the notice names the change ID, the deadline and how to keep the change", () => {
  assert.equal(
    confirmNotice("3f9c0a1e", new Date("2026-11-30T00:02:00.123Z")),
    "Change ID: 3f9c0a1e\n" +
      "The change is rolled back at 2026-11-30T00:02:00Z unless confirmed with: " +
      "hostfence confirm 3f9c0a1e\n",
  );
});
