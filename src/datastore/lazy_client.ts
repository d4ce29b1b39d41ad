/**
 * An EtcdClient whose implementation is still loading (a dynamic import): every call waits
 * for it. Lets createEtcdClient stay synchronous while the gRPC client's modules load only
 * when that transport is chosen.
 */
import type {
  Compare,
  EtcdClient,
  EtcdTransport,
  EtcdWatch,
  RangeRequest,
  RangeResponse,
  TxnOp,
  TxnResponse,
  WatchHandlers,
  WatchRequest,
} from "./etcd_client.ts";

export class LazyEtcdClient implements EtcdClient {
  readonly transport: EtcdTransport;
  readonly #inner: Promise<EtcdClient>;
  #closed = false;

  constructor(transport: EtcdTransport, inner: Promise<EtcdClient>) {
    this.transport = transport;
    this.#inner = inner;
    // A failed load is reported by the first call, not as an unhandled rejection.
    inner.catch(() => {});
  }

  range(req: RangeRequest): Promise<RangeResponse> {
    return this.#inner.then((c) => c.range(req));
  }
  put(key: string, value: string, lease?: string): Promise<void> {
    return this.#inner.then((c) => c.put(key, value, lease));
  }
  delete(key: string, prefix?: boolean): Promise<number> {
    return this.#inner.then((c) => c.delete(key, prefix));
  }
  txn(compares: Compare[], success: TxnOp[], failure?: TxnOp[]): Promise<TxnResponse> {
    return this.#inner.then((c) => c.txn(compares, success, failure));
  }
  leaseGrant(ttlSecs: number): Promise<string> {
    return this.#inner.then((c) => c.leaseGrant(ttlSecs));
  }
  leaseRevoke(id: string): Promise<void> {
    return this.#inner.then((c) => c.leaseRevoke(id));
  }

  watch(req: WatchRequest, handlers: WatchHandlers): EtcdWatch {
    let watch: EtcdWatch | undefined;
    let cancelled = false;
    this.#inner.then(
      (c) => {
        if (!cancelled && !this.#closed) watch = c.watch(req, handlers);
      },
      (e) => handlers.onEnd({ kind: "broken", error: e instanceof Error ? e : new Error(e) }),
    );
    return {
      cancel: () => {
        cancelled = true;
        return watch?.cancel() ?? Promise.resolve();
      },
    };
  }

  close(): void {
    this.#closed = true;
    this.#inner.then((c) => c.close(), () => {});
  }
}
