/**
 * Real-packet probes between namespaces: a client for probe_daemon.ts. One daemon runs per
 * namespace (servers and clients alike); every call is one JSON command, and many run at once.
 *
 * Verdicts: `allow` (TCP connected [and echoed], UDP answered, ICMP replied), `drop` (silence
 * until the timeout), `refused` (TCP RST / ICMP port-unreachable: the path is open but nothing
 * listens), `unreachable` (ICMP host/net unreachable, no route), `error`. A test that expects
 * DROP therefore fails on a RST, and one that expects ALLOW fails on a RST too.
 *
 * UDP limitation: Deno's node:dgram does not surface ICMP port-unreachable, so a UDP probe to a
 * closed port reads `drop`; the topology therefore runs an echo server on every port probed.
 *
 * Conntrack: every TCP/UDP probe uses a fresh ephemeral source port and every ping a fresh
 * ICMP id, so a probe is never passed by a conntrack entry left by an earlier probe. Probes
 * with a fixed `sourcePort` do reuse a 5-tuple: use a different port per step.
 */
import type { NetNs } from "./netns.ts";
import { awaitExitOrKill, encodeLine, readLines } from "./json_lines.ts";

export type Verdict = "allow" | "drop" | "refused" | "unreachable" | "error";

export interface ProbeResult {
  readonly verdict: Verdict;
  readonly detail?: string;
  readonly ms: number;
}

export interface TcpOptions {
  /** Give up and call it `drop` after this long; default 1000 ms. */
  readonly timeoutMs?: number;
  /** Bind the client to this source port. */
  readonly sourcePort?: number;
  /** Bind the client to this source address (e.g. R's second address). */
  readonly source?: string;
  /** Send this and require it echoed back (default: a short payload; `null`: connect only). */
  readonly send?: string | null;
}

export interface UdpOptions {
  readonly timeoutMs?: number;
  readonly sourcePort?: number;
  readonly source?: string;
}

const DAEMON = new URL("./probe_daemon.ts", import.meta.url).pathname;
/** The Deno binary the daemons run on: the one running the tests. */
export const DENO = Deno.execPath();

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** A TCP or UDP probe's command: the target, the timeout (1 s) and any source binding. */
function probeCommand(
  op: "tcp" | "udp",
  host: string,
  port: number,
  opts: UdpOptions,
): Record<string, unknown> {
  return {
    op,
    host,
    port,
    timeoutMs: opts.timeoutMs ?? 1000,
    ...(opts.sourcePort === undefined ? {} : { sourcePort: opts.sourcePort }),
    ...(opts.source === undefined ? {} : { source: opts.source }),
  };
}

/** A kept-open TCP connection (for "established flows survive a policy change"). */
export class TcpConnection implements AsyncDisposable {
  constructor(readonly daemon: ProbeDaemon, readonly id: number) {}
  /** Sends `data` and waits for its echo: `allow` if it came back. */
  exchange(data = "still-there", timeoutMs = 1000): Promise<ProbeResult> {
    return this.daemon.call({ op: "exchange", conn: this.id, data, timeoutMs }) as Promise<
      ProbeResult
    >;
  }
  async close(): Promise<void> {
    await this.daemon.call({ op: "closeConn", conn: this.id });
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(() => {});
  }
}

