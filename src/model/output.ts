/**
 * Printing resources the way calicoctl v1 `get` did: YAML and JSON documents (always a
 * list); its tables are in output_table.ts.
 *
 * The printed object follows the Go v1 API structs: JSON keys in struct declaration order,
 * `omitempty` fields left out when empty, `metadata`, `spec`, a rule's `action`, `source`
 * and `destination` and a policy's `selector` always present. YAML sorts every map's keys
 * (calicoctl converted JSON to YAML through a map) and JSON keeps struct order with
 * two-space indentation and Go's escaping of `<`, `>`, `&`. Pure.
 */
import { stringify } from "yaml";
import type { Port, Resource, Rule } from "./resources.ts";
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
