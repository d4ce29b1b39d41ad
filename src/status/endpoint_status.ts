/**
 * Per-endpoint status reports (EndpointReportingEnabled): each local host endpoint's
 * combined status (`up`/`down`/`error`) kept in
 * `/calico/felix/v1/host/<h>/endpoint/<escaped name>` as `{"status":"..."}`.
 *
 * Felix's rules, kept here: at most one write per EndpointReportingDelaySecs; a change
 * waits at least one tick before it may be written (so a flapping interface costs one
 * write, of its latest state); every 180 x delay (jittered) our own keys are listed and any
 * that disagree with what we know are rewritten or deleted. In addition, the first view
 * triggers that same check at once, so keys left by endpoints deleted while the agent was
 * down are removed at start-up, and keys someone deleted are written again.
 */
import { type EtcdClient, getPrefix } from "../datastore/etcd_client.ts";
import { FELIX_HOST_PREFIX, hostEndpointStatusKey, unescapeName } from "../datastore/keys.ts";
import type { Logger } from "../log/logger.ts";
import { encodeEndpointStatus, type EndpointStatus, parseEndpointStatus } from "./report.ts";
import { type Clock, jittered, realClock, type TimerHandle } from "../time/clock.ts";

/** Where endpoint statuses are kept. */
export interface EndpointStatusStore {
  /** This host's status keys by endpoint name; `undefined` marks an unreadable value. */
  list(): Promise<Map<string, EndpointStatus | undefined>>;
  /** Plain set of one endpoint's status. */
  put(name: string, status: EndpointStatus): Promise<void>;
  /** Deletes one endpoint's status; a missing key is not an error. */
  delete(name: string): Promise<void>;
}

/** The prefix of one host's endpoint status keys. */
export function endpointStatusPrefix(hostname: string): string {
  return `${FELIX_HOST_PREFIX}${hostname}/endpoint/`;
}

/** EndpointStatusStore on etcd v3 keys. */
export function etcdEndpointStatusStore(client: EtcdClient, hostname: string): EndpointStatusStore {
  const prefix = endpointStatusPrefix(hostname);
  return {
    async list() {
      const out = new Map<string, EndpointStatus | undefined>();
      for (const { key, value } of await getPrefix(client, prefix)) {
        const rest = key.slice(prefix.length);
        if (rest === "" || rest.includes("/")) continue;
        out.set(unescapeName(rest), parseEndpointStatus(value));
      }
      return out;
    },
    async put(name, status) {
      await client.put(hostEndpointStatusKey(hostname, name), encodeEndpointStatus(status));
    },
    async delete(name) {
      await client.delete(hostEndpointStatusKey(hostname, name));
    },
  };
}

/** Felix's resync period, in multiples of the reporting delay. */
export const RESYNC_DELAY_MULTIPLE = 180;
const JITTER = 0.1;

export interface EndpointStatusOptions {
  readonly store: EndpointStatusStore;
  readonly log: Logger;
  /** EndpointReportingDelaySecs: the minimum time between two writes. */
  readonly delaySecs: number;
  readonly clock?: Clock;
  /** Source of jitter, values in [0, 1); default Math.random. */
  readonly random?: () => number;
}

/** Counters for tests and diagnostics. */
export interface EndpointStatusStats {
  readonly writes: number;
  readonly deletes: number;
  readonly failures: number;
  readonly resyncs: number;
}

/**
 * Keeps this host's endpoint status keys equal to the latest view from the calculation,
 * within Felix's rate limit. Feed it with `update` once the datastore is in sync.
 */
export class EndpointStatusReporter {
  readonly #store: EndpointStatusStore;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  #delayMs: number;
  /** What the keys should say; absent = the key should not exist. */
  readonly #desired = new Map<string, EndpointStatus>();
  /** Changed since the last tick: not written before the next tick has passed (damping). */
  #queued = new Set<string>();
  /** May be written now, oldest first, one per tick. */
  readonly #active = new Set<string>();
  #haveView = false;
  #resyncRequested = false;
  #tickTimer: TimerHandle | undefined;
  #resyncTimer: TimerHandle | undefined;
  #busy: Promise<void> | undefined;
  #closed = false;
  #failing = false;
  #stats = { writes: 0, deletes: 0, failures: 0, resyncs: 0 };

  constructor(opts: EndpointStatusOptions) {
    this.#store = opts.store;
    this.#log = opts.log;
    this.#clock = opts.clock ?? realClock;
    this.#random = opts.random ?? Math.random;
    this.#delayMs = Math.max(0, opts.delaySecs * 1000);
  }

