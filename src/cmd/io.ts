/**
 * The CLI's edges: standard streams, files, the environment and the datastore, behind one
 * small interface so the command logic can be tested without a process or an etcd.
 */
import type { ConnectionOptions } from "../datastore/connection.ts";
import type { ResourceStore } from "../datastore/store.ts";

/** Everything a command touches outside itself. */
export interface CliIo {
  /** Writes command results to standard output (text as given, no newline added). */
  out(text: string): void;
  /** Writes errors to standard error (text as given). */
  err(text: string): void;
  /**
   * All of standard input, for `-f -`, as bytes. Throws InputTooLargeError as soon as more
   * than `maxBytes` arrive, so a huge input never sits in memory.
   */
  readStdin(maxBytes: number): Promise<Uint8Array>;
  /**
   * A file's bytes, for `-f FILE`; throws the runtime's error when unreadable and
   * InputTooLargeError when it holds more than `maxBytes`.
   */
  readFile(path: string, maxBytes: number): Promise<Uint8Array>;
  /**
   * Resolves the connection (flags, `-c` file, environment) and opens the store. Throws
   * ConnectionConfigError for unusable settings; nothing is contacted until the first call.
   */
  openStore(opts: ConnectionOptions): Promise<ResourceStore>;
}

/** The two streams: all that commands which read no input and open no store write to. */
export type Streams = Pick<CliIo, "out" | "err">;

/**
 * One command of the CLI: the arguments after its name and the process's edges; gives the
 * exit code. Every command in src/cmd has this shape, so each is tested the same way.
 */
export type Command = (args: string[], io: CliIo) => Promise<number>;

/** An input file or standard input larger than the limit (`--max-input-bytes`). */
export class InputTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`input is larger than ${maxBytes} bytes`);
    this.name = "InputTooLargeError";
  }
}

/** Reads `stream` to the end, or throws InputTooLargeError once it passes `maxBytes`. */
export async function readBounded(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) throw new InputTooLargeError(maxBytes);
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const encoder = new TextEncoder();

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

/** The real process: Deno's streams and files, etcd through openResourceStore. */
export function processIo(): CliIo {
  return {
    out: (text) => writeAll(Deno.stdout, text),
    err: (text) => writeAll(Deno.stderr, text),
    readStdin: (maxBytes) => readBounded(Deno.stdin.readable, maxBytes),
    readFile: async (path, maxBytes) => {
      const file = await Deno.open(path);
      const info = await file.stat();
      if (info.isDirectory) {
        file.close();
        throw new Deno.errors.IsADirectory(path);
      }
      if (info.isFile && info.size > maxBytes) {
        file.close();
        throw new InputTooLargeError(maxBytes);
      }
      return await readBounded(file.readable, maxBytes);
    },
    openStore: async (opts) => {
      // Loaded here, not at the top: commands that never open the store (version, help)
      // must not pay for the etcd client and gRPC.
      const [{ resolveConnectionConfig }, { openResourceStore }, { createLogger, screenSink }] =
        await Promise.all([
          import("../datastore/connection.ts"),
          import("../datastore/etcd_store.ts"),
          import("../log/logger.ts"),
        ]);
      const conn = await resolveConnectionConfig(opts);
      // Bad data found in etcd is reported (key and reason) and skipped, not fatal.
      return openResourceStore(conn, createLogger([screenSink("WARNING")], "datastore"));
    },
  };
}
