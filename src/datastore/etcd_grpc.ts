/**
 * EtcdClient over npm:etcd3 (gRPC through @grpc/grpc-js). Not the default (etcd_http.ts is:
 * loading gRPC and protobuf costs start-up time and memory), but needed where only gRPC is
 * served: `etcd grpc-proxy` has no JSON gateway. Loaded only when selected
 * (`EtcdTransport`/`ETCD_TRANSPORT` = grpc), through connection.ts's dynamic import.
 */
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { Etcd3, type IKeyValue, type IOptions, type IRequestOp, type Watcher } from "etcd3";
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import type { ConnectionConfig, TlsMaterial } from "./connection_settings.ts";
import type {
  Compare,
  EtcdClient,
  EtcdKv,
  EtcdWatch,
  RangeRequest,
  RangeResponse,
  TxnOp,
  TxnResponse,
  WatchEnd,
  WatchHandlers,
  WatchRequest,
} from "./etcd_client.ts";
import { isConnectionError } from "./connection_errors.ts";
import { errorMessage } from "../util/error_message.ts";

/** gRPC keepalive on channels with calls in flight (see createEtcd3). */
const KEEPALIVE_TIME_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;

type FaultHandling = NonNullable<IOptions["faultHandling"]>;
type Policy = NonNullable<FaultHandling["global"]>;

/**
 * A pass-through fault policy. etcd3's defaults retry three times and open a 5 s circuit
 * breaker after failures, which turns an etcd restart into seconds of instant failures;
 * our callers do their own retrying, so each call goes straight to the wire.
 */
const _noopPolicy = {
  execute<T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal) {
    return Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal }));
  },
  onSuccess: () => ({ dispose() {} }),
  onFailure: () => ({ dispose() {} }),
} as unknown as Policy;

/** Errors after which the same call may go to another member: it never took effect there. */
function _tryAnotherMember(e: unknown): boolean {
  const msg = errorMessage(e);
  return isConnectionError(e) ||
    /no leader|leader changed|not capable|too many requests|request timed out/i.test(msg);
}

/**
 * With several endpoints, a call that fails because its member is unreachable (or has no
 * leader) is tried on the next member: etcd3 hands each retry of the global policy the next
 * host of one shuffled order. With one endpoint this is the pass-through policy.
 */
