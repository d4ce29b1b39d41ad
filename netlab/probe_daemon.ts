/**
 * The probe daemon: one long-running process per network namespace (started with
 * `ip netns exec <ns> deno run -A probe_daemon.ts`) that runs echo servers and sends probes on
 * command, so a test pays Deno's start-up once per namespace instead of once per packet.
 *
 * Protocol: one JSON object per line on stdin, `{ "id": n, "op": ..., ...args }`; one JSON
 * object per line on stdout, `{ "id": n, "ok": true, "result": ... }` or
 * `{ "id": n, "ok": false, "error": "..." }`. Commands run concurrently; answers may come out
 * of order and carry the id they answer. The first line written is `{ "ready": true }`.
 *
 * Verdicts (see probe.ts): `allow` (connected / answered), `drop` (no answer before the
 * timeout), `refused` (TCP RST or ICMP port unreachable: something answered, so the path is
 * open but nothing listens), `unreachable` (ICMP host/net unreachable or a local routing
 * error), `error` (anything else, with a detail).
 */
import net from "node:net";
import dgram from "node:dgram";
import { readLines, writeStdoutLine } from "./json_lines.ts";

type Verdict = "allow" | "drop" | "refused" | "unreachable" | "error";

interface ProbeResult {
  readonly verdict: Verdict;
  readonly detail?: string;
  /** Milliseconds from start to verdict. */
  readonly ms: number;
}

const servers: Array<{ close(): void }> = [];
const conns = new Map<number, net.Socket>();
let nextConn = 1;

function verdictForCode(code: string | undefined): Verdict {
  switch (code) {
    case "ECONNREFUSED":
    case "ECONNRESET":
      return "refused";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EADDRNOTAVAIL":
      return "unreachable";
    default:
      return "error";
  }
}

function errCode(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

function errText(e: unknown): string {
  return e instanceof Error ? `${errCode(e) ?? ""} ${e.message}`.trim() : String(e);
}

/** A TCP echo server: every byte received is sent back; bound dual-stack on `::`. */
function listenTcp(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.on("data", (d) => sock.write(d));
      sock.on("end", () => sock.end());
    });
    server.once("error", reject);
    server.listen({ port, host }, () => {
      servers.push({ close: () => server.close() });
      resolve();
    });
  });
}

/** A UDP echo server: every datagram is sent back to its sender, from the port it came to. */
function listenUdp(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const type = host.includes(":") ? "udp6" : "udp4";
    const sock = dgram.createSocket({ type });
    sock.once("error", reject);
    sock.on("message", (msg, rinfo) => {
      sock.send(msg, rinfo.port, rinfo.address);
    });
    sock.bind({ port, address: host }, () => {
      sock.removeListener("error", reject);
      sock.on("error", () => {});
      servers.push({ close: () => sock.close() });
      resolve();
    });
  });
}

/**
 * Opens a TCP connection and, when `send` is given, waits for it to be echoed back, so a
 * flow whose SYN passes but whose data is dropped is not mistaken for an allowed one.
 */
function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  sourcePort: number | undefined,
  send: string | undefined,
  keep: boolean,
  source: string | undefined,
): Promise<ProbeResult & { conn?: number }> {
  const start = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const opts: net.NetConnectOpts = {
      host,
      port,
      ...(sourcePort === undefined ? {} : { localPort: sourcePort }),
      ...(source === undefined ? {} : { localAddress: source }),
    };
    const sock = net.connect(opts);
    const finish = (verdict: Verdict, detail?: string, conn?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (conn === undefined) sock.destroy();
      const r: ProbeResult & { conn?: number } = {
        verdict,
        ms: Date.now() - start,
        ...(detail === undefined ? {} : { detail }),
        ...(conn === undefined ? {} : { conn }),
      };
      resolve(r);
    };
    const timer = setTimeout(
      () => finish("drop", send === undefined || !connected ? "no SYN-ACK" : "no echo"),
      timeoutMs,
    );
    let connected = false;
    let got = "";
    sock.on("error", (e) => finish(verdictForCode(errCode(e)), errText(e)));
    sock.on("connect", () => {
      connected = true;
      if (send === undefined) {
        if (keep) {
          const id = nextConn++;
          conns.set(id, sock);
          finish("allow", undefined, id);
        } else finish("allow");
        return;
      }
      sock.write(send);
    });
    sock.on("data", (d) => {
      got += d.toString();
      if (send !== undefined && got.length >= send.length) {
        if (got !== send) {
          finish("error", `echo mismatch: ${JSON.stringify(got)}`);
          return;
        }
        if (keep) {
          const id = nextConn++;
          conns.set(id, sock);
          sock.removeAllListeners("data");
          finish("allow", undefined, id);
        } else finish("allow");
      }
    });
  });
}

