/** The shared IP/CIDR helpers: parsing, canonical text, families, networks, containment. */
import assert from "node:assert/strict";
import {
  canonicalCidr,
  canonicalIp,
  cidrContains,
  familyOf,
  formatIpv4Number,
  ipv4Number,
  ipv4TextLength,
  isSingleAddress,
  normaliseCidr,
  parseCidr,
  parseIp,
} from "../../src/net/ip.ts";
import { prng } from "../fixtures/prng.ts";

Deno.test("addresses parse and print as Go's net.IP does", () => {
  const ok: [string, string][] = [
    ["10.0.0.1", "10.0.0.1"],
    ["FD00:0000::0001", "fd00::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8::ffff:1.2.3.4", "2001:db8::ffff:102:304"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [text, canon] of ok) assert.equal(canonicalIp(text), canon, text);
  for (
    const bad of [
      "",
      "10.0.0",
      "10.0.0.256",
      "1.2.3.4.5",
      "1::2::3",
      "fe80::1%eth0",
      "[::1]",
      "10.0.0.1/32",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
    ]
  ) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("CIDRs keep host bits, accept bare addresses and normalise on request", () => {
  assert.equal(canonicalCidr("10.0.0.5/24"), "10.0.0.5/24");
  assert.equal(normaliseCidr("10.0.0.5/24"), "10.0.0.0/24");
  assert.equal(canonicalCidr("10.0.0.5"), "10.0.0.5/32");
  assert.equal(canonicalCidr("FD00::5/64"), "fd00::5/64");
  assert.equal(normaliseCidr("fd00::5:1/112"), "fd00::5:0/112");
  assert.equal(normaliseCidr("fd00::5:1/100"), "fd00::/100");
  assert.equal(canonicalCidr("fd00::1"), "fd00::1/128");
  assert.equal(normaliseCidr("10.1.2.3/0"), "0.0.0.0/0");
  assert.equal(parseCidr("10.0.0.1", { requirePrefix: true }), undefined);
  for (const bad of ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "x/8"]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

Deno.test("families, single addresses and containment", () => {
  assert.equal(familyOf("10.0.0.0/8"), 4);
  assert.equal(familyOf("fd00::"), 6);
  assert.equal(familyOf("nope"), undefined);
  assert.equal(isSingleAddress(parseCidr("10.0.0.1/32")!), true);
  assert.equal(isSingleAddress(parseCidr("10.0.0.1/31")!), false);
  const net = parseCidr("10.65.0.5/24")!;
  assert.equal(cidrContains(net, parseIp("10.65.0.200")!), true);
  assert.equal(cidrContains(net, parseIp("10.65.1.1")!), false);
  assert.equal(cidrContains(net, parseIp("::ffff:10.65.0.1")!), false);
  assert.equal(cidrContains(parseCidr("fd00::/16")!, parseIp("fd00:1::1")!), true);
});

/** The IPv4 syntax parseIp accepts, written the obvious way, to hold the hand scanner against. */
function referenceIpv4Number(text: string): number | undefined {
  const groups = text.split(".");
  if (groups.length !== 4 || !groups.every((g) => /^[0-9]{1,3}$/.test(g))) return undefined;
  const bytes = groups.map(Number);
  if (bytes.some((b) => b > 255)) return undefined;
  return ((bytes[0]! * 256 + bytes[1]!) * 256 + bytes[2]!) * 256 + bytes[3]!;
}

Deno.test("IPv4 addresses as 32-bit numbers: the scanner agrees with a plain parser", () => {
  const cases: [string, number | undefined][] = [
    ["0.0.0.0", 0],
    ["255.255.255.255", 4294967295],
    ["198.18.0.1", 3323068417],
    ["010.0.0.1", 167772161], // leading zeros read as decimal, as parseIp does
    ["256.0.0.1", undefined],
    ["0000.0.0.1", undefined],
    ["1.2.3.4.", undefined],
    [".1.2.3", undefined],
    ["1..2.3", undefined],
    ["1.2.3", undefined],
    ["1.2.3.4.5", undefined],
    ["1.2.3.a", undefined],
    ["::1", undefined],
    ["1.2.3.4/32", undefined],
  ];
  for (const [text, want] of cases) assert.equal(ipv4Number(text), want, text);
  // Random texts over the characters that matter, and random valid addresses printed back.
  const rand = prng(7);
  const alphabet = "0123456789..";
  for (let i = 0; i < 20000; i++) {
    const len = 5 + Math.floor(rand() * 13);
    let text = "";
    for (let j = 0; j < len; j++) text += alphabet[Math.floor(rand() * alphabet.length)];
    assert.equal(ipv4Number(text), referenceIpv4Number(text), text);
  }
  for (let i = 0; i < 2000; i++) {
    const n = Math.floor(rand() * 2 ** 32);
    const text = formatIpv4Number(n);
    assert.equal(ipv4Number(text), n, text);
    assert.equal(ipv4TextLength(n), text.length, text);
    assert.equal(canonicalIp(text), text, text);
  }
});
