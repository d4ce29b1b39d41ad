/**
 * The etcd v3 operations hostfence uses, as one small interface of our own: paged ranges,
 * put, delete, transactions with compares, leases and a watch from a revision. Two
 * implementations sit behind it: etcd's JSON gateway over Deno's fetch (etcd_http.ts, the
 * default: no gRPC stack to load) and npm:etcd3 over gRPC (etcd_grpc.ts, for `etcd
 * grpc-proxy`, which serves no JSON gateway). Keys and values are UTF-8 strings; a range end
 * may be raw bytes (prefix ends).
 */

/** Which client library talks to etcd. */
export type EtcdTransport = "http" | "grpc";

/** The transports, default first. */
export const ETCD_TRANSPORTS: readonly EtcdTransport[] = ["http", "grpc"];

/** One key as read. `lease` is "0" when the key has none. */
export interface EtcdKv {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: string;
}

export interface RangeRequest {
  readonly key: string;
  /** Exclusive end; absent = the single key `key`. */
  readonly rangeEnd?: string | Uint8Array;
  readonly limit?: number;
  /** Read at this revision; absent = the newest. */
  readonly revision?: number;
  /** Keys only (values come back empty). */
  readonly keysOnly?: boolean;
}

export interface RangeResponse {
  readonly kvs: EtcdKv[];
  /** More keys in the range than `limit` returned. */
  readonly more: boolean;
  /** The store's revision the read saw. */
  readonly revision: number;
}

/** A transaction condition on one key (etcd's Compare). */
export interface Compare {
  readonly key: string;
  readonly target: "version" | "create" | "mod";
  readonly result: "==" | "!=" | ">" | "<";
  readonly value: number;
}

/** One write of a transaction: a put, or a delete of a key or a prefix. */
export type TxnOp =
  | { readonly put: string; readonly value: string; readonly lease?: string }
  | { readonly delete: string; readonly prefix?: boolean };

export interface TxnResponse {
  readonly succeeded: boolean;
  readonly revision: number;
  /** Keys each delete of the executed branch removed, in op order (0 for puts). */
  readonly deleted: number[];
}

/** One watch event. `value` is null for a delete. */
export interface WatchEvent {
  readonly key: string;
  readonly value: string | null;
  readonly modRevision: number;
}

/** Why a watch ended (it never ends by itself otherwise). */
export type WatchEnd =
  /** etcd cancelled it; `compactRevision` set when its start revision was compacted. */
  | { readonly kind: "cancelled"; readonly reason: string; readonly compactRevision?: number }
  /** The stream broke (connection lost, member silent, a response over the size limit). */
  | { readonly kind: "broken"; readonly error: Error };

export interface WatchRequest {
  /** Every key starting with this. */
  readonly prefix: string;
  /** First revision to report; absent = changes from now on. */
  readonly startRevision?: number;
}

export interface WatchHandlers {
  /** The events of one response, in order. */
  onEvents(events: WatchEvent[]): void;
  /** The watch is established on the server (again, after a reconnect in etcd3). */
  onCreated?(): void;
  /** Called once; nothing is reported after it. */
  onEnd(end: WatchEnd): void;
}

/** A running watch. `cancel` stops reporting at once and ends it on the server (bounded). */
export interface EtcdWatch {
  cancel(): Promise<void>;
}

/**
 * The client. Connection failures reject with errors `isConnectionError` recognises; with
 * several endpoints each call fails over to the next member on such errors.
 */
export interface EtcdClient {
  readonly transport: EtcdTransport;
  range(req: RangeRequest): Promise<RangeResponse>;
  put(key: string, value: string, lease?: string): Promise<void>;
  /** Deletes `key`, or every key under it with `prefix`; resolves to the number deleted. */
  delete(key: string, prefix?: boolean): Promise<number>;
  /** All `compares` hold -> `success` ops, else `failure` ops; one atomic step. */
  txn(compares: Compare[], success: TxnOp[], failure?: TxnOp[]): Promise<TxnResponse>;
  /** A new lease of `ttlSecs`; resolves to its ID (decimal string). */
  leaseGrant(ttlSecs: number): Promise<string>;
  leaseRevoke(id: string): Promise<void>;
  watch(req: WatchRequest, handlers: WatchHandlers): EtcdWatch;
  /** Ends every call and watch; the client is unusable afterwards. */
  close(): void;
}

/** etcd answered with an error (gRPC status `code`, e.g. 11 for a compacted revision). */
export class EtcdError extends Error {
  override name = "EtcdError";
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

/** A connection-level failure: refused, unreachable, timed out, member without a leader. */
export class EtcdUnavailableError extends Error {
  override name = "EtcdUnavailableError";
}

/** A response over the receive limit; `bytes` and `limit` as in gRPC's message. */
export class EtcdResponseTooLargeError extends Error {
  override name = "EtcdResponseTooLargeError";
  constructor(readonly bytes: number, readonly limit: number) {
    super(`Received message larger than max (${bytes} vs ${limit})`);
  }
}

/** The single-key range of `key`, or undefined. */
export async function getKv(client: EtcdClient, key: string): Promise<EtcdKv | undefined> {
  return (await client.range({ key })).kvs[0];
}

/** The value of `key`, or null. */
export async function getValue(client: EtcdClient, key: string): Promise<string | null> {
  return (await getKv(client, key))?.value ?? null;
}

/** The range end covering every key that starts with `prefix`. */
export function prefixEnd(prefix: string | Uint8Array): Uint8Array {
  const b = typeof prefix === "string" ? new TextEncoder().encode(prefix) : prefix;
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = b.slice(0, i + 1);
      end[i] = end[i]! + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** Every key (and value) under `prefix`, in one request (small ranges only). */
export async function getPrefix(
  client: EtcdClient,
  prefix: string,
  keysOnly = false,
): Promise<EtcdKv[]> {
  return (await client.range({ key: prefix, rangeEnd: prefixEnd(prefix), keysOnly })).kvs;
}
