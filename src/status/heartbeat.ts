/**
 * The agent's process heartbeat: shortly after start and then every
 * ReportingIntervalSecs, write `/calico/felix/v1/host/<h>/status` bound to an etcd lease of
 * ReportingTTLSecs (so it vanishes when the agent dies) and `last_reported_status` without
 * one (so an operator can see when a dead agent was last alive). The schedule is pure logic
 * over a Clock (src/time/clock.ts); etcd sits behind HeartbeatStore.
 */
import type { EtcdClient } from "../datastore/etcd_client.ts";
import { felixLastReportedStatusKey, felixStatusKey } from "../datastore/keys.ts";
import type { Logger } from "../log/logger.ts";
import { encodeStatusReport, statusReport } from "./report.ts";
import { type Clock, realClock, type TimerHandle } from "../time/clock.ts";

/** Where heartbeats go. */
export interface HeartbeatStore {
  /**
   * Writes `value` to the expiring `status` key (gone `ttlSecs` after the last write; never
   * when `ttlSecs` is 0) and to `last_reported_status`. Throws when either write failed.
   */
  write(value: string, ttlSecs: number): Promise<void>;
  /**
   * Ends the heartbeat. `revoke`: remove `status` now (a clean stop); otherwise leave it to
   * expire on its own, as after a crash. `last_reported_status` stays either way.
   */
  close(revoke: boolean): Promise<void>;
}

/**
 * HeartbeatStore on etcd v3. Each write grants a fresh lease, moves `status` onto it and
 * revokes the previous lease, so the key always expires TTL after the latest write (Felix's
 * v2 "set with TTL"), a TTL change applies on the next write, and a lease lost while etcd
 * was away needs no special recovery. Only unary calls: no keep-alive stream to tend.
 */
export class EtcdHeartbeatStore implements HeartbeatStore {
  readonly #client: EtcdClient;
  readonly #statusKey: string;
  readonly #lastKey: string;
  #lease: string | undefined;

  constructor(client: EtcdClient, hostname: string) {
    this.#client = client;
    this.#statusKey = felixStatusKey(hostname);
    this.#lastKey = felixLastReportedStatusKey(hostname);
  }

  /** The lease `status` is currently attached to (for tests and diagnostics). */
  get leaseId(): string | undefined {
    return this.#lease;
  }

  async write(value: string, ttlSecs: number): Promise<void> {
    const previous = this.#lease;
    if (ttlSecs > 0) {
      // etcd leases count whole seconds; never expire earlier than asked.
      const ID = await this.#client.leaseGrant(Math.ceil(ttlSecs));
      try {
        await this.#client.put(this.#statusKey, value, ID);
      } catch (err) {
        await this.#revoke(ID);
        throw err;
      }
      this.#lease = ID;
    } else {
      await this.#client.put(this.#statusKey, value);
      this.#lease = undefined;
    }
    if (previous !== undefined) await this.#revoke(previous);
    await this.#client.put(this.#lastKey, value);
  }

  async close(revoke: boolean): Promise<void> {
    const lease = this.#lease;
    this.#lease = undefined;
    if (!revoke) return;
    if (lease !== undefined) await this.#revoke(lease);
    else await this.#client.delete(this.#statusKey).catch(() => {});
  }

  /** Best effort: an old lease that cannot be revoked simply expires. */
  async #revoke(id: string): Promise<void> {
    try {
      await this.#client.leaseRevoke(id);
    } catch { /* expired already, or etcd away: it will expire */ }
  }
}

/** How often to report and how long a report stays valid. */
export interface HeartbeatTiming {
  /** ReportingIntervalSecs; 0 disables the heartbeat. */
  readonly intervalSecs: number;
  /** ReportingTTLSecs. */
  readonly ttlSecs: number;
}

export interface HeartbeatOptions extends HeartbeatTiming {
  readonly store: HeartbeatStore;
  readonly log: Logger;
  /** Delay before the first report; Felix waits 10 s. Default 10_000. */
  readonly firstDelayMs?: number;
  /** Timers, and the wall clock for the `time` field. */
  readonly clock?: Clock;
  /** Seconds since the agent started; default: the clock's now() in seconds (the real clock counts from process start). */
  readonly uptime?: () => number;
}

