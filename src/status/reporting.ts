/**
 * The agent's status reporting in one object: the heartbeat (always, unless
 * ReportingIntervalSecs is 0) and the endpoint statuses (when EndpointReportingEnabled),
 * built from the agent's config and etcd client, following live config changes. This is
 * the surface `hostfence agent` wires in.
 */
import type { EtcdClient } from "../datastore/etcd_client.ts";
import type { Logger } from "../log/logger.ts";
import {
  EndpointStatusReporter,
  type EndpointStatusStore,
  etcdEndpointStatusStore,
} from "./endpoint_status.ts";
import { EtcdHeartbeatStore, HeartbeatReporter, type HeartbeatStore } from "./heartbeat.ts";
import type { EndpointStatus } from "./report.ts";
import type { Clock } from "../time/clock.ts";

/** The reporting parameters; FelixConfig has them all. */
export interface ReportingConfig {
  readonly reportingIntervalSecs: number;
  readonly reportingTTLSecs: number;
  readonly endpointReportingEnabled: boolean;
  readonly endpointReportingDelaySecs: number;
}

/** Where endpoint statuses come from: the calculation graph fits. */
export interface EndpointStatusSource {
  /** Changes whenever `endpointStatuses()` would return something different. */
  readonly statusGeneration: number;
  endpointStatuses(): ReadonlyMap<string, EndpointStatus>;
}

export interface StatusReportingOptions {
  readonly client: EtcdClient;
  /** FelixHostname: whose keys these are. */
  readonly hostname: string;
  readonly config: ReportingConfig;
  readonly log: Logger;
  /** Delay before the first heartbeat; default 10 s as in Felix. */
  readonly firstReportDelayMs?: number;
  /** Timers and wall clock of both reporters; default the real ones. */
  readonly clock?: Clock;
  readonly uptime?: () => number;
  /** Replace the etcd-backed stores (tests). */
  readonly heartbeatStore?: HeartbeatStore;
  readonly endpointStore?: EndpointStatusStore;
}

/**
 * Heartbeat plus endpoint statuses. Call `start()` once the client exists, `setConfig` from
 * the agent's config-change hook, `syncFrom(calc, inSync)` after each batch of datastore
 * or interface updates, and `close()` before closing the client.
 */
export class StatusReporting {
  readonly #opts: StatusReportingOptions;
  readonly #heartbeat: HeartbeatReporter;
  #endpoints: EndpointStatusReporter | undefined;
  #config: ReportingConfig;
  #seenGeneration: number | undefined;
  #closing: Promise<void>[] = [];
  #closed = false;

  constructor(opts: StatusReportingOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    this.#heartbeat = new HeartbeatReporter({
      store: opts.heartbeatStore ?? new EtcdHeartbeatStore(opts.client, opts.hostname),
      log: opts.log,
      intervalSecs: opts.config.reportingIntervalSecs,
      ttlSecs: opts.config.reportingTTLSecs,
      ...(opts.firstReportDelayMs !== undefined ? { firstDelayMs: opts.firstReportDelayMs } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.uptime ? { uptime: opts.uptime } : {}),
    });
    if (opts.config.endpointReportingEnabled) this.#endpoints = this.#newEndpointReporter();
  }

  /** The heartbeat, for tests and diagnostics. */
  get heartbeat(): HeartbeatReporter {
    return this.#heartbeat;
  }

  /** The endpoint reporter while EndpointReportingEnabled is true. */
  get endpoints(): EndpointStatusReporter | undefined {
    return this.#endpoints;
  }

  /** Starts the heartbeat schedule. */
  start(): void {
    this.#heartbeat.start();
  }

  /**
   * Passes the source's endpoint statuses on when they changed since the last call (the
   * first call after `inSync` always passes them). Before the datastore is in sync the
   * view is incomplete, so nothing is reported.
   */
  syncFrom(source: EndpointStatusSource, inSync: boolean): void {
    if (!inSync || this.#closed || this.#endpoints === undefined) return;
    if (this.#seenGeneration === source.statusGeneration) return;
    this.#seenGeneration = source.statusGeneration;
    this.#endpoints.update(source.endpointStatuses());
  }

  /** Reports a complete view of the local host endpoints' statuses (datastore in sync). */
  updateEndpointStatuses(statuses: ReadonlyMap<string, EndpointStatus>): void {
    if (this.#closed) return;
    this.#endpoints?.update(statuses);
  }

  /** Applies live changes of the reporting parameters. */
  setConfig(config: ReportingConfig): void {
    if (this.#closed) return;
    const was = this.#config;
    this.#config = config;
    this.#heartbeat.setTiming({
      intervalSecs: config.reportingIntervalSecs,
      ttlSecs: config.reportingTTLSecs,
    });
    if (config.endpointReportingEnabled && !was.endpointReportingEnabled) {
      this.#endpoints = this.#newEndpointReporter();
      this.#seenGeneration = undefined; // the next syncFrom hands over the full view
    } else if (!config.endpointReportingEnabled && this.#endpoints) {
      const old = this.#endpoints;
      this.#endpoints = undefined;
      this.#closing.push(old.close());
      this.#opts.log.info("Endpoint status reporting disabled (EndpointReportingEnabled=false)");
    } else {
      this.#endpoints?.setDelaySecs(config.endpointReportingDelaySecs);
    }
  }

  #newEndpointReporter(): EndpointStatusReporter {
    return new EndpointStatusReporter({
      store: this.#opts.endpointStore ??
        etcdEndpointStatusStore(this.#opts.client, this.#opts.hostname),
      log: this.#opts.log,
      delaySecs: this.#config.endpointReportingDelaySecs,
      ...(this.#opts.clock ? { clock: this.#opts.clock } : {}),
    });
  }

  /**
   * Stops both reporters. `revoke` (default true): withdraw the `status` key now, as on a
   * clean stop; `false` leaves it to expire. Endpoint status keys stay.
   */
  async close(opts: { revoke?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#endpoints?.close();
    await Promise.all(this.#closing);
    await this.#heartbeat.close(opts);
  }
}
