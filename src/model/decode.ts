/**
 * Strict decoding of calicoctl `apiVersion: v1` resources from a parsed YAML document tree
 * into the typed model. Works on nodes through a TreeView: the `yaml` package's nodes
 * (yaml_tree.ts), so every failure names the node it came from, or the fast parser's plain
 * values (fast_yaml.ts); it imports neither parser.
 *
 * Behaviour follows calicoctl v1: the envelope is read loosely first (kind and
 * apiVersion), then the body strictly: unknown fields and wrong types are errors, in Go's
 * words (`cannot unmarshal string into Go value of type float64`). As with Go's decoder via
 * YAML->JSON conversion, a YAML number or boolean where a string belongs is taken as its
 * text, and `null` means "not set". Values are normalised the way calicoctl would print
 * them back (empty lists, maps, strings and `false` become absent; ports `"80"` and
 * `"5:5"` become `80` and `5`; protocol `"6"` becomes `6`; IPs and CIDRs are printed
 * canonically with host bits kept), so `get -o yaml` output decodes to an equal resource.
 * Semantic checks are not done here; see validate.ts.
 */
import type { Port, Resource, ResourceKind, Rule } from "./resources.ts";
import { RESOURCE_KINDS } from "./resources.ts";
import { canonicalCidr, canonicalIp } from "../net/ip.ts";
import type { YamlNode } from "./yaml_positions.ts";
import { clip, quote } from "../log/quote.ts";
import {
  type Codec,
  type Field,
  type FieldTable,
  requiredDefaults,
  v1InputFields,
} from "./fields/table.ts";
import { KIND_FIELDS } from "./fields/kinds.ts";
import { ENTITY_FIELDS, ICMP_FIELDS, RULE_FIELDS } from "./fields/rule.ts";
import { isV3Kind, V3_API_VERSION, V3_KINDS, type V3Kind, v3ListItemKind } from "./v3/kinds.ts";

/** A decode problem at one node; `path` is the field path inside the resource. */
export class DecodeFailure extends Error {
  constructor(message: string, readonly node: YamlNode, readonly path: string) {
    super(message);
    this.name = "DecodeFailure";
  }
}

/** The envelope of a document item, read loosely (calicoctl's first pass). */
export interface Envelope {
  readonly kind: string;
  readonly apiVersion: string;
  /** `metadata.name` when it is a plain scalar, for error messages. */
  readonly name?: string;
}

/** One resource item found in a document, before strict decoding. */
export interface ResourceItem {
  readonly node: YamlNode;
  readonly envelope: Envelope;
  /** The v1 kind, or the v3 kind for `apiVersion: projectcalico.org/v3` (see v3/decode.ts). */
  readonly kind: ResourceKind | V3Kind;
}

/** The apiVersion/kind pair was not one hostfence knows. */
export class UnknownResourceType extends Error {
  constructor(readonly node: YamlNode, readonly envelope: Envelope) {
    const hint = _kindHint(envelope);
    super(
      `Unknown resource type (${envelope.kind}) and/or version (${envelope.apiVersion})` + hint,
    );
    this.name = "UnknownResourceType";
  }
}

const LIST_KINDS = new Map<string, ResourceKind>(RESOURCE_KINDS.map((k) => [`${k}List`, k]));

function _kindHint(env: Envelope): string {
  if (env.apiVersion === V3_API_VERSION) {
    return ` (hostfence reads these ${V3_API_VERSION} kinds: ${V3_KINDS.join(", ")}, ` +
      "their ...List forms and List)";
  }
  const lower = env.kind.toLowerCase();
  const exact = [...RESOURCE_KINDS, ...LIST_KINDS.keys()].find((k) => k.toLowerCase() === lower);
  if (exact && exact !== env.kind) return ` (kinds are case-sensitive: did you mean '${exact}'?)`;
  if (env.apiVersion !== "v1" && (RESOURCE_KINDS as readonly string[]).includes(env.kind)) {
    return " (hostfence reads calicoctl apiVersion v1 resources)";
  }
  if ((V3_KINDS as readonly string[]).includes(env.kind)) {
    return ` (${env.kind} is a ${V3_API_VERSION} kind: write apiVersion: ${V3_API_VERSION})`;
  }
  if (!exact) {
    return ` (hostfence manages ${RESOURCE_KINDS.join(", ")} and their ...List forms)`;
  }
  return "";
}

