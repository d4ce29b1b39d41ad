/** Each Felix parameter syntax, with its edge cases. */
import assert from "node:assert/strict";
import {
  authorityType,
  bitCount,
  boolType,
  ConfigValueError,
  endpointListType,
  fileType,
  hostnameType,
  ifaceListType,
  intType,
  listenHostType,
  markMaskType,
  oneOfType,
  type ParamType,
  portListType,
  portType,
  secondsType,
  severityType,
  stringType,
} from "../../src/config/types.ts";

function parse<T>(t: ParamType<T>, raw: string, fileExists?: (p: string) => boolean): T {
  return t.parse(raw, fileExists ? { fileExists } : {});
}

function refuses<T>(t: ParamType<T>, raw: string, reason?: RegExp): void {
  assert.throws(() => parse(t, raw), (e: unknown) => {
    assert.ok(e instanceof ConfigValueError, `expected ConfigValueError for ${raw}`);
    if (reason) assert.match(e.message, reason);
    return true;
  });
}

Deno.test("booleans accept Felix's words in any case and refuse anything else", () => {
  for (const w of ["true", "1", "yes", "y", "t", "TRUE", "Yes", "T"]) {
    assert.equal(parse(boolType, w), true, w);
  }
  for (const w of ["false", "0", "no", "n", "f", "FALSE", "No", "F"]) {
    assert.equal(parse(boolType, w), false, w);
  }
  for (const w of ["2", "on", "off", "tru", "yess"]) refuses(boolType, w, /boolean/);
  assert.equal(boolType.zero, false);
});

Deno.test("integers are whole decimal numbers inside their range", () => {
  const t = intType(-5, 10);
  assert.equal(parse(t, "7"), 7);
  assert.equal(parse(t, "+7"), 7);
  assert.equal(parse(t, "-5"), -5);
  refuses(t, "11", /between -5 and 10/);
  refuses(t, "-6", /between/);
  refuses(t, "1.5", /whole number/);
  refuses(t, "0x10", /whole number/);
  refuses(t, "ten", /whole number/);
});

Deno.test("ports are 0-65535", () => {
  assert.equal(parse(portType, "0"), 0);
  assert.equal(parse(portType, "65535"), 65535);
  refuses(portType, "65536", /0 and 65535/);
  refuses(portType, "-1");
  refuses(portType, "http");
});

Deno.test("seconds accept fractions and refuse negatives and words", () => {
  assert.equal(parse(secondsType, "90"), 90);
  assert.equal(parse(secondsType, "0.5"), 0.5);
  assert.equal(parse(secondsType, ".25"), 0.25);
  assert.equal(parse(secondsType, "1e2"), 100);
  assert.equal(parse(secondsType, "0"), 0);
  refuses(secondsType, "-1", /non-negative/);
  refuses(secondsType, "90s");
  refuses(secondsType, "Infinity");
  refuses(secondsType, "1e999", /finite/);
});

Deno.test("oneof matches case-insensitively and returns the canonical spelling", () => {
  const t = oneOfType(["DROP", "RETURN", "ACCEPT"] as const);
  assert.equal(parse(t, "drop"), "DROP");
  assert.equal(parse(t, "Accept"), "ACCEPT");
  refuses(t, "REJECT", /must be one of DROP, RETURN, ACCEPT/);
  assert.equal(t.zero, "");
});

Deno.test("log severities: the five levels in any case; CRITICAL refused; none is null", () => {
  assert.equal(parse(severityType, "debug"), "DEBUG");
  assert.equal(parse(severityType, "Warning"), "WARNING");
  assert.equal(parse(severityType, "FATAL"), "FATAL");
  refuses(severityType, "CRITICAL", /DEBUG, INFO, WARNING, ERROR, FATAL/);
  refuses(severityType, "WARN");
  assert.equal(severityType.zero, null);
  assert.equal(severityType.format(null), "none");
});

Deno.test("host names allow letters, digits, underscore, dot and dash only", () => {
  assert.equal(parse(hostnameType, "node-1.example_com"), "node-1.example_com");
  assert.equal(parse(hostnameType, "H1"), "H1");
  refuses(hostnameType, "bad host", /letters, digits/);
  refuses(hostnameType, "a/b");
  refuses(hostnameType, "ünï");
});

Deno.test("etcd endpoint lists: http(s)://host:port, one scheme, no user/path/query", () => {
  assert.deepEqual(parse(endpointListType, "http://127.0.0.1:2379"), ["http://127.0.0.1:2379"]);
  assert.deepEqual(
    parse(endpointListType, " HTTPS://etcd-a:2379 , https://[2001:db8::1]:2379/ ,"),
    ["https://etcd-a:2379", "https://[2001:db8::1]:2379"],
  );
  refuses(endpointListType, "http://user:pw@etcd:2379", /user information/);
  refuses(endpointListType, "http://etcd:2379/v2", /path, query or fragment/);
  refuses(endpointListType, "http://etcd:2379?x=1", /path, query or fragment/);
  refuses(endpointListType, "http://etcd", /must include a port/);
  refuses(endpointListType, "etcd:2379", /http:\/\/host:port/);
  refuses(endpointListType, "ftp://etcd:21", /http:\/\/host:port/);
  refuses(endpointListType, "http://etcd:99999", /0-65535/);
  refuses(endpointListType, "http://a:2379,https://b:2379", /same scheme/);
  refuses(endpointListType, "http://bad_host!:2379", /invalid host/);
  refuses(endpointListType, " , ", /at least one/);
});

