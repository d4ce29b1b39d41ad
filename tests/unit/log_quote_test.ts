/**
 * Values quoted in log lines and messages: short and printable as JSON.stringify prints them,
 * long ones cut with their length said, control and invisible characters escaped; and the
 * agent's warning about a bad etcd value with a 100k-character selector stays one short line.
 */
import assert from "node:assert/strict";
import { clip, escapeUnsafe, quote, QUOTE_MAX_CHARS } from "../../src/log/quote.ts";
import { convertKeyValue } from "../../src/datastore/convert.ts";
import { createLogger, LOG_MAX_MESSAGE_CHARS, memorySink } from "../../src/log/logger.ts";
import { parseResources } from "../../src/model/input.ts";

Deno.test("quote: short values as JSON, long ones cut, unsafe characters escaped", async (t) => {
  await t.step("short printable strings look as JSON.stringify prints them", () => {
    for (const s of ["", "eth0", 'role == "db"', "a\\b", "line\nbreak\ttab", "ünïcödé 𝄞"]) {
      assert.equal(quote(s), JSON.stringify(s), s);
    }
  });
  await t.step("calicoctl's single-quote style keeps values as they are", () => {
    assert.equal(quote("eth0", { quote: "'" }), "'eth0'");
    assert.equal(quote(`a "b" \\c`, { quote: "'" }), `'a "b" \\c'`);
  });
  await t.step("a long value is cut, with its length", () => {
    const q = quote("x".repeat(100_000));
    assert.equal(q, `"${"x".repeat(QUOTE_MAX_CHARS)}..." (100000 characters)`);
    assert.equal(quote("y".repeat(300), { quote: "'", max: 5 }), "'yyyyy...' (300 characters)");
  });
  await t.step("control, invisible and bidi characters are escaped", () => {
    assert.equal(
      quote("a\u0000b\u001b[31mc\u007fd\u0085e\u202ef\u2028g\ufeffh", { quote: "'" }),
      "'a\\u0000b\\u001b[31mc\\u007fd\\u0085e\\u202ef\\u2028g\\ufeffh'",
    );
    assert.equal(
      escapeUnsafe("lone \ud800 high, lone \udc00 low, pair 𝄞"),
      "lone \\ud800 high, lone \\udc00 low, pair 𝄞",
    );
  });
  await t.step("non-strings as JSON text, cut the same way", () => {
    assert.equal(quote(5), "5");
    assert.equal(quote({ a: [1, 2] }), '{"a":[1,2]}');
    assert.equal(quote(undefined), "undefined");
    assert.match(
      quote({ s: "z".repeat(500) }, { max: 20 }),
      /^\{"s":"z{14}\.\.\. \(508 characters\)$/,
    );
  });
  await t.step("clip: unquoted, escaped and cut", () => {
    assert.equal(clip("10.0.0.1\n"), "10.0.0.1\\n");
    assert.equal(clip("a".repeat(250)), `${"a".repeat(200)}... (250 characters)`);
  });
});

Deno.test("a 100k-character selector in etcd gives a short, escaped warning", () => {
  const sel = "a == '" + "x".repeat(100_000) + "\u001b[31m\u0000' &&";
  const raw = JSON.stringify({ selector: sel, order: 1, inbound_rules: [], outbound_rules: [] });
  const c = convertKeyValue("/calico/v1/policy/tier/default/policy/p1", raw);
  const w = c?.warning ?? "";
  assert.match(w, /^Validation failed for policy \/calico\/v1\/policy\/tier\/default\/policy\/p1/);
  assert.ok(w.length < 2000, `warning is ${w.length} characters`);
  assert.match(w, /\(100\d{3} characters\)/);
  assert.ok(![...w].some((c) => c < " "), "no control characters");

  const bin = convertKeyValue(
    "/calico/v1/policy/tier/default/policy/p2",
    "\u0000\u001b]0;x\u0007" + "{".repeat(50_000),
  );
  assert.ok((bin?.warning ?? "").length < 2000);
  assert.ok(![...(bin?.warning ?? "")].some((c) => c < " "), "no control characters");
});

Deno.test("CLI errors quote long values short too", () => {
  const text = `apiVersion: v1\nkind: policy\nmetadata: {name: p}\nspec: {selector: "${
    "a".repeat(100_000)
  } ="}\n`;
  try {
    parseResources(text, "p.yaml");
    assert.fail("expected an error");
  } catch (e) {
    assert.ok((e as Error).message.length < 2000, `message is ${(e as Error).message.length}`);
    assert.match((e as Error).message, /^p\.yaml:4:18: policy "p" spec\.selector: /);
  }
});

Deno.test("the logger cuts any message that is still too long", () => {
  const sink = memorySink();
  createLogger([sink], "t").warning("m".repeat(LOG_MAX_MESSAGE_CHARS * 3));
  assert.equal(sink.lines.length, 1);
  assert.ok(sink.lines[0]!.length < LOG_MAX_MESSAGE_CHARS + 200);
  assert.match(sink.lines[0]!, /\(message cut: 24576 characters\)$/);
  createLogger([sink], "t").warning("bell\u0007 escape\u001b[2J\nnext");
  assert.match(sink.lines[1]!, /bell\\u0007 escape\\u001b\[2J\nnext$/);
});
