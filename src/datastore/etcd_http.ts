/**
 * EtcdClient over etcd's JSON gateway (`POST <endpoint>/v3/kv/range`, ...; served by etcd 3.4
 * on its client URL), using Deno's own fetch: no gRPC or protobuf code to load, which keeps
 * the CLI's start and the agent's memory small. Keys and values travel base64-encoded, 64-bit
 * numbers as decimal strings, and enum fields at their default value are left out (proto3
 * JSON). The watch is one streaming POST whose response is newline-delimited JSON.
 *
 * Endpoint failover: each call goes to the member that answered last (first: a random one);
 * a connection-level failure (refused, timed out, no leader) moves it to the next member,
 * every member once and once more after a pause. Responses larger than the receive limit (4 MiB, as gRPC's) are
 * refused with EtcdResponseTooLargeError, so paging and the oversized-value handling stay as
 * they are with gRPC and no single response can blow up the agent's memory.
 */
import {
  type Compare,
  type EtcdClient,
  EtcdError,
  type EtcdKv,
  EtcdResponseTooLargeError,
  EtcdUnavailableError,
  type EtcdWatch,
  prefixEnd,
  type RangeRequest,
  type RangeResponse,
  type TxnOp,
  type TxnResponse,
  type WatchEvent,
  type WatchHandlers,
  type WatchRequest,
} from "./etcd_client.ts";
import { errorMessage } from "../util/error_message.ts";

export interface HttpClientOptions {
  readonly endpoints: readonly string[];
  /** Deadline for each unary call (and for a watch to be established). */
  readonly callTimeoutMs: number;
  /** PEM texts; absent = plain TLS with the system roots (or no TLS for http://). */
  readonly caCert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly username?: string;
  readonly password?: string;
  /** Largest response accepted, counting base64 as the bytes it carries; default 4 MiB. */
  readonly maxResponseBytes?: number;
  /** With several endpoints: how often a watch checks its member still answers; 10 s. */
  readonly watchCheckMs?: number;
}

/** gRPC's default receive limit, which etcd's clients and hostfence's pages are sized for. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** gRPC status codes after which the call may go to another member (it did not take effect). */
const RETRY_ELSEWHERE = new Set([4, /* DEADLINE_EXCEEDED */ 14 /* UNAVAILABLE */]);
const UNAUTHENTICATED = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function b64(s: string | Uint8Array): string {
  return (typeof s === "string" ? encoder.encode(s) : s).toBase64();
}

function unb64(s: string | undefined): string {
  return s ? decoder.decode(Uint8Array.fromBase64(s)) : "";
}

/** The JSON of a KeyValue as the gateway writes it. */
interface JsonKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

function kvOf(j: JsonKv): EtcdKv {
  return {
    key: unb64(j.key),
    value: unb64(j.value),
    createRevision: Number(j.create_revision ?? 0),
    modRevision: Number(j.mod_revision ?? 0),
    version: Number(j.version ?? 0),
    lease: j.lease ?? "0",
  };
}

interface JsonHeader {
  header?: { revision?: string };
}

const TARGETS = { version: "VERSION", create: "CREATE", mod: "MOD" } as const;
const TARGET_FIELDS = { version: "version", create: "create_revision", mod: "mod_revision" };
const RESULTS = { "==": "EQUAL", ">": "GREATER", "<": "LESS", "!=": "NOT_EQUAL" } as const;

function compareJson(c: Compare): Record<string, unknown> {
  return {
    key: b64(c.key),
    target: TARGETS[c.target],
    result: RESULTS[c.result],
    [TARGET_FIELDS[c.target]]: String(c.value),
  };
}

function opJson(op: TxnOp): Record<string, unknown> {
  if ("put" in op) {
    return {
      request_put: {
        key: b64(op.put),
        value: b64(op.value),
        ...(op.lease !== undefined ? { lease: op.lease } : {}),
      },
    };
  }
  return {
    request_delete_range: {
      key: b64(op.delete),
      ...(op.prefix ? { range_end: b64(prefixEnd(op.delete)) } : {}),
    },
  };
}

/** Reads a body, refusing it once it is over `limit` (the rest is drained to size it). */
async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number) {
  if (body === null) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  for await (const chunk of body) {
    total += chunk.length;
    if (!over && _carried(total) > limit) {
      over = true;
      chunks.length = 0;
    }
    if (!over) chunks.push(chunk);
  }
  if (over) throw new EtcdResponseTooLargeError(_carried(total), limit);
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return decoder.decode(all);
}

