/**
 * The edge where desired state meets the kernel: `NftDataplane` applies each change as one
 * `nft -f -` transaction, remembers what is programmed only after nft accepted it, repairs
 * drift, and removes our table on shutdown. nft itself sits behind `NftRunner` so unit tests
 * run without root and system tests can aim the real binary at a network namespace.
 */
import type { HostState, HostStateSource } from "../calc/host_state.ts";
import { type ChainCounter, chainCounters, parseCounters } from "./nft_counters.ts";
import { DesiredTable } from "./desired.ts";
import { TABLE_FAMILY, TABLE_NAME, TABLE_REF } from "./names.ts";
import { planChanges, planUpdate, render } from "./render.ts";
import type { NftState } from "./state.ts";
import { quote } from "../log/quote.ts";
import { errorMessage } from "../util/error_message.ts";

/** Runs nft. `run` feeds a script to `nft -f -`; `listTable` is `nft -j list table` or null. */
export interface NftRunner {
  run(script: string): Promise<{ ok: boolean; stderr: string }>;
  /**
   * JSON listing of our table (or of `table`, same family); null when the table does not
   * exist. Throws on other failures.
   */
  listTable(table?: string): Promise<string | null>;
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
      return { code: -1, stdout: "", stderr: `Cannot run '${cmd}': ${errorMessage(e)}` };
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
    async listTable(table = TABLE_NAME) {
      const r = await exec(["-j", "list", "table", TABLE_FAMILY, table]);
      if (r.code === 0) return r.stdout;
      if (/No such file or directory/.test(r.stderr)) return null;
      throw new Error(
        `Listing table ${TABLE_FAMILY} ${table} failed: ${r.stderr.trim() || `exit ${r.code}`}`,
      );
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
  /** Set when an incremental transaction was refused and the full program went in instead. */
  readonly recovered?: string;
}

/** What a drift check found. */
export interface RefreshResult {
  /** True when the table was re-programmed. */
  readonly repaired: boolean;
  /** Why: `missing`, `differs`, or undefined when nothing was wrong. */
  readonly reason?: "missing" | "differs";
}

/**
 * The nftables dataplane driver: keeps the desired table object by object and applies each
 * change as one transaction. Calls must not overlap (the agent's loop serialises them).
 *
 * Two ways in: `applyChanges(source)` (the agent's path) turns the calculation's change
 * report into a transaction over just the touched objects; `apply(host)` / `applyState(state)`
 * diff whole states (tests, config changes). Whenever nft refuses an incremental transaction
 * the driver at once tries the full program of the desired state, so a table someone deleted
 * or damaged is rebuilt by the next change rather than the next refresh.
 */
export class NftDataplane {
  #programmed: NftState | undefined;
  #table: DesiredTable | undefined;
  /** The kernel may not hold `#table`: the next apply programs it whole. */
  #stale = false;
  #transactions = 0;
  /** Increases whenever the programmed content changes (the scratch reference is per version). */
  #version = 0;
  #referenceOf: { version: number; state: NftState; text: string } | undefined;
  constructor(private readonly runner: NftRunner = commandRunner()) {}

  /** The state nft last accepted; undefined before the first success and after cleanup. */
  get programmed(): NftState | undefined {
    return this.#programmed;
  }

  /** How many nft transactions have been run (for the benchmark and metrics). */
  get transactions(): number {
    return this.#transactions;
  }

  /**
   * Applies a whole HostState (see applyState), or what changed in a running calculation
   * (see applyChanges): the agent's loop passes the calculation itself.
   */
  apply(input: HostState | HostStateSource): Promise<ApplyResult> {
    return "takeChanges" in input ? this.applyChanges(input) : this.#applyHost(input);
  }

  /** Builds the table for `host` and applies it (see applyState). */
  async #applyHost(host: HostState): Promise<ApplyResult> {
    const table = DesiredTable.build(host);
    const r = await this.applyState(table.state);
    this.#table = table;
    return r;
  }

  /**
   * Applies `next` as one transaction: the full program the first time (replacing any table
   * an earlier run left), else only the differences. Throws NftApplyError quoting nft's
   * message and line when nft refuses; the programmed state is then unchanged (nft applied
   * nothing) and the caller retries later.
   */
  async applyState(next: NftState): Promise<ApplyResult> {
    const previous = this.#stale ? undefined : this.#programmed;
    const script = planUpdate(previous, next);
    this.#table = undefined;
    if (script !== "") await this.#run(script);
    this.#programmed = next;
    this.#stale = false;
    return { changed: script !== "", script };
  }

  /**
   * Applies what changed in `source` since the last call. The first call, a config change
   * and any call after a failure program the whole table; otherwise only the objects the
   * changes touched go into the transaction. Throws NftApplyError when nft refuses even the
   * full program (nothing applied; the next call programs the whole table again).
   */
  async applyChanges(source: HostStateSource): Promise<ApplyResult> {
    const changes = source.takeChanges();
    const table = this.#table;
    if (table === undefined || this.#stale || changes.full) {
      return await this.apply(source.hostState());
    }
    let script: string;
    try {
      script = planChanges(table.update(source.view(), changes), table.state);
    } catch (err) {
      this.#stale = true; // the table is half-updated: rebuild it from the source next time
      this.#table = undefined;
      throw err;
    }
    if (script === "") return { changed: false, script };
    try {
      await this.#run(script);
      this.#programmed = table.state;
      return { changed: true, script };
    } catch (err) {
      // The kernel's table is not what we think (deleted, edited, or nft refused): program it
      // whole now; if that fails too, the caller retries and we try the whole table again.
      this.#stale = true;
      const full = render(table.state);
      await this.#run(full);
      this.#stale = false;
      this.#programmed = table.state;
      return {
        changed: true,
        script: full,
        recovered: errorMessage(err),
      };
    }
  }

