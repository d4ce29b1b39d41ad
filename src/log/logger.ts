/**
 * Felix-style logging: `2026-11-27 02:55:43.123 [INFO][1234] calc: message`, with one level
 * threshold per sink (screen, file). Operators grep these lines, so the format is stable.
 */

export type Severity = "DEBUG" | "INFO" | "WARNING" | "ERROR" | "FATAL";

const RANK: Record<Severity, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, FATAL: 50 };

/** What every stage logs through; `module` names the stage so lines can be filtered. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  fatal(message: string): void;
  /** A logger whose lines carry another module name, sharing the same sinks. */
  child(module: string): Logger;
}

/** Where lines go; `null` severity switches a sink off. */
export interface LogSink {
  readonly severity: Severity | null;
  write(line: string): void;
}

/** Formats one line; exported for tests and for tools that parse our logs. */
export function formatLine(now: Date, severity: Severity, module: string, message: string): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${now.getUTCFullYear()}-${pad(now.getUTCMonth() + 1)}-${pad(now.getUTCDate())} ` +
    `${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())}.` +
    pad(now.getUTCMilliseconds(), 3);
  return `${stamp} [${severity}][${Deno.pid}] ${module}: ${message}`;
}

/**
 * The longest message written as it is. Values in messages are already cut and escaped
 * (quote.ts); this is the backstop so that no message, however built, makes a huge log line
 * or sends control characters to a terminal.
 */
export const LOG_MAX_MESSAGE_CHARS = 8192;

/** Control characters other than newline and tab, escaped (a backstop, as for length). */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function _bounded(message: string): string {
  const m = message.length <= LOG_MAX_MESSAGE_CHARS
    ? message
    : `${message.slice(0, LOG_MAX_MESSAGE_CHARS)}... (message cut: ${message.length} characters)`;
  return m.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

class SinkLogger implements Logger {
  constructor(
    private readonly sinks: readonly LogSink[],
    private readonly module: string,
    private readonly clock: () => Date,
  ) {}
  private emit(severity: Severity, message: string) {
    let line: string | undefined;
    for (const sink of this.sinks) {
      if (sink.severity === null || RANK[severity] < RANK[sink.severity]) continue;
      line ??= formatLine(this.clock(), severity, this.module, _bounded(message));
      sink.write(line);
    }
  }
  debug(m: string) {
    this.emit("DEBUG", m);
  }
  info(m: string) {
    this.emit("INFO", m);
  }
  warning(m: string) {
    this.emit("WARNING", m);
  }
  error(m: string) {
    this.emit("ERROR", m);
  }
  fatal(m: string) {
    this.emit("FATAL", m);
  }
  child(module: string): Logger {
    return new SinkLogger(this.sinks, module, this.clock);
  }
}

/** A logger over the given sinks. */
export function createLogger(
  sinks: readonly LogSink[],
  module = "hostfence",
  clock: () => Date = () => new Date(),
): Logger {
  return new SinkLogger(sinks, module, clock);
}

const encoder = new TextEncoder();

/** Writes to standard error, so standard output stays clean for command results. */
export function screenSink(severity: Severity | null): LogSink {
  return { severity, write: (line) => Deno.stderr.writeSync(encoder.encode(line + "\n")) };
}

/** Appends to a file, creating its directory; the file stays open for the process lifetime. */
export function fileSink(path: string, severity: Severity | null): LogSink {
  const dir = path.replace(/\/[^/]*$/, "");
  if (dir && dir !== path) Deno.mkdirSync(dir, { recursive: true });
  const file = Deno.openSync(path, { append: true, create: true });
  return { severity, write: (line) => file.writeSync(encoder.encode(line + "\n")) };
}

/** Collects lines in memory: for tests. */
export function memorySink(severity: Severity = "DEBUG"): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { severity, lines, write: (line) => lines.push(line) };
}

/** A logger that drops everything: for pure code under test that needs one. */
export const silentLogger: Logger = createLogger([]);
