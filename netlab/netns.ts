/**
 * Network namespaces for system tests: created with a unique name under one prefix, with
 * links made *inside* them (`ip netns exec <ns> ip link add ...`), so the machine's own
 * namespace and interfaces are never touched. Every namespace removes itself (and kills the
 * processes still inside it) on dispose; `cleanLeftovers` removes namespaces that a crashed
 * run of ours left behind.
 */

/** Every namespace these tests create starts with this; nothing else is ever removed. */
export const NETNS_PREFIX = "hft-";

const decoder = new TextDecoder();

/** Thrown when a command the harness runs fails; carries its output. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly argv: readonly string[],
    readonly code: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`Command failed (exit ${code}): ${argv.join(" ")}\n${stderr.trim() || stdout.trim()}`);
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Text fed to standard input. */
  readonly stdin?: string;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
  /** Do not throw on a non-zero exit. */
  readonly allowFail?: boolean;
  /** The working directory (default: this process's). */
  readonly cwd?: string;
}

/** Runs a command to completion; throws CommandError on failure unless `allowFail`. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new TypeError("Empty command");
  const child = new Deno.Command(cmd, {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const r = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if (r.code !== 0 && !opts.allowFail) throw new CommandError(argv, r.code, r.stdout, r.stderr);
  return r;
}

/** True when running as root with `ip` available: what every netns test needs. */
export function canUseNetns(): boolean {
  try {
    if (Deno.uid() !== 0) return false;
    return new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** True when `cmd` is on PATH. */
export function haveCommand(cmd: string): boolean {
  try {
    return new Deno.Command("sh", {
      args: ["-c", `command -v ${cmd}`],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** One network namespace; `exec` runs a command inside it. */
export class NetNs implements AsyncDisposable {
  #removed = false;
  private constructor(readonly name: string, readonly role: string) {}

  /**
   * Creates `hft-<pid>-<random>-<role>` with `lo` up. The pid lets `cleanLeftovers` tell our
   * own live runs from dead ones.
   */
  static async create(role: string, group?: string): Promise<NetNs> {
    const g = group ?? `${Deno.pid}-${randomSuffix()}`;
    const name = `${NETNS_PREFIX}${g}-${role}`;
    await run(["ip", "netns", "add", name]);
    const ns = new NetNs(name, role);
    await ns.exec(["ip", "link", "set", "lo", "up"]);
    return ns;
  }

  /** argv that runs `argv` inside this namespace. */
  wrap(argv: readonly string[]): string[] {
    return ["ip", "netns", "exec", this.name, ...argv];
  }

  exec(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(this.wrap(argv), opts);
  }

  /** Runs a batch of `ip` commands in one process (`ip -batch -`); fast topology setup. */
  async ipBatch(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    await this.exec(["ip", "-batch", "-"], { stdin: lines.join("\n") + "\n" });
  }

  async sysctl(key: string, value: string): Promise<void> {
    await this.exec(["sysctl", "-q", "-w", `${key}=${value}`]);
  }

  /** Loads an nft ruleset text inside this namespace (for harness self-tests). */
  async nft(ruleset: string): Promise<void> {
    await this.exec(["nft", "-f", "-"], { stdin: ruleset });
  }

  /** The namespace's whole nft ruleset as text. */
  async nftRuleset(): Promise<string> {
    return (await this.exec(["nft", "list", "ruleset"])).stdout;
  }

  /** Flushes the neighbour (ARP/NDP) cache of every interface. */
  async flushNeighbours(): Promise<void> {
    await this.exec(["ip", "-4", "neigh", "flush", "all"], { allowFail: true });
    await this.exec(["ip", "-6", "neigh", "flush", "all"], { allowFail: true });
  }

  /** Kills every process still inside and deletes the namespace; idempotent. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    await removeNetns(this.name);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}

async function pidsIn(name: string): Promise<number[]> {
  const r = await run(["ip", "netns", "pids", name], { allowFail: true });
  return r.stdout.split(/\s+/).filter((s) => s !== "").map(Number).filter((n) => n > 0);
}

/** Kills processes inside `name` (TERM, then KILL) and deletes the namespace. */
export async function removeNetns(name: string): Promise<void> {
  if (!name.startsWith(NETNS_PREFIX)) throw new RangeError(`Refusing to remove netns '${name}'`);
  for (const sig of ["SIGTERM", "SIGKILL"] as const) {
    const pids = await pidsIn(name);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, sig);
      } catch { /* gone already */ }
    }
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && (await pidsIn(name)).length > 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await run(["ip", "netns", "del", name], { allowFail: true });
}

function pidAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes namespaces of our prefix whose creating test process is gone (a crashed run).
 * Namespaces of live runs (another `deno test` in parallel) are left alone.
 * Returns the names removed.
 */
export async function cleanLeftovers(): Promise<string[]> {
  const r = await run(["ip", "netns", "list"], { allowFail: true });
  const removed: string[] = [];
  for (const line of r.stdout.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    if (!name.startsWith(NETNS_PREFIX)) continue;
    const pid = Number(name.slice(NETNS_PREFIX.length).split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== Deno.pid && pidAlive(pid)) continue;
    if (pid === Deno.pid) continue;
    await removeNetns(name);
    removed.push(name);
  }
  return removed;
}

/** Names of namespaces of our prefix that currently exist. */
export async function listOurNetns(): Promise<string[]> {
  const r = await run(["ip", "netns", "list"], { allowFail: true });
  return r.stdout.split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) =>
    n.startsWith(NETNS_PREFIX)
  );
}

/**
 * Creates a veth pair with one end in each namespace, made inside `a` and moved straight to
 * `b`, so the root namespace never holds either end.
 */
export async function veth(a: NetNs, aName: string, b: NetNs, bName: string): Promise<void> {
  await a.exec([
    "ip",
    "link",
    "add",
    aName,
    "type",
    "veth",
    "peer",
    "name",
    bName,
    "netns",
    b.name,
  ]);
}
