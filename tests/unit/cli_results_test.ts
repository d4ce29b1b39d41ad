import assert from "node:assert/strict";
import { sharedKind, writeReport } from "../../src/cmd/results.ts";
import {
  kindFromArgument,
  manifestKindFromArgument,
  unknownKindMessage,
} from "../../src/cmd/kinds.ts";
import { invalidOptionMessage, parseCommand, wantsHelp } from "../../src/cmd/args.ts";
import { parseOutputFormat } from "../../src/cmd/resources.ts";

Deno.test({
  name: "write commands report calicoctl's result lines and exit codes",
  fn: async (t) => {
    await t.step("all succeeded, one kind", () => {
      assert.deepEqual(writeReport("create", { total: 2, handled: 2, singleKind: "policy" }), {
        exitCode: 0,
        stdout: "Successfully created 2 'policy' resource(s)\n",
        stderr: "",
      });
    });
    await t.step("all succeeded, mixed kinds leaves the kind out", () => {
      assert.equal(
        writeReport("apply", { total: 3, handled: 3 }).stdout,
        "Successfully applied 3 resource(s)\n",
      );
    });
    await t.step("every verb has its past tense", () => {
      for (
        const [verb, past] of [
          ["create", "created"],
          ["apply", "applied"],
          ["replace", "replaced"],
          ["delete", "deleted"],
        ] as const
      ) {
        assert.equal(
          writeReport(verb, { total: 1, handled: 1, singleKind: "node" }).stdout,
          `Successfully ${past} 1 'node' resource(s)\n`,
        );
      }
    });
    await t.step("one resource that failed", () => {
      assert.deepEqual(
        writeReport("create", {
          total: 1,
          handled: 0,
          singleKind: "hostEndpoint",
          error: "insufficient identifiers, missing 'node'",
        }),
        {
          exitCode: 1,
          stdout: "",
          stderr:
            "Failed to create 'hostEndpoint' resource: insufficient identifiers, missing 'node'\n",
        },
      );
    });
    await t.step("several resources, the first failed", () => {
      assert.equal(
        writeReport("replace", { total: 2, handled: 0, singleKind: "policy", error: "E" }).stderr,
        "Failed to replace any 'policy' resources: E\n",
      );
      assert.equal(
        writeReport("delete", { total: 2, handled: 0, error: "E" }).stderr,
        "Failed to delete any resources: E\n",
      );
    });
    await t.step("partial success names how far it got", () => {
      const r = writeReport("create", { total: 3, handled: 1, singleKind: "policy", error: "E" });
      assert.equal(r.exitCode, 1);
      assert.equal(
        r.stderr,
        "Partial success: created the first 1 out of 3 'policy' resources:\nHit error: E\n",
      );
      assert.equal(
        writeReport("apply", { total: 3, handled: 2, error: "E" }).stderr,
        "Partial success: applied the first 2 out of 3 resources:\nHit error: E\n",
      );
    });
    await t.step("an empty file", () => {
      assert.deepEqual(writeReport("create", { total: 0, handled: 0 }), {
        exitCode: 1,
        stdout: "",
        stderr: "No resources specified in file\n",
      });
    });
  },
});

Deno.test("sharedKind is the kind only when every item has it", () => {
  assert.equal(sharedKind(["policy", "policy"]), "policy");
  assert.equal(sharedKind(["policy", "node"]), undefined);
  assert.equal(sharedKind([]), undefined);
});

Deno.test("kind arguments are case-insensitive with plurals and short names", () => {
  const cases: [string, string][] = [
    ["node", "node"],
    ["Nodes", "node"],
    ["no", "node"],
    ["NOS", "node"],
    ["hostEndpoint", "hostEndpoint"],
    ["hostendpoints", "hostEndpoint"],
    ["HostEndpoints", "hostEndpoint"],
    ["hep", "hostEndpoint"],
    ["heps", "hostEndpoint"],
    ["policy", "policy"],
    ["policies", "policy"],
    ["POL", "policy"],
    ["pols", "policy"],
    ["profile", "profile"],
    ["profiles", "profile"],
    ["pro", "profile"],
    ["pros", "profile"],
    ["workloadEndpoint", "workloadEndpoint"],
    ["workloadendpoints", "workloadEndpoint"],
    ["wep", "workloadEndpoint"],
    ["weps", "workloadEndpoint"],
    ["GlobalNetworkPolicy", "policy"],
    ["gnp", "policy"],
  ];
  for (const [arg, kind] of cases) assert.equal(kindFromArgument(arg), kind, arg);
  for (const bad of ["ipPool", "bgpPeer", "polic", "heps2", ""]) {
    assert.equal(kindFromArgument(bad), undefined, bad);
  }
  assert.equal(
    unknownKindMessage("bogus"),
    "Resource type 'bogus' is not supported; valid types are: node, hostEndpoint, policy, " +
      "profile, workloadEndpoint, felixConfiguration",
  );
  assert.equal(manifestKindFromArgument("FelixConfiguration"), "felixConfiguration");
  assert.equal(manifestKindFromArgument("felixconfig"), "felixConfiguration");
  assert.equal(manifestKindFromArgument("hep"), "hostEndpoint");
  assert.equal(kindFromArgument("felixconfiguration"), undefined);
});

Deno.test("bad flags give calicoctl's invalid-option line", async (t) => {
  const spec = {
    filename: { type: "string" as const, short: "f" },
    x: { type: "boolean" as const },
  };
  await t.step("message", () => {
    assert.equal(
      invalidOptionMessage(["create", "--bogus"]),
      "Invalid option: 'hostfence create --bogus'. Use flag '--help' to read about a " +
        "specific subcommand.",
    );
  });
  await t.step("unknown flag, missing value, value on a boolean, repeated flag", () => {
    for (const args of [["--bogus"], ["-f"], ["--x=1"], ["-f", "a", "-f", "b"]]) {
      assert.throws(
        () => parseCommand(["create", ...args], args, spec),
        (e: Error) => e.name === "InvalidOptionError" && e.message.includes("'hostfence create"),
        args.join(" "),
      );
    }
  });
  await t.step("`-f -` means standard input", () => {
    assert.equal(parseCommand([], ["-f", "-"], spec).values.filename, "-");
    assert.equal(parseCommand([], ["--filename=-"], spec).values.filename, "-");
  });
  await t.step("help is found anywhere before --", () => {
    assert.equal(wantsHelp(["a", "-h"]), true);
    assert.equal(wantsHelp(["--help"]), true);
    assert.equal(wantsHelp(["--", "-h"]), false);
    assert.equal(wantsHelp(["-f", "x"]), false);
  });
});

Deno.test("get output formats", () => {
  assert.deepEqual(parseOutputFormat("ps"), { type: "table", wide: false });
  assert.deepEqual(parseOutputFormat("wide"), { type: "table", wide: true });
  assert.deepEqual(parseOutputFormat("yaml"), { type: "yaml" });
  assert.deepEqual(parseOutputFormat("json"), { type: "json" });
  assert.deepEqual(parseOutputFormat("custom-columns=NAME, order"), {
    type: "table",
    wide: false,
    columns: ["NAME", "order"],
  });
  for (const bad of ["YAML", "table", "custom-columns=", "go-template={{.}}", ""]) {
    assert.equal(parseOutputFormat(bad), undefined, bad);
  }
});