/**
 * Reads one document's top node and lists the resources in it: a single object, a sequence
 * of objects (kinds may be mixed), or a `<kind>List` object with `items` (also inside a
 * sequence). Throws DecodeFailure or UnknownResourceType.
 */
export function listResourceItems(top: YamlNode, view: TreeView): ResourceItem[] {
  const r = new YamlReader(view);
  const node = r.deref(top);
  if (node === null) return [];
  if (view.isSeq(node)) {
    const out: ResourceItem[] = [];
    view.items(node).forEach((item, i) => {
      const n = r.deref(item);
      if (n === null) return;
      out.push(...r.expandObject(n, `[${i}]`));
    });
    return out;
  }
  return r.expandObject(node, "");
}

/** Strictly decodes one listed item into its typed resource. Throws DecodeFailure. */
export function decodeResourceItem(item: ResourceItem, view: TreeView): Resource {
  return readerFor(view).resource(item.node, item.kind as ResourceKind);
}

/** One reader per view, so its field tables are built once per document, not per resource. */
const readers = new WeakMap<TreeView, YamlReader>();

/** The reader of a view (shared with the v3 decoder). */
export function readerFor(view: TreeView): YamlReader {
  let reader = readers.get(view);
  if (!reader) readers.set(view, reader = new YamlReader(view));
  return reader;
}

type Reader<T> = (node: YamlNode, path: string) => T | undefined;
type Fields = Record<string, Reader<unknown>>;
type Obj = Record<string, unknown>;

/** A kind's v1 input rows and envelope readers (built once per YamlReader). */
interface _KindReaders {
  readonly goType: string;
  readonly metaRows: FieldTable;
  readonly specRows: FieldTable;
  readonly envelope: Fields;
}

/** For each codec a table uses, how to make a row's YAML reader (once per row). */
export type CodecReaders = Partial<Record<Codec, (f: Field) => Reader<unknown>>>;

/**
 * A table's field readers for YAMLReader.struct, in table order (which is the order the
 * "expected one of" message lists them in). `v3` leaves out the fields v3 does not have.
 */
export function fieldReaders(table: FieldTable, codecs: CodecReaders, v3 = false): Fields {
  const out: Fields = {};
  for (const f of table) {
    if (v3 && f.v3 === false) continue;
    const make = codecs[f.codec];
    if (!make) throw new Error(`no reader for codec ${f.codec} (field ${f.key})`);
    out[f.key] = make(f);
  }
  return out;
}

/**
 * The YAML readers of the codecs a kind's table uses for plain values and nested structs,
 * for the v1 or the v3 API: Go type names in errors differ (`v1.OrchRef`, `[]net.IP` vs
 * `v3.OrchRef`, `[]string`), and `struct` is the API's strict struct reader (v3 refuses
 * some fields with a reason). Structs start with their required fields' empty values.
 */
export function kindCodecs(
  r: YamlReader,
  api: "v1" | "v3",
  struct: (node: YamlNode, path: string, goType: string, fields: Fields) => Obj | undefined,
): CodecReaders {
  const str = (n: YamlNode, p: string) => r.str(n, p);
  const strs = (n: YamlNode, p: string) => r.list(n, p, "[]string", str);
  const ip = (n: YamlNode, p: string) => r.ip(n, p);
  const cidr = (n: YamlNode, p: string) => r.cidr(n, p);
  const codecs: CodecReaders = {
    string: () => str,
    strings: () => strs,
    policyTypes: () => strs,
    labels: () => (n, p) => r.stringMap(n, p),
    float: () => (n, p) => r.float(n, p),
    ip: () => ip,
    ips: () => (n, p) => r.list(n, p, api === "v1" ? "[]net.IP" : "[]string", ip),
    cidr: () => cidr,
    cidrs: (f) => (n, p) =>
      r.list(n, p, api === "v1" ? f.goType ?? "[]*net.IPNet" : "[]string", cidr),
    mac: () => (n, p) => r.mac(n, p),
    asNumber: () => (n, p) => r.asNumber(n, p),
  };
  const structOf = (f: Field) => {
    const fields = fieldReaders(f.fields ?? [], codecs);
    return (n: YamlNode, p: string) => {
      const v = struct(n, p, `${api}.${f.goType}`, fields);
      return v && { ...requiredDefaults(f.fields ?? []), ...v };
    };
  };
  codecs.struct = structOf;
  codecs.structs = (f) => {
    const item = structOf(f);
    const empty = () => requiredDefaults(f.fields ?? []);
    return (n, p) => r.list(n, p, `[]${api}.${f.goType}`, (x, q) => item(x, q) ?? empty());
  };
  return codecs;
}

