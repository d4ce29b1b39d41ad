/**
 * Printing resources as Calico v3 (`get -o yaml|json --api v3`): the internal model mapped
 * back to projectcalico.org/v3 objects, in the v3 API structs' key order for JSON and sorted
 * keys for YAML (as calicoctl prints them). What is printed decodes (v3/decode.ts) to equal
 * resources, so it applies back unchanged. Pure.
 */
import { stringify } from "yaml";
import type { EntityRule, Port, Protocol, Rule } from "../resources.ts";
import { type Codec, type FieldTable, v1OutputFields } from "../fields/table.ts";
import { ENTITY_FIELDS, ICMP_FIELDS, RULE_FIELDS } from "../fields/rule.ts";
import {
  portToApi,
  printFields,
  putOmitEmpty as _put,
  sortedStringMap as _sorted,
} from "../output.ts";
import { KIND_FIELDS } from "../fields/kinds.ts";
import { ConfigValueError } from "../../config/types.ts";
import { FELIX_FIELDS, felixValueFromStored } from "./felix_config.ts";
import { V3_API_VERSION, type V3Kind } from "./kinds.ts";
import { felixConfigNode, type ManifestResource } from "./types.ts";

type Obj = Record<string, unknown>;

/** A resource that has no v3 form (tags, workload endpoints, a config value v3 cannot say). */
export class NoV3FormError extends Error {
  override name = "NoV3FormError";
}

const V3_KIND_OF: Record<ManifestResource["kind"], V3Kind | undefined> = {
  node: "Node",
  hostEndpoint: "HostEndpoint",
  policy: "GlobalNetworkPolicy",
  profile: "Profile",
  networkSet: "GlobalNetworkSet",
  felixConfiguration: "FelixConfiguration",
  workloadEndpoint: undefined,
};

/** The v3 kind a resource prints as; undefined when it has none (workload endpoints). */
export function v3KindOf(kind: ManifestResource["kind"]): V3Kind | undefined {
  return V3_KIND_OF[kind];
}

const PROTOCOL_NAMES: Record<string, string> = {
  tcp: "TCP",
  udp: "UDP",
  icmp: "ICMP",
  icmpv6: "ICMPv6",
  sctp: "SCTP",
  udplite: "UDPLite",
};

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
  if (format === "json") {
    return JSON.stringify(out, null, 2)
      .replaceAll("<", "\\u003c")
      .replaceAll(">", "\\u003e")
      .replaceAll("&", "\\u0026")
      .replaceAll("\u2028", "\\u2028")
      .replaceAll("\u2029", "\\u2029") + "\n";
  }
  return stringify(out, { sortMapEntries: true, indentSeq: false, lineWidth: 0 });
}

/** One resource as its v3 object (keys in the v3 structs' order). */
export function resourceToV3Object(r: ManifestResource): Obj {
  const kind = V3_KIND_OF[r.kind];
  if (kind === undefined) {
    throw new NoV3FormError(
      `${r.kind} ${JSON.stringify(r.metadata.name)} has no ${V3_API_VERSION} form ` +
        "(hostfence maps host endpoints, not workload endpoints); print it with --api v1",
    );
  }
  const meta: Obj = {};
  const spec: Obj = {};
  const what = `${kind} ${JSON.stringify(r.metadata.name)}`;
  switch (r.kind) {
    case "node":
    case "networkSet": {
      // The same fields and shapes as in v1 (GlobalNetworkSet is v1's networkSet).
      const table = KIND_FIELDS[r.kind];
      Object.assign(meta, printFields(v1OutputFields(table, true), r.metadata as Obj));
      Object.assign(spec, printFields(v1OutputFields(table, false), r.spec as Obj));
      break;
    }
    case "hostEndpoint":
      _put(meta, "name", r.metadata.name);
      _put(meta, "labels", _sorted(r.metadata.labels));
      _put(spec, "node", r.metadata.node);
      _put(spec, "interfaceName", r.spec.interfaceName);
      _put(spec, "expectedIPs", r.spec.expectedIPs);
      _put(spec, "profiles", r.spec.profiles);
      _put(
        spec,
        "ports",
        r.spec.ports?.map((p) => ({ name: p.name, protocol: _protocol(p.protocol), port: p.port })),
      );
      break;
    case "policy":
      _put(meta, "name", r.metadata.name);
      _put(meta, "annotations", _sorted(r.metadata.annotations));
      _put(spec, "order", r.spec.order);
      _put(spec, "ingress", r.spec.ingress?.map((x, i) => _rule(x, `${what} ingress[${i}]`)));
      _put(spec, "egress", r.spec.egress?.map((x, i) => _rule(x, `${what} egress[${i}]`)));
      spec.selector = r.spec.selector ?? "";
      _put(spec, "types", r.spec.types?.map((t) => t === "ingress" ? "Ingress" : "Egress"));
      _put(spec, "doNotTrack", r.spec.doNotTrack);
      _put(spec, "preDNAT", r.spec.preDNAT);
      // Absent (a v1 policy) means "applies to forwarded traffic" too: v3 says so explicitly.
      _put(spec, "applyOnForward", r.spec.applyOnForward !== false);
      break;
    case "profile":
      if (r.metadata.tags?.length) {
        throw new NoV3FormError(
          `${what} has tags, which ${V3_API_VERSION} does not have; print it with --api v1`,
        );
      }
      _put(meta, "name", r.metadata.name);
      _put(spec, "ingress", r.spec.ingress?.map((x, i) => _rule(x, `${what} ingress[${i}]`)));
      _put(spec, "egress", r.spec.egress?.map((x, i) => _rule(x, `${what} egress[${i}]`)));
      _put(spec, "labelsToApply", _sorted(r.metadata.labels));
      break;
    case "felixConfiguration": {
      _put(meta, "name", r.metadata.name);
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
      break;
    }
  }
  return { kind, apiVersion: V3_API_VERSION, metadata: meta, spec };
}

function _rule(r: Rule, where: string): Obj {
  return _fields(RULE_FIELDS, r as unknown as Obj, where);
}

function _protocol(p: Protocol | undefined): string | number | undefined {
  return typeof p === "string" ? PROTOCOL_NAMES[p] ?? p : p;
}

/** The v3 printed form of each codec's value (absent: the value as it is). */
const WRITERS: Partial<Record<Codec, (v: unknown, where: string) => unknown>> = {
  action: (v) => (v as string).charAt(0).toUpperCase() + (v as string).slice(1),
  protocol: (v) => _protocol(v as Protocol | undefined),
  ports: (v) => (v as Port[] | undefined)?.map(portToApi),
  icmp: (v, where) => v && _fields(ICMP_FIELDS, v as Obj, where),
  entity: (v, where) => _entity((v ?? {}) as EntityRule, where),
};

/**
 * A part printed field by field in table order, leaving out what v3 lacks; `omitempty` but
 * for `always` fields. v1's singular `net`/`notNet` become the first entries of v3's lists.
 */
function _fields(table: FieldTable, v: Obj, where: string): Obj {
  const o: Obj = {};
  for (const f of table) {
    if (f.v3 === false) continue;
    const write = WRITERS[f.codec];
    const part = f.codec === "entity" ? `${where}.${f.key}` : where;
    let x = write ? write(v[f.key], part) : v[f.key];
    const merged = table.filter((m) => m.mergeInto === f.key && v[m.key]).map((m) => v[m.key]);
    if (merged.length) x = [...merged, ...((x as unknown[] | undefined) ?? [])];
    if (f.always) o[f.key] = x;
    else _put(o, f.key, x);
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