/** Sends `data` over a kept connection and waits for the echo. */
function exchange(conn: number, data: string, timeoutMs: number): Promise<ProbeResult> {
  const start = Date.now();
  const sock = conns.get(conn);
  if (!sock) return Promise.resolve({ verdict: "error", detail: `No connection ${conn}`, ms: 0 });
  return new Promise((resolve) => {
    let got = "";
    let done = false;
    const finish = (verdict: Verdict, detail?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.removeListener("data", onData);
      sock.removeListener("error", onError);
      resolve({ verdict, ms: Date.now() - start, ...(detail === undefined ? {} : { detail }) });
    };
    const onData = (d: Uint8Array) => {
      got += new TextDecoder().decode(d);
      if (got.length >= data.length) {
        finish(got === data ? "allow" : "error", got === data ? undefined : `echo ${got}`);
      }
    };
    const onError = (e: unknown) => finish(verdictForCode(errCode(e)), errText(e));
    const timer = setTimeout(() => finish("drop", "no echo"), timeoutMs);
    sock.on("data", onData);
    sock.on("error", onError);
    sock.write(data);
  });
}

/** One UDP request/reply from a fresh socket (a fresh source port unless one is asked for). */
function udpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  sourcePort: number | undefined,
  source: string | undefined,
): Promise<ProbeResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
    let done = false;
    const payload = `probe-${crypto.randomUUID()}`;
    const finish = (verdict: Verdict, detail?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch { /* already closed */ }
      resolve({ verdict, ms: Date.now() - start, ...(detail === undefined ? {} : { detail }) });
    };
    const timer = setTimeout(() => finish("drop", "no reply"), timeoutMs);
    sock.on("error", (e) => finish(verdictForCode(errCode(e)), errText(e)));
    sock.on("message", (m) => {
      finish(String(m) === payload ? "allow" : "error", String(m) === payload ? undefined : "bad");
    });
    const go = () => {
      // A connected socket receives ICMP port unreachable as ECONNREFUSED.
      sock.connect(port, host, () => sock.send(payload));
    };
    if (sourcePort === undefined && source === undefined) go();
    else {sock.bind(
        { port: sourcePort ?? 0, ...(source === undefined ? {} : { address: source }) },
        go,
      );}
  });
}

