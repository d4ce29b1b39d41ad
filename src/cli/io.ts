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
  /** All of standard input, for `-f -`. */
  readStdin(): Promise<string>;
  /** A file's text, for `-f FILE`; throws the runtime's error when unreadable. */
  readFile(path: string): Promise<string>;
  /**
   * Resolves the connection (flags, `-c` file, environment) and opens the store. Throws
   * ConnectionConfigError for unusable settings; nothing is contacted until the first call.
   */
  openStore(opts: ConnectionOptions): Promise<ResourceStore>;
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
    readStdin: async () => await new Response(Deno.stdin.readable).text(),
    readFile: (path) => Deno.readTextFile(path),
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
