/**
 * Go `time.Duration` text (what Kubernetes-style v3 resources use, e.g. `90s`, `1m30s`,
 * `500ms`) to and from hostfence's seconds. Pure.
 */

const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  "µs": 1e-6,
  "μs": 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Go's time.ParseDuration, in seconds; undefined for text Go would refuse or a negative. */
export function parseGoDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const re = /([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  if (text === "") return undefined;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m || m[1] === "" || m[1] === ".") return undefined;
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    at = re.lastIndex;
  }
  return Number.isFinite(total) ? total : undefined;
}

/**
 * Seconds as Go's Duration.String() prints them: `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`
 * (to the nanosecond).
 */
export function formatGoDuration(seconds: number): string {
  let ns = Math.round(seconds * 1e9);
  if (ns === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  ns = Math.abs(ns);
  if (ns < 1e9) {
    const [unit, scale] = ns < 1e3 ? ["ns", 1] : ns < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
    return sign + _trim(ns / scale) + unit;
  }
  const h = Math.floor(ns / 3600e9);
  ns -= h * 3600e9;
  const m = Math.floor(ns / 60e9);
  ns -= m * 60e9;
  const s = _trim(ns / 1e9) + "s";
  if (h > 0) return `${sign}${h}h${m}m${s}`;
  if (m > 0) return `${sign}${m}m${s}`;
  return sign + s;
}

function _trim(v: number): string {
  return String(Number(v.toFixed(9)));
}