/** ICMP echo by iputils ping (one packet, whole-second wait). */
async function pingProbe(
  host: string,
  timeoutMs: number,
  source: string | undefined,
): Promise<ProbeResult> {
  const start = Date.now();
  const wait = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const args = [
    ...(host.includes(":") ? ["-6"] : []),
    ...(source === undefined ? [] : ["-I", source]),
    "-n",
    "-c1",
    "-W",
    wait,
    host,
  ];
  const out = await new Deno.Command("ping", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const ms = Date.now() - start;
  if (out.code === 0) return { verdict: "allow", ms };
  if (/unreachable/i.test(text)) return { verdict: "unreachable", ms, detail: text.trim() };
  if (out.code === 1) return { verdict: "drop", ms, detail: "no echo reply" };
  return { verdict: "error", ms, detail: text.trim() };
}

const ICMP_SCRIPT = `
import socket, struct, sys, time, os
host, typ, code, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
def csum(b):
    if len(b) % 2: b += b"\\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
ident = os.getpid() & 0xffff
body = struct.pack("!HH", ident, 1) + (struct.pack("!III", 0, 0, 0) if typ == 13 else b"hostfence")
hdr = struct.pack("!BBH", typ, code, 0)
pkt = struct.pack("!BBH", typ, code, csum(hdr + body)) + body
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(timeout)
s.sendto(pkt, (host, 0))
end = time.time() + timeout
while time.time() < end:
    try:
        data, addr = s.recvfrom(2048)
    except socket.timeout:
        break
    ihl = (data[0] & 0x0f) * 4
    rt = data[ihl]
    rid = struct.unpack("!H", data[ihl + 4:ihl + 6])[0]
    if addr[0] == host and rid == ident and rt != typ:
        print("reply", rt); sys.exit(0)
print("timeout"); sys.exit(1)
`;

/** An ICMPv4 request of any type (e.g. 13, timestamp) through a raw socket in python3. */
async function icmpProbe(
  host: string,
  type: number,
  code: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  const start = Date.now();
  const out = await new Deno.Command("python3", {
    args: ["-c", ICMP_SCRIPT, host, String(type), String(code), String(timeoutMs / 1000)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const ms = Date.now() - start;
  if (out.code === 0) return { verdict: "allow", ms, detail: text };
  if (out.code === 1) return { verdict: "drop", ms };
  return { verdict: "error", ms, detail: new TextDecoder().decode(out.stderr).trim() };
}

interface Command {
  readonly id: number;
  readonly op: string;
  readonly [k: string]: unknown;
}

function num(c: Command, k: string, dflt?: number): number {
  const v = c[k];
  if (typeof v === "number") return v;
  if (v === undefined && dflt !== undefined) return dflt;
  throw new TypeError(`Command ${c.op}: '${k}' must be a number, got ${JSON.stringify(v)}`);
}
function str(c: Command, k: string, dflt?: string): string {
  const v = c[k];
  if (typeof v === "string") return v;
  if (v === undefined && dflt !== undefined) return dflt;
  throw new TypeError(`Command ${c.op}: '${k}' must be a string, got ${JSON.stringify(v)}`);
}
function optNum(c: Command, k: string): number | undefined {
  return typeof c[k] === "number" ? c[k] as number : undefined;
}
function optStr(c: Command, k: string): string | undefined {
  return typeof c[k] === "string" ? c[k] as string : undefined;
}

async function handle(c: Command): Promise<unknown> {
  switch (c.op) {
    case "listen": {
      const proto = str(c, "proto");
      const port = num(c, "port");
      const host = str(c, "host", "::");
      if (proto === "tcp") await listenTcp(port, host);
      else if (proto === "udp") await listenUdp(port, host);
      else throw new TypeError(`Unknown proto '${proto}'`);
      return null;
    }
    case "tcp":
      return await tcpProbe(
        str(c, "host"),
        num(c, "port"),
        num(c, "timeoutMs", 1000),
        optNum(c, "sourcePort"),
        optStr(c, "send"),
        c["keep"] === true,
        optStr(c, "source"),
      );
    case "exchange":
      return await exchange(num(c, "conn"), str(c, "data"), num(c, "timeoutMs", 1000));
    case "closeConn": {
      const s = conns.get(num(c, "conn"));
      conns.delete(num(c, "conn"));
      s?.destroy();
      return null;
    }
    case "udp":
      return await udpProbe(
        str(c, "host"),
        num(c, "port"),
        num(c, "timeoutMs", 1000),
        optNum(c, "sourcePort"),
        optStr(c, "source"),
      );
    case "ping":
      return await pingProbe(str(c, "host"), num(c, "timeoutMs", 1000), optStr(c, "source"));
    case "icmp":
      return await icmpProbe(
        str(c, "host"),
        num(c, "type"),
        num(c, "code", 0),
        num(c, "timeoutMs", 1000),
      );
    case "exit":
      setTimeout(shutdown, 0);
      return null;
    default:
      throw new TypeError(`Unknown op '${c.op}'`);
  }
}

const reply = writeStdoutLine;

function shutdown() {
  for (const s of servers) {
    try {
      s.close();
    } catch { /* ignore */ }
  }
  for (const s of conns.values()) s.destroy();
  Deno.exit(0);
}

async function main() {
  reply({ ready: true });
  for await (const raw of readLines(Deno.stdin.readable)) {
    const line = raw.trim();
    if (!line) continue;
    let cmd: Command;
    try {
      cmd = JSON.parse(line) as Command;
    } catch (e) {
      reply({ id: -1, ok: false, error: `Bad JSON: ${errText(e)}` });
      continue;
    }
    handle(cmd).then(
      (result) => reply({ id: cmd.id, ok: true, result }),
      (e) => reply({ id: cmd.id, ok: false, error: errText(e) }),
    );
  }
  // stdin closed: the test is gone, so are we.
  shutdown();
}

if (import.meta.main) await main();
