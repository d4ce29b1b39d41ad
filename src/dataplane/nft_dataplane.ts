/**
 * The edge where desired state meets the kernel: `NftDataplane` applies each change as one
 * `nft -f -` transaction, remembers what is programmed only after nft accepted it, repairs
 * drift, and removes our table on shutdown. nft itself sits behind `NftRunner` so unit tests
 * run without root and system tests can aim the real binary at a network namespace.
 */
import type { HostState } from "../calc/host_state.ts";
import { buildNftState } from "./build.ts";
import { type ChainCounter, chainCounters, parseCounters } from "./counters.ts";
import { TABLE_REF } from "./names.ts";
import { planUpdate, render } from "./render.ts";
import type { NftState } from "./state.ts";
import { quote } from "../log/quote.ts";

/** Runs nft. `run` feeds a script to `nft -f -`; `listTable` is `nft -j list table` or null. */
export interface NftRunner {
  run(script: string): Promise<{ ok: boolean; stderr: string }>;
  /** JSON listing of our table; null when the table does not exist. Throws on other failures. */
  listTable(): Promise<string | null>;
}

/** Options of the real runner. */
export interface CommandRunnerOptions {
  /** nft binary; default env `HOSTFENCE_NFT`, else `nft` (tests point it at a failing stub). */
  readonly nft?: string;
  /** Run inside this network namespace (`ip netns exec NS nft ...`), for system tests. */
  readonly netns?: string;
}

const decoder = new TextDecoder();

