/**
 * ResourceStore on the etcd v3 API with the libcalico-go v1 key layout. calicoctl's v2
 * compare-and-swap semantics become v3 transactions: create = "primary key must not exist",
 * replace = "must exist", apply = unconditional; every resource's keys change in one
 * transaction, so concurrent writers never see or leave half a resource.
 */
import {
  type Compare,
  type EtcdClient,
  EtcdError,
  getKv,
  getValue,
  type TxnOp,
} from "./etcd_client.ts";
import type { Logger } from "../log/logger.ts";
import { silentLogger } from "../log/logger.ts";
import type { Resource, ResourceKind } from "../model/resources.ts";
import {
  type ConnectionConfig,
  createEtcdClient,
  isConnectionError,
  unavailableError,
} from "./connection.ts";
import {
  decodeHostEndpoint,
  decodeNetworkSet,
  decodeNode,
  decodePolicy,
  decodeProfile,
  decodeWorkloadEndpoint,
} from "./backend_decode.ts";
import {
  BGP_FIELDS,
  BGP_HOST_PREFIX,
  type BgpField,
  bgpHostDir,
  CALICO_V1_PREFIX,
  CLUSTER_GUID_KEY,
  globalConfigKey,
  HOST_PREFIX,
  hostConfigKey,
  hostDir,
  NETWORK_SET_PREFIX,
  networkSetKey,
  nodeMetadataKey,
  type ParsedKey,
  parseKey,
  POLICY_PREFIX,
  policyKey,
  PROFILE_PREFIX,
  profileDir,
  READY_KEY,
  renderResourceKey,
} from "./keys.ts";
import { describeBytes, pagedRange, prefixEnd } from "./paged_range.ts";
import {
  AlreadyExistsError,
  DatastoreUnavailableError,
  type ListFilter,
  NotExistError,
  type ResourceId,
  type ResourceStore,
} from "./store.ts";
import { quote } from "../log/quote.ts";
import { errorMessage } from "../util/error_message.ts";
import { checkIdentifiers, deleteRanges, resourceId, writesFor } from "./layout.ts";
import type { KeyWrite } from "./layout.ts";

export { checkIdentifiers, deleteRanges, type KeyWrite, resourceId, writesFor };

/** Compares: the key does not exist / exists / always true (writes still in one transaction). */
const absent = (key: string): Compare => ({ key, target: "create", result: "==", value: 0 });
const present = (key: string): Compare => ({ key, target: "create", result: ">", value: 0 });
const always = (key: string): Compare => ({ key, target: "create", result: ">", value: -1 });

/** A raw key/value read from etcd. */
interface RawKv {
  readonly key: string;
  readonly value: string;
}

/**
 * The etcd-backed ResourceStore. Identifier checks run before any etcd call; connection
 * failures become one DatastoreUnavailableError naming the endpoints.
 */
export class EtcdResourceStore implements ResourceStore {
  readonly #client: EtcdClient;
  readonly #conn: ConnectionConfig;
  readonly #log: Logger;
  readonly #ownsClient: boolean;
  #closed = false;

  /** `ownsClient`: close() also closes the client (true when the store made it). */
  constructor(
    client: EtcdClient,
    conn: ConnectionConfig,
    log: Logger = silentLogger,
    ownsClient = true,
  ) {
    this.#client = client;
    this.#conn = conn;
    this.#log = log;
    this.#ownsClient = ownsClient;
  }