/** The bytes `n` bytes of (mostly base64) JSON carry. */
function _carried(n: number): number {
  return Math.ceil(n * 3 / 4);
}

/** A fetch failure as the "cannot connect" error, its reason in words connection.ts knows. */
function _unavailable(endpoint: string, e: unknown, timedOut: boolean): EtcdUnavailableError {
  if (timedOut) return new EtcdUnavailableError(`${endpoint} did not answer in time (timed out)`);
  // Deno says `fetch failed`; the cause has the reason (refused, DNS, TLS, ...).
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const msg = errorMessage(cause);
  return new EtcdUnavailableError(msg.replace(/^error sending request for url \([^)]*\): /, ""));
}

/** See the module comment. */
export class HttpEtcdClient implements EtcdClient {
  readonly transport = "http";
  readonly #endpoints: readonly string[];
  readonly #timeout: number;
  readonly #limit: number;
  readonly #watchCheckMs: number;
  readonly #http: Deno.HttpClient | undefined;
  readonly #closed = new AbortController();
  readonly #auth: { name: string; password: string } | undefined;
  #token: Promise<string> | undefined;
  /** Index of the member that answered last; starts at a random one (as etcd3 shuffles). */
  #current: number;

  constructor(opts: HttpClientOptions) {
    this.#endpoints = opts.endpoints;
    // Many agents given the same list spread over the members instead of all using the first.
    this.#current = Math.floor(Math.random() * opts.endpoints.length);
    this.#timeout = opts.callTimeoutMs;
    this.#limit = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#watchCheckMs = opts.watchCheckMs ?? 10_000;
    if (opts.caCert !== undefined || opts.cert !== undefined) {
      this.#http = Deno.createHttpClient({
        ...(opts.caCert !== undefined ? { caCerts: [opts.caCert] } : {}),
        ...(opts.cert !== undefined && opts.key !== undefined
          ? { cert: opts.cert, key: opts.key }
          : {}),
      });
    }
    if (opts.username !== undefined) {
      this.#auth = { name: opts.username, password: opts.password ?? "" };
    }
  }

  /** One POST to one member; resolves to the response (status 200) or rejects. */
  async #post(
    endpoint: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    token: string | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token !== undefined) headers["authorization"] = token;
    const res = await fetch(`${endpoint}/v3/${path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal,
      ...(this.#http ? { client: this.#http } : {}),
    });
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    let err: { error?: string; message?: string; code?: number } = {};
    try {
      err = JSON.parse(text);
    } catch { /* not JSON: a proxy's or a 404 page */ }
    const msg = err.message ?? err.error ??
      (res.status === 404
        ? `${endpoint} serves no etcd JSON gateway (HTTP 404 for /v3/${path}; etcd grpc-proxy ` +
          "serves none): use the grpc transport (ETCD_TRANSPORT=grpc, agent EtcdTransport=grpc)"
        : `HTTP ${res.status} from ${endpoint}/v3/${path}: ${text.split("\n")[0]}`);
    const code = err.code ?? (res.status === 404 ? 12 /* UNIMPLEMENTED */ : 2);
    if (RETRY_ELSEWHERE.has(code)) throw new EtcdUnavailableError(msg);
    throw new EtcdError(msg, code);
  }

  /**
   * Runs `attempt` against the current member, failing over on connection errors (see the
   * module comment). The deadline covers each attempt, body included.
   */
  async #failover<T>(attempt: (endpoint: string, signal: AbortSignal) => Promise<T>): Promise<T> {
    const n = this.#endpoints.length;
    const attempts = n > 1 ? n + 1 : 1;
    for (let i = 1;; i++) {
      if (this.#closed.signal.aborted) throw new EtcdUnavailableError("client closed");
      const index = this.#current;
      const endpoint = this.#endpoints[index]!;
      const deadline = AbortSignal.timeout(this.#timeout);
      const signal = AbortSignal.any([deadline, this.#closed.signal]);
      try {
        return await attempt(endpoint, signal);
      } catch (e) {
        const err = e instanceof EtcdError || e instanceof EtcdResponseTooLargeError ||
            e instanceof EtcdUnavailableError
          ? e
          : _unavailable(endpoint, e, deadline.aborted);
        if (!(err instanceof EtcdUnavailableError) || i >= attempts) throw err;
        if (this.#current === index) this.#current = (index + 1) % n;
        if (i === n) await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** The auth token (fetched once, again after etcd refused it); undefined without auth. */
  async #tokenFor(endpoint: string, signal: AbortSignal, renew: boolean) {
    if (this.#auth === undefined) return undefined;
    if (renew || this.#token === undefined) {
      const token = this.#post(endpoint, "auth/authenticate", this.#auth, signal, undefined)
        .then(async (res) => (JSON.parse(await res.text()) as { token: string }).token);
      this.#token = token;
      // A failed attempt is not kept: the next call authenticates again.
      token.catch(() => {
        if (this.#token === token) this.#token = undefined;
      });
    }
    return await this.#token;
  }

  /** A unary call: POST, read the (bounded) body, parse it. */
  #call<T>(path: string, body: unknown): Promise<T> {
    return this.#failover(async (endpoint, signal) => {
      for (let renew = false;; renew = true) {
        const token = await this.#tokenFor(endpoint, signal, renew);
        try {
          const res = await this.#post(endpoint, path, body, signal, token);
          return JSON.parse(await readLimited(res.body, this.#limit)) as T;
        } catch (e) {
          if (renew || token === undefined) throw e;
          if (!(e instanceof EtcdError && e.code === UNAUTHENTICATED)) throw e;
        }
      }
    });
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    const res = await this.#call<JsonHeader & { kvs?: JsonKv[]; more?: boolean }>("kv/range", {
      key: b64(req.key),
      ...(req.rangeEnd !== undefined ? { range_end: b64(req.rangeEnd) } : {}),
      ...(req.limit !== undefined ? { limit: String(req.limit) } : {}),
      ...(req.revision !== undefined ? { revision: String(req.revision) } : {}),
      ...(req.keysOnly ? { keys_only: true } : {}),
    });
    return {
      kvs: (res.kvs ?? []).map(kvOf),
      more: res.more ?? false,
      revision: Number(res.header?.revision ?? 0),
    };
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.#call("kv/put", {
      key: b64(key),
      value: b64(value),
      ...(lease !== undefined ? { lease } : {}),
    });
  }

  async delete(key: string, prefix = false): Promise<number> {
    const res = await this.#call<{ deleted?: string }>("kv/deleterange", {
      key: b64(key),
      ...(prefix ? { range_end: b64(prefixEnd(key)) } : {}),
    });
    return Number(res.deleted ?? 0);
  }

  async txn(compares: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResponse> {
    const res = await this.#call<
      JsonHeader & {
        succeeded?: boolean;
        responses?: { response_delete_range?: { deleted?: string } }[];
      }
    >("kv/txn", {
      compare: compares.map(compareJson),
      success: success.map(opJson),
      failure: failure.map(opJson),
    });
    return {
      succeeded: res.succeeded ?? false,
      revision: Number(res.header?.revision ?? 0),
      deleted: (res.responses ?? []).map((r) => Number(r.response_delete_range?.deleted ?? 0)),
    };
  }

  async leaseGrant(ttlSecs: number): Promise<string> {
    const res = await this.#call<{ ID?: string }>("lease/grant", { TTL: String(ttlSecs) });
    return res.ID ?? "0";
  }

  async leaseRevoke(id: string): Promise<void> {
    await this.#call("lease/revoke", { ID: id });
  }

  watch(req: WatchRequest, handlers: WatchHandlers): EtcdWatch {
    const stop = new AbortController();
    let ended = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = (e: Parameters<WatchHandlers["onEnd"]>[0]) => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      stop.abort();
      handlers.onEnd(e);
    };
    const signal = AbortSignal.any([stop.signal, this.#closed.signal]);
    const run = async () => {
      // Established (response headers in) within the call deadline, with failover.
      const { res, endpoint } = await this.#failover(async (endpoint, deadline) => {
        const token = await this.#tokenFor(endpoint, deadline, false);
        // The deadline holds until the response headers are in; the stream has none.
        const early = new AbortController();
        const onDeadline = () => early.abort(deadline.reason);
        deadline.addEventListener("abort", onDeadline, { once: true });
        try {
          const res = await this.#post(
            endpoint,
            "watch",
            {
              create_request: {
                key: b64(req.prefix),
                range_end: b64(prefixEnd(req.prefix)),
                ...(req.startRevision !== undefined
                  ? { start_revision: String(req.startRevision) }
                  : {}),
              },
            },
            AbortSignal.any([signal, early.signal]),
            token,
          );
          return { res, endpoint };
        } finally {
          deadline.removeEventListener("abort", onDeadline);
        }
      });
      if (this.#endpoints.length > 1) this.#checkMember(endpoint, signal, end);
      await this.#readWatch(res, handlers, end);
      end({
        kind: "broken",
        error: new EtcdUnavailableError(`the watch stream from ${endpoint} ended`),
      });
    };
    run().catch((e) => {
      if (!stop.signal.aborted) {
        end({ kind: "broken", error: e instanceof Error ? e : new Error(String(e)) });
      }
    });
    return {
      cancel: () => {
        ended = true;
        clearTimeout(timer);
        stop.abort();
        return Promise.resolve();
      },
    };
  }

  /** Reads the watch stream line by line until it ends, etcd cancels it, or it is stopped. */
  async #readWatch(
    res: Response,
    handlers: WatchHandlers,
    end: (e: Parameters<WatchHandlers["onEnd"]>[0]) => void,
  ): Promise<void> {
    let pending = "";
    const lineLimit = Math.ceil(this.#limit * 4 / 3);
    const stream = res.body!.pipeThrough(new TextDecoderStream());
    for await (const text of stream) {
      pending += text;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() === "") continue;
        if (!this.#onWatchLine(line, handlers, end)) return;
      }
      if (pending.length > lineLimit) {
        throw new EtcdResponseTooLargeError(_carried(pending.length), this.#limit);
      }
    }
  }

  /** Handles one line of the watch stream; false once the watch is over. */
  #onWatchLine(
    line: string,
    handlers: WatchHandlers,
    end: (e: Parameters<WatchHandlers["onEnd"]>[0]) => void,
  ): boolean {
    type Result = {
      created?: boolean;
      canceled?: boolean;
      cancel_reason?: string;
      compact_revision?: string;
      events?: { type?: string; kv?: JsonKv }[];
    };
    const msg = JSON.parse(line) as {
      result?: Result;
      error?: { message?: string; code?: number };
    };
    if (msg.error) {
      const code = msg.error.code ?? 2;
      const text = msg.error.message ?? "watch failed";
      end({
        kind: "broken",
        error: RETRY_ELSEWHERE.has(code)
          ? new EtcdUnavailableError(text)
          : new EtcdError(text, code),
      });
      return false;
    }
    const r = msg.result ?? {};
    if (r.created) handlers.onCreated?.();
    if (r.events?.length) {
      const events: WatchEvent[] = r.events.map((ev) => {
        const kv = kvOf(ev.kv ?? {});
        return {
          key: kv.key,
          value: ev.type === "DELETE" ? null : kv.value,
          modRevision: kv.modRevision,
        };
      });
      handlers.onEvents(events);
    }
    if (r.canceled) {
      const compacted = Number(r.compact_revision ?? 0);
      end({
        kind: "cancelled",
        reason: r.cancel_reason ||
          (compacted > 0
            ? `revisions up to ${compacted} have been compacted`
            : "etcd gave no reason"),
        ...(compacted > 0 ? { compactRevision: compacted } : {}),
      });
      return false;
    }
    return true;
  }

  /**
   * A member cut off from us (no reset, just silence) never ends the watch stream: every
   * `watchCheckMs`, one small read on the same member must answer within the call deadline,
   * else the watch counts as broken and the caller moves to another member.
   */
  #checkMember(
    endpoint: string,
    signal: AbortSignal,
    end: (e: Parameters<WatchHandlers["onEnd"]>[0]) => void,
  ) {
    const check = async () => {
      if (signal.aborted) return;
      const deadline = AbortSignal.timeout(this.#timeout);
      try {
        const token = await this.#tokenFor(endpoint, deadline, false);
        const res = await this.#post(
          endpoint,
          "kv/range",
          { key: b64("/calico/v1/Ready"), count_only: true },
          AbortSignal.any([deadline, signal]),
          token,
        );
        await res.body?.cancel();
      } catch (e) {
        if (signal.aborted) return;
        if (!(e instanceof EtcdError) || RETRY_ELSEWHERE.has(e.code)) {
          if (this.#endpoints[this.#current] === endpoint) {
            this.#current = (this.#current + 1) % this.#endpoints.length;
          }
          end({ kind: "broken", error: _unavailable(endpoint, e, deadline.aborted) });
          return;
        }
      }
      if (!signal.aborted) schedule();
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      timer = setTimeout(() => void check(), this.#watchCheckMs);
    };
    signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    schedule();
  }

  close(): void {
    this.#closed.abort();
    this.#http?.close();
  }
}