/**
 * A rule's field readers for the v1 or the v3 API, from the readers of its plain values'
 * codecs (`codecs` gains those of its parts): a side (`source`, `destination`) and the ICMP
 * fields are structs of the API (`v1.EntityRule`), leaving out what v3 does not have.
 */
export function ruleFieldReaders(
  codecs: CodecReaders,
  api: "v1" | "v3",
  struct: (node: YamlNode, path: string, goType: string, fields: Fields) => Obj | undefined,
): Fields {
  const v3 = api === "v3";
  const entityFields = fieldReaders(ENTITY_FIELDS, codecs, v3);
  codecs.entity = () => (n, p) => {
    const e = struct(n, p, `${api}.EntityRule`, entityFields);
    // An empty side matches everything; calicoctl prints it as `{}`, we store it absent.
    return e && Object.keys(e).length ? e : undefined;
  };
  const icmpFields = fieldReaders(ICMP_FIELDS, codecs, v3);
  codecs.icmp = () => (n, p) => struct(n, p, `${api}.ICMPFields`, icmpFields);
  return fieldReaders(RULE_FIELDS, codecs, v3);
}

/**
 * How the decoder sees a parsed document, so one decoder serves both parsers: the `yaml`
 * package's node tree (positions for error messages) and the plain values of the fast
 * parser (see fast_yaml.ts).
 */
export interface TreeView {
  /** Resolves aliases; `null` for an absent value or a YAML null. */
  deref(node: YamlNode): YamlNode | null;
  isMap(node: YamlNode): boolean;
  isSeq(node: YamlNode): boolean;
  isScalar(node: YamlNode): boolean;
  /** A map's entries in file order. */
  pairs(node: YamlNode): readonly { readonly key: YamlNode; readonly value: YamlNode }[];
  /** A sequence's items. */
  items(node: YamlNode): readonly YamlNode[];
  /** A scalar's value: string, number, boolean or null. */
  value(node: YamlNode): unknown;
  /** A scalar as text: strings as they are, other plain scalars as written in the file. */
  text(node: YamlNode): string;
}

/** Strict readers over one document's nodes (the v3 decoder reuses them, see v3/decode.ts). */
export class YamlReader {
  #depth = 0;
  constructor(readonly view: TreeView) {}

  /** Resolves aliases; `null` for an absent value or a YAML null. */
  deref(node: YamlNode): YamlNode | null {
    return this.view.deref(node);
  }

  // --- envelope ------------------------------------------------------------------------

  envelope(node: YamlNode, path: string): Envelope {
    if (!this.view.isMap(node)) {
      throw new DecodeFailure(
        `cannot unmarshal ${_jsonType(node, this.view)} into a resource: expected an object with ` +
          "apiVersion, kind, metadata and spec",
        node,
        path,
      );
    }
    const get = (key: string): YamlNode | null => {
      const p = this.#find(node, key);
      return p ? this.deref(p.value) : null;
    };
    const text = (n: YamlNode | null): string =>
      n !== null && this.view.isScalar(n) && this.view.value(n) !== null ? this.view.text(n) : "";
    const meta = get("metadata");
    let name: string | undefined;
    if (meta !== null && this.view.isMap(meta)) {
      const p = this.#find(meta, "name");
      const v = p ? this.deref(p.value) : null;
      if (v !== null && this.view.isScalar(v)) name = this.view.text(v);
    }
    const env = { kind: text(get("kind")), apiVersion: text(get("apiVersion")) };
    return name !== undefined && name !== "" ? { ...env, name } : env;
  }

