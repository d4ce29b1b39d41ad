/**
 * Printing resources as Calico v3 (`get -o yaml|json --api v3`): the internal model mapped
 * back to projectcalico.org/v3 objects, in the v3 API structs' key order for JSON and sorted
 * keys for YAML (as calicoctl prints them). What is printed decodes (v3/decode.ts) to equal
 * resources, so it applies back unchanged. A kind's fields, their v3 names and places come
 * from its field table and v3 layout (v3/layouts.ts), value spellings from WRITERS, by codec;
 * FelixConfiguration prints from its own table (felix_config.ts). Pure.
 */
import type { EntityRule, PolicyType, Port, Protocol, Resource, Rule } from "../resources.ts";
import { type Codec, type Field, type FieldTable, requiredDefaults } from "../fields/table.ts";
import { ENTITY_FIELDS, ICMP_FIELDS, RULE_FIELDS } from "../fields/rule.ts";
import type { V3Slot } from "../fields/v3.ts";
import {
  calicoctlText,
  portToApi,
  putOmitEmpty as _put,
  sortedStringMap as _sorted,
} from "../output.ts";
import { ConfigValueError } from "../../config/types.ts";
import { FELIX_FIELDS, felixValueFromStored } from "./felix_config.ts";
import { V3_API_VERSION, type V3Kind } from "./kinds.ts";
import { v3ResourceKindOf, v3SlotsOf } from "./layouts.ts";
import {
  felixConfigNode,
  type FelixConfigurationResource,
  type ManifestResource,
} from "./types.ts";
import { PROTOCOLS } from "./words.ts";

type Obj = Record<string, unknown>;

/** A resource that has no v3 form (tags, workload endpoints, a config value v3 cannot say). */
export class NoV3FormError extends Error {
  override name = "NoV3FormError";
}

/** The v3 kind a resource prints as; undefined when it has none (workload endpoints). */
export function v3KindOf(kind: ManifestResource["kind"]): V3Kind | undefined {
  return kind === "felixConfiguration" ? "FelixConfiguration" : v3ResourceKindOf(kind);
}

/** Model protocol -> its v3 spelling (`tcp` -> `TCP`). */
const PROTOCOL_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(PROTOCOLS).map(([name, p]) => [p, name]),
);

/**
 * Resources as `calicoctl get` v3 prints them: one resource as itself; none or several as a
 * `<Kind>List` when they (or the one kind asked for, `listKind`) share a kind, else a `List`.
 * Throws NoV3FormError for a resource that v3 cannot express.
 */
export function formatV3Resources(
  resources: readonly ManifestResource[],
  format: "yaml" | "json",
  listKind?: V3Kind,
): string {
  const objs = resources.map(resourceToV3Object);
  let out: Obj;
  if (objs.length === 1) out = objs[0]!;
  else {
    const kinds = new Set(objs.map((o) => o.kind as string));
    const shared = kinds.size === 1 ? [...kinds][0] : kinds.size === 0 ? listKind : undefined;
    out = { kind: shared ? `${shared}List` : "List", apiVersion: V3_API_VERSION, items: objs };
  }
  return calicoctlText(out, format);
}

/** One resource as its v3 object (keys in the v3 structs' order). */
export function resourceToV3Object(r: ManifestResource): Obj {
  const kind = v3KindOf(r.kind);
  if (kind === undefined) {
    throw new NoV3FormError(
      `${r.kind} ${JSON.stringify(r.metadata.name)} has no ${V3_API_VERSION} form ` +
        "(hostfence maps host endpoints, not workload endpoints); print it with --api v1",
    );
  }
  const what = `${kind} ${JSON.stringify(r.metadata.name)}`;
  const [metadata, spec] = r.kind === "felixConfiguration"
    ? _felixConfiguration(r, what)
    : _resource(r, what);
  return { kind, apiVersion: V3_API_VERSION, metadata, spec };
}

/** A model resource's v3 metadata and spec, field by field (v3/layouts.ts). */
function _resource(r: Resource, what: string): [Obj, Obj] {
  const slots = v3SlotsOf(r.kind);
  const valueOf = (f: Field) => ((f.meta ? r.metadata : r.spec) as Obj)[f.key];
  for (const f of slots.missing) {
    const v = valueOf(f);
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) {
      throw new NoV3FormError(
        `${what} has ${f.key}, which ${V3_API_VERSION} does not have; print it with --api v1`,
      );
    }
  }
  const part = (s: readonly V3Slot[]): Obj => {
    const o: Obj = {};
    for (const { field, row } of s) _putField(o, field, valueOf(row), what);
    return o;
  };
  return [part(slots.metadata), part(slots.spec)];
}

