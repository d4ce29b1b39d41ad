/**
 * Strict decoding of Calico v3 (`apiVersion: projectcalico.org/v3`) resources into the
 * internal model, with the v1 decoder's readers (so errors carry the same node positions and
 * Go-style wording). Every field is either mapped (see README "Calico v3 manifests") or
 * refused with the reason; nothing is dropped silently. A kind's fields, their v3 names and
 * places come from its field table and v3 layout (v3/layouts.ts), their value spellings from
 * the codec readers below; what is v3's own is here too: refusals, the one tier, the
 * applyOnForward rule, FelixConfiguration.
 */
import {
  type CodecReaders,
  DecodeFailure,
  fieldReaders,
  kindCodecs,
  readerFor,
  type ResourceItem,
  ruleFieldReaders,
  type TreeView,
  type YamlReader,
} from "../decode.ts";
import type { Port, Protocol, Rule } from "../resources.ts";
import type { YamlNode } from "../yaml_positions.ts";
import { ConfigValueError } from "../../config/types.ts";
import { failsafeNet } from "../../config/failsafe.ts";
import { clip } from "../../log/quote.ts";
import type { V3Kind } from "./kinds.ts";
import { FELIX_FIELDS, felixValueToStored, type V3ProtoPort } from "./felix_config.ts";
import type { ManifestResource } from "./types.ts";
import { V3_MODEL_KINDS, type V3ResourceKind, v3SlotsOf } from "./layouts.ts";
import { ACTIONS, PROTOCOLS, TYPES } from "./words.ts";
import { type Field, type FieldTable, requiredDefaults } from "../fields/table.ts";

type Reader<T> = (node: YamlNode, path: string) => T | undefined;
type Fields = Record<string, Reader<unknown>>;
type Obj = Record<string, unknown>;

/** Fields Calico 3 has that hostfence cannot honour, and why (shown in the refusal). */
const REFUSED: Readonly<Record<string, string>> = {
  namespace: "v3 resources hostfence reads are cluster-wide; remove metadata.namespace",
  resourceVersion:
    "hostfence does not do resourceVersion checks; remove it (get prints none) so nothing is assumed",
  serviceAccountSelector: "hostfence has no service accounts (host endpoints only)",
  namespaceSelector: "hostfence has no namespaces (host endpoints only)",
  serviceAccounts: "hostfence has no service accounts (host endpoints only)",
  services: "hostfence has no Kubernetes services",
  http: "hostfence does not match HTTP (no application layer policy)",
  performanceHints: "hostfence does not take performance hints",
};

/** Metadata fields `calicoctl get` prints that only describe the stored object. */
const INFORMATIONAL_META = ["creationTimestamp", "uid", "generation"];

/**
 * The spec fields a kind's decode errors list first ("expected one of: ..."), the others
 * following in the v3 struct's order: GlobalNetworkPolicy's list kept its wording from before
 * the field tables.
 */
const INPUT_FIRST: Partial<Record<V3ResourceKind, readonly string[]>> = {
  GlobalNetworkPolicy: ["tier", "order", "selector", "types"],
};

/** Strictly decodes one v3 item (listed by listResourceItems). Throws DecodeFailure. */
export function decodeV3Item(item: ResourceItem, view: TreeView): ManifestResource {
  const r = readerFor(view);
  let d = decoders.get(r);
  if (!d) decoders.set(r, d = new V3Decoder(r));
  return d.resource(item.node, item.kind as V3Kind);
}

/** One decoder per reader, so its field readers are built once per document. */
const decoders = new WeakMap<YamlReader, V3Decoder>();

/** A kind's readers and where each v3 field goes in the model (built once per decoder). */
interface _KindReaders {
  readonly metadata: Fields;
  readonly spec: Fields;
  /** `metadata.<v3 name>` or `spec.<v3 name>` -> the kind's row. */
  readonly rows: ReadonlyMap<string, Field>;
  /**
   * The model's metadata and spec before any field is read: the required fields' empty values
   * and, for codec `bool`, `false`: a v3 Go bool is false when absent, and the model keeps
   * that (applyOnForward: absent in v3 is `false`, absent in a v1 policy is "not said").
   */
  readonly empty: { readonly metadata: Obj; readonly spec: Obj };
}

class V3Decoder {
  constructor(readonly r: YamlReader) {}

