/**
 * Strict decoding of Calico v3 (`apiVersion: projectcalico.org/v3`) resources into the
 * internal model, with the v1 decoder's readers (so errors carry the same node positions and
 * Go-style wording). Every field is either mapped (see README "Calico v3 manifests") or
 * refused with the reason; nothing is dropped silently.
 */
import {
  type CodecReaders,
  DecodeFailure,
  fieldReaders,
  kindCodecs,
  readerFor,
  type ResourceItem,
  type TreeView,
  type YamlReader,
} from "../decode.ts";
import type { Action, EndpointPort, PolicyType, Port, Protocol, Rule } from "../resources.ts";
import type { YamlNode } from "../yaml_positions.ts";
import { ConfigValueError } from "../../config/types.ts";
import { failsafeNet } from "../../config/failsafe.ts";
import { clip } from "../../log/quote.ts";
import type { V3Kind } from "./kinds.ts";
import { FELIX_FIELDS, felixValueToStored, type V3ProtoPort } from "./felix_config.ts";
import type { ManifestResource } from "./types.ts";
import { ENTITY_FIELDS, ICMP_FIELDS, RULE_FIELDS } from "../fields/rule.ts";
import { NODE_FIELDS } from "../fields/node.ts";
import { NETWORK_SET_FIELDS } from "../fields/network_set.ts";
import { type FieldTable, requiredDefaults, v1InputFields } from "../fields/table.ts";

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

const ACTIONS: Record<string, Action> = { Allow: "allow", Deny: "deny", Pass: "pass", Log: "log" };
const TYPES: Record<string, PolicyType> = { Ingress: "ingress", Egress: "egress" };
const PROTOCOLS: Record<string, Protocol> = {
  TCP: "tcp",
  UDP: "udp",
  ICMP: "icmp",
  ICMPv6: "icmpv6",
  SCTP: "sctp",
  UDPLite: "udplite",
};

/** Strictly decodes one v3 item (listed by listResourceItems). Throws DecodeFailure. */
export function decodeV3Item(item: ResourceItem, view: TreeView): ManifestResource {
  return new V3Decoder(readerFor(view)).resource(item.node, item.kind as V3Kind);
}

/** What every kind's decoding shares, bound to one document (V3Decoder.#kit). */
interface _Kit {
  readonly str: Reader<string>;
  readonly labels: Reader<Record<string, string>>;
  meta(extra: Fields): Fields;
  envelope(metadata: Fields, spec: Fields): Obj;
  name(o: Obj): string;
  metaOf(o: Obj): Obj;
  specOf(o: Obj): Obj;
  readonly strs: Reader<unknown>;
  readonly rules: Reader<unknown>;
}

class V3Decoder {
  constructor(readonly r: YamlReader) {}

  resource(node: YamlNode, kind: V3Kind): ManifestResource {
    const kit = this.#kit(node, kind);
    switch (kind) {
      case "HostEndpoint":
        return this.#hostEndpoint(kit);
      case "GlobalNetworkPolicy":
        return this.#globalNetworkPolicy(kit, node);
      case "Profile":
        return this.#profile(kit);
      case "Node": {
        const o = kit.envelope(kit.meta({}), this.#specFields(NODE_FIELDS));
        return { kind: "node", metadata: { name: kit.name(o) }, spec: kit.specOf(o) };
      }
      case "GlobalNetworkSet":
        return this.#networkSet(kit);
      case "FelixConfiguration":
        return this.felixConfiguration(node, kit.envelope, kit.meta({}), kit.name);
    }
  }

  /** The readers and accessors every kind's decoding shares, bound to one document. */
  #kit(node: YamlNode, kind: V3Kind): _Kit {
    const str = (n: YamlNode, p: string) => this.r.str(n, p);
    const labels = (n: YamlNode, p: string) => this.r.stringMap(n, p);
    return {
      str,
      labels,
      meta: (extra: Fields): Fields => {
        const f: Fields = { name: str, ...extra };
        for (const k of INFORMATIONAL_META) f[k] = () => undefined;
        return f;
      },
      envelope: (metadata: Fields, spec: Fields): Obj =>
        this.struct(node, "", `v3.${kind}`, {
          apiVersion: str,
          kind: str,
          metadata: (n, p) => this.struct(n, p, "v1.ObjectMeta", metadata),
          spec: (n, p) => this.struct(n, p, `v3.${kind}Spec`, spec),
        }) ?? {},
      name: (o: Obj) => ((o.metadata as Obj | undefined)?.name as string | undefined) ?? "",
      metaOf: (o: Obj) => (o.metadata ?? {}) as Obj,
      specOf: (o: Obj) => (o.spec ?? {}) as Obj,
      strs: (n: YamlNode, p: string) => this.r.list(n, p, "[]string", str),
      rules: (n: YamlNode, p: string) => this.r.list(n, p, "[]v3.Rule", (x, q) => this.rule(x, q)),
    };
  }

