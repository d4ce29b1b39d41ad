/**
 * `hostfence render` is a Command like the others: its command line goes through the CLI's
 * one parser (src/cmd/args.ts) and its messages through `io`, so it is tested without a
 * process. The messages are the ones render printed with its own parser before.
 */
import assert from "node:assert/strict";
import { InvalidOptionError, parseCommand } from "../../src/cmd/args.ts";
import { runRender } from "../../src/cmd/render.ts";
import { RENDER_HELP } from "../../src/cmd/render_help.ts";

async function render(args: string[]) {
  let out = "";
  let err = "";
  const code = await runRender(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

Deno.test("render reports a bad command line through io, before touching etcd", async () => {
  const cases: [string[], string][] = [
    [["--bogus"], "Invalid option: Unknown option '--bogus'. Use 'hostfence render --help'.\n"],
    [
      ["x"],
      "Invalid option: Unexpected argument 'x'. This command does not take positional " +
      "arguments. Use 'hostfence render --help'.\n",
    ],
    [
      ["--node", "a", "--node"],
      "Invalid option: Option '--node <value>' argument missing. Use 'hostfence render --help'.\n",
    ],
    [[], "hostfence render: --node NAME is required\n"],
    [
      ["--interface", "bad!name", "--node", "n"],
      'hostfence render: Invalid --interface "bad!name": expected NAME or NAME=ADDR,ADDR\n',
    ],
  ];
  for (const [args, want] of cases) {
    assert.deepEqual(await render(args), { code: 1, out: "", err: want }, args.join(" "));
  }
});

Deno.test("render --help prints the help text on io.out", async () => {
  assert.deepEqual(await render(["--help"]), { code: 0, out: RENDER_HELP + "\n", err: "" });
});

Deno.test("parseCommand's rules: positionals refused, a repeated flag keeps the last value", () => {
  const opts = { node: { type: "string" as const } };
  assert.throws(
    () => parseCommand(["render", "x"], ["x"], opts, { positionals: false }),
    (e: unknown) => e instanceof InvalidOptionError && /Unexpected argument 'x'/.test(e.reason!),
  );
  const twice = ["--node", "a", "--node", "b"];
  assert.equal(
    parseCommand(["render", ...twice], twice, opts, { lastWins: true }).values.node,
    "b",
  );
  assert.throws(() => parseCommand(["get", ...twice], twice, opts), /Invalid option/);
});