/** The real runner: `nft` through Deno.Command, optionally inside a network namespace. */
export function commandRunner(opts: CommandRunnerOptions = {}): NftRunner {
  let envNft: string | undefined;
  try {
    envNft = Deno.env.get("HOSTFENCE_NFT");
  } catch { /* no env permission: use the default */ }
  const nft = opts.nft ?? (envNft || "nft");
  const argv = (args: string[]) =>
    opts.netns === undefined ? [nft, ...args] : ["ip", "netns", "exec", opts.netns, nft, ...args];
  const exec = async (args: string[], stdin?: string) => {
    const [cmd, ...rest] = argv(args);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd!, {
        args: rest,
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      return { code: -1, stdout: "", stderr: `Cannot run '${cmd}': ${(e as Error).message}` };
    }
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      try {
        await w.write(new TextEncoder().encode(stdin));
        await w.close();
      } catch { /* nft exited early; its stderr says why */ }
    }
    const r = await child.output();
    return { code: r.code, stdout: decoder.decode(r.stdout), stderr: decoder.decode(r.stderr) };
  };
  return {
    async run(script) {
      const r = await exec(["-f", "-"], script);
      return { ok: r.code === 0, stderr: r.stderr };
    },
    async listTable() {
      const r = await exec(["-j", "list", "table", ...TABLE_REF.split(" ")]);
      if (r.code === 0) return r.stdout;
      if (/No such file or directory/.test(r.stderr)) return null;
      throw new Error(`Listing table ${TABLE_REF} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    },
  };
}

/**
 * nft refused a transaction; nothing of it was applied. Carries nft's message, the script
 * line it points at (1-based) and that line's text.
 */
export class NftApplyError extends Error {
  override name = "NftApplyError";
  constructor(
    readonly stderr: string,
    readonly script: string,
    readonly line?: number,
    readonly lineText?: string,
  ) {
    const first = stderr.split("\n").find((l) => /Error:/.test(l))?.trim() ?? stderr.trim();
    super(
      `The nft transaction was rejected: ${first || "nft failed without a message"}` +
        (line !== undefined ? ` (script line ${line}: ${quote(lineText ?? "")})` : ""),
    );
  }
}

function applyError(stderr: string, script: string): NftApplyError {
  const m = /(?:^|\n)[^\n:]*:(\d+):\d+(?:-\d+)?: Error:/.exec(stderr);
  if (m === null) return new NftApplyError(stderr, script);
  const line = Number(m[1]);
  return new NftApplyError(stderr, script, line, script.split("\n")[line - 1]);
}

/** What one apply did. */
export interface ApplyResult {
  /** False when the table already matched and nft was not run. */
  readonly changed: boolean;
  /** The transaction sent (empty when unchanged). */
  readonly script: string;
}

/** What a drift check found. */
export interface RefreshResult {
  /** True when the table was re-programmed. */
  readonly repaired: boolean;
  /** Why: `missing`, `differs`, or undefined when nothing was wrong. */
  readonly reason?: "missing" | "differs";
}

/**
 * The nftables dataplane driver: keeps the last state nft accepted and applies changes
 * incrementally against it. Calls must not overlap (the agent's loop serialises them).
 */
export class NftDataplane {
  #programmed: NftState | undefined;
  constructor(private readonly runner: NftRunner = commandRunner()) {}

  /** The state nft last accepted; undefined before the first success and after cleanup. */
  get programmed(): NftState | undefined {
    return this.#programmed;
  }

  /** Builds the table for `host` and applies it (see applyState). */
  apply(host: HostState): Promise<ApplyResult> {
    return this.applyState(buildNftState(host));
  }

  /**
   * Applies `next` as one transaction: the full program the first time (replacing any table
   * an earlier run left), else only the differences. Throws NftApplyError quoting nft's
   * message and line when nft refuses; the programmed state is then unchanged (nft applied
   * nothing) and the caller retries later.
   */
  async applyState(next: NftState): Promise<ApplyResult> {
    const script = planUpdate(this.#programmed, next);
    if (script === "") {
      this.#programmed = next;
      return { changed: false, script };
    }
    await this.#run(script);
    this.#programmed = next;
    return { changed: true, script };
  }

  /**
   * Drift check: lists our table and compares its shape (chains with rule counts, set sizes,
   * dispatch map entries) with what we programmed; re-programs fully when the table is missing
   * or differs. Does nothing before the first successful apply. Throws NftApplyError when the
   * repair is refused, or Error when the table cannot be listed.
   */
  async refresh(): Promise<RefreshResult> {
    const want = this.#programmed;
    if (want === undefined) return { repaired: false };
    const listing = await this.runner.listTable();
    let reason: RefreshResult["reason"];
    if (listing === null) reason = "missing";
    else if (fingerprintListing(listing) !== fingerprintState(want)) reason = "differs";
    if (reason === undefined) return { repaired: false };
    await this.#run(render(want));
    return { repaired: true, reason };
  }

  /**
   * Removes our table (and nothing else); a missing table is fine. Throws NftApplyError when
   * nft fails.
   */
  async cleanup(): Promise<void> {
    // add+delete in one transaction: succeeds whether or not the table exists.
    await this.#run(`add table ${TABLE_REF}\ndelete table ${TABLE_REF}\n`);
    this.#programmed = undefined;
  }

  /** Per-chain counters of the programmed table (empty before the first apply or if missing). */
  async counters(): Promise<ChainCounter[]> {
    const want = this.#programmed;
    if (want === undefined) return [];
    const listing = await this.runner.listTable();
    return listing === null ? [] : chainCounters(parseCounters(listing), want);
  }

  async #run(script: string): Promise<void> {
    const r = await this.runner.run(script);
    if (!r.ok) throw applyError(r.stderr, script);
  }
}

/**
 * The shape we compare for drift: chain names with hook and rule count, set names with element
 * count, map entries. Cheap to compute on both sides and independent of how nft re-prints
 * expressions; a flushed or deleted chain, a lost element or a re-pointed interface shows.
 */
export function fingerprintState(state: NftState): string {
  const lines: string[] = [];
  for (const c of state.chains.values()) {
    lines.push(`chain ${c.name} ${c.hook ? c.hook.hook : "-"} ${c.rules.length}`);
  }
  for (const s of state.sets.values()) lines.push(`set ${s.name} ${s.type} ${s.elements.length}`);
  for (const m of state.maps.values()) {
    lines.push(`map ${m.name}`);
    for (const [k, v] of m.elements) lines.push(`elem ${m.name} ${k} ${v}`);
  }
  return lines.sort().join("\n");
}

/** The same shape from an `nft -j list table` document. Throws SyntaxError on bad JSON. */
export function fingerprintListing(json: string): string {
  const doc = JSON.parse(json) as { nftables?: Record<string, Record<string, unknown>>[] };
  const items = doc.nftables ?? [];
  const rules = new Map<string, number>();
  const lines: string[] = [];
  const chains: { name: string; hook: string }[] = [];
  for (const item of items) {
    if (item.chain) {
      chains.push({ name: String(item.chain.name), hook: String(item.chain.hook ?? "-") });
    } else if (item.rule) {
      const c = String(item.rule.chain);
      rules.set(c, (rules.get(c) ?? 0) + 1);
    } else if (item.set) {
      const elem = Array.isArray(item.set.elem) ? item.set.elem : [];
      lines.push(`set ${item.set.name} ${item.set.type} ${elem.length}`);
    } else if (item.map) {
      const name = String(item.map.name);
      lines.push(`map ${name}`);
      for (const e of Array.isArray(item.map.elem) ? item.map.elem : []) {
        const [k, v] = e as [unknown, { jump?: { target?: string } }];
        lines.push(`elem ${name} ${String(k)} ${v?.jump?.target ?? JSON.stringify(v)}`);
      }
    }
  }
  for (const c of chains) lines.push(`chain ${c.name} ${c.hook} ${rules.get(c.name) ?? 0}`);
  return lines.sort().join("\n");
}
