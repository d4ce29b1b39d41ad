import { errorMessage } from "../../src/util/error_message.ts";
import {
  awaitExitOrKill,
  encodeLine,
  readLines,
  writeStdoutLine,
} from "../../netlab/json_lines.ts";
/**
 * JSON lines between the benchmark driver and its helper processes (one per namespace): the
 * driver sends `{id, op, ...}`, the helper answers `{id, result}` or `{id, error}` and may emit
 * `{event, ...}` lines at any time. One tiny protocol, so each helper is a plain `deno run`
 * inside `ip netns exec` and dies with its namespace.
 */

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

type Json = Record<string, unknown>;

/** The helper side: serves `handlers` on stdin/stdout until stdin closes. */
export async function serve(
  handlers: Record<string, (req: Json) => unknown | Promise<unknown>>,
): Promise<void> {
  for await (const line of readLines(Deno.stdin.readable)) {
    if (line.trim() === "") continue;
    const req = JSON.parse(line) as Json;
    const h = handlers[String(req.op)];
    // Requests run concurrently; each answers when it is done.
    (async () => {
      try {
        if (!h) throw new Error(`unknown op '${req.op}'`);
        writeStdoutLine({ id: req.id, result: (await h(req)) ?? null });
      } catch (err) {
        writeStdoutLine({ id: req.id, error: errorMessage(err) });
      }
    })();
  }
}

/** Writes one event line from a helper. */
export function emit(event: string, data: Json = {}): void {
  writeStdoutLine({ event, ...data });
}

/** The driver side: one helper process. */
export class Helper implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #next = 1;
  #stderr = "";
  #exited = false;
  readonly events: Json[] = [];
  onEvent: ((e: Json) => void) | undefined;

  constructor(readonly name: string, argv: readonly string[]) {
    const [cmd, ...args] = argv;
    const child = this.#child = new Deno.Command(cmd!, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#read();
    (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr = (this.#stderr + c).slice(-4000);
      }
    })().catch(() => {});
    this.#child.status.then(() => {
      this.#exited = true;
      for (const p of this.#pending.values()) {
        p.reject(new Error(`${this.name} exited; stderr: ${this.#stderr.trim()}`));
      }
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  async #read() {
    for await (const line of readLines(this.#child.stdout)) {
      let msg: Json;
      try {
        msg = JSON.parse(line) as Json;
      } catch {
        continue;
      }
      if (typeof msg.event === "string") {
        this.events.push(msg);
        this.onEvent?.(msg);
        continue;
      }
      const p = this.#pending.get(Number(msg.id));
      if (!p) continue;
      this.#pending.delete(Number(msg.id));
      if (typeof msg.error === "string") p.reject(new Error(`${this.name}: ${msg.error}`));
      else p.resolve(msg.result);
    }
  }

  /** Sends one request and waits for its answer. */
  async call<T = unknown>(op: string, args: Json = {}): Promise<T> {
    if (this.#exited) throw new Error(`${this.name} has exited; stderr: ${this.#stderr.trim()}`);
    const id = this.#next++;
    const done = new Promise<unknown>((resolve, reject) =>
      this.#pending.set(id, { resolve, reject })
    );
    await this.#writer.write(encodeLine({ id, op, ...args }));
    return await done as T;
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await awaitExitOrKill(this.#child);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
