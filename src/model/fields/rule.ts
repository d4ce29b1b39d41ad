/**
 * The field tables of a policy or profile rule and its parts (libcalico-go v1's `Rule`,
 * `EntityRule` and `ICMPFields`), the most repeated part of the v1 schema: the YAML
 * decoders (v1 and v3), both printers and the etcd backend codec read field names, order
 * and codecs from here. See table.ts for what a row says.
 */
import { backendName, type Field, type FieldTable } from "./table.ts";

/** `icmp` / `notICMP`: stored flat as `icmp_type`, `icmp_code` (with `!` when negated). */
export const ICMP_FIELDS: FieldTable = [
  { key: "type", codec: "int", backend: "icmp_type" },
  { key: "code", codec: "int", backend: "icmp_code" },
];

/**
 * One side of a rule. v3 has no tags and no singular nets; the backend reads a singular
 * `net` into `nets` (appended, as libcalico-go did).
 */
export const ENTITY_FIELDS: FieldTable = [
  { key: "tag", codec: "string", v3: false, backend: "tag" },
  { key: "net", codec: "cidr", v3: false, backend: "net", mergeInto: "nets" },
  { key: "nets", codec: "cidrs", backend: "nets" },
  { key: "selector", codec: "string", backend: "selector" },
  { key: "ports", codec: "ports", backend: "ports" },
  { key: "notTag", codec: "string", v3: false, backend: "tag", negated: true },
  {
    key: "notNet",
    codec: "cidr",
    v3: false,
    backend: "net",
    negated: true,
    mergeInto: "notNets",
  },
  { key: "notNets", codec: "cidrs", backend: "nets", negated: true },
  { key: "notSelector", codec: "string", backend: "selector", negated: true },
  { key: "notPorts", codec: "ports", backend: "ports", negated: true },
];

/** A rule. `action`, `source` and `destination` are always printed. */
export const RULE_FIELDS: FieldTable = [
  { key: "action", codec: "action", backend: "action", always: true },
  { key: "ipVersion", codec: "ipVersion", backend: "ip_version" },
  { key: "protocol", codec: "protocol", backend: "protocol" },
  { key: "icmp", codec: "icmp", backend: "" },
  { key: "notProtocol", codec: "protocol", backend: "protocol", negated: true },
  { key: "notICMP", codec: "icmp", backend: "", negated: true },
  { key: "source", codec: "entity", backend: "src_", always: true },
  { key: "destination", codec: "entity", backend: "dst_", always: true, networkCidrs: true },
];

/** The table of a flattened part. */
export function partFields(f: Field): FieldTable {
  return f.codec === "icmp" ? ICMP_FIELDS : ENTITY_FIELDS;
}

/** One backend JSON key of a rule and where its value lives in the model rule. */
export interface BackendSlot {
  /** The backend JSON key (`!src_ports`). */
  readonly name: string;
  /** The rule's field, and for a flattened part the part's field. */
  readonly field: Field;
  readonly part?: Field;
}

/**
 * A rule's backend keys in libcalico-go's backend `model.Rule` declaration order: the plain
 * fields, then the ICMP ones, then every positive match of the source and destination, then
 * every negated one (which is how its JSON was written).
 */
export const RULE_BACKEND_SLOTS: readonly BackendSlot[] = _backendSlots();

function _backendSlots(): BackendSlot[] {
  const groups: BackendSlot[][] = [[], [], [], []];
  for (const field of RULE_FIELDS) {
    if (field.codec !== "icmp" && field.codec !== "entity") {
      groups[0]!.push({ name: backendName(field), field });
      continue;
    }
    for (const part of partFields(field)) {
      const name = backendName(part, field);
      const negated = field.negated || part.negated;
      groups[field.codec === "icmp" ? 1 : negated ? 3 : 2]!.push({ name, field, part });
    }
  }
  return groups.flat();
}

/**
 * The rule's fields in the order their backend keys first appear (action, ipVersion,
 * protocol, notProtocol, icmp, notICMP, source, destination): the backend decoder builds
 * rules in this order.
 */
export const RULE_FIELDS_BACKEND_ORDER: FieldTable = [
  ...new Set(RULE_BACKEND_SLOTS.map((s) => s.field)),
];
