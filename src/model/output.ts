/**
 * Printing resources the way calicoctl v1 `get` did: YAML and JSON documents
 * (always a list) and the `ps`/`wide`/`custom-columns` tables.
 *
 * The printed object follows the Go v1 API structs: JSON keys in struct declaration order,
 * `omitempty` fields left out when empty, `metadata`, `spec`, a rule's `action`, `source`
 * and `destination` and a policy's `selector` always present. YAML sorts every map's keys
 * (calicoctl converted JSON to YAML through a map) and JSON keeps struct order with
 * two-space indentation and Go's escaping of `<`, `>`, `&`. Pure.
 */
import { stringify } from "yaml";
import type { Port, Resource, ResourceKind, Rule } from "./resources.ts";
import {
  type Codec,
  type Field,
  type FieldTable,
  requiredDefaults,
  v1OutputFields,
} from "./fields/table.ts";
import { KIND_FIELDS } from "./fields/kinds.ts";
import { ENTITY_FIELDS, ICMP_FIELDS, RULE_FIELDS } from "./fields/rule.ts";

type Obj = Record<string, unknown>;

/**
 * The resources as calicoctl `get -o yaml` / `-o json` printed them: always a sequence
 * (an empty result is `[]`), ending with a newline. YAML output parses back (through
 * parseResources) to equal resources.
 */
export function formatResources(resources: readonly Resource[], format: "yaml" | "json"): string {
  return calicoctlText(resources.map(resourceToApiObject), format);
}

/**
 * A printed object as calicoctl wrote it (v1 and v3 alike): JSON with two-space indentation
 * and Go's escaping of `<`, `>`, `&`, U+2028 and U+2029; YAML with every map's keys sorted
 * (calicoctl converted JSON to YAML through a map). Ends with a newline.
 */
export function calicoctlText(v: unknown, format: "yaml" | "json"): string {
  if (format === "json") {
    return JSON.stringify(v, null, 2)
      .replaceAll("<", "\\u003c")
      .replaceAll(">", "\\u003e")
      .replaceAll("&", "\\u0026")
      .replaceAll("\u2028", "\\u2028")
      .replaceAll("\u2029", "\\u2029") + "\n";
  }
  return stringify(v, { sortMapEntries: true, indentSeq: false, lineWidth: 0 });
}

/**
 * One resource as the plain object calicoctl's v1 API struct marshals to, keys in struct
 * order (for JSON, go-template style access and tests).
 */
export function resourceToApiObject(r: Resource): Obj {
  const table = KIND_FIELDS[r.kind];
  return {
    kind: r.kind,
    apiVersion: "v1",
    metadata: printFields(v1OutputFields(table, true), r.metadata as Obj),
    spec: printFields(v1OutputFields(table, false), r.spec as Obj),
  };
}

function _rule(r: Rule): Obj {
  return printFields(RULE_FIELDS, r as unknown as Obj);
}

/** The printed form of each codec's value (absent: the value as it is). */
const WRITERS: Partial<Record<Codec, (v: unknown, f: Field) => unknown>> = {
  ports: (v) => (v as Port[] | undefined)?.map(portToApi),
  icmp: (v) => v && printFields(ICMP_FIELDS, v as Obj),
  // A rule's sides are always printed, an empty one as `{}`.
  entity: (v) => printFields(ENTITY_FIELDS, (v ?? {}) as Obj),
  rules: (v) => (v as Rule[] | undefined)?.map(_rule),
  labels: (v) => sortedStringMap(v as Record<string, string> | undefined),
  struct: (v, f) => v && printFields(f.fields ?? [], v as Obj),
  structs: (v, f) => (v as Obj[] | undefined)?.map((x) => printFields(f.fields ?? [], x)),
};

/** A part printed field by field in table order; `omitempty` but for `always` fields. */
export function printFields(table: FieldTable, v: Obj): Obj {
  const o: Obj = {};
  for (const f of table) {
    const write = WRITERS[f.codec];
    const x = write ? write(v[f.key], f) : v[f.key];
    if (f.always) o[f.key] = x ?? (f.required ? requiredDefaults([f])[f.key] : x);
    else putOmitEmpty(o, f.key, x);
  }
  return o;
}

/** A port as calicoctl printed it: a number, `"min:max"` for a range, or a port name. */
export function portToApi(p: Port): number | string {
  if (typeof p === "number" || typeof p === "string") return p;
  return p.min === p.max ? p.min : `${p.min}:${p.max}`;
}

/** Go `omitempty`: leaves out absent values, `""`, `false`, empty lists and empty maps. */
export function putOmitEmpty(o: Obj, key: string, v: unknown): void {
  if (v === undefined || v === null || v === "" || v === false) return;
  if (Array.isArray(v) && v.length === 0) return;
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A string map with keys sorted (Go's JSON encoder sorts map keys); empty -> undefined. */
export function sortedStringMap(m: Readonly<Record<string, string>> | undefined): Obj | undefined {
  if (!m) return undefined;
  const keys = Object.keys(m).sort();
  if (keys.length === 0) return undefined;
  const o: Obj = {};
  for (const k of keys) {
    Object.defineProperty(o, k, {
      value: m[k],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return o;
}

// ---------------------------------------------------------------------------------------
// Tables.

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
