/**
 * Newline-delimited JSON over a child's pipes: the framing both the probe daemons
 * (netlab/probe.ts and probe_daemon.ts) and the benchmark helpers (scripts/bench_agent/rpc.ts)
 * speak. Written once so the splitting of a stream into lines, the writing of one message,
 * and the stopping of a child that will not exit behave the same on every side.
 */

const enc = new TextEncoder();

/**
 * Yields each line of `stream` (without its newline, empty lines included) as it arrives.
 * Text after the last newline is dropped (a half-written message) unless `tail` is set, as
 * for a log, whose last line may lack its newline.
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  { tail = false }: { tail?: boolean } = {},
): AsyncGenerator<string> {
  let buf = "";
  const dec = new TextDecoder();
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      yield line;
    }
  }
  if (tail && buf) yield buf;
}

/** The bytes of `msg` as one JSON line. */
export function encodeLine(msg: unknown): Uint8Array {
  return enc.encode(JSON.stringify(msg) + "\n");
}

/** Writes `msg` as one JSON line on this process's stdout (synchronously, so lines never mix). */
export function writeStdoutLine(msg: unknown): void {
  Deno.stdout.writeSync(encodeLine(msg));
}

/**
 * Waits for `child` to exit after its stdin was closed; one that has not gone after `graceMs`
 * is killed, so a stuck helper never holds up the test or benchmark that started it.
 */
export async function awaitExitOrKill(child: Deno.ChildProcess, graceMs = 3000): Promise<void> {
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, graceMs);
  await child.status;
  clearTimeout(timer);
}