  get stats(): EndpointStatusStats {
    return { ...this.#stats };
  }

  /** True while changes wait to be written (or a check is due). */
  get pending(): boolean {
    return this.#queued.size > 0 || this.#active.size > 0 || this.#resyncRequested;
  }

  /**
   * The complete current view: every local host endpoint and its status. Endpoints missing
   * from `statuses` have gone away and their keys are deleted. The first call starts the
   * reporter (and its start-up check of the keys already in etcd).
   */
  update(statuses: ReadonlyMap<string, EndpointStatus>): void {
    if (this.#closed) return;
    const names = new Set([...this.#desired.keys(), ...statuses.keys()]);
    for (const name of names) {
      const next = statuses.get(name);
      if (this.#desired.get(name) === next) continue;
      if (next === undefined) this.#desired.delete(name);
      else this.#desired.set(name, next);
      if (!this.#active.has(name)) this.#queued.add(name);
    }
    if (!this.#haveView) {
      this.#haveView = true;
      this.#resyncRequested = true;
      this.#log.info(
        `Reporting host endpoint status to the datastore (at most one write every ${
          this.#delayMs / 1000
        } s)`,
      );
      this.#armResync();
    }
    this.#armTick();
  }

  /** Applies a live change of EndpointReportingDelaySecs. */
  setDelaySecs(delaySecs: number): void {
    const ms = Math.max(0, delaySecs * 1000);
    if (ms === this.#delayMs) return;
    this.#delayMs = ms;
    if (this.#closed || !this.#haveView) return;
    this.#armResync();
    if (this.#tickTimer !== undefined) {
      this.#clock.clearTimeout(this.#tickTimer);
      this.#tickTimer = undefined;
    }
    this.#armTick();
  }

  #armResync() {
    if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
    const period = Math.max(1000, RESYNC_DELAY_MULTIPLE * this.#delayMs);
    this.#resyncTimer = this.#clock.setTimeout(() => {
      this.#resyncTimer = undefined;
      this.#log.debug("Periodic endpoint status check is due");
      this.#resyncRequested = true;
      this.#armResync();
      this.#armTick();
    }, jittered(period, JITTER, this.#random));
  }

  #armTick() {
    if (this.#closed || this.#tickTimer !== undefined || this.#busy || !this.pending) return;
    this.#tickTimer = this.#clock.setTimeout(() => {
      this.#tickTimer = undefined;
      this.#busy = this.#tick().finally(() => {
        this.#busy = undefined;
        this.#armTick();
      });
    }, jittered(this.#delayMs, JITTER, this.#random));
  }

  /** One rate-limit tick: the check if due, at most one write, then promote the queue. */
  async #tick(): Promise<void> {
    if (this.#resyncRequested) {
      if (await this.#resync()) this.#resyncRequested = false;
    }
    if (this.#closed) return;
    const name = this.#active.values().next().value;
    if (name !== undefined) {
      if (await this.#write(name)) this.#active.delete(name);
    }
    // Promoting after the write means every change waits at least one full tick.
    for (const q of this.#queued) this.#active.add(q);
    this.#queued = new Set();
  }

  async #write(name: string): Promise<boolean> {
    const status = this.#desired.get(name);
    try {
      if (status !== undefined) {
        this.#log.info(`Writing status of host endpoint '${name}': ${status}`);
        await this.#store.put(name, status);
        this.#stats.writes++;
      } else {
        this.#log.info(`Deleting status of host endpoint '${name}'`);
        await this.#store.delete(name);
        this.#stats.deletes++;
      }
    } catch (err) {
      this.#failed("write endpoint status", err);
      return false;
    }
    this.#recovered();
    return true;
  }

  /** Marks every key that disagrees with `#desired` for writing; false when listing failed. */
  async #resync(): Promise<boolean> {
    let stored: Map<string, EndpointStatus | undefined>;
    try {
      stored = await this.#store.list();
    } catch (err) {
      this.#failed("list endpoint statuses", err);
      return false;
    }
    this.#stats.resyncs++;
    const names = new Set([...stored.keys(), ...this.#desired.keys()]);
    for (const name of names) {
      // Fresh changes keep their damping tick; they are written soon anyway.
      if (this.#queued.has(name)) continue;
      const want = this.#desired.get(name);
      const have = stored.has(name) ? stored.get(name) ?? "unreadable" : undefined;
      if (have === want) continue;
      this.#log.info(
        `Endpoint status key of '${name}' is out of date (datastore: ${have ?? "missing"}, ` +
          `actual: ${want ?? "no such endpoint"}); correcting it`,
      );
      this.#active.add(name);
    }
    return true;
  }

  #failed(what: string, err: unknown) {
    this.#stats.failures++;
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    if (!this.#failing) {
      this.#log.warning(`Failed to ${what} in the datastore; will retry: ${reason}`);
    } else {
      this.#log.debug(`Failed to ${what} again: ${reason}`);
    }
    this.#failing = true;
  }

  #recovered() {
    if (this.#failing) this.#log.info("Writing endpoint status to the datastore works again");
    this.#failing = false;
  }

  /** Stops the timers and waits for a write in progress; the keys stay as they are. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#tickTimer !== undefined) this.#clock.clearTimeout(this.#tickTimer);
    if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
    this.#tickTimer = undefined;
    this.#resyncTimer = undefined;
    await this.#busy;
  }
}