  /** The underlying client, for callers that need raw access (status reporting). */
  get client(): EtcdClient {
    return this.#client;
  }

  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (
        e instanceof AlreadyExistsError || e instanceof NotExistError ||
        e instanceof DatastoreUnavailableError
      ) throw e;
      const name = (e as Error)?.constructor?.name ?? "";
      const code = (e as { code?: unknown })?.code;
      const msg = errorMessage(e);
      if (
        /PermissionDenied|Unauthenticated|AuthenticationFailed|InvalidAuthToken/.test(name) ||
        (e instanceof EtcdError && (code === 7 || code === 16)) ||
        /authentication failed|user name is empty|permission denied|invalid auth token/i.test(msg)
      ) {
        throw new DatastoreUnavailableError("connection is unauthorized");
      }
      if (isConnectionError(e)) throw unavailableError(this.#conn, e);
      throw e;
    }
  }

  /**
   * Runs `fn` on the client with this store's error mapping: connection failures become one
   * DatastoreUnavailableError naming the endpoints (for commit-confirm's own transactions).
   */
  withClient<T>(fn: (client: EtcdClient) => Promise<T>): Promise<T> {
    return this.#guard(() => fn(this.#client));
  }

  /** One cheap read that proves etcd answers; throws DatastoreUnavailableError otherwise. */
  checkConnection(): Promise<void> {
    return this.#guard(async () => {
      await getKv(this.#client, READY_KEY);
    });
  }

  #ops(writes: readonly KeyWrite[]): TxnOp[] {
    return writes.map((w) => w.value === null ? { delete: w.key } : { put: w.key, value: w.value });
  }

  /**
   * libcalico-go's "ensure initialized": `/calico/v1/Ready` = `true` and a ClusterGUID, each
   * only when absent (so an operator's `Ready=false` is not overwritten).
   */
  ensureInitialized(): Promise<void> {
    return this.#guard(async () => {
      await this.#client.txn([absent(READY_KEY)], [{ put: READY_KEY, value: "true" }]);
      const guid = crypto.randomUUID().replaceAll("-", "");
      await this.#client.txn([absent(CLUSTER_GUID_KEY)], [{ put: CLUSTER_GUID_KEY, value: guid }]);
    });
  }

  create(resource: Resource): Promise<void> {
    return this.#write(
      resource,
      absent,
      (key) => new AlreadyExistsError(`resource already exists: ${key}`),
    );
  }

  replace(resource: Resource): Promise<void> {
    return this.#write(
      resource,
      present,
      (key) => new NotExistError(`resource does not exist: ${key}`),
    );
  }

  /** Writes whether the resource exists or not (the compare always holds), in one transaction. */
  apply(resource: Resource): Promise<void> {
    return this.#write(resource, always);
  }

  /**
   * Writes all of `resource`'s keys in one transaction that holds only when `compare` holds
   * for its primary key; when it does not, `refused` (given the resource's key) is thrown.
   */
  async #write(
    resource: Resource,
    compare: (primary: string) => Compare,
    refused?: (key: string) => Error,
  ): Promise<void> {
    const id = resourceId(resource);
    checkIdentifiers(id);
    const { primary, writes } = writesFor(resource);
    await this.#guard(async () => {
      if (resource.kind === "node") await this.ensureInitialized();
      const res = await this.#client.txn([compare(primary)], this.#ops(writes));
      if (!res.succeeded && refused !== undefined) throw refused(renderResourceKey(id));
    });
  }

  async delete(id: ResourceId): Promise<void> {
    checkIdentifiers(id);
    const ranges = deleteRanges(id);
    await this.#guard(async () => {
      const ops = ranges.map(([key, prefix]): TxnOp => ({ delete: key, prefix }));
      const res = await this.#client.txn([always(ranges[0]![0])], ops);
      const deleted = res.deleted.reduce((n, d) => n + d, 0);
      if (deleted === 0) {
        throw new NotExistError(`resource does not exist: ${renderResourceKey(id)}`);
      }
    });
  }

  /**
   * Every key under `prefix`, read in pages of bounded size (the total never meets gRPC's
   * receive limit); a single value over that limit is skipped with a warning.
   */
  async #range(prefix: string): Promise<RawKv[]> {
    const { kvs } = await pagedRange(this.#client, prefix, prefixEnd(prefix), {
      onOversized: (o) =>
        this.#log.warning(
          `Skipping etcd key ${o.key}: its value is ${describeBytes(o.bytes)}, more than ` +
            `the receive limit${o.limit ? ` of ${o.limit} bytes` : ""}`,
        ),
    });
    return kvs;
  }

  async #get(key: string): Promise<string | null> {
    return await getValue(this.#client, key);
  }

  /** Logs and skips a stored value that does not decode, so one bad key cannot hide the rest. */
  #decode<T>(key: string, raw: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.#log.warning(
        `Failed to parse value for ${key}: ${errorMessage(e)}; ${quote(raw, { quote: "'" })}`,
      );
      return undefined;
    }
  }

  /** Every key and value under /calico/v1/ (what the agents' syncers read), for dry runs. */
  snapshot(): Promise<Map<string, string>> {
    return this.#guard(async () =>
      new Map((await this.#range(CALICO_V1_PREFIX)).map((kv) => [kv.key, kv.value]))
    );
  }

  list(kind: ResourceKind, filter: ListFilter = {}): Promise<Resource[]> {
    return this.#guard(async () => {
      switch (kind) {
        case "policy":
          return await this.#listPolicies(filter);
        case "hostEndpoint":
          return await this.#listHostEndpoints(filter);
        case "workloadEndpoint":
          return await this.#listWorkloadEndpoints(filter);
        case "profile":
          return await this.#listProfiles(filter);
        case "node":
          return await this.#listNodes(filter);
        case "networkSet":
          return await this.#listNetworkSets(filter);
      }
    });
  }

  async #listPolicies(f: ListFilter): Promise<Resource[]> {
    const kvs = await this.#rangeOrKey(POLICY_PREFIX, policyKey, f.name);
    return this.#decodeEach(kvs, "policy", (k, value) => decodePolicy(k.name, value));
  }

  async #listNetworkSets(f: ListFilter): Promise<Resource[]> {
    const kvs = await this.#rangeOrKey(NETWORK_SET_PREFIX, networkSetKey, f.name);
    return this.#decodeEach(kvs, "networkSet", (k, value) => decodeNetworkSet(k.name, value));
  }

  async #listHostEndpoints(f: ListFilter): Promise<Resource[]> {
    const kvs = await this.#range(f.node !== undefined ? hostDir(f.node) : HOST_PREFIX);
    return this.#decodeEach(
      kvs,
      "hostEndpoint",
      (k, value) => decodeHostEndpoint(k.node, k.name, value),
      (k) => _wanted(f.name, k.name),
    );
  }

  async #listWorkloadEndpoints(f: ListFilter): Promise<Resource[]> {
    const kvs = await this.#range(f.node !== undefined ? hostDir(f.node) : HOST_PREFIX);
    return this.#decodeEach(
      kvs,
      "workloadEndpoint",
      (k, value) => decodeWorkloadEndpoint(k, value),
      (k) =>
        _wanted(f.name, k.name) && _wanted(f.orchestrator, k.orchestrator) &&
        _wanted(f.workload, k.workload),
    );
  }

  /** Every key under `prefix`, or with a `name` only that one's key (`keyOf(name)`). */
  async #rangeOrKey(
    prefix: string,
    keyOf: (name: string) => string,
    name: string | undefined,
  ): Promise<RawKv[]> {
    if (name === undefined) return await this.#range(prefix);
    const key = keyOf(name);
    return (await this.#range(key)).filter((kv) => kv.key === key);
  }

  /**
   * The resources stored one to a key: each key of `type` that `keep` accepts is decoded; a
   * value that does not decode is logged and left out (#decode).
   */
  #decodeEach<T extends ParsedKey["type"]>(
    kvs: readonly RawKv[],
    type: T,
    decode: (k: Extract<ParsedKey, { type: T }>, value: string) => Resource,
    keep: (k: Extract<ParsedKey, { type: T }>) => boolean = () => true,
  ): Resource[] {
    const out: Resource[] = [];
    for (const kv of kvs) {
      const k = parseKey(kv.key);
      if (k?.type !== type) continue;
      const key = k as Extract<ParsedKey, { type: T }>;
      if (!keep(key)) continue;
      const r = this.#decode(kv.key, kv.value, () => decode(key, kv.value));
      if (r) out.push(r);
    }
    return out;
  }

  async #listProfiles(f: ListFilter): Promise<Resource[]> {
    const kvs = await this.#range(f.name !== undefined ? profileDir(f.name) : PROFILE_PREFIX);
    const parts = new Map<string, { rules?: string; tags?: string; labels?: string }>();
    for (const kv of kvs) {
      const k = parseKey(kv.key);
      if (k?.type !== "profileRules" && k?.type !== "profileTags" && k?.type !== "profileLabels") {
        continue;
      }
      const entry = parts.get(k.name) ?? {};
      if (k.type === "profileRules") entry.rules = kv.value;
      else if (k.type === "profileTags") entry.tags = kv.value;
      else entry.labels = kv.value;
      parts.set(k.name, entry);
    }
    const out: Resource[] = [];
    for (const [name, p] of parts) {
      const key = profileDir(name);
      const r = this.#decode(key, JSON.stringify(p), () => decodeProfile(name, p));
      if (r) out.push(r);
    }
    return out;
  }

  async #listNodes(f: ListFilter): Promise<Resource[]> {
    const hostKvs = await this.#range(f.name !== undefined ? hostDir(f.name) : HOST_PREFIX);
    const bgpKvs = await this.#range(f.name !== undefined ? bgpHostDir(f.name) : BGP_HOST_PREFIX);
    // Any directory under /calico/v1/host counts as a node (as in libcalico-go v1).
    const names: string[] = [];
    const orchRefs = new Map<string, string>();
    for (const kv of hostKvs) {
      const rest = kv.key.slice(HOST_PREFIX.length);
      const slash = rest.indexOf("/");
      if (slash <= 0) continue;
      const node = rest.slice(0, slash);
      if (names[names.length - 1] !== node && !names.includes(node)) names.push(node);
      if (rest.slice(slash + 1) === "orchestrator_refs") orchRefs.set(node, kv.value);
    }
    const bgp = new Map<string, Partial<Record<BgpField, string>>>();
    for (const kv of bgpKvs) {
      const [node, field, ...more] = kv.key.slice(BGP_HOST_PREFIX.length).split("/");
      if (!node || more.length > 0 || !BGP_FIELDS.has(field!)) continue;
      const entry = bgp.get(node) ?? {};
      entry[field as BgpField] = kv.value;
      bgp.set(node, entry);
    }
    const out: Resource[] = [];
    for (const name of names) {
      const texts: { orchRefs?: string; bgp?: Partial<Record<BgpField, string>> } = {};
      const o = orchRefs.get(name);
      if (o !== undefined) texts.orchRefs = o;
      const b = bgp.get(name);
      if (b !== undefined) texts.bgp = b;
      const n = this.#decode(
        nodeMetadataKey(name),
        JSON.stringify(texts),
        () => decodeNode(name, texts),
      );
      if (n) out.push(n);
    }
    return out;
  }

  setFelixConfig(name: string, value: string | null, node?: string): Promise<void> {
    const key = node !== undefined ? hostConfigKey(node, name) : globalConfigKey(name);
    return this.#guard(async () => {
      if (value === null) await this.#client.delete(key);
      else await this.#client.put(key, value);
    });
  }

  getFelixConfig(name: string, node?: string): Promise<string | undefined> {
    const key = node !== undefined ? hostConfigKey(node, name) : globalConfigKey(name);
    return this.#guard(async () => (await this.#get(key)) ?? undefined);
  }

  close(): Promise<void> {
    if (!this.#closed && this.#ownsClient) this.#client.close();
    this.#closed = true;
    return Promise.resolve();
  }
}

/** True when a list filter's field is unset or names `actual`. */
function _wanted(filter: string | undefined, actual: string): boolean {
  return filter === undefined || filter === actual;
}

/** Opens a store on a new client for `conn` (closed by the store's close()). */
export function openResourceStore(conn: ConnectionConfig, log?: Logger): EtcdResourceStore {
  return new EtcdResourceStore(createEtcdClient(conn), conn, log ?? silentLogger, true);
}