Deno.test("EtcdAddr is host:port", () => {
  assert.equal(parse(authorityType, "127.0.0.1:2379"), "127.0.0.1:2379");
  assert.equal(parse(authorityType, "etcd.example:4001"), "etcd.example:4001");
  assert.equal(parse(authorityType, "[2001:db8::1]:2379"), "[2001:db8::1]:2379");
  refuses(authorityType, "127.0.0.1", /host:port/);
  refuses(authorityType, ":2379", /host:port/);
  refuses(authorityType, "etcd:port", /must be a number/);
  refuses(authorityType, "http://etcd:2379");
});

Deno.test("HealthHost takes an IP address or a host name", () => {
  assert.equal(parse(listenHostType, "127.0.0.1"), "127.0.0.1");
  assert.equal(parse(listenHostType, "::1"), "::1");
  assert.equal(parse(listenHostType, "localhost"), "localhost");
  refuses(listenHostType, "http://x");
  refuses(listenHostType, "a b");
});

Deno.test("interface prefix lists: comma list of 1-15 safe characters each", () => {
  assert.deepEqual(parse(ifaceListType, "cali"), ["cali"]);
  assert.deepEqual(parse(ifaceListType, "cali, tap,veth_1-x"), ["cali", "tap", "veth_1-x"]);
  assert.deepEqual(parse(ifaceListType, "a".repeat(15)), ["a".repeat(15)]);
  refuses(ifaceListType, "a".repeat(16), /1-15/);
  refuses(ifaceListType, "cali,,tap", /empty prefix/);
  refuses(ifaceListType, "eth0.1", /1-15 of letters/);
  refuses(ifaceListType, "ca li");
});

Deno.test("port lists: proto:port, bare port is tcp, spaces trimmed, tcp/udp only", async (t) => {
  await t.step("the Felix default syntax", () => {
    assert.deepEqual(parse(portListType, "tcp:22,udp:68"), [
      { protocol: "tcp", port: 22 },
      { protocol: "udp", port: 68 },
    ]);
  });
  await t.step("a bare port means tcp (O9: 2222)", () => {
    assert.deepEqual(parse(portListType, "2222"), [{ protocol: "tcp", port: 2222 }]);
  });
  await t.step("spaces, case and empty items", () => {
    assert.deepEqual(parse(portListType, " TCP : 22 ,, Udp:53 , 80 "), [
      { protocol: "tcp", port: 22 },
      { protocol: "udp", port: 53 },
      { protocol: "tcp", port: 80 },
    ]);
  });
  await t.step("exact duplicates collapse, first wins", () => {
    assert.deepEqual(parse(portListType, "22,tcp:22,udp:22"), [
      { protocol: "tcp", port: 22 },
      { protocol: "udp", port: 22 },
    ]);
  });
  await t.step("bad syntax is refused (O10: foo:1)", () => {
    refuses(portListType, "foo:1", /unknown protocol "foo" in "foo:1" \(expected tcp or udp\)/);
    refuses(portListType, "sctp:22", /unknown protocol/);
    refuses(portListType, "tcp:22:1", /<protocol>:<port>/);
    refuses(portListType, "tcp:ssh", /must be a number/);
    refuses(portListType, "tcp:65536", /0-65535/);
    refuses(portListType, "tcp:-1", /must be a number/);
    refuses(portListType, "tcp:", /must be a number/);
  });
  await t.step("zero value and printing", () => {
    assert.deepEqual(portListType.zero, []);
    assert.equal(portListType.format([]), "none");
    assert.equal(portListType.format([{ protocol: "udp", port: 53 }]), "udp:53");
  });
});

Deno.test("file paths must be absolute; must-exist paths are checked when a checker is given", () => {
  const plain = fileType(false);
  assert.equal(parse(plain, "/var/log/x.log"), "/var/log/x.log");
  refuses(plain, "felix.log", /absolute/);
  const existing = fileType(true);
  assert.equal(parse(existing, "/etc/key.pem", (p) => p === "/etc/key.pem"), "/etc/key.pem");
  assert.throws(
    () => parse(existing, "/etc/missing.pem", () => false),
    /file does not exist/,
  );
  // Without a checker the pure parser cannot look, so it accepts.
  assert.equal(parse(existing, "/etc/missing.pem"), "/etc/missing.pem");
});

Deno.test("mark masks are 32-bit numbers with at least two bits set", () => {
  assert.equal(parse(markMaskType, "0xff000000"), 0xff000000);
  assert.equal(parse(markMaskType, "0XF0"), 0xf0);
  assert.equal(parse(markMaskType, "3"), 3);
  assert.equal(parse(markMaskType, "0o17"), 15);
  assert.equal(parse(markMaskType, "017"), 15);
  assert.equal(parse(markMaskType, "4294967295"), 0xffffffff);
  refuses(markMaskType, "0x100000000", /32 bits/);
  refuses(markMaskType, "0x01000000", /at least 2 bits/);
  refuses(markMaskType, "0", /at least 2 bits/);
  refuses(markMaskType, "-3");
  refuses(markMaskType, "0xzz");
  assert.equal(markMaskType.format(0xff000000), "0xff000000");
  assert.equal(bitCount(0xff000000), 8);
});

Deno.test("strings are kept as given", () => {
  assert.equal(parse(stringType, "calico-packet: x"), "calico-packet: x");
  assert.equal(stringType.zero, "");
});
