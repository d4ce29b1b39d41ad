/**
 * Reading a key range of any total size: range requests with a limit, each continuing after
 * the last key of the previous page, all at one revision. gRPC refuses any message over its
 * receive limit (4 MiB; the JSON gateway client keeps the same limit), so a page that comes
 * back too large is asked for again with fewer keys; a single key whose value alone is over
 * the limit is skipped and reported, so one oversized value never hides the rest of the
 * datastore.
 */
import { type EtcdClient, EtcdResponseTooLargeError } from "./etcd_client.ts";
import { errorMessage } from "../util/error_message.ts";

export { prefixEnd } from "./etcd_client.ts";

/** One key and its value, as read. */
export interface RangeKv {
  readonly key: string;
  readonly value: string;
}

/** A key skipped because its value alone is over the receive limit. */
export interface OversizedKey {
  readonly key: string;
  /** Size of the refused message (the value plus a few bytes), when gRPC said it. */
  readonly bytes: number | undefined;
  /** The receive limit, when the client said it. */
  readonly limit: number | undefined;
}

export interface PagedRangeOptions {
  /** Keys asked for per request while no page is too large; default 500. */
  readonly pageSize?: number;
  /** Read at this revision; default: the revision of the first page. */
  readonly revision?: number;
  /** Called for each key skipped because it is too large to receive. */
  readonly onOversized?: (o: OversizedKey) => void;
}

/** All pages of one range, and the revision they were read at. */
export interface RangeResult {
  readonly kvs: RangeKv[];
  readonly revision: number;
}

/**
 * True for a response refused as over the receive limit: gRPC's "message larger than max", or
 * EtcdResponseTooLargeError (same words). Only that: RESOURCE_EXHAUSTED also stands for other
 * things (a server refusing too many keepalive pings).
 */
export function isMessageTooLarge(e: unknown): boolean {
  if (e instanceof EtcdResponseTooLargeError) return true;
  const msg = errorMessage(e);
  return /message larger than max/i.test(msg);
}

/** `(sizes)` from gRPC's `Received message larger than max (5243013 vs 4194304)`. */
export function tooLargeSizes(e: unknown): { bytes?: number; limit?: number } {
  const msg = errorMessage(e);
  const m = /larger than max \((\d+) vs\.? (\d+)\)/.exec(msg);
  return m ? { bytes: Number(m[1]), limit: Number(m[2]) } : {};
}

/** `5.0 MB (5243013 bytes)`-style size for messages. */
export function describeBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "an unknown size";
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB (${bytes} bytes)`;
}

/** The smallest key after `key`. */
function _after(key: string): string {
  return key + "\0";
}

/**
 * Reads every key in `[start, end)` at one revision, in pages (see the module comment).
 * Errors other than "too large" propagate (connection loss, a compacted revision).
 */
export async function pagedRange(
  client: EtcdClient,
  start: string,
  end: string | Uint8Array,
  opts: PagedRangeOptions = {},
): Promise<RangeResult> {
  const pageSize = Math.max(1, opts.pageSize ?? 500);
  let from = start;
  let limit = pageSize;
  let revision = opts.revision;
  const kvs: RangeKv[] = [];
  const at: { revision?: number } = revision === undefined ? {} : { revision };
  for (;;) {
    let res;
    try {
      res = await client.range({ key: from, rangeEnd: end, limit, ...at });
    } catch (e) {
      if (!isMessageTooLarge(e)) throw e;
      if (limit > 1) {
        limit = Math.max(1, Math.floor(limit / 4));
        continue;
      }
      // One value alone is over the limit: name it (keys only is small) and step over it.
      const keys = await client.range({
        key: from,
        rangeEnd: end,
        limit: 1,
        keysOnly: true,
        ...at,
      });
      const key = keys.kvs[0]?.key;
      if (key === undefined) throw e;
      const sizes = tooLargeSizes(e);
      opts.onOversized?.({ key, bytes: sizes.bytes, limit: sizes.limit });
      from = _after(key);
      continue;
    }
    if (revision === undefined) {
      revision = res.revision;
      at.revision = revision;
    }
    for (const kv of res.kvs) kvs.push({ key: kv.key, value: kv.value });
    const last = res.kvs[res.kvs.length - 1];
    if (!res.more || !last) break;
    from = _after(last.key);
    // Grow back after a shrink: one large neighbourhood should not slow the whole read.
    if (limit < pageSize) limit = Math.min(pageSize, limit * 2);
  }
  return { kvs, revision: revision ?? 0 };
}