/** A probe daemon inside one namespace. */
export class ProbeDaemon implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending = new Map<number, Pending>();
  #next = 1;
  #closed = false;
  #reader: Promise<void>;
  #ready: Promise<void>;
  #stderr: Promise<string>;

  private constructor(readonly ns: NetNs) {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", ns.name, DENO, "run", "-A", "--no-prompt", "--quiet", DAEMON],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    const stderr = new Response(child.stderr).text();
    this.#stderr = stderr;
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.#ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.#reader = (async () => {
      for await (const line of readLines(child.stdout)) {
        const msg = JSON.parse(line) as {
          ready?: boolean;
          id?: number;
          ok?: boolean;
          result?: unknown;
          error?: string;
        };
        if (msg.ready) {
          readyResolve();
          continue;
        }
        const p = this.#pending.get(msg.id ?? -1);
        if (!p) continue;
        this.#pending.delete(msg.id!);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(`Probe daemon in ${this.ns.name}: ${msg.error}`));
      }
      const err = new Error(
        `Probe daemon in ${this.ns.name} exited: ${(await stderr).trim()}`,
      );
      readyReject(err);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    })();
    this.#ready.catch(() => {});
  }

  /** Starts a daemon in `ns` and waits until it takes commands. */
  static async start(ns: NetNs): Promise<ProbeDaemon> {
    const d = new ProbeDaemon(ns);
    await d.#ready;
    return d;
  }

  /** Sends one raw command; resolves with its result. */
  call(cmd: Record<string, unknown>): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error(`Probe daemon in ${this.ns.name} closed`));
    const id = this.#next++;
    const p = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#writer.write(encodeLine({ ...cmd, id })).catch(() => {});
    return p;
  }

  /** A TCP echo server on `port` (dual-stack `::` unless a host is given). */
  async listenTcp(port: number, host = "::"): Promise<void> {
    await this.call({ op: "listen", proto: "tcp", port, host });
  }

  /** A UDP echo server on `port` (dual-stack `::` unless a host is given). */
  async listenUdp(port: number, host = "::"): Promise<void> {
    await this.call({ op: "listen", proto: "udp", port, host });
  }

  /** TCP and UDP echo servers on every port given, for IPv4 and IPv6. */
  async serve(ports: { tcp?: readonly number[]; udp?: readonly number[] }): Promise<void> {
    await Promise.all([
      ...(ports.tcp ?? []).map((p) => this.listenTcp(p)),
      ...(ports.udp ?? []).map((p) => this.listenUdp(p)),
    ]);
  }

  /** Connects (and by default exchanges a payload) with `host:port`. */
  tcp(host: string, port: number, opts: TcpOptions = {}): Promise<ProbeResult> {
    const send = opts.send === null ? undefined : (opts.send ?? "hello");
    return this.call({
      ...probeCommand("tcp", host, port, opts),
      ...(send === undefined ? {} : { send }),
    }) as Promise<ProbeResult>;
  }

  /** Opens a TCP connection and keeps it; throws unless it was allowed. */
  async openTcp(host: string, port: number, opts: TcpOptions = {}): Promise<TcpConnection> {
    const r = await this.call({
      op: "tcp",
      host,
      port,
      keep: true,
      timeoutMs: opts.timeoutMs ?? 1000,
      send: "open",
      ...(opts.sourcePort === undefined ? {} : { sourcePort: opts.sourcePort }),
    }) as ProbeResult & { conn?: number };
    if (r.verdict !== "allow" || r.conn === undefined) {
      throw new Error(`Could not open TCP ${host}:${port} from ${this.ns.name}: ${r.verdict}`);
    }
    return new TcpConnection(this, r.conn);
  }

  /** One UDP request; `allow` if the echo came back. */
  udp(host: string, port: number, opts: UdpOptions = {}): Promise<ProbeResult> {
    return this.call(probeCommand("udp", host, port, opts)) as Promise<ProbeResult>;
  }

  /** One ICMP (v4) or ICMPv6 echo request, by `ping`. */
  ping(host: string, timeoutMs = 1000, source?: string): Promise<ProbeResult> {
    return this.call({
      op: "ping",
      host,
      timeoutMs,
      ...(source === undefined ? {} : { source }),
    }) as Promise<ProbeResult>;
  }

  /** One ICMPv4 request of any type (13 = timestamp) by a raw socket; `allow` on any reply. */
  icmp(host: string, type: number, code = 0, timeoutMs = 1000): Promise<ProbeResult> {
    return this.call({ op: "icmp", host, type, code, timeoutMs }) as Promise<ProbeResult>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#writer.close();
    } catch { /* already gone */ }
    await awaitExitOrKill(this.#child);
    await this.#reader.catch(() => {});
    await this.#stderr.catch(() => "");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Describes a probe for assertion messages: `R -> 198.18.1.1 tcp/80`. */
export function describe(from: string, to: string, what: string): string {
  return `${from} -> ${to} ${what}`;
}

/** Throws an Error naming the probe when the verdict is not the expected one. */
export function expectVerdict(label: string, got: ProbeResult, want: Verdict): void {
  if (got.verdict !== want) {
    throw new Error(
      `${label}: expected ${want.toUpperCase()}, got ${got.verdict.toUpperCase()}` +
        (got.detail ? ` (${got.detail})` : "") + ` after ${got.ms} ms`,
    );
  }
}

/** One expected verdict: a label, the probe (started already) and what it must say. */
export type Check = readonly [label: string, probe: Promise<ProbeResult>, want: Verdict];

/**
 * Awaits probes that were started together (so their timeouts overlap) and throws one Error
 * listing every mismatch, so a failing scenario shows its whole verdict table at once.
 */
export async function expectAll(checks: readonly Check[]): Promise<void> {
  const results = await Promise.all(checks.map(([, p]) => p));
  const bad: string[] = [];
  checks.forEach(([label, , want], i) => {
    const got = results[i]!;
    if (got.verdict !== want) {
      bad.push(
        `  ${label}: expected ${want.toUpperCase()}, got ${got.verdict.toUpperCase()}` +
          (got.detail ? ` (${got.detail})` : ""),
      );
    }
  });
  if (bad.length > 0) {
    throw new Error(`${bad.length} of ${checks.length} probes disagree:\n${bad.join("\n")}`);
  }
}
