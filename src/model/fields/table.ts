/**
 * The shape of a field table: one row per field of a resource part, naming it once for
 * every form hostfence reads and writes (v1 YAML, v3 YAML, the etcd backend JSON), so the
 * decoders, printers and backend codecs iterate over rows instead of spelling fields out.
 * Row order, within `metadata` and within `spec`, is the Go v1 API struct's declaration
 * order: the order calicoctl printed JSON keys in and its decoder listed expected fields in.
 * Where the etcd JSON's key order allows, a kind's table interleaves its metadata and spec
 * rows in that order too (policy, hostEndpoint, networkSet), so one table serves both; a rule
 * is flattened into the etcd JSON in its own order (rule.ts). Pure data.
 */

/**
 * How a field's value is written. Each reader or writer maps a codec to its own function
 * (the YAML decoder to a strict node reader, the backend decoder to a JSON type check, ...).
 */
export type Codec =
  | "string"
  | "int"
  | "ipVersion"
  | "float"
  | "bool"
  | "protocol"
  | "cidr"
  | "cidrs"
  | "ports"
  | "action"
  | "strings"
  | "icmp"
  | "entity"
  | "flag"
  | "labels"
  | "rules"
  | "policyTypes"
  | "ip"
  | "ips"
  | "mac"
  | "asNumber"
  | "struct"
  | "structs";

export interface Field {
  /** The model key, which is also the v1 YAML/JSON name. */
  readonly key: string;
  readonly codec: Codec;
  /** The field is in `metadata` (otherwise in `spec`, for a resource's own table). */
  readonly meta?: true;
  /**
   * `false`: not a v1 API field (model only, e.g. v3's applyOnForward); `"print"`: printed by
   * v1 output but refused by v1 input, as calicoctl v1 refused it (named ports).
   */
  readonly v1?: false | "print";
  /** Always in the model: decoding puts its empty value (`""`, `[]`) first when it is absent. */
  readonly required?: true;
  /**
   * The Go type named in decode errors: for `struct`/`structs` the struct's name without its
   * API package (`OrchRef`: the decoder says `v1.OrchRef` or `v3.OrchRef`); for v1 lists of
   * CIDRs the list type where it is not a rule's `[]*net.IPNet`; for `int` its Go integer
   * type where it is not `int` (`uint16`).
   */
  readonly goType?: string;
  /** For `struct`/`structs`: the part's fields. */
  readonly fields?: FieldTable;
  /**
   * `false`: the v3 API has no such field (otherwise its v3 name is `key`, unless the kind's
   * v3 layout, fields/v3.ts, names and places it otherwise).
   */
  readonly v3?: false;
  /**
   * The etcd backend JSON name (absent: not stored under its own name, e.g. a name from the
   * key, or stored in a shape of its own). For a part flattened into its parent (`icmp`, `entity`) the
   * prefix of its own fields' names (`src_` + `tag` -> `src_tag`).
   */
  readonly backend?: string;
  /** Stored as two lists by address family: the IPv4 and the IPv6 backend names. */
  readonly backendByFamily?: readonly [string, string];
  /** Stored with a `!` before the whole backend name (`!src_tag`, `!icmp_type`). */
  readonly negated?: boolean;
  /** On backend read, appended to this list field instead (the singular `net` -> `nets`). */
  readonly mergeInto?: string;
  /** Printed even when empty (Go field without `omitempty`); an absent part prints `{}`. */
  readonly always?: boolean;
  /** Backend write: CIDRs stored as their network address (a rule's destination). */
  readonly networkCidrs?: boolean;
}

/** A field table: rows in Go struct order. */
export type FieldTable = readonly Field[];

/** The rows of a resource's table that v1 input reads, metadata or spec. */
export function v1InputFields(table: FieldTable, meta: boolean): FieldTable {
  return table.filter((f) => !!f.meta === meta && f.v1 === undefined);
}

/** The rows of a resource's table that v1 output prints, metadata or spec. */
export function v1OutputFields(table: FieldTable, meta: boolean): FieldTable {
  return table.filter((f) => !!f.meta === meta && f.v1 !== false);
}

/** The empty values of a part's required fields, in table order (decoders start with them). */
export function requiredDefaults(table: FieldTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of table) {
    if (f.required) out[f.key] = _EMPTY_LISTS.has(f.codec) ? [] : "";
  }
  return out;
}

const _EMPTY_LISTS: ReadonlySet<Codec> = new Set(["cidrs", "strings", "ips", "ports", "structs"]);

/**
 * A field's etcd backend JSON name; inside a flattened part (`parent`), prefixed with the
 * part's prefix, and `!` before it all when either is negated (`!src_tag`, `!icmp_type`).
 */
export function backendName(f: Field, parent?: Field): string {
  if (f.backend === undefined || (parent && parent.backend === undefined)) {
    throw new Error(`field ${f.key} has no backend name`);
  }
  const negated = f.negated || parent?.negated;
  return (negated ? "!" : "") + (parent?.backend ?? "") + f.backend;
}
