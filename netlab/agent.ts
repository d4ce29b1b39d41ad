/**
 * Runs the hostfence agent inside a host namespace, the way an operator runs Felix:
 * `ip netns exec <h1> scripts/hostfence agent --felix-hostname=h1 --etcd-endpoints=... ...`.
 * Every stderr line is kept, so tests wait for what the agent says instead of sleeping:
 *
 * - `waitForLog(re)`: a line matching `re` (from a cursor, default: the start).
 * - `waitForRevision(R)`: the agent's contract line `Dataplane in sync at revision R'` with
 *   R' >= R, i.e. every datastore write up to R is programmed into nftables.
 *
 * Dispose stops the agent (SIGTERM, then SIGKILL) and runs `agent --cleanup` in the
 * namespace; the namespace itself is removed by the topology anyway.
 */
import { HOSTFENCE } from "./paths.ts";
import { type NetNs, run } from "./netns.ts";
import { readLines } from "./json_lines.ts";

/** The line the agent logs once a batch of updates is programmed (the lead's contract). */
export const IN_SYNC_RE = /Dataplane in sync at revision (\d+)/;

export interface AgentOptions {
  readonly ns: NetNs;
  /** FelixHostname; default "h1". */
  readonly hostname?: string;
  readonly etcdEndpoint: string;
  /** Extra Felix parameters as kebab-case flags without `--`: `{ "failsafe-inbound-host-ports": "none" }`. */
  readonly flags?: Readonly<Record<string, string>>;
  /** Extra environment (e.g. `HOSTFENCE_NFT`, `FELIX_*`). */
  readonly env?: Readonly<Record<string, string>>;
  /** The program instead of `scripts/hostfence agent` (harness self-tests use a fake). */
  readonly command?: readonly string[];
}

/** Thrown by the waits; carries the last lines the agent logged. */
export class AgentWaitError extends Error {
  override name = "AgentWaitError";
}

/** A running agent. */
export class Agent implements AsyncDisposable {
  readonly lines: string[] = [];
  #child: Deno.ChildProcess;
  #exit: Promise<Deno.CommandStatus>;
  #exited: Deno.CommandStatus | undefined;
  #waiters = new Set<() => void>();
  #pump: Promise<void>;
  #disposed = false;

  private constructor(
    readonly opts: AgentOptions,
    readonly logDir: string,
    readonly argv: readonly string[],
  ) {
    const [cmd, ...args] = argv;
    const child = new Deno.Command(cmd!, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...(opts.env ?? {}) },
    }).spawn();
    this.#child = child;
    const take = async (stream: ReadableStream<Uint8Array>) => {
      for await (const line of readLines(stream, { tail: true })) {
        this.lines.push(line);
        this.#wake();
      }
      this.#wake();
    };
    this.#pump = Promise.all([take(child.stderr), take(child.stdout)]).then(() => {});
    this.#exit = child.status.then((s) => {
      this.#exited = s;
      this.#wake();
      return s;
    });
  }

  /** Starts the agent. Does not wait for anything: use the waits. */
  static async start(opts: AgentOptions): Promise<Agent> {
    const logDir = await Deno.makeTempDir({ prefix: "hostfence-agent-" });
    const hostname = opts.hostname ?? "h1";
    const flags: Record<string, string> = {
      "felix-hostname": hostname,
      "etcd-endpoints": opts.etcdEndpoint,
      "log-file-path": `${logDir}/felix.log`,
      "log-severity-screen": "INFO",
      ...(opts.flags ?? {}),
    };
    const argv = opts.ns.wrap([
      ...(opts.command ?? [HOSTFENCE, "agent"]),
      ...Object.entries(flags).map(([k, v]) => `--${k}=${v}`),
    ]);
    return new Agent(opts, logDir, argv);
  }

  /** The path of the agent's log file. */
  get logFile(): string {
    return `${this.logDir}/felix.log`;
  }

  /** The agent's process id (`ip netns exec` and the launcher exec, so this is Deno's). */
  get pid(): number {
    return this.#child.pid;
  }

  /** The exit status once the agent has exited. */
  get exited(): Deno.CommandStatus | undefined {
    return this.#exited;
  }

  /** A cursor for `waitForLog(re, { from })`: only lines logged after this call count. */
  mark(): number {
    return this.lines.length;
  }

  #wake() {
    for (const w of this.#waiters) w();
  }

  /** The last `n` lines, for failure messages. */
  tail(n = 30): string {
    return this.lines.slice(-n).join("\n");
  }

  /**
   * Resolves with the first line (at or after `from`) for which `match` returns a value;
   * rejects on timeout or agent exit, quoting the log tail.
   */
  async waitFor<T>(
    what: string,
    match: (line: string) => T | undefined,
    opts: { timeoutMs?: number; from?: number } = {},
  ): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    let i = opts.from ?? 0;
    const deadline = Date.now() + timeoutMs;
    while (true) {
      for (; i < this.lines.length; i++) {
        const v = match(this.lines[i]!);
        if (v !== undefined) return v;
      }
      if (this.#exited) {
        throw new AgentWaitError(
          `Agent exited (code ${this.#exited.code}) before ${what}; last lines:\n${this.tail()}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new AgentWaitError(
          `Timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${this.tail()}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        const waiter = () => {
          waiters.delete(waiter);
          done();
        };
        const waiters = this.#waiters;
        waiters.add(waiter);
      });
    }
  }

  /** Waits for a log line matching `re`; returns the line. */
  waitForLog(re: RegExp, timeoutMs = 15_000, from?: number): Promise<string> {
    return this.waitFor(`a log line matching ${re}`, (l) => re.test(l) ? l : undefined, {
      timeoutMs,
      ...(from === undefined ? {} : { from }),
    });
  }

  /** Waits until the agent reports the dataplane in sync at revision >= `rev`. */
  waitForRevision(rev: number, timeoutMs = 15_000): Promise<number> {
    return this.waitFor(`'Dataplane in sync at revision >= ${rev}'`, (l) => {
      const m = IN_SYNC_RE.exec(l);
      return m && Number(m[1]) >= rev ? Number(m[1]) : undefined;
    }, { timeoutMs });
  }

  /** True when a line matching `re` has been logged (at or after `from`). */
  hasLogged(re: RegExp, from = 0): boolean {
    return this.lines.slice(from).some((l) => re.test(l));
  }

  /** The log file's text (the file sink). */
  async logFileText(): Promise<string> {
    return await Deno.readTextFile(this.logFile).catch(() => "");
  }

  /** Kills the agent with SIGKILL, as a crash would: nothing gets to clean up. */
  async crash(): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    return await this.#exit;
  }

  /** Stops the agent: SIGTERM, then SIGKILL after 5 s. Returns its exit status. */
  async stop(): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await this.#exit;
      clearTimeout(timer);
    }
    await this.#pump.catch(() => {});
    return await this.#exit;
  }

  /** `agent --cleanup` in the same namespace with the same flags: removes the agent's table. */
  async cleanup(): Promise<void> {
    const rest = this.argv.slice(4); // drop `ip netns exec <ns>`
    await run(this.opts.ns.wrap([...rest, "--cleanup"]), {
      allowFail: true,
      env: { NO_COLOR: "1", ...(this.opts.env ?? {}) },
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.stop();
    await this.cleanup();
    await Deno.remove(this.logDir, { recursive: true }).catch(() => {});
  }
}

/** Starts an agent (see Agent.start). */
export function startAgent(opts: AgentOptions): Promise<Agent> {
  return Agent.start(opts);
}