  /** The entry of map `node` whose scalar key reads `key`. */
  #find(node: YamlNode, key: string) {
    return this.view.pairs(node).find((p) =>
      this.view.isScalar(p.key) && String(this.view.value(p.key)) === key
    );
  }

  expandObject(node: YamlNode, path: string): ResourceItem[] {
    const env = this.envelope(node, path);
    if (isV3Kind(env.apiVersion, env.kind)) return [{ node, envelope: env, kind: env.kind }];
    const v3Item = v3ListItemKind(env.apiVersion, env.kind);
    if (v3Item !== undefined) return this.#expandV3List(node, path, env, v3Item);
    if (env.apiVersion === "v1" && (RESOURCE_KINDS as readonly string[]).includes(env.kind)) {
      return [{ node, envelope: env, kind: env.kind as ResourceKind }];
    }
    const itemKind = env.apiVersion === "v1" ? LIST_KINDS.get(env.kind) : undefined;
    if (itemKind === undefined) throw new UnknownResourceType(node, env);
    const listType = `v1.${_goKind(itemKind)}List`;
    const fields: Fields = {
      apiVersion: (n, p) => this.str(n, p),
      kind: (n, p) => this.str(n, p),
      metadata: (n, p) => this.struct(n, p, "unversioned.ListMetadata", {}),
      items: (n, p) => this.list(n, p, `[]v1.${_goKind(itemKind)}`, (x) => x),
    };
    const list = this.struct(node, path, listType, fields) ?? {};
    const items = (list.items ?? []) as YamlNode[];
    const out: ResourceItem[] = [];
    items.forEach((item, i) => {
      const n = this.deref(item);
      const p = `${path ? path + "." : ""}items[${i}]`;
      if (n === null) return;
      const ie = this.envelope(n, p);
      if (
        (ie.kind !== "" && ie.kind !== itemKind) || (ie.apiVersion !== "" && ie.apiVersion !== "v1")
      ) {
        throw new DecodeFailure(
          `a ${env.kind} may only hold ${itemKind} resources, found kind '${ie.kind}' ` +
            `apiVersion '${ie.apiVersion}'`,
          n,
          p,
        );
      }
      out.push({ node: n, envelope: { ...ie, kind: itemKind, apiVersion: "v1" }, kind: itemKind });
    });
    return out;
  }

  /** A v3 `<Kind>List` or `List`: its items, each a v3 resource of that kind (any for List). */
  #expandV3List(node: YamlNode, path: string, env: Envelope, want: V3Kind | "*"): ResourceItem[] {
    const list = this.struct(node, path, "v3.List", {
      apiVersion: (n, p) => this.str(n, p),
      kind: (n, p) => this.str(n, p),
      // A list's resourceVersion is what `calicoctl get` printed; it selects nothing here.
      metadata: (n, p) =>
        this.struct(n, p, "v1.ListMeta", { resourceVersion: (x, q) => this.str(x, q) }),
      items: (n, p) => this.list(n, p, "[]v3.Resource", (x) => x),
    }) ?? {};
    const out: ResourceItem[] = [];
    ((list.items ?? []) as YamlNode[]).forEach((item, i) => {
      const n = this.deref(item);
      const p = `${path ? path + "." : ""}items[${i}]`;
      if (n === null) return;
      const ie = this.envelope(n, p);
      const kind = ie.kind === "" && want !== "*" ? want : ie.kind;
      const apiVersion = ie.apiVersion === "" ? V3_API_VERSION : ie.apiVersion;
      if (!isV3Kind(apiVersion, kind) || (want !== "*" && kind !== want)) {
        throw new DecodeFailure(
          `a ${env.kind} may only hold ${want === "*" ? V3_KINDS.join(", ") : want} resources ` +
            `of apiVersion ${V3_API_VERSION}, found kind '${ie.kind}' apiVersion '${ie.apiVersion}'`,
          n,
          p,
        );
      }
      out.push({ node: n, envelope: { ...ie, kind, apiVersion }, kind });
    });
    return out;
  }

  // --- resources -----------------------------------------------------------------------

  /** One resource of a v1 kind, read field by field from the kind's table (fields/). */
  resource(node: YamlNode, kind: ResourceKind): Resource {
    const k = this.#kind(kind);
    const o = this.struct(node, "", k.goType, k.envelope) ?? {};
    return {
      kind,
      metadata: { ...requiredDefaults(k.metaRows), ...(o.metadata as Obj) },
      spec: { ...requiredDefaults(k.specRows), ...(o.spec as Obj) },
    } as unknown as Resource;
  }

  // Each kind's rows and envelope readers, built once per reader (as the rule readers below).
  #kinds = new Map<ResourceKind, _KindReaders>();
  #kind(kind: ResourceKind): _KindReaders {
    let k = this.#kinds.get(kind);
    if (k) return k;
    const goKind = _goKind(kind);
    const table = KIND_FIELDS[kind];
    const metaRows = v1InputFields(table, true), specRows = v1InputFields(table, false);
    const codecs = this.#kindCodecs();
    const metadata = fieldReaders(metaRows, codecs);
    const spec = fieldReaders(specRows, codecs);
    const str = (n: YamlNode, p: string) => this.str(n, p);
    const envelope: Fields = {
      apiVersion: str,
      kind: str,
      metadata: (n, p) => this.struct(n, p, `v1.${goKind}Metadata`, metadata),
      spec: (n, p) => this.struct(n, p, `v1.${goKind}Spec`, spec),
    };
    k = { goType: `v1.${goKind}`, metaRows, specRows, envelope };
    this.#kinds.set(kind, k);
    return k;
  }

  /** The YAML reader of each codec a kind's table uses (rules: see #ruleFields). */
  #kindCodecs(): CodecReaders {
    const codecs = kindCodecs(this, "v1", (n, p, t, f) => this.struct(n, p, t, f));
    codecs.flag = () => (n, p) => this.bool(n, p);
    codecs.rules = () => (n, p) => this.list(n, p, "[]v1.Rule", (x, q) => this.rule(x, q));
    return codecs;
  }

  rule(node: YamlNode, path: string): Rule {
    const r = this.struct(node, path, "v1.Rule", this.#ruleFields());
    return { action: "", ...r } as unknown as Rule;
  }

  // A rule's field readers, built once per reader: rules are most of a large file, and
  // building them per rule was a good part of its decoding time (issue 10).
  #rules: Fields | undefined;
  #ruleFields(): Fields {
    if (this.#rules) return this.#rules;
    const str = (x: YamlNode, q: string) => this.str(x, q);
    const cidr = (x: YamlNode, q: string) => this.cidr(x, q);
    const int = (x: YamlNode, q: string) => this.int(x, q, "int");
    const codecs: CodecReaders = {
      string: () => str,
      action: () => str,
      int: () => int,
      ipVersion: () => int,
      protocol: () => (x, q) => this.protocol(x, q),
      cidr: () => cidr,
      cidrs: () => (x, q) => this.list(x, q, "[]*net.IPNet", cidr),
      ports: () => (x, q) => this.list(x, q, "[]numorstring.Port", (y, r) => this.port(y, r) ?? 0),
    };
    return this.#rules = ruleFieldReaders(codecs, "v1", (n, p, t, f) => this.struct(n, p, t, f));
  }

  // --- generic shapes ------------------------------------------------------------------

  /** A Go struct: a map whose keys must all be known; absent results are left out. */
  struct(node: YamlNode, path: string, goType: string, fields: Fields): Obj | undefined {
    const n = this.deref(node);
    if (n === null) return undefined;
    if (!this.view.isMap(n)) throw this.typeError(n, path, goType);
    if (++this.#depth > 64) throw new DecodeFailure("document is nested too deeply", n, path);
    try {
      const out: Obj = {};
      for (const pair of this.view.pairs(n)) {
        const key = this.deref(pair.key);
        const name = key !== null && this.view.isScalar(key) ? this.view.text(key) : "";
        const reader = Object.hasOwn(fields, name) ? fields[name] : undefined;
        const fieldPath = path ? `${path}.${name}` : name;
        if (!reader) {
          const known = Object.keys(fields);
          throw new DecodeFailure(
            `field in document is not recognized or is in the wrong location: ${clip(name)}` +
              (known.length ? ` (expected one of: ${known.join(", ")})` : ""),
            pair.key,
            fieldPath,
          );
        }
        const v = reader(pair.value, fieldPath);
        if (v !== undefined) _setOwn(out, name, v);
      }
      return out;
    } finally {
      this.#depth--;
    }
  }

  /** A Go slice; an empty list is "not set". */
  list<T>(node: YamlNode, path: string, goType: string, item: Reader<T>): T[] | undefined {
    const n = this.deref(node);
    if (n === null) return undefined;
    if (!this.view.isSeq(n)) throw this.typeError(n, path, goType);
    const out = this.view.items(n).map((x, i) => {
      const v = item(x, `${path}[${i}]`);
      return v === undefined ? ("" as T) : v;
    });
    return out.length ? out : undefined;
  }

  /** `map[string]string` (labels, annotations); an empty map is "not set". */
  stringMap(node: YamlNode, path: string): Record<string, string> | undefined {
    const n = this.deref(node);
    if (n === null) return undefined;
    if (!this.view.isMap(n)) throw this.typeError(n, path, "map[string]string");
    const out: Record<string, string> = {};
    for (const pair of this.view.pairs(n)) {
      const key = this.deref(pair.key);
      const name = key !== null && this.view.isScalar(key) ? this.view.text(key) : "";
      if (key !== null && !this.view.isScalar(key)) throw this.typeError(key, path, "string");
      _setOwn(out, name, this.str(pair.value, `${path}.${name}`, true) ?? "");
    }
    return Object.keys(out).length ? out : undefined;
  }

  // --- scalars -------------------------------------------------------------------------

  /** A string; numbers and booleans are taken as written. Empty means "not set". */
  str(node: YamlNode, path: string, keepEmpty = false): string | undefined {
    const n = this.deref(node);
    if (n === null) return keepEmpty ? "" : undefined;
    if (!this.view.isScalar(n)) throw this.typeError(n, path, "string");
    const s = this.view.text(n);
    return s === "" && !keepEmpty ? undefined : s;
  }

  bool(node: YamlNode, path: string): true | undefined {
    const n = this.deref(node);
    if (n === null) return undefined;
    const v = this.view.value(n);
    if (!this.view.isScalar(n) || typeof v !== "boolean") throw this.typeError(n, path, "bool");
    return v ? true : undefined;
  }

  float(node: YamlNode, path: string): number | undefined {
    const n = this.deref(node);
    if (n === null) return undefined;
    const v = this.view.value(n);
    if (!this.view.isScalar(n) || typeof v !== "number" || !Number.isFinite(v)) {
      throw this.typeError(n, path, "float64");
    }
    return v;
  }

  /** An integer of a Go type (`int`, `uint8`, `uint16`, `uint32`) with its range. */
  int(node: YamlNode, path: string, goType: "int" | "uint8" | "uint16" | "uint32") {
    const n = this.deref(node);
    if (n === null) return undefined;
    const [lo, hi] = _INT_RANGES[goType];
    const v = this.view.value(n);
    if (
      !this.view.isScalar(n) || typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi
    ) {
      throw this.typeError(n, path, goType);
    }
    return v;
  }

  /** numorstring.Port: a number, a numeric string or "min:max" (calicoctl's decode messages). */
  port(node: YamlNode, path: string): Port | undefined {
    const n = this.deref(node);
    if (n === null) return 0;
    const v = this.view.value(n);
    if (this.view.isScalar(n) && typeof v === "string") {
      const r = parsePortString(v);
      if (typeof r === "string") throw new DecodeFailure(r, n, path);
      return r;
    }
    return this.int(n, path, "uint16");
  }

  /** numorstring.Protocol: a number 0-255, a numeric string (made a number) or a name. */
  protocol(node: YamlNode, path: string): Rule["protocol"] | undefined {
    const n = this.deref(node);
    if (n === null) return undefined;
    const v = this.view.value(n);
    if (this.view.isScalar(n) && typeof v === "string") {
      if (/^[0-9]+$/.test(v) && Number(v) <= 255) return Number(v);
      // Anything else is kept as written; validation reports "protocol name invalid".
      return v as Rule["protocol"];
    }
    return this.int(n, path, "uint8");
  }

  /** numorstring.ASNumber: a number, or the dotted `A.B` form (A*65536+B). */
  asNumber(node: YamlNode, path: string): number | undefined {
    const n = this.deref(node);
    if (n === null) return undefined;
    // Numbers like 1.10 read by YAML as floats are the dotted form written without quotes.
    const v = this.view.value(n);
    const dotted = this.view.isScalar(n) && typeof v === "number" && !Number.isInteger(v);
    if (this.view.isScalar(n) && (typeof v === "string" || dotted)) {
      const text = this.view.text(n);
      const m = /^([0-9]+)(?:\.([0-9]+))?$/.exec(text);
      const hi = m ? Number(m[1]) : NaN, lo = m?.[2] !== undefined ? Number(m[2]) : undefined;
      if (lo === undefined && hi <= 0xffffffff) return hi;
      if (lo !== undefined && hi <= 0xffff && lo <= 0xffff) return hi * 65536 + lo;
      throw new DecodeFailure(
        `invalid AS number ${
          quote(text, { quote: "'" })
        } (expected 0-4294967295 or the dotted form A.B)`,
        n,
        path,
      );
    }
    return this.int(n, path, "uint32");
  }

  /** net.IP: a plain IPv4/IPv6 address, stored in canonical text. */
  ip(node: YamlNode, path: string): string | undefined {
    const n = this.deref(node);
    if (n === null) return undefined;
    const v = this.view.value(n);
    if (!this.view.isScalar(n) || typeof v !== "string") throw this.typeError(n, path, "string");
    const c = canonicalIp(v);
    if (c === undefined) throw new DecodeFailure(`invalid IP address: ${clip(v)}`, n, path);
    return c;
  }

  /** net.IPNet: `addr/len` (host bits kept) or a bare address (/32, /128), canonical text. */
  cidr(node: YamlNode, path: string): string | undefined {
    const n = this.deref(node);
    if (n === null) return undefined;
    const v = this.view.value(n);
    if (!this.view.isScalar(n) || typeof v !== "string") throw this.typeError(n, path, "string");
    const c = canonicalCidr(v);
    if (c === undefined) throw new DecodeFailure(`invalid CIDR address: ${clip(v)}`, n, path);
    return c;
  }

  /** net.MAC: six bytes in any of Go's notations, stored as lower-case `aa:bb:...`. */
  mac(node: YamlNode, path: string): string | undefined {
    const s = this.str(node, path);
    if (s === undefined) return undefined;
    const m = parseMac(s);
    if (m === undefined) {
      throw new DecodeFailure(`address ${clip(s)}: invalid MAC address`, this.deref(node), path);
    }
    return m;
  }

  typeError(node: YamlNode, path: string, goType: string): DecodeFailure {
    const t = _jsonType(node, this.view);
    const shown = t === "number" && this.view.isScalar(node) ? `number ${this.view.text(node)}` : t;
    return new DecodeFailure(
      `cannot unmarshal ${shown} into Go value of type ${goType}`,
      node,
      path,
    );
  }
}

const _INT_RANGES = {
  int: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 0xffffffff],
} as const;