function _failoverPolicy(endpoints: number): Policy {
  if (endpoints <= 1) return _noopPolicy;
  // Every member once, and once more after a pause in case a leader election was running.
  const attempts = endpoints + 1;
  return {
    async execute<T>(
      fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T,
      signal?: AbortSignal,
    ): Promise<T> {
      for (let i = 1;; i++) {
        try {
          return await fn({ signal: signal ?? new AbortController().signal });
        } catch (e) {
          if (i >= attempts || !_tryAnotherMember(e)) throw e;
          if (i === endpoints) await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
    onSuccess: () => ({ dispose() {} }),
    onFailure: () => ({ dispose() {} }),
  } as unknown as Policy;
}

/**
 * etcd3 re-dials a broken watch stream after a backoff timer that is never cleared on close.
 * A zero delay keeps that timer from outliving the client (and tests' sanitizers happy);
 * the syncer cancels its watcher on disconnect and does its own backoff.
 */
const _immediateBackoff = {
  duration: 0,
  next() {
    return _immediateBackoff;
  },
} as unknown as NonNullable<FaultHandling["watchBackoff"]>;

/**
 * Builds an etcd3 client for `conn`: TLS and password auth from the config, a deadline on
 * every unary call and no hidden retries, so an unreachable etcd fails within the deadline.
 */
export function createEtcd3(
  conn: ConnectionConfig,
  tls: TlsMaterial | undefined,
  timeout: number,
): Etcd3 {
  const options: IOptions = {
    hosts: [...conn.endpoints],
    dialTimeout: timeout,
    // With several members, one that goes silent (partitioned, its host frozen) neither
    // closes nor resets the watch stream: pings on busy channels find it, so the watch moves
    // to another member in seconds instead of after the next periodic resync. etcd refuses
    // pings more often than every 5 s (--grpc-keepalive-min-time) and on idle channels, hence
    // 10 s and calls only. `etcd grpc-proxy` refuses pings more often than every 5 minutes
    // (Go's defaults) and drops the connection, so a single endpoint (a proxy, typically) gets
    // none: there is no other member to move to anyway.
    ...(conn.endpoints.length > 1
      ? {
        grpcOptions: {
          "grpc.keepalive_time_ms": KEEPALIVE_TIME_MS,
          "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
          "grpc.keepalive_permit_without_calls": 0,
        },
      }
      : {}),
    defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: Date.now() + timeout },
    faultHandling: {
      host: () => _noopPolicy,
      global: _failoverPolicy(conn.endpoints.length),
      watchBackoff: _immediateBackoff,
    },
  };
  if (tls) options.credentials = tls;
  if (conn.username !== undefined) {
    options.auth = {
      username: conn.username,
      password: conn.password ?? "",
      callOptions: { deadline: Date.now() + timeout },
    };
  }
  const client = new Etcd3(options);
  if (tls) _verifyIpEndpoints(client, tls);
  return client;
}

/** An SNI name for endpoints given as IP addresses; never looked up, only sent. */
const _IP_SNI_NAME = "etcd.hostfence.invalid";

/**
 * Deno's TLS refuses an IP address as the SNI server name, which grpc-js sends for an
 * endpoint such as `https://198.18.0.1:2379`. For those hosts only, send a placeholder name
 * instead and verify the certificate against the endpoint's IP address ourselves, so the
 * check is exactly as strict as before. Hosts given by name are left untouched.
 */
function _verifyIpEndpoints(client: Etcd3, tls: TlsMaterial) {
  type PoolHost = {
    host: string;
    channelCredentials: unknown;
    channelOptions: Record<string, unknown> | undefined;
  };
  const hosts = (client as unknown as { pool: { hosts: PoolHost[] } }).pool.hosts;
  for (const h of hosts) {
    const name = h.host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    if (!isIP(name)) continue;
    h.channelCredentials = grpcCredentials.createSsl(
      tls.rootCertificate ?? null,
      tls.privateKey ?? null,
      tls.certChain ?? null,
      {
        checkServerIdentity: (_sni: string, cert: PeerCertificate) =>
          checkServerIdentity(name, cert),
      },
    );
    h.channelOptions = {
      ...(h.channelOptions ?? {}),
      "grpc.ssl_target_name_override": _IP_SNI_NAME,
    };
  }
}

/** The longest a watch cancel may take before the caller stops waiting for it. */
const RETIRE_TIMEOUT_MS = 1_000;

const TARGETS = { version: "Version", create: "Create", mod: "Mod" } as const;
const TARGET_FIELDS = { version: "version", create: "create_revision", mod: "mod_revision" };
const RESULTS = { "==": "Equal", ">": "Greater", "<": "Less", "!=": "NotEqual" } as const;

function kvOf(kv: IKeyValue): EtcdKv {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: String(kv.lease ?? "0"),
  };
}

function opOf(op: TxnOp, prefixEnd: (p: string) => Uint8Array): IRequestOp {
  if ("put" in op) {
    return {
      request_put: {
        key: Buffer.from(op.put),
        value: Buffer.from(op.value),
        ...(op.lease !== undefined ? { lease: op.lease } : {}),
      },
    };
  }
  return {
    request_delete_range: {
      key: Buffer.from(op.delete),
      ...(op.prefix ? { range_end: Buffer.from(prefixEnd(op.delete)) } : {}),
    },
  };
}

/** See the module comment. */
export class GrpcEtcdClient implements EtcdClient {
  readonly transport = "grpc";
  readonly #client: Etcd3;
  readonly #prefixEnd: (p: string) => Uint8Array;

  constructor(
    conn: ConnectionConfig,
    tls: TlsMaterial | undefined,
    timeout: number,
    prefixEnd: (p: string) => Uint8Array,
  ) {
    this.#client = createEtcd3(conn, tls, timeout);
    this.#prefixEnd = prefixEnd;
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    const res = await this.#client.kv.range({
      key: Buffer.from(req.key),
      ...(req.rangeEnd !== undefined ? { range_end: Buffer.from(req.rangeEnd) } : {}),
      ...(req.limit !== undefined ? { limit: req.limit } : {}),
      ...(req.revision !== undefined ? { revision: req.revision } : {}),
      ...(req.keysOnly ? { keys_only: true } : {}),
    });
    return { kvs: res.kvs.map(kvOf), more: res.more, revision: Number(res.header.revision) };
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.#client.kv.put({
      key: Buffer.from(key),
      value: Buffer.from(value),
      ...(lease !== undefined ? { lease } : {}),
    });
  }

  async delete(key: string, prefix = false): Promise<number> {
    const res = await this.#client.kv.deleteRange({
      key: Buffer.from(key),
      ...(prefix ? { range_end: Buffer.from(this.#prefixEnd(key)) } : {}),
    });
    return Number(res.deleted);
  }

  async txn(compares: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResponse> {
    const res = await this.#client.kv.txn({
      compare: compares.map((c) => ({
        key: Buffer.from(c.key),
        target: TARGETS[c.target],
        result: RESULTS[c.result],
        [TARGET_FIELDS[c.target]]: c.value,
      })),
      success: success.map((op) => opOf(op, this.#prefixEnd)),
      failure: failure.map((op) => opOf(op, this.#prefixEnd)),
    });
    return {
      succeeded: res.succeeded,
      revision: Number(res.header.revision),
      deleted: res.responses.map((r) => Number(r.response_delete_range?.deleted ?? 0)),
    };
  }

  async leaseGrant(ttlSecs: number): Promise<string> {
    return (await this.#client.leaseClient.leaseGrant({ TTL: ttlSecs })).ID;
  }

  async leaseRevoke(id: string): Promise<void> {
    await this.#client.leaseClient.leaseRevoke({ ID: id });
  }

  /**
   * etcd3's watcher re-dials by itself after a break; ours ends instead (the callers resync),
   * so the first break or cancel ends it and retires the etcd3 watcher.
   */
  watch(req: WatchRequest, handlers: WatchHandlers): EtcdWatch {
    let b = this.#client.watch().prefix(req.prefix);
    if (req.startRevision !== undefined) b = b.startRevision(String(req.startRevision));
    const watcher = b.watcher();
    let done = false;
    let retired: Promise<void> | undefined;
    const finish = (end: WatchEnd) => {
      if (done) return;
      done = true;
      retired = _retire(watcher, end.kind === "cancelled");
      handlers.onEnd(end);
    };
    watcher.on("connected", () => {
      if (!done) handlers.onCreated?.();
    });
    watcher.on("data", (res) => {
      if (done || !res.events?.length) return;
      handlers.onEvents(res.events.map((ev) => ({
        key: ev.kv.key.toString(),
        value: ev.type === "Delete" ? null : ev.kv.value.toString(),
        modRevision: Number(ev.kv.mod_revision),
      })));
    });
    watcher.on("disconnected", (e: Error) => finish({ kind: "broken", error: e }));
    watcher.on("error", (e: Error) => {
      const msg = e?.message ?? String(e);
      // etcd3 reports a server-side cancel (compaction, ...) as `Watcher canceled: why`.
      if (/Watcher cancel/i.test(msg)) {
        const why = msg.replace(/^.*Watcher cancel+ed:?\s*/i, "").trim();
        finish({ kind: "cancelled", reason: why || "etcd gave no reason" });
      } else finish({ kind: "broken", error: e });
    });
    watcher.on("end", () => finish({ kind: "broken", error: new Error("watch ended") }));
    return {
      cancel: () => {
        if (!done) {
          done = true;
          retired = _retire(watcher, false);
        }
        return retired ?? Promise.resolve();
      },
    };
  }

  close(): void {
    this.#client.close();
  }
}

/**
 * Stops listening to a watcher and cancels it on the server, without ever blocking on it.
 * etcd3 forgets a watcher etcd cancelled, and cancelling that one again waits for an `end`
 * event that never comes; so such a watcher is only dropped, and any other cancel is given
 * at most RETIRE_TIMEOUT_MS.
 */
function _retire(w: Watcher, cancelledByServer: boolean): Promise<void> {
  w.removeAllListeners();
  // etcd3 emits these while a cancel is in flight; nothing should react any more.
  w.on("error", () => {});
  if (cancelledByServer) return Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Called now (not after an await): etcd3 re-dials a broken stream on the next tick
  // unless the watcher is gone by then.
  const cancel = w.cancel().catch(() => {/* the stream is already gone */});
  return Promise.race([
    cancel,
    new Promise<void>((r) => timer = setTimeout(r, RETIRE_TIMEOUT_MS)),
  ]).finally(() => clearTimeout(timer));
}
