/** The INI reader for felix.cfg . */
import assert from "node:assert/strict";
import { IniSyntaxError, parseIni } from "../../src/config/ini.ts";

Deno.test("INI: keys of all sections in file order, with line numbers and sections", () => {
  const entries = parseIni(
    [
      "\uFEFF# comment",
      "; also a comment",
      "TopLevel = 1",
      "",
      "[global]",
      "  LogPrefix   =   spaced value  ",
      "Ipv6Support: false",
      "[ other ]  # trailing comment",
      "InterfacePrefix=cali,tap",
    ].join("\r\n"),
    "/etc/calico/felix.cfg",
  );
  assert.deepEqual(entries, [
    { key: "TopLevel", value: "1", line: 3, section: "" },
    { key: "LogPrefix", value: "spaced value", line: 6, section: "global" },
    { key: "Ipv6Support", value: "false", line: 7, section: "global" },
    { key: "InterfacePrefix", value: "cali,tap", line: 9, section: "other" },
  ]);
});

Deno.test("INI: quotes are removed and unquoted values lose a trailing comment", () => {
  const entries = parseIni(
    [
      'A = "quoted # not a comment"',
      "B = 'single'",
      "C = plain # note",
      "D = plain;no-space-so-kept",
      "E = tcp:22,udp:68 ; note",
      'F = """triple"""',
      "G =",
      "H = a = b",
    ].join("\n"),
    "f.cfg",
  );
  assert.deepEqual(entries.map((e) => [e.key, e.value]), [
    ["A", "quoted # not a comment"],
    ["B", "single"],
    ["C", "plain"],
    ["D", "plain;no-space-so-kept"],
    ["E", "tcp:22,udp:68"],
    ["F", "triple"],
    ["G", ""],
    ["H", "a = b"],
  ]);
});

Deno.test("INI: malformed lines throw IniSyntaxError with path, line and column", async (t) => {
  const cases: [string, string, number, number, RegExp][] = [
    ["no delimiter", "[global]\n   just words\n", 2, 4, /expected "key = value" or "\[section\]"/],
    ["unclosed section", "[global\n", 1, 1, /lacks '\]'/],
    ["text after section", "[a] junk\n", 1, 5, /unexpected text after '\]'/],
    ["empty key", " = value\n", 1, 2, /empty key name/],
  ];
  for (const [name, text, line, column, reason] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseIni(text, "/x/felix.cfg"), (e: unknown) => {
        assert.ok(e instanceof IniSyntaxError);
        assert.equal(e.path, "/x/felix.cfg");
        assert.equal(e.line, line);
        assert.equal(e.column, column);
        assert.match(
          e.message,
          new RegExp(`^Error parsing config file /x/felix.cfg line ${line} column ${column}: `),
        );
        assert.match(e.message, reason);
        return true;
      });
    });
  }
});
