/**
 * Reading a key range of any total size: range requests with a limit, each continuing after
 * the last key of the previous page, all at one revision. gRPC refuses any message over its
 * receive limit (4 MiB), so a page that comes back too large is asked for again with fewer
 * keys; a single key whose value alone is over the limit is skipped and reported, so one
 * oversized value never hides the rest of the datastore.
 */
import { Buffer } from "node:buffer";
import type { Etcd3 } from "etcd3";

/** One key and its value, as read. */
export interface RangeKv {
  readonly key: string;
  readonly value: string;
}

/** A key skipped because its value alone is over gRPC's receive limit. */
export interface OversizedKey {
  readonly key: string;
  /** Size of the refused message (the value plus a few bytes), when gRPC said it. */
  readonly bytes: number | undefined;
  /** gRPC's receive limit, when gRPC said it. */
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
 * True for gRPC's "message larger than max" refusal. Only that: RESOURCE_EXHAUSTED also
 * stands for other things (a server refusing too many keepalive pings).
 */
export function isMessageTooLarge(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /message larger than max/i.test(msg);
}

/** `(sizes)` from gRPC's `Received message larger than max (5243013 vs 4194304)`. */
export function tooLargeSizes(e: unknown): { bytes?: number; limit?: number } {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /larger than max \((\d+) vs\.? (\d+)\)/.exec(msg);
  return m ? { bytes: Number(m[1]), limit: Number(m[2]) } : {};
}

/** `5.0 MB (5243013 bytes)`-style size for messages. */
export function describeBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "an unknown size";
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB (${bytes} bytes)`;
}

/** The range end covering every key that starts with `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] = end[i]! + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

/** The smallest key after `key`. */
function _after(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

/**
 * Reads every key in `[start, end)` at one revision, in pages (see the module comment).
 * Errors other than "too large" propagate (connection loss, a compacted revision).
 */
export async function pagedRange(
  client: Etcd3,
  start: string | Buffer,
  end: string | Buffer,
  opts: PagedRangeOptions = {},
): Promise<RangeResult> {
  const pageSize = Math.max(1, opts.pageSize ?? 500);
  const endBuf = Buffer.from(end);
  let from: Buffer = Buffer.from(start);
  let limit = pageSize;
  let revision = opts.revision;
  const kvs: RangeKv[] = [];
  for (;;) {
    let b = client.getAll().inRange({ start: from, end: endBuf }).limit(limit);
    if (revision !== undefined) b = b.revision(revision);
    let res;
    try {
      res = await b.exec();
    } catch (e) {
      if (!isMessageTooLarge(e)) throw e;
      if (limit > 1) {
        limit = Math.max(1, Math.floor(limit / 4));
        continue;
      }
      // One value alone is over the limit: name it (keys only is small) and step over it.
      let k = client.getAll().inRange({ start: from, end: endBuf }).limit(1);
      if (revision !== undefined) k = k.revision(revision);
      const keys = await k.keyBuffers();
      const key = keys[0];
      if (key === undefined) throw e;
      const sizes = tooLargeSizes(e);
      opts.onOversized?.({ key: key.toString(), bytes: sizes.bytes, limit: sizes.limit });
      from = _after(key);
      continue;
    }
    revision ??= Number(res.header.revision);
    for (const kv of res.kvs) kvs.push({ key: kv.key.toString(), value: kv.value.toString() });
    const last = res.kvs[res.kvs.length - 1];
    if (!res.more || !last) break;
    from = _after(last.key);
    // Grow back after a shrink: one large neighbourhood should not slow the whole read.
    if (limit < pageSize) limit = Math.min(pageSize, limit * 2);
  }
  return { kvs, revision: revision ?? 0 };
}
