/**
 * The shape of a field table: one row per field of a resource part, naming it once for
 * every form hostfence reads and writes (v1 YAML, v3 YAML, the etcd backend JSON), so the
 * decoders, printers and backend codecs iterate over rows instead of spelling fields out.
 * Row order, within `metadata` and within `spec`, is the Go v1 API struct's declaration
 * order: the order calicoctl printed JSON keys in and its decoder listed expected fields in.
 * Where the etcd JSON's key order allows, a kind's table interleaves its metadata and spec
 * rows in that order too (policy, hostEndpoint, networkSet), so one table serves both; a rule
 * is flattened into the etcd JSON in its own order (rule.ts), a workload endpoint's JSON has
 * its own key order (inBackendOrder) and a node lives in several etcd keys (NODE_KEYS in
 * node.ts). Pure data.
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
  // Backend layouts other than one JSON key per row in table order (see inBackendOrder).
  /**
   * Backend write: stored even when unset, as the Go zero value of libcalico-go's backend
   * field (`""`, `[]`, `null` for a pointer such as a MAC; both lists of a `backendByFamily`
   * field), as Go wrote a field without `omitempty`.
   */
  readonly backendAlways?: true;
  /** Backend write: this value, whatever the model holds (a row only a backend order has). */
  readonly constant?: string;
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

/**
 * A kind's rows in its backend JSON's key order where that is not the table's (libcalico-go's
 * backend structs are not declared in v1 API order): each entry names a row of `table` by
 * key, or is a row only the backend has (a `constant`). Every row the table stores must be
 * named, so the two lists cannot drift apart.
 */
export function inBackendOrder(table: FieldTable, order: readonly (string | Field)[]): FieldTable {
  const rows = order.map((x) => typeof x === "string" ? rowAt(table, x) : x);
  const stored = (f: Field) => f.backend !== undefined || f.backendByFamily !== undefined;
  const left = table.filter((f) => stored(f) && !rows.includes(f));
  if (left.length) {
    throw new Error(`backend order leaves out ${left.map((f) => f.key).join(", ")}`);
  }
  return rows;
}

/** The row at a dotted path through `struct` rows (`bgp.asNumber`); throws if there is none. */
export function rowAt(table: FieldTable, path: string): Field {
  let row: Field | undefined, rows = table;
  for (const key of path.split(".")) {
    row = rows.find((f) => f.key === key);
    if (!row) throw new Error(`no field ${path}`);
    rows = row.fields ?? [];
  }
  return row!;
}