/** A FelixConfiguration's fields from the Felix parameters it sets. */
function _felixConfiguration(r: FelixConfigurationResource, what: string): [Obj, Obj] {
  const spec: Obj = {};
  const node = felixConfigNode(r.metadata.name);
  for (const [field, f] of Object.entries(FELIX_FIELDS)) {
    const text = r.spec.values[f.param];
    if (text === undefined) continue;
    try {
      spec[field] = felixValueFromStored(f, text);
    } catch (e) {
      if (!(e instanceof ConfigValueError)) throw e;
      const scope = node === undefined ? "global" : `node ${node}`;
      throw new NoV3FormError(
        `${what}: the stored ${f.param} (${scope}) is ${JSON.stringify(text)}, which has no ` +
          `v3 form for ${field} (${e.message}); fix it with hostfence config set`,
      );
    }
  }
  const metadata: Obj = {};
  _put(metadata, "name", r.metadata.name);
  return [metadata, spec];
}

function _protocol(p: Protocol | undefined): string | number | undefined {
  return typeof p === "string" ? PROTOCOL_NAMES[p] ?? p : p;
}

/**
 * The v3 printed form of each codec's value (absent: the value as it is). `where` names the
 * resource and the part for a refusal (`GlobalNetworkPolicy "x" ingress[0].source`).
 */
const WRITERS: Partial<Record<Codec, (v: unknown, where: string, f: Field) => unknown>> = {
  action: (v) => (v as string).charAt(0).toUpperCase() + (v as string).slice(1),
  protocol: (v) => _protocol(v as Protocol | undefined),
  ports: (v) => (v as Port[] | undefined)?.map(portToApi),
  policyTypes: (v) =>
    (v as PolicyType[] | undefined)?.map((t) => t === "ingress" ? "Ingress" : "Egress"),
  // applyOnForward: absent is a v1 policy, which polices forwarded traffic: v3 says so.
  bool: (v) => v !== false,
  labels: (v) => _sorted(v as Record<string, string> | undefined),
  rules: (v, where, f) =>
    (v as Rule[] | undefined)?.map((x, i) =>
      _fields(RULE_FIELDS, x as unknown as Obj, `${where} ${f.key}[${i}]`)
    ),
  icmp: (v, where) => v && _fields(ICMP_FIELDS, v as Obj, where),
  entity: (v, where, f) => _entity((v ?? {}) as EntityRule, `${where}.${f.key}`),
  struct: (v, where, f) => v && _fields(f.fields ?? [], v as Obj, where),
  structs: (v, where, f) => (v as Obj[] | undefined)?.map((x) => _fields(f.fields ?? [], x, where)),
};

/** One field put into `o` in its v3 form; `omitempty` but for `always` fields. */
function _putField(o: Obj, f: Field, v: unknown, where: string): void {
  const write = WRITERS[f.codec];
  const x = write ? write(v, where, f) : v;
  if (f.always) o[f.key] = x ?? (f.required ? requiredDefaults([f])[f.key] : x);
  else _put(o, f.key, x);
}

/**
 * A part printed field by field in table order, leaving out what v3 lacks. v1's singular
 * `net`/`notNet` become the first entries of v3's lists.
 */
function _fields(table: FieldTable, v: Obj, where: string): Obj {
  const o: Obj = {};
  for (const f of table) {
    if (f.v3 === false) continue;
    const merged = table.filter((m) => m.mergeInto === f.key && v[m.key]).map((m) => v[m.key]);
    const x = merged.length
      ? [...merged, ...((v[f.key] as unknown[] | undefined) ?? [])]
      : v[f.key];
    _putField(o, f, x, where);
  }
  return o;
}

function _entity(e: EntityRule, where: string): Obj {
  if (e.tag !== undefined || e.notTag !== undefined) {
    throw new NoV3FormError(
      `${where} matches a tag, which ${V3_API_VERSION} does not have; print it with --api v1`,
    );
  }
  return _fields(ENTITY_FIELDS, e as unknown as Obj, where);
}