/** Felix's first-report delay. */
export const DEFAULT_FIRST_REPORT_DELAY_MS = 10_000;

/**
 * Writes heartbeats on schedule. Reports never overlap: the next one is timed from the end
 * of the previous. A failed write logs "Failed to write status to datastore" and is retried
 * at the next interval; `first_update` stays true until a write succeeds.
 */
export class HeartbeatReporter {
  readonly #store: HeartbeatStore;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #uptime: () => number;
  readonly #firstDelayMs: number;
  #timing: HeartbeatTiming;
  #timer: TimerHandle | undefined;
  #inFlight: Promise<boolean> | undefined;
  #started = false;
  #closed = false;
  #successes = 0;
  #failing = false;

  constructor(opts: HeartbeatOptions) {
    this.#store = opts.store;
    this.#log = opts.log;
    this.#clock = opts.clock ?? realClock;
    this.#uptime = opts.uptime ?? (() => this.#clock.now() / 1000);
    this.#firstDelayMs = opts.firstDelayMs ?? DEFAULT_FIRST_REPORT_DELAY_MS;
    this.#timing = { intervalSecs: opts.intervalSecs, ttlSecs: opts.ttlSecs };
  }

  /** Number of heartbeats written successfully. */
  get successes(): number {
    return this.#successes;
  }

  /** Arms the first report (nothing happens when the interval is 0). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    if (this.#timing.intervalSecs > 0) {
      this.#log.info(
        `Reporting status to the datastore every ${this.#timing.intervalSecs} s ` +
          `(expires after ${this.#timing.ttlSecs} s)`,
      );
    } else {
      this.#log.info("Status reporting is disabled (ReportingIntervalSecs is 0)");
    }
    this.#arm(this.#firstDelayMs);
  }

  /**
   * Applies a live change of ReportingIntervalSecs/ReportingTTLSecs: the next report comes
   * one new interval from now (or after the first-report delay if none was written yet).
   */
  setTiming(timing: HeartbeatTiming): void {
    const was = this.#timing;
    this.#timing = { intervalSecs: timing.intervalSecs, ttlSecs: timing.ttlSecs };
    if (!this.#started || this.#closed) return;
    if (was.intervalSecs === timing.intervalSecs) return;
    this.#arm(this.#successes > 0 ? timing.intervalSecs * 1000 : this.#firstDelayMs);
  }

  /** Writes one heartbeat now; resolves true on success. Used by the timer and by tests. */
  reportNow(): Promise<boolean> {
    if (this.#inFlight) return this.#inFlight;
    this.#inFlight = this.#report().finally(() => this.#inFlight = undefined);
    return this.#inFlight;
  }

  async #report(): Promise<boolean> {
    const value = encodeStatusReport(
      statusReport(this.#clock.date(), this.#uptime(), this.#successes === 0),
    );
    try {
      await this.#store.write(value, this.#timing.ttlSecs);
    } catch (err) {
      const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
      this.#log.warning(`Failed to write status to datastore; will retry: ${reason}`);
      this.#failing = true;
      return false;
    }
    if (this.#successes === 0) this.#log.info("Wrote the first status report to the datastore");
    else if (this.#failing) this.#log.info("Writing status to the datastore works again");
    this.#failing = false;
    this.#successes++;
    return true;
  }

  #arm(delayMs: number) {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed || this.#timing.intervalSecs <= 0) return;
    this.#timer = this.#clock.setTimeout(async () => {
      this.#timer = undefined;
      await this.reportNow();
      if (this.#timer === undefined) this.#arm(this.#timing.intervalSecs * 1000);
    }, delayMs);
  }

  /**
   * Stops reporting and waits for a write in progress. `revoke` (default true, a clean
   * stop) removes the `status` key now; `revoke: false` leaves it to expire as after a crash.
   */
  async close(opts: { revoke?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    try {
      await this.#store.close(opts.revoke ?? true);
    } catch (err) {
      this.#log.debug(`Could not withdraw the status key: ${err}`);
    }
  }
}
