/**
 * nft without a process per transaction: libnftables (the library the `nft` command is a thin
 * front end of) called through Deno's FFI. Starting `nft` costs milliseconds per change, more
 * than the transaction itself on a busy host; the library call costs microseconds. Each call
 * runs one script as one atomic transaction, exactly as `nft -f` does, on a worker thread so
 * the agent's loop keeps running. Where the library cannot be loaded (no FFI permission, no
 * libnftables.so.1) the caller falls back to the `nft` command.
 */
import { commandRunner, type NftRunner } from "./nft_dataplane.ts";
import { TABLE_FAMILY, TABLE_NAME } from "./names.ts";
import { errorMessage } from "../util/error_message.ts";

/** libnftables' output flag for JSON (`nft -j`). */
const NFT_CTX_OUTPUT_JSON = 1 << 4;

const SYMBOLS = {
  nft_ctx_new: { parameters: ["u32"], result: "pointer" },
  nft_ctx_free: { parameters: ["pointer"], result: "void" },
  nft_ctx_output_set_flags: { parameters: ["pointer", "u32"], result: "void" },
  nft_ctx_buffer_output: { parameters: ["pointer"], result: "i32" },
  nft_ctx_buffer_error: { parameters: ["pointer"], result: "i32" },
  nft_ctx_get_output_buffer: { parameters: ["pointer"], result: "pointer" },
  nft_ctx_get_error_buffer: { parameters: ["pointer"], result: "pointer" },
  nft_run_cmd_from_buffer: { parameters: ["pointer", "buffer"], result: "i32", nonblocking: true },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** One libnftables context; calls on it are serialised (a context is not reentrant). */
class _Context {
  readonly #ctx: Deno.PointerValue;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly lib: Lib, json: boolean) {
    this.#ctx = lib.symbols.nft_ctx_new(0);
    if (this.#ctx === null) throw new Error("nft_ctx_new failed");
    if (json) lib.symbols.nft_ctx_output_set_flags(this.#ctx, NFT_CTX_OUTPUT_JSON);
    lib.symbols.nft_ctx_buffer_output(this.#ctx);
    lib.symbols.nft_ctx_buffer_error(this.#ctx);
  }

  run(script: string): Promise<{ rc: number; out: string; err: string }> {
    const next = this.#queue.then(async () => {
      const rc = await this.lib.symbols.nft_run_cmd_from_buffer(
        this.#ctx,
        new TextEncoder().encode(script + "\0"),
      );
      return {
        rc,
        out: _cString(this.lib.symbols.nft_ctx_get_output_buffer(this.#ctx)),
        err: _cString(this.lib.symbols.nft_ctx_get_error_buffer(this.#ctx)),
      };
    });
    this.#queue = next.catch(() => {});
    return next;
  }
}

function _cString(p: Deno.PointerValue): string {
  return p === null ? "" : new Deno.UnsafePointerView(p).getCString();
}

/**
 * A runner on libnftables, or undefined (with the reason) when it cannot be loaded. A script
 * given as a buffer has no file name, and libnftables then quotes the wrong line in its
 * message; so when a transaction is refused, the script is checked once more with `nft -c`
 * (nothing applied) to get the message with its line, as the command runner reports it.
 */
export function libnftablesRunner(
  locate: (script: string) => Promise<string | undefined> = checkWithCommand,
): { runner?: NftRunner; reason?: string } {
  let lib: Lib;
  try {
    lib = Deno.dlopen("libnftables.so.1", SYMBOLS);
  } catch (err) {
    return { reason: errorMessage(err) };
  }
  let apply: _Context;
  let list: _Context;
  try {
    apply = new _Context(lib, false);
    list = new _Context(lib, true);
  } catch (err) {
    lib.close();
    return { reason: errorMessage(err) };
  }
  return {
    runner: {
      async run(script) {
        const r = await apply.run(script);
        if (r.rc === 0) return { ok: true, stderr: r.err };
        return { ok: false, stderr: (await locate(script).catch(() => undefined)) ?? r.err };
      },
      async listTable(table = TABLE_NAME) {
        const r = await list.run(`list table ${TABLE_FAMILY} ${table}`);
        if (r.rc === 0) return r.out;
        if (/No such file or directory/.test(r.err)) return null;
        throw new Error(
          `Listing table ${TABLE_FAMILY} ${table} failed: ${r.err.trim() || `error ${r.rc}`}`,
        );
      },
    },
  };
}

/** `nft -c -f -` of `script`: its message when the check fails, else undefined. */
async function checkWithCommand(script: string): Promise<string | undefined> {
  const child = new Deno.Command("nft", {
    args: ["-c", "-f", "-"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(script)).catch(() => {});
  await w.close().catch(() => {});
  const r = await child.output();
  return r.success ? undefined : new TextDecoder().decode(r.stderr);
}

/**
 * The runner the agent uses: libnftables in-process, unless `HOSTFENCE_NFT` names an `nft`
 * binary to run (tests, wrappers) or the library cannot be loaded; then the `nft` command.
 * `description` says which, for the start-up log.
 */
export function preferredRunner(): { runner: NftRunner; description: string } {
  let envNft: string | undefined;
  try {
    envNft = Deno.env.get("HOSTFENCE_NFT");
  } catch { /* no env permission: the default */ }
  if (envNft) return { runner: commandRunner(), description: `the nft command '${envNft}'` };
  const lib = libnftablesRunner();
  if (lib.runner !== undefined) return { runner: lib.runner, description: "libnftables" };
  return {
    runner: commandRunner(),
    description: `the nft command (libnftables not loaded: ${lib.reason})`,
  };
}
