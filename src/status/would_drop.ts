/**
 * PolicyAuditMode's would-drop counts, published for `hostfence status`: each agent keeps
 * `/calico/felix/v1/host/<node>/would_drop` up to date (written only when the counts
 * changed, deleted when audit mode is off) beside its heartbeat, so the operator sees
 * every node's would-drops from etcd without reaching each agent's metrics port.
 */
import type { EtcdClient } from "../datastore/etcd_client.ts";
import { FELIX_HOST_PREFIX } from "../datastore/keys.ts";
import type { Logger } from "../log/logger.ts";
import { type Clock, realClock, type TimerHandle } from "../time/clock.ts";
import type { CounterReading, WouldDropCounter } from "../observe/counter_metrics.ts";
import { errorMessage } from "../util/error_message.ts";

/** One would-drop count as stored and shown. */
export interface WouldDropEntry {
  /** `policy NAME`, `profile NAME`, or `endpoint HEP (IFACE)`. */
  readonly by: string;
  readonly direction: string;
  /** For endpoints: `no policy allowed`, `no profile allowed` or `default drop`. */
  readonly reason?: string;
  readonly packets: number;
}

export function wouldDropKey(node: string): string {
  return `${FELIX_HOST_PREFIX}${node}/would_drop`;
}

/** The stored entries for a reading, sorted; empty when audit mode is off. */
export function wouldDropEntries(would: readonly WouldDropCounter[]): WouldDropEntry[] {
  return would.map((w): WouldDropEntry =>
    w.by === "policy"
      ? {
        by: `${w.class === "profile" ? "profile" : "policy"} ${w.policy}`,
        direction: w.direction,
        packets: w.packets,
      }
      : {
        by: `endpoint ${w.hostEndpoint} (${w.iface})`,
        direction: w.direction,
        reason: w.reason,
        packets: w.packets,
      }
  ).sort((a, b) =>
    a.by < b.by
      ? -1
      : a.by > b.by
      ? 1
      : `${a.direction}${a.reason}` < `${b.direction}${b.reason}`
      ? -1
      : 1
  );
}

/** Reads a stored value; undefined when it is not a list of entries. */
export function parseWouldDrops(text: string): WouldDropEntry[] | undefined {
  try {
    const v = JSON.parse(text) as { counts?: unknown };
    if (!Array.isArray(v?.counts)) return undefined;
    return v.counts.filter((e): e is WouldDropEntry =>
      typeof e?.by === "string" && typeof e?.direction === "string" &&
      typeof e?.packets === "number"
    );
  } catch {
    return undefined;
  }
}

export interface WouldDropReporterOptions {
  readonly client: EtcdClient;
  readonly hostname: string;
  readonly read: () => Promise<CounterReading>;
  /** Whether audit mode is on: counters (a full table listing) are read only then. */
  readonly active: () => boolean;
  readonly log: Logger;
  /** Default 5000 ms. */
  readonly intervalMs?: number;
  /** Timers; default the process's own. */
  readonly clock?: Clock;
}

/** Publishes the would-drop counts every interval when they changed. */
export class WouldDropReporter {
  readonly #o: WouldDropReporterOptions;
  #last: string | null = null;
  #timer: TimerHandle | undefined;
  #closed = false;
  #failing = false;

  readonly #clock: Clock;

  constructor(o: WouldDropReporterOptions) {
    this.#o = o;
    this.#clock = o.clock ?? realClock;
  }

  start(): void {
    if (this.#closed) return;
    void this.publish().finally(() => {
      if (!this.#closed) {
        this.#timer = this.#clock.setTimeout(() => this.start(), this.#o.intervalMs ?? 5000);
      }
    });
  }

  /** One pass; never throws. */
  async publish(): Promise<void> {
    try {
      const entries = this.#o.active()
        ? wouldDropEntries((await this.#o.read()).wouldDrops ?? [])
        : [];
      const key = wouldDropKey(this.#o.hostname);
      if (entries.length === 0) {
        // Deleted once at start and whenever audit mode goes off.
        if (this.#last !== "") await this.#o.client.delete(key);
        this.#last = "";
      } else {
        const text = JSON.stringify({ counts: entries });
        if (text !== this.#last) await this.#o.client.put(key, text);
        this.#last = text;
      }
      this.#failing = false;
    } catch (e) {
      if (!this.#failing) {
        this.#o.log.warning(`Cannot publish would-drop counts: ${errorMessage(e)}`);
      }
      this.#failing = true;
    }
  }

  /** Stops publishing; a write in flight is not waited for (etcd may not answer). */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    return Promise.resolve();
  }
}