  /**
   * Drift check: lists our table and compares it with what we programmed, in two steps. The
   * shape (chains with rule counts and hooks, set sizes, dispatch entries) is compared first;
   * then the content: the desired state is loaded into a scratch table without hooks (it sees
   * no packet), listed, and removed, so nft prints both sides and any edited rule, element or
   * comment shows. The scratch listing is kept until the desired state changes. Re-programs
   * fully when the table is missing or differs. Does nothing before the first successful
   * apply. Throws NftApplyError when the repair is refused, or Error when a listing fails.
   */
  async refresh(): Promise<RefreshResult> {
    const want = this.#programmed;
    if (want === undefined) return { repaired: false };
    const listing = await this.runner.listTable();
    let reason: RefreshResult["reason"];
    if (listing === null) reason = "missing";
    else if (fingerprintListing(listing) !== fingerprintState(want)) reason = "differs";
    else if (normalisedListing(listing) !== await this.#reference(want)) reason = "differs";
    if (reason === undefined) return { repaired: false };
    await this.#run(render(want));
    this.#stale = false;
    return { repaired: true, reason };
  }

  /** nft's own listing of `want`, normalised (see refresh), from the scratch table. */
  async #reference(want: NftState): Promise<string> {
    const version = this.#version;
    if (this.#referenceOf?.version === version && this.#referenceOf.state === want) {
      return this.#referenceOf.text;
    }
    const drop =
      `add table ${TABLE_FAMILY} ${SCRATCH_TABLE}\ndelete table ${TABLE_FAMILY} ${SCRATCH_TABLE}\n`;
    await this.#run(render(want, { table: SCRATCH_TABLE, noHooks: true }), false);
    let json: string | null;
    try {
      json = await this.runner.listTable(SCRATCH_TABLE);
    } finally {
      await this.#run(drop, false);
    }
    if (json === null) throw new Error(`The scratch table ${SCRATCH_TABLE} vanished while listed`);
    const text = normalisedListing(json);
    this.#referenceOf = { version, state: want, text };
    return text;
  }
  /**
   * Removes our table (and nothing else); a missing table is fine. Throws NftApplyError when
   * nft fails.
   */
  async cleanup(): Promise<void> {
    // add+delete in one transaction: succeeds whether or not the table exists.
    await this.#run(`add table ${TABLE_REF}\ndelete table ${TABLE_REF}\n`);
    this.#programmed = undefined;
    this.#table = undefined;
  }

  /** Per-chain counters of the programmed table (empty before the first apply or if missing). */
  async counters(): Promise<ChainCounter[]> {
    const want = this.#programmed;
    if (want === undefined) return [];
    const listing = await this.runner.listTable();
    return listing === null ? [] : chainCounters(parseCounters(listing), want);
  }

  /** Runs one transaction; `ours` is false for the drift check's scratch table. */
  async #run(script: string, ours = true): Promise<void> {
    this.#transactions++;
    if (ours) this.#version++;
    const r = await this.runner.run(script);
    if (!r.ok) throw applyError(r.stderr, script);
  }
}

/** The drift check's scratch copy of the desired table (never hooked, removed at once). */
export const SCRATCH_TABLE = "hostfence-check";

/**
 * An `nft -j list table` document reduced to what we program, comparable across tables:
 * handles, the table name, counter values and base-chain hooks are dropped (hooks are in the
 * shape fingerprint; the scratch copy has none), set elements are sorted, objects are sorted
 * by kind and name, and rules keep their order within their chain. Throws SyntaxError on bad
 * JSON.
 */
export function normalisedListing(json: string): string {
  const doc = JSON.parse(json) as { nftables?: Record<string, Record<string, unknown>>[] };
  const strip = (v: unknown, key = ""): unknown => {
    if (Array.isArray(v)) {
      const xs = v.map((x) => strip(x));
      return key === "elem" ? xs.map((x) => JSON.stringify(x)).sort() : xs;
    }
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (DROPPED_FIELDS.has(k)) continue;
      out[k] = k === "counter" ? (x === null ? null : {}) : strip(x, k);
    }
    return out;
  };
  const rows: { key: string; text: string }[] = [];
  const ruleIndex = new Map<string, number>();
  for (const item of doc.nftables ?? []) {
    const [kind, body] = Object.entries(item)[0] ?? [];
    if (kind === undefined || kind === "metainfo" || kind === "table" || body === undefined) {
      continue;
    }
    let key = `${kind} ${String(body.name)}`;
    if (kind === "rule") {
      const chain = String(body.chain);
      const n = ruleIndex.get(chain) ?? 0;
      ruleIndex.set(chain, n + 1);
      key = `rule ${chain} ${String(n).padStart(8, "0")}`;
    }
    rows.push({ key, text: `${kind} ${JSON.stringify(strip(body))}` });
  }
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return rows.map((r) => r.text).join("\n");
}

const DROPPED_FIELDS: ReadonlySet<string> = new Set([
  "handle",
  "table",
  "family",
  "type",
  "hook",
  "prio",
  "policy",
  "packets",
  "bytes",
]);

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
  for (const s of state.sets.values()) lines.push(`set ${s.name} ${s.type} ${s.elements.size}`);
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
      const type = Array.isArray(item.set.type) ? item.set.type.join(" . ") : item.set.type;
      lines.push(`set ${item.set.name} ${type} ${elem.length}`);
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
