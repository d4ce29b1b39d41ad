/**
 * The host's links and addresses, as the calculation needs them: every link,
 * including down ones and ones without addresses, so a host endpoint is secured before its
 * interface comes up. Reading is `ip -j addr show`; changes are noticed through
 * `ip monitor link address` (debounced) with a slow poll as a safety net.
 */
import type { InterfaceInfo } from "../calc/resolve_interfaces.ts";
import type { Logger } from "../log/logger.ts";
import { type Clock, realClock, type TimerHandle } from "../time/clock.ts";

interface IpAddrJson {
  ifname?: unknown;
  flags?: unknown;
  operstate?: unknown;
  addr_info?: unknown;
}

/** Parses `ip -j addr show` output; sorted by name so equal hosts compare equal. */
export function parseIpAddrJson(text: string): InterfaceInfo[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new TypeError("Unexpected `ip -j addr` output: not a list");
  const out: InterfaceInfo[] = [];
  for (const raw of parsed as IpAddrJson[]) {
    if (typeof raw?.ifname !== "string") continue;
    const flags = Array.isArray(raw.flags) ? raw.flags as unknown[] : [];
    const oper = typeof raw.operstate === "string" ? raw.operstate : "UNKNOWN";
    const up = flags.includes("UP") && (oper === "UP" || oper === "UNKNOWN");
    const addrs: string[] = [];
    if (Array.isArray(raw.addr_info)) {
      for (const a of raw.addr_info as { local?: unknown }[]) {
        if (typeof a?.local === "string") addrs.push(a.local);
      }
    }
    out.push({ name: raw.ifname, up, addrs: [...new Set(addrs)].sort() });
  }
  return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** True when two listings describe the same links and addresses. */
export function sameInterfaces(a: readonly InterfaceInfo[], b: readonly InterfaceInfo[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Lists this namespace's links and addresses. */
export async function listInterfaces(): Promise<InterfaceInfo[]> {
  const out = await new Deno.Command("ip", {
    args: ["-j", "addr", "show"],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`Failed to list interfaces: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return parseIpAddrJson(new TextDecoder().decode(out.stdout));
}

/**
 * Calls `onChange` with the full listing whenever links or addresses change. The first
 * listing is delivered before `start` resolves.
 */
export class InterfaceMonitor {
  #child: Deno.ChildProcess | undefined;
  #timer: TimerHandle | undefined;
  #debounce: TimerHandle | undefined;
  #last: InterfaceInfo[] | undefined;
  #closed = false;
  #busy: Promise<void> = Promise.resolve();

  private readonly pollMs: number;
  private readonly debounceMs: number;
  private readonly clock: Clock;

  /** `pollMs`: the rescan period besides `ip monitor` (10 s); `debounceMs`: 50 ms. */
  constructor(
    private readonly onChange: (ifaces: InterfaceInfo[]) => void,
    private readonly log: Logger,
    opts: { readonly pollMs?: number; readonly debounceMs?: number; readonly clock?: Clock } = {},
  ) {
    this.pollMs = opts.pollMs ?? 10_000;
    this.debounceMs = opts.debounceMs ?? 50;
    this.clock = opts.clock ?? realClock;
  }

  async start(): Promise<void> {
    await this.#rescan();
    this.#timer = this.clock.setInterval(() => this.#schedule(), this.pollMs);
    this.#spawnMonitor();
  }

  #spawnMonitor() {
    if (this.#closed) return;
    try {
      this.#child = new Deno.Command("ip", {
        args: ["monitor", "link", "address"],
        stdout: "piped",
        stderr: "null",
      }).spawn();
    } catch (err) {
      this.log.warning(
        `Cannot run 'ip monitor' (${err}); relying on polling every ${this.pollMs} ms`,
      );
      return;
    }
    const child = this.#child;
    (async () => {
      try {
        for await (const _chunk of child.stdout) this.#schedule();
      } catch { /* closed */ }
      await child.status;
      if (!this.#closed) {
        this.log.warning("'ip monitor' exited; restarting it");
        this.clock.setTimeout(() => this.#spawnMonitor(), 1000);
      }
    })();
  }

  #schedule() {
    if (this.#closed || this.#debounce !== undefined) return;
    this.#debounce = this.clock.setTimeout(() => {
      this.#debounce = undefined;
      this.#busy = this.#busy.then(() => this.#rescan());
    }, this.debounceMs);
  }

  async #rescan() {
    if (this.#closed) return;
    try {
      const now = await listInterfaces();
      if (this.#last && sameInterfaces(this.#last, now)) return;
      this.#last = now;
      this.onChange(now);
    } catch (err) {
      this.log.warning(`${err instanceof Error ? err.message : err}`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.clock.clearInterval(this.#timer);
    if (this.#debounce !== undefined) this.clock.clearTimeout(this.#debounce);
    if (this.#child) {
      try {
        this.#child.kill("SIGTERM");
      } catch { /* already gone */ }
      await this.#child.status;
    }
    await this.#busy;
  }
}