  /** One resource: its kind's v3 fields (v3/layouts.ts) read into its model fields. */
  resource(node: YamlNode, kind: V3Kind): ManifestResource {
    if (kind === "FelixConfiguration") return this.felixConfiguration(node);
    const k = this.#kind(kind);
    const o = this.#envelope(node, kind, k.metadata, k.spec);
    const metadata = { ...k.empty.metadata }, spec = { ...k.empty.spec };
    for (const part of ["metadata", "spec"] as const) {
      for (const [name, v] of Object.entries((o[part] ?? {}) as Obj)) {
        const row = k.rows.get(`${part}.${name}`)!;
        (row.meta ? metadata : spec)[row.key] = v;
      }
    }
    if (kind === "GlobalNetworkPolicy") this.#forwardCheck(node, spec);
    return { kind: V3_MODEL_KINDS[kind], metadata, spec } as unknown as ManifestResource;
  }

  #kinds = new Map<V3ResourceKind, _KindReaders>();
  #kind(kind: V3ResourceKind): _KindReaders {
    let k = this.#kinds.get(kind);
    if (k) return k;
    const slots = v3SlotsOf(V3_MODEL_KINDS[kind]);
    const codecs = this.#codecs();
    const only = kind === "GlobalNetworkPolicy" ? { tier: this.#defaultTier.bind(this) } : {};
    const spec: Fields = { ...only, ...fieldReaders(slots.spec.map((s) => s.field), codecs) };
    const first = Object.fromEntries((INPUT_FIRST[kind] ?? []).map((n) => [n, spec[n]!]));
    const rows = new Map<string, Field>();
    for (const part of ["metadata", "spec"] as const) {
      for (const s of slots[part]) rows.set(`${part}.${s.field.key}`, s.row);
    }
    const empty = (meta: boolean) => {
      const part = [...rows.values()].filter((f) => !!f.meta === meta);
      const bools = part.filter((f) => f.codec === "bool").map((f) => [f.key, false]);
      return { ...requiredDefaults(part), ...Object.fromEntries(bools) };
    };
    k = {
      metadata: this.#meta(fieldReaders(slots.metadata.map((s) => s.field), codecs)),
      spec: { ...first, ...spec },
      rows,
      empty: { metadata: empty(true), spec: empty(false) },
    };
    this.#kinds.set(kind, k);
    return k;
  }

