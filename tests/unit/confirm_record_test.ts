/** Commit-confirm's pure parts: deadlines, the record format, and what a rollback restores. */
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";

/** Asserts `fn` throws a `cls` whose message contains `part`. */
function assertThrows(fn: () => unknown, cls: new (...a: never[]) => Error, part: string) {
  throws(fn, (e: Error) => e instanceof cls && e.message.includes(part));
}
import {
  type ChangeRecord,
  decodeRecord,
  DurationError,
  encodeRecord,
  idOfKey,
  mergeKeyChanges,
  parseConfirmWithin,
  planRollback,
  recordKey,
} from "../../src/datastore/confirm_record.ts";
import { expiredIds } from "../../src/agent/rollback.ts";

Deno.test("--confirm-within takes Go-style durations of whole seconds", () => {
  assertEquals(parseConfirmWithin("60s"), 60);
  assertEquals(parseConfirmWithin("2m"), 120);
  assertEquals(parseConfirmWithin("1m30s"), 90);
  assertEquals(parseConfirmWithin("1h"), 3600);
  for (const bad of ["", "60", "1.5m", "10ms", "-5s", "5 s", "1d", "soon", "1s", "25h"]) {
    throws(
      () => parseConfirmWithin(bad),
      (e: Error) => e instanceof DurationError && e.message.includes("--confirm-within"),
      bad,
    );
  }
  throws(
    () => parseConfirmWithin("60"),
    (e: Error) => e instanceof DurationError && e.message.includes("is not a duration"),
  );
  throws(
    () => parseConfirmWithin("1s"),
    (e: Error) => e instanceof DurationError && e.message.includes("out of range"),
  );
});

const RECORD: ChangeRecord = {
  id: "abcd0123",
  verb: "apply",
  createdAt: "2026-01-01T00:00:00.000Z",
  deadline: "2026-01-01T00:01:00.000Z",
  ttlSecs: 60,
  resources: [
    { resource: "Policy(name=new)", keys: [{ key: "/p/new", before: null, after: "N" }] },
    { resource: "Policy(name=old)", keys: [{ key: "/p/old", before: "O1", after: "O2" }] },
    { resource: "Policy(name=gone)", keys: [{ key: "/p/gone", before: "G", after: null }] },
    {
      resource: "ProfileTags(name=pr)",
      keys: [
        { key: "/pr/tags", before: "t1", after: "t2" },
        { key: "/pr/rules", before: "r1", after: "r2" },
      ],
    },
  ],
};

Deno.test("records round-trip and a damaged record names its key", () => {
  assertEquals(decodeRecord("k", encodeRecord(RECORD)), RECORD);
  assertThrows(() => decodeRecord("/x/rec", "{"), Error, "/x/rec: not a change record");
  assertThrows(
    () => decodeRecord("/x/rec", '{"id":"a","resources":[{"resource":1}]}'),
    Error,
    "/x/rec",
  );
  assertEquals(idOfKey(recordKey("abcd0123")), { id: "abcd0123", part: "record" });
  assertEquals(idOfKey("/calico/v1/Ready"), undefined);
});

Deno.test("a key written twice in one change keeps its first 'before' and last 'after'", () => {
  assertEquals(
    mergeKeyChanges([{ key: "a", before: null, after: "1" }, {
      key: "a",
      before: "1",
      after: "2",
    }]),
    [{ key: "a", before: null, after: "2" }],
  );
});

Deno.test("a rollback restores only resources that still hold what the change wrote", () => {
  const R = 40;
  const untouched = new Map([
    ["/p/new", { value: "N", modRevision: R }],
    ["/p/old", { value: "O2", modRevision: R }],
    ["/pr/tags", { value: "t2", modRevision: R }],
    ["/pr/rules", { value: "r2", modRevision: R }],
  ]);
  const all = planRollback(RECORD, R, (k) => untouched.get(k));
  assertEquals(all.restore.map((g) => g.resource), RECORD.resources.map((g) => g.resource));
  assertEquals(all.leave, []);

  // Edited since (even back to the same text), re-created, or one key of a profile moved.
  const edited = new Map(untouched);
  edited.set("/p/old", { value: "O2", modRevision: R + 3 });
  edited.set("/p/gone", { value: "G2", modRevision: R + 4 });
  edited.set("/pr/rules", { value: "r3", modRevision: R + 5 });
  const some = planRollback(RECORD, R, (k) => edited.get(k));
  assertEquals(some.restore.map((g) => g.resource), ["Policy(name=new)"]);
  assertEquals(some.leave, [
    { resource: "Policy(name=old)", key: "/p/old" },
    { resource: "Policy(name=gone)", key: "/p/gone" },
    { resource: "ProfileTags(name=pr)", key: "/pr/rules" },
  ]);
});

Deno.test("expired changes are records without a guard", () => {
  assertEquals(
    expiredIds(
      ["/calico/hostfence/v1/confirm/record/a", "/calico/hostfence/v1/confirm/record/b"],
      ["/calico/hostfence/v1/confirm/guard/b", "/calico/hostfence/v1/confirm/guard/c"],
    ),
    ["a"],
  );
});