  #hostEndpoint(k: _Kit): ManifestResource {
    const o = k.envelope(k.meta({ labels: k.labels }), {
      node: k.str,
      interfaceName: k.str,
      expectedIPs: (n, p) => this.r.list(n, p, "[]string", (x, q) => this.r.ip(x, q)),
      profiles: k.strs,
      ports: (n, p) => this.r.list(n, p, "[]v3.EndpointPort", (x, q) => this.endpointPort(x, q)),
    });
    const { node: hostNode, ...spec } = k.specOf(o);
    const m = k.metaOf(o);
    return {
      kind: "hostEndpoint",
      metadata: {
        name: k.name(o),
        node: (hostNode as string | undefined) ?? "",
        ...(m.labels ? { labels: m.labels as Record<string, string> } : {}),
      },
      spec,
    };
  }

  #globalNetworkPolicy(k: _Kit, node: YamlNode): ManifestResource {
    const bool = (n: YamlNode, p: string) => this.bool(n, p);
    const o = k.envelope(k.meta({ annotations: k.labels }), {
      tier: (n, p) => this.#defaultTier(n, p),
      order: (n, p) => this.r.float(n, p),
      selector: k.str,
      types: (n, p) =>
        this.r.list(n, p, "[]v3.PolicyType", (x, q) => this.word(x, q, TYPES, "policy type")),
      ingress: k.rules,
      egress: k.rules,
      doNotTrack: bool,
      preDNAT: bool,
      applyOnForward: bool,
    });
    const s = k.specOf(o);
    const m = k.metaOf(o);
    // Calico 3: pre-DNAT and untracked policies act on forwarded traffic, so must say so.
    if ((s.preDNAT || s.doNotTrack) && s.applyOnForward !== true) {
      const field = s.preDNAT ? "preDNAT" : "doNotTrack";
      throw new DecodeFailure(
        `applyOnForward must be true if either preDNAT or doNotTrack is true`,
        this.valueAt(node, ["spec", field]),
        "spec.applyOnForward",
      );
    }
    const spec: Obj = { selector: "" };
    for (const key of ["order", "selector", "types", "ingress", "egress"]) {
      if (s[key] !== undefined) spec[key] = s[key];
    }
    if (s.doNotTrack) spec.doNotTrack = true;
    if (s.preDNAT) spec.preDNAT = true;
    spec.applyOnForward = s.applyOnForward === true;
    return {
      kind: "policy",
      metadata: {
        name: k.name(o),
        ...(m.annotations ? { annotations: m.annotations as Record<string, string> } : {}),
      },
      spec: spec as { selector: string },
    };
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

  #profile(k: _Kit): ManifestResource {
    const o = k.envelope(k.meta({}), {
      ingress: k.rules,
      egress: k.rules,
      labelsToApply: k.labels,
    });
    const { labelsToApply, ...spec } = k.specOf(o);
    return {
      kind: "profile",
      metadata: {
        name: k.name(o),
        ...(labelsToApply ? { labels: labelsToApply as Record<string, string> } : {}),
      },
      spec,
    };
  }

  #networkSet(k: _Kit): ManifestResource {
    const o = k.envelope(k.meta({ labels: k.labels }), this.#specFields(NETWORK_SET_FIELDS));
    const m = k.metaOf(o);
    return {
      kind: "networkSet",
      metadata: {
        name: k.name(o),
        ...(m.labels ? { labels: m.labels as Record<string, string> } : {}),
      },
      spec: {
        ...requiredDefaults(v1InputFields(NETWORK_SET_FIELDS, false)),
        ...k.specOf(o),
      } as { nets: string[] },
    };
  }

  felixConfiguration(
    node: YamlNode,
    envelope: (metadata: Fields, spec: Fields) => Obj,
    metadata: Fields,
    nameOf: (o: Obj) => string,
  ): ManifestResource {
    const fields: Fields = {};
    for (const [key, field] of Object.entries(FELIX_FIELDS)) {
      fields[key] = (n, p) => {
        const value = field.form === "ports"
          ? this.protoPorts(n, p)
          : field.form === "bool"
          ? this.plainBool(n, p)
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
    const o = envelope(metadata, fields);
    const name = nameOf(o);
    if (name !== "default" && !/^node\.[a-zA-Z0-9_.-]+$/.test(name)) {
      throw new DecodeFailure(
        `hostfence reads FelixConfiguration 'default' (global) and 'node.<hostname>' ` +
          `(one host), not '${clip(name)}'`,
        this.r.deref(node),
        "metadata.name",
      );
    }
    const values: Record<string, string> = {};
    for (const [key, text] of Object.entries(specOf(o))) {
      values[FELIX_FIELDS[key]!.param] = text as string;
    }
    return { kind: "felixConfiguration", metadata: { name }, spec: { values } };

    function specOf(x: Obj): Obj {
      return (x.spec ?? {}) as Obj;
    }
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

  /** The spec readers of a kind whose v3 spec has the v1 spec's fields (Node, GlobalNetworkSet). */
  #specFields(table: FieldTable): Fields {
    const codecs = kindCodecs(this.r, "v3", (n, p, t, f) => this.struct(n, p, t, f));
    return fieldReaders(v1InputFields(table, false), codecs, true);
  }

  rule(node: YamlNode, path: string): Rule {
    const r = this.struct(node, path, "v3.Rule", this.#ruleFields()) ?? {};
    if (r.action === undefined) {
      throw new DecodeFailure(
        "action is required (Allow, Deny, Pass or Log)",
        this.r.deref(node),
        `${path}.action`,
      );
    }
    return r as unknown as Rule;
  }

  // A rule's field readers, built once per decoder (see the v1 decoder's #ruleFields).
  #rules: Fields | undefined;
  #ruleFields(): Fields {
    if (this.#rules) return this.#rules;
    const str = (n: YamlNode, p: string) => this.r.str(n, p);
    const int = (n: YamlNode, p: string) => this.r.int(n, p, "int");
    const codecs: CodecReaders = {
      string: () => str,
      action: () => (n, p) => this.word(n, p, ACTIONS, "action"),
      int: () => int,
      ipVersion: () => int,
      protocol: () => (n, p) => this.protocol(n, p),
      ports: () => (n, p) => this.r.list(n, p, "[]numorstring.Port", (x, q) => this.port(x, q)),
      cidrs: () => (n, p) => this.r.list(n, p, "[]string", (x, q) => this.r.cidr(x, q)),
    };
    const entityFields = fieldReaders(ENTITY_FIELDS, codecs, true);
    codecs.entity = () => (n, p) => {
      const e = this.struct(n, p, "v3.EntityRule", entityFields);
      return e && Object.keys(e).length ? e : undefined;
    };
    const icmpFields = fieldReaders(ICMP_FIELDS, codecs, true);
    codecs.icmp = () => (n, p) => this.struct(n, p, "v3.ICMPFields", icmpFields);
    return this.#rules = fieldReaders(RULE_FIELDS, codecs, true);
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

  /**
   * v3.EndpointPort `{name, protocol, port}`: a port the host endpoint declares by name. A
   * missing field reads as empty and the validator names it (as for stored ports).
   */
  endpointPort(node: YamlNode, path: string): EndpointPort {
    const e = this.struct(node, path, "v3.EndpointPort", {
      name: (n, p) => this.r.str(n, p),
      protocol: (n, p) => this.protocol(n, p),
      port: (n, p) => this.r.int(n, p, "uint16"),
    }) ?? {};
    return {
      name: (e.name as string | undefined) ?? "",
      protocol: (e.protocol as Protocol | undefined) ?? ("" as Protocol),
      port: (e.port as number | undefined) ?? 0,
    };
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
    return this.plainBool(node, path);
  }

  plainBool(node: YamlNode, path: string): boolean | undefined {
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
