/**
 * Strict UTF-8 decoding of input files: valid text passes unchanged, and the first bad byte
 * is found wherever it is (stray continuation bytes, cut-off sequences, overlong forms,
 * surrogates, values above U+10FFFF), with line and column counted in characters.
 */
import assert from "node:assert/strict";
import {
  decodeInputBytes,
  firstInvalidUtf8,
  InvalidUtf8Error,
} from "../../src/model/input_text.ts";

const b = (...xs: number[]) => new Uint8Array(xs);

Deno.test("the first invalid UTF-8 byte is found", () => {
  const cases: [string, Uint8Array, number][] = [
    ["ascii", new TextEncoder().encode("kind: node\n"), -1],
    ["multi-byte text", new TextEncoder().encode("ä € 𝄞"), -1],
    ["ff fe", b(0x61, 0xff, 0xfe), 1],
    ["stray continuation", b(0x61, 0x80), 1],
    ["cut-off at the end", b(0x61, 0xe2, 0x82), 1],
    ["cut-off by ascii", b(0xe2, 0x82, 0x41), 0],
    ["overlong two-byte", b(0xc0, 0xaf), 0],
    ["overlong three-byte", b(0xe0, 0x80, 0xaf), 0],
    ["surrogate", b(0xed, 0xa0, 0x80), 0],
    ["above U+10FFFF", b(0xf4, 0x90, 0x80, 0x80), 0],
    ["valid four-byte then bad", b(0xf0, 0x9d, 0x84, 0x9e, 0xff), 4],
  ];
  for (const [name, bytes, want] of cases) {
    assert.equal(firstInvalidUtf8(bytes), want, name);
    let threw = false;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      threw = true;
    }
    assert.equal(threw, want !== -1, `${name}: agrees with TextDecoder`);
  }
});

Deno.test("decodeInputBytes names file, line and column of the bad byte", () => {
  const bytes = new Uint8Array([...new TextEncoder().encode("a: 1\nsel: 'ä"), 0xff, 0x27]);
  assert.throws(() => decodeInputBytes(bytes, "f.yaml"), (e: unknown) => {
    assert.ok(e instanceof InvalidUtf8Error);
    assert.deepEqual(e.position, { source: "f.yaml", line: 2, column: 8 });
    assert.equal(e.offset, 13);
    assert.match(e.message, /^f\.yaml:2:8: invalid UTF-8: byte 0xff at offset 13/);
    return true;
  });
  assert.equal(decodeInputBytes(new TextEncoder().encode("\ufeffkind: x"), "f"), "kind: x");
});