/**
 * calicoctl's PortFromString: `"80"` -> 80, `"8000:8080"` -> a range (`"5:5"` -> 5), or the
 * error text of libcalico-go's validator (`invalid port format (…)` and friends) as a string.
 */
export function parsePortString(s: string): Port | string {
  const single = _uint16(s);
  if (single !== undefined) return single;
  const parts = s.split(":");
  if (parts.length !== 2) return `invalid port format (${s})`;
  const min = _uint16(parts[0]!);
  if (min === undefined) return `invalid minimum port number in range (${s})`;
  const max = _uint16(parts[1]!);
  if (max === undefined) return `invalid maximum port number in range (${s})`;
  if (min > max) {
    return `minimum port number (${min}) is greater than maximum port number (${max}) in port range`;
  }
  return min === max ? min : { min, max };
}

function _uint16(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** Go's net.ParseMAC for 6-byte addresses: `aa:bb:..`, `aa-bb-..` or `aabb.ccdd.eeff`. */
export function parseMac(s: string): string | undefined {
  let hex: string[] | undefined;
  if (/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(s)) {
    hex = s.split(/[:-]/);
  } else if (/^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$/.test(s)) {
    hex = s.replaceAll(".", "").match(/../g) ?? undefined;
  }
  return hex?.map((h) => h.toLowerCase()).join(":");
}

function _goKind(kind: ResourceKind): string {
  return kind.charAt(0).toUpperCase() + kind.slice(1);
}

/** The JSON type name Go's decoder would report for a node. */
function _jsonType(node: YamlNode, view: TreeView): string {
  if (view.isMap(node)) return "object";
  if (view.isSeq(node)) return "array";
  if (view.isScalar(node)) {
    const v = view.value(node);
    if (typeof v === "number") return "number";
    if (typeof v === "boolean") return "bool";
    if (v === null) return "null";
    return "string";
  }
  return "value";
}

/** Assigns an own enumerable property even for keys like `__proto__`. */
function _setOwn(o: Obj, key: string, value: unknown): void {
  if (key !== "__proto__") {
    o[key] = value;
    return;
  }
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}
