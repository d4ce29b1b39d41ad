/**
 * calicoctl v1 `get`'s tables: `ps`, `wide` and `custom-columns`, aligned as Go's tabwriter
 * aligned them. Apart from the documents (output.ts) so that printing a table loads no YAML
 * library. Pure.
 */
import type { Resource, ResourceKind } from "./resources.ts";

type Cell = (r: Resource, opts: TableOptions) => string;

/** Options for formatTable. */
export interface TableOptions {
  /** Explicit headings (`-o custom-columns=A,B`); otherwise the kind's ps or wide set. */
  readonly columns?: readonly string[];
  /** Printed in brackets for nodes whose BGP spec has no AS number; default `64512`. */
  readonly defaultAsNumber?: string;
}

const _join = (xs: readonly unknown[] | undefined) => (xs ?? []).map(String).join(",");

/** Per kind: every heading calicoctl knew, and how to fill it. */
const COLUMNS: Record<ResourceKind, Record<string, Cell>> = {
  node: {
    NAME: (r) => r.metadata.name,
    ASN: (r, o) => {
      if (r.kind !== "node" || !r.spec.bgp) return "";
      const asn = r.spec.bgp.asNumber;
      return asn !== undefined ? String(asn) : `(${o.defaultAsNumber ?? "64512"})`;
    },
    IPV4: (r) => (r.kind === "node" ? r.spec.bgp?.ipv4Address ?? "" : ""),
    IPV6: (r) => (r.kind === "node" ? r.spec.bgp?.ipv6Address ?? "" : ""),
  },
  hostEndpoint: {
    NODE: (r) => (r.kind === "hostEndpoint" ? r.metadata.node : ""),
    NAME: (r) => r.metadata.name,
    INTERFACE: (r) => (r.kind === "hostEndpoint" ? r.spec.interfaceName ?? "" : ""),
    IPS: (r) => (r.kind === "hostEndpoint" ? _join(r.spec.expectedIPs) : ""),
    PROFILES: (r) => (r.kind === "hostEndpoint" ? _join(r.spec.profiles) : ""),
  },
  policy: {
    NAME: (r) => r.metadata.name,
    ORDER: (r) => (r.kind === "policy" && r.spec.order !== undefined ? goFloat(r.spec.order) : ""),
    SELECTOR: (r) => (r.kind === "policy" ? r.spec.selector : ""),
  },
  profile: {
    NAME: (r) => r.metadata.name,
    TAGS: (r) => (r.kind === "profile" ? _join(r.metadata.tags) : ""),
  },
  workloadEndpoint: {
    NODE: (r) => (r.kind === "workloadEndpoint" ? r.metadata.node : ""),
    ORCHESTRATOR: (r) => (r.kind === "workloadEndpoint" ? r.metadata.orchestrator : ""),
    WORKLOAD: (r) => (r.kind === "workloadEndpoint" ? r.metadata.workload : ""),
    NAME: (r) => r.metadata.name,
    NETWORKS: (r) => (r.kind === "workloadEndpoint" ? _join(r.spec.ipNetworks) : ""),
    NATS: (r) =>
      r.kind === "workloadEndpoint"
        ? (r.spec.ipNATs ?? []).map((n) => `${n.internalIP}<>${n.externalIP}`).join(",")
        : "",
    INTERFACE: (r) => (r.kind === "workloadEndpoint" ? r.spec.interfaceName : ""),
    PROFILES: (r) => (r.kind === "workloadEndpoint" ? _join(r.spec.profiles) : ""),
  },
  networkSet: {
    NAME: (r) => r.metadata.name,
    NETS: (r) => (r.kind === "networkSet" ? _join(r.spec.nets) : ""),
    LABELS: (r) =>
      r.kind === "networkSet"
        ? Object.keys(r.metadata.labels ?? {}).sort().map((k) => `${k}=${r.metadata.labels![k]}`)
          .join(",")
        : "",
  },
};

const DEFAULT_HEADINGS: Record<ResourceKind, { ps: string[]; wide: string[] }> = {
  node: { ps: ["NAME"], wide: ["NAME", "ASN", "IPV4", "IPV6"] },
  hostEndpoint: { ps: ["NODE", "NAME"], wide: ["NODE", "NAME", "INTERFACE", "IPS", "PROFILES"] },
  policy: { ps: ["NAME"], wide: ["NAME", "ORDER", "SELECTOR"] },
  profile: { ps: ["NAME"], wide: ["NAME", "TAGS"] },
  workloadEndpoint: {
    ps: ["NODE", "ORCHESTRATOR", "WORKLOAD", "NAME"],
    wide: [
      "NODE",
      "ORCHESTRATOR",
      "WORKLOAD",
      "NAME",
      "NETWORKS",
      "NATS",
      "INTERFACE",
      "PROFILES",
    ],
  },
  networkSet: { ps: ["NAME"], wide: ["NAME", "NETS", "LABELS"] },
};

/** The headings `ps` (or `wide`) prints for a kind. */
export function tableHeadings(kind: ResourceKind, wide: boolean): readonly string[] {
  return wide ? DEFAULT_HEADINGS[kind].wide : DEFAULT_HEADINGS[kind].ps;
}

/** Every heading `custom-columns` accepts for a kind. */
export function validTableColumns(kind: ResourceKind): readonly string[] {
  return Object.keys(COLUMNS[kind]);
}

/**
 * calicoctl's table output for the resources of one kind (others are skipped): a heading
 * row and one row per resource, aligned as Go's tabwriter (minwidth 5, padding 3) aligned
 * them, then a blank line. Headings in `options.columns` are matched case-insensitively;
 * an unknown one throws RangeError naming the valid headings.
 */
export function formatTable(
  resources: readonly Resource[],
  kind: ResourceKind,
  wide: boolean,
  options: TableOptions = {},
): string {
  const cols = COLUMNS[kind];
  const headings = (options.columns ?? tableHeadings(kind, wide)).map((h) => {
    const up = h.trim().toUpperCase();
    if (!Object.hasOwn(cols, up)) {
      throw new RangeError(
        `Unrecognized column '${h}' for ${kind}; valid columns are: ${
          Object.keys(cols).join(", ")
        }`,
      );
    }
    return up;
  });
  const rows = [headings];
  for (const r of resources) {
    if (r.kind !== kind) continue;
    rows.push(headings.map((h) => cols[h]!(r, options)));
  }
  return tabwriter(rows) + "\n";
}

/**
 * Go's text/tabwriter with calicoctl's settings (minwidth 5, tabwidth 1, padding 3, spaces):
 * every cell but the last of a row is padded to its column's width, which is the widest
 * such cell plus 3, and at least 5. The last cell of each row is printed as it is.
 */
export function tabwriter(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i === row.length - 1) return;
      widths[i] = Math.max(widths[i] ?? 5, _width(cell) + 3);
    });
  }
  return rows.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell + " ".repeat(widths[i]! - _width(cell)))
      .join("") + "\n"
  ).join("");
}

function _width(s: string): number {
  return [...s].length;
}

/** A float64 as Go's `%v` prints it (`100`, `0.5`, `1e+06`, `1.5e-05`). */
export function goFloat(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const [mant, expText] = v.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? "-" : "+";
    const digits = String(Math.abs(exp)).padStart(2, "0");
    return `${mant}e${sign}${digits}`;
  }
  return String(v);
}