  /** A kind's metadata readers and the informational fields, which are read and dropped. */
  #meta(fields: Fields): Fields {
    const f: Fields = { ...fields };
    for (const k of INFORMATIONAL_META) f[k] = () => undefined;
    return f;
  }

  #envelope(node: YamlNode, kind: V3Kind, metadata: Fields, spec: Fields): Obj {
    const str = (n: YamlNode, p: string) => this.r.str(n, p);
    return this.struct(node, "", `v3.${kind}`, {
      apiVersion: str,
      kind: str,
      metadata: (n, p) => this.struct(n, p, "v1.ObjectMeta", metadata),
      spec: (n, p) => this.struct(n, p, `v3.${kind}Spec`, spec),
    }) ?? {};
  }

  /** Calico 3: pre-DNAT and untracked policies act on forwarded traffic, so must say so. */
  #forwardCheck(node: YamlNode, spec: Obj): void {
    if ((spec.preDNAT || spec.doNotTrack) && spec.applyOnForward !== true) {
      const field = spec.preDNAT ? "preDNAT" : "doNotTrack";
      throw new DecodeFailure(
        `applyOnForward must be true if either preDNAT or doNotTrack is true`,
        this.valueAt(node, ["spec", field]),
        "spec.applyOnForward",
      );
    }
  }

  /** hostfence has one tier: `default` is accepted (and not stored), any other refused. */
  #defaultTier(n: YamlNode, p: string): undefined {
    const t = this.r.str(n, p);
    if (t !== undefined && t !== "default") {
      throw new DecodeFailure(
        `hostfence has only the default tier, not ${JSON.stringify(clip(t))}`,
        this.r.deref(n),
        p,
      );
    }
    return undefined;
  }

  felixConfiguration(node: YamlNode): ManifestResource {
    const fields: Fields = {};
    for (const [key, field] of Object.entries(FELIX_FIELDS)) {
      fields[key] = (n, p) => {
        const value = field.form === "ports"
          ? this.protoPorts(n, p)
          : field.form === "bool"
          ? this.bool(n, p)
          : field.form === "int"
          ? this.r.int(n, p, "uint32")
          : this.r.str(n, p);
        if (value === undefined) return undefined;
        try {
          return felixValueToStored(field, value);
        } catch (e) {
          if (!(e instanceof ConfigValueError)) throw e;
          throw new DecodeFailure(`invalid value: ${e.message}`, this.r.deref(n), p);
        }
      };
    }
    const str = (n: YamlNode, p: string) => this.r.str(n, p);
    const o = this.#envelope(node, "FelixConfiguration", this.#meta({ name: str }), fields);
    const name = ((o.metadata as Obj | undefined)?.name as string | undefined) ?? "";
    if (name !== "default" && !/^node\.[a-zA-Z0-9_.-]+$/.test(name)) {
      throw new DecodeFailure(
        `hostfence reads FelixConfiguration 'default' (global) and 'node.<hostname>' ` +
          `(one host), not '${clip(name)}'`,
        this.r.deref(node),
        "metadata.name",
      );
    }
    const values: Record<string, string> = {};
    for (const [key, text] of Object.entries((o.spec ?? {}) as Obj)) {
      values[FELIX_FIELDS[key]!.param] = text as string;
    }
    return { kind: "felixConfiguration", metadata: { name }, spec: { values } };
  }

  /** `[{protocol: TCP, port: 22, net: 198.18.0.0/24}]` (`net` optional; checked when stored). */
  protoPorts(node: YamlNode, path: string): V3ProtoPort[] | undefined {
    const n = this.r.deref(node);
    if (n === null) return undefined;
    if (this.r.view.isSeq(n) && this.r.view.items(n).length === 0) return [];
    return this.r.list(n, path, "[]v3.ProtoPort", (x, q) => {
      const p = this.struct(x, q, "v3.ProtoPort", {
        protocol: (y, s) => {
          const text = this.r.str(y, s);
          if (text !== undefined && !/^(tcp|udp)$/i.test(text)) {
            throw new DecodeFailure(
              `invalid protocol ${JSON.stringify(clip(text))} (failsafe entries are TCP or UDP)`,
              this.r.deref(y),
              s,
            );
          }
          return text;
        },
        port: (y, s) => this.r.int(y, s, "uint16"),
        net: (y, s) => {
          const text = this.r.str(y, s);
          if (text !== undefined && text !== "" && failsafeNet(text) === undefined) {
            throw new DecodeFailure(
              `invalid net ${JSON.stringify(clip(text))} (expected a CIDR or IP address)`,
              this.r.deref(y),
              s,
            );
          }
          return text;
        },
      }) ?? {};
      const net = p.net as string | undefined;
      return {
        protocol: (p.protocol as string | undefined) ?? "TCP",
        port: (p.port as number) ?? 0,
        ...(net === undefined || net === "" ? {} : { net }),
      };
    });
  }

  rule(node: YamlNode, path: string): Rule {
    // Rules are read through #codecs, which built #rules.
    const r = this.struct(node, path, "v3.Rule", this.#rules!) ?? {};
    if (r.action === undefined) {
      throw new DecodeFailure(
        "action is required (Allow, Deny, Pass or Log)",
        this.r.deref(node),
        `${path}.action`,
      );
    }
    return r as unknown as Rule;
  }

  // The v3 reader of each codec, and a rule's field readers, built once per decoder.
  #codecReaders: CodecReaders | undefined;
  #rules: Fields | undefined;
  #codecs(): CodecReaders {
    if (this.#codecReaders) return this.#codecReaders;
    const r = this.r;
    const codecs = kindCodecs(r, "v3", (n, p, t, f) => this.struct(n, p, t, f));
    const int = (f: Field): Reader<number> => (n, p) => r.int(n, p, _intType(f));
    const structs = codecs.structs!;
    Object.assign(
      codecs,
      {
        action: () => (n, p) => this.word(n, p, ACTIONS, "action"),
        policyTypes: () => (n, p) =>
          r.list(n, p, "[]v3.PolicyType", (x, q) => this.word(x, q, TYPES, "policy type")),
        int,
        ipVersion: int,
        protocol: () => (n, p) => this.protocol(n, p),
        ports: () => (n, p) => r.list(n, p, "[]numorstring.Port", (x, q) => this.port(x, q)),
        flag: () => (n, p) => r.bool(n, p),
        bool: () => (n, p) => this.bool(n, p),
        rules: () => (n, p) => r.list(n, p, "[]v3.Rule", (x, q) => this.rule(x, q)),
        structs: (f) => {
          const read = structs(f), zeros = _zeros(f.fields ?? []);
          return (n, p) => (read(n, p) as Obj[] | undefined)?.map((x) => ({ ...zeros, ...x }));
        },
      } satisfies CodecReaders,
    );
    this.#rules = ruleFieldReaders(codecs, "v3", (n, p, t, f) => this.struct(n, p, t, f));
    return this.#codecReaders = codecs;
  }

  /**
   * numorstring.Port: a number, "80", "80:90", or any other string without a colon, which is
   * a named port (declared in host endpoints' `ports`; the validator checks the name).
   */
  port(node: YamlNode, path: string): Port | undefined {
    const n = this.r.deref(node);
    const v = n === null ? undefined : this.r.view.value(n);
    if (typeof v === "string" && v !== "" && !/^[0-9]+$/.test(v) && !v.includes(":")) return v;
    return this.r.port(node, path) ?? 0;
  }

  /** numorstring.Protocol: TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite (or lower case), or 1-255. */
  protocol(node: YamlNode, path: string): Protocol | undefined {
    const n = this.r.deref(node);
    if (n === null) return undefined;
    const v = this.r.view.value(n);
    if (typeof v === "string") {
      const hit = PROTOCOLS[v] ??
        Object.values(PROTOCOLS).find((p) => p === v);
      if (hit !== undefined) return hit;
      if (/^[0-9]+$/.test(v) && Number(v) >= 1 && Number(v) <= 255) return Number(v);
      throw new DecodeFailure(
        `invalid protocol ${JSON.stringify(clip(v))} (expected ${
          Object.keys(PROTOCOLS).join(", ")
        } or 1-255)`,
        n,
        path,
      );
    }
    return this.r.int(n, path, "uint8");
  }

  /** The value node at `keys` under a map node (for pointing at a field checked later). */
  valueAt(node: YamlNode, keys: readonly string[]): YamlNode {
    let cur = this.r.deref(node);
    for (const k of keys) {
      if (cur === null || !this.r.view.isMap(cur)) break;
      const pair = this.r.view.pairs(cur).find((p) => {
        const key = this.r.deref(p.key);
        return key !== null && this.r.view.isScalar(key) && this.r.view.text(key) === k;
      });
      if (!pair) break;
      cur = this.r.deref(pair.value) ?? pair.key;
    }
    return cur;
  }

  /** A word from a fixed v3 table (exact spelling), as its model value. */
  word<T>(node: YamlNode, path: string, table: Record<string, T>, what: string): T | undefined {
    const s = this.r.str(node, path);
    if (s === undefined) return undefined;
    if (!Object.hasOwn(table, s)) {
      throw new DecodeFailure(
        `invalid ${what} ${JSON.stringify(clip(s))} (expected ${Object.keys(table).join(", ")})`,
        this.r.deref(node),
        path,
      );
    }
    return table[s];
  }

  /** A bool where `false` is kept (applyOnForward: false is a choice, not "unset"). */
  bool(node: YamlNode, path: string): boolean | undefined {
    const n = this.r.deref(node);
    if (n === null) return undefined;
    const v = this.r.view.value(n);
    if (!this.r.view.isScalar(n) || typeof v !== "boolean") throw this.r.typeError(n, path, "bool");
    return v;
  }

  /**
   * A struct as YamlReader.struct reads it, but a field Calico 3 has and hostfence cannot
   * honour is refused with the reason, before any other check.
   */
  struct(node: YamlNode, path: string, goType: string, fields: Fields): Obj | undefined {
    const n = this.r.deref(node);
    if (n !== null && this.r.view.isMap(n)) {
      for (const pair of this.r.view.pairs(n)) {
        const key = this.r.deref(pair.key);
        const name = key !== null && this.r.view.isScalar(key) ? this.r.view.text(key) : "";
        if (Object.hasOwn(fields, name) || !Object.hasOwn(REFUSED, name)) continue;
        throw new DecodeFailure(
          `hostfence cannot honour field ${name}: ${REFUSED[name]}`,
          pair.key,
          path ? `${path}.${name}` : name,
        );
      }
    }
    return this.r.struct(node, path, goType, fields);
  }
}

/** A row's Go integer type (`int` but where the row names another, see table.ts). */
function _intType(f: Field): "int" | "uint16" {
  return f.goType === "uint16" ? "uint16" : "int";
}

/**
 * An item of a v3 struct list starts with Go's zero values of its fields that have no
 * `omitempty` (`always`): a missing EndpointPort name, protocol or port reads as `""`, `""`,
 * `0`, which the validator then names (as for stored ports).
 */
function _zeros(table: FieldTable): Obj {
  const out: Obj = {};
  for (const f of table) if (f.always) out[f.key] = f.codec === "int" ? 0 : "";
  return out;
}
