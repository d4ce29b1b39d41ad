/**
 * The shape of a field table: one row per field of a resource part, naming it once for
 * every form hostfence reads and writes (v1 YAML, v3 YAML, the etcd backend JSON), so the
 * decoders, printers and backend codecs iterate over rows instead of spelling fields out.
 * Row order is the Go v1 API struct's declaration order, which is the order calicoctl
 * printed JSON keys in and the order its decoder listed expected fields in. Pure data.
 */

/**
 * How a field's value is written. Each reader or writer maps a codec to its own function
 * (the YAML decoder to a strict node reader, the backend decoder to a JSON type check, ...).
 */
export type Codec =
  | "string"
  | "int"
  | "float"
  | "bool"
  | "protocol"
  | "cidr"
  | "cidrs"
  | "ports"
  | "action"
  | "strings"
  | "icmp"
  | "entity";

export interface Field {
  /** The model key, which is also the v1 YAML/JSON name. */
  readonly key: string;
  readonly codec: Codec;
  /** `false`: the v3 API has no such field (otherwise its v3 name is `key`). */
  readonly v3?: false;
  /**
   * The etcd backend JSON name. For a part flattened into its parent (`icmp`, `entity`) the
   * prefix of its own fields' names (`src_` + `tag` -> `src_tag`).
   */
  readonly backend: string;
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
