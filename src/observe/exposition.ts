/**
 * The Prometheus text exposition format, version 0.0.4: what `GET /metrics` returns. Written
 * here rather than taken from a client library because the format is small, the agent needs
 * no registry (every scrape builds its families afresh from the agent's state), and keeping it
 * pure makes the output easy to check in unit tests.
 *
 * Format summary (as Prometheus parses it):
 * ```
 * # HELP <name> <help with \ and newline escaped>
 * # TYPE <name> counter|gauge|histogram|untyped
 * <name>{<label>="<value with \ " newline escaped>",...} <value>
 * ```
 * A histogram family `x` is written as `x_bucket{...,le="<bound>"}` lines with cumulative
 * counts (the last one `le="+Inf"`), then `x_sum` and `x_count`.
 */

/** The Content-Type of a 0.0.4 text exposition. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label name -> value, written in insertion order. */
export type Labels = Readonly<Record<string, string>>;

/** One line of a counter, gauge or untyped family. */
export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
}

/** One bucket of a histogram: how many observations were `<= le` (cumulative). */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/** One labelled histogram: finite upper bounds ascending (`+Inf` is added by the encoder). */
export interface HistogramSample {
  readonly labels?: Labels;
  readonly buckets: readonly Bucket[];
  /** Number of observations; the `+Inf` bucket's count. */
  readonly count: number;
  readonly sum: number;
}

/** A metric family: a name, its help text and type, and its samples. */
export type MetricFamily =
  | {
    readonly name: string;
    readonly help: string;
    readonly type: "counter" | "gauge" | "untyped";
    readonly samples: readonly Sample[];
  }
  | {
    readonly name: string;
    readonly help: string;
    readonly type: "histogram";
    readonly samples: readonly HistogramSample[];
  };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A sample value as Prometheus parses it: `NaN`, `+Inf`, `-Inf`, or the shortest decimal that
 * round-trips (JavaScript's `String(n)`, whose exponent form `1e+21` Prometheus also accepts).
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** A label value with `\`, `"` and newline escaped, in double quotes. */
export function escapeLabelValue(value: string): string {
  return `"${value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))}"`;
}

/** HELP text with `\` and newline escaped (quotes stay as they are in HELP). */
export function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/**
 * Encodes families in the order given. Throws TypeError for an invalid metric or label name,
 * a duplicate family name, or a histogram sample using the reserved `le` label, and
 * RangeError for histogram buckets that are not ascending and cumulative. Those are
 * programming errors: the families are built by our own code, never from user input alone.
 */
export function encodeText(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new TypeError(`Invalid metric name '${f.name}'`);
    if (seen.has(f.name)) throw new TypeError(`Duplicate metric family '${f.name}'`);
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    if (f.type === "histogram") {
      for (const h of f.samples) _histogramLines(f.name, h, out);
    } else {
      for (const s of f.samples) {
        out.push(`${f.name}${_labelText(f.name, s.labels)} ${formatValue(s.value)}`);
      }
    }
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

function _histogramLines(name: string, h: HistogramSample, out: string[]): void {
  if (h.labels !== undefined && "le" in h.labels) {
    throw new TypeError(`Histogram '${name}' uses the reserved label 'le'`);
  }
  let lastLe = -Infinity;
  let lastCount = 0;
  for (const b of h.buckets) {
    if (!Number.isFinite(b.le) || b.le <= lastLe) {
      throw new RangeError(
        `Histogram '${name}': bucket bounds must be finite and ascending (got ${b.le} after ${lastLe})`,
      );
    }
    if (b.count < lastCount) {
      throw new RangeError(`Histogram '${name}': bucket counts must be cumulative (le=${b.le})`);
    }
    lastLe = b.le;
    lastCount = b.count;
    out.push(`${name}_bucket${_labelText(name, h.labels, formatValue(b.le))} ${b.count}`);
  }
  if (h.count < lastCount) {
    throw new RangeError(`Histogram '${name}': count ${h.count} is below its last bucket`);
  }
  out.push(`${name}_bucket${_labelText(name, h.labels, "+Inf")} ${h.count}`);
  out.push(`${name}_sum${_labelText(name, h.labels)} ${formatValue(h.sum)}`);
  out.push(`${name}_count${_labelText(name, h.labels)} ${h.count}`);
}

function _labelText(metric: string, labels: Labels | undefined, le?: string): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!LABEL_NAME.test(k) || k.startsWith("__")) {
      throw new TypeError(`Invalid label name '${k}' on metric '${metric}'`);
    }
    parts.push(`${k}=${escapeLabelValue(v)}`);
  }
  if (le !== undefined) parts.push(`le="${le}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}
