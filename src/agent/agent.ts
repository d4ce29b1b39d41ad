/**
 * The agent's control loop: datastore updates and interface changes in, one nft transaction
 * out per burst. It owns the policies of Felix's top level that are about *when* to program:
 * nothing before `/calico/v1/Ready` is `true` and the first snapshot is complete; nothing new
 * while Ready is false again (the rules already programmed stay); failures retried with
 * backoff while the previous rules stay in force; live config changes applied without a
 * restart. *What* to program is the calculation's and the dataplane's business.
 */
import type { DataplaneConfig, HostStateSource } from "../calc/host_state.ts";
import type { ConfigResolution, FelixConfig } from "../config/mod.ts";
import { changedParams, DATAPLANE_PARAMS, toDataplaneConfig } from "../config/mod.ts";
import type { ModelUpdate } from "../datastore/updates.ts";
import type { Logger } from "../log/logger.ts";
import { type Clock, realClock, type TimerHandle } from "../time/clock.ts";
import type { InterfaceInfo } from "../calc/resolve_interfaces.ts";
import { errorMessage } from "../util/error_message.ts";

/** What the loop needs of the calculation stage: updates in, desired state and changes out. */
export interface Calculation extends HostStateSource {
  applyUpdates(batch: readonly ModelUpdate[]): void;
  setInterfaces(list: readonly InterfaceInfo[]): void;
  setConfig(config: DataplaneConfig): void;
}

/** What the loop needs of the dataplane stage. */
export interface Dataplane {
  /**
   * Programs what changed in `source` in one transaction; throws (with nft's message) and
   * changes nothing on failure.
   */
  apply(source: HostStateSource): Promise<{ changed: boolean }>;
  /** Re-reads our table and repairs drift. */
  refresh(): Promise<{ repaired: boolean; reason?: string }>;
}

/** Re-resolves the configuration with the datastore's current config keys. */
export type ConfigResolver = (
  global: ReadonlyMap<string, string>,
  host: ReadonlyMap<string, string>,
) => ConfigResolution;

export interface AgentOptions {
  readonly hostname: string;
  readonly config: FelixConfig;
  readonly resolveConfig: ConfigResolver;
  readonly calc: Calculation;
  readonly dataplane: Dataplane;
  readonly log: Logger;
  /** Called after a live config change was accepted (e.g. to adjust log levels). */
  readonly onConfigChange?: (config: FelixConfig, changed: readonly string[]) => void;
  /**
   * Called once the first full program has succeeded: the start-up snapshot's garbage can go
   * (src/cmd/agent.ts runs a full garbage collection, so the resident size settles at once).
   */
  readonly onFirstProgram?: () => void;
  /**
   * Why the datastore is not ready, for the wait-for-ready reminder when it is not about the
   * etcd Ready flag (a local policy directory with no valid set of files yet).
   */
  readonly notReadyReason?: string;
  /** Wait-for-ready reminder period; default 2 s. */
  readonly waitLogMs?: number;
  /** Retry backoff after a failed apply: first delay, doubled up to the maximum. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Timers and time; default the process's own (tests pass a ManualClock). */
  readonly clock?: Clock;
}

/** Observable state, for health, metrics and tests. */
export interface AgentStatus {
  readonly ready: boolean;
  readonly inSync: boolean;
  /** The first full programming of the dataplane has succeeded. */
  readonly programmed: boolean;
  readonly revision: number;
  readonly appliedRevision: number;
  readonly applies: number;
  readonly applyFailures: number;
  readonly lastApplyMs: number | undefined;
  readonly lastSuccessAt: Date | undefined;
}

export class Agent {
  #config: FelixConfig;
  #ready: boolean | undefined;
  #inSync = false;
  #programmed = false;
  #revision = 0;
  #appliedRevision = 0;
  #globalConfig = new Map<string, string>();
  #hostConfig = new Map<string, string>();
  #applying: Promise<void> | undefined;
  #pending = false;
  #retryTimer: TimerHandle | undefined;
  /** When the last apply ended (clock.now()), and how many in a row began soon after one. */
  #lastApplyEnd = -Infinity;
  /** When the last input asked for programming (a burst ends once these stop coming). */
  #lastInputAt = -Infinity;
  #streak = 0;
  #burstTimer: TimerHandle | undefined;
  #burstWake: (() => void) | undefined;
  #retryDelay: number;
  #waitTimer: TimerHandle | undefined;
  #refreshTimer: TimerHandle | undefined;
  #closed = false;
  #applies = 0;
  #failures = 0;
  #lastApplyMs: number | undefined;
  #lastSuccessAt: Date | undefined;
  readonly #opts: AgentOptions;
  readonly #log: Logger;
  readonly #clock: Clock;

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    this.#log = opts.log;
    this.#clock = opts.clock ?? realClock;
    this.#retryDelay = opts.retryMinMs ?? 500;
    this.#waitTimer = this.#clock.setInterval(() => this.#remindWaiting(), opts.waitLogMs ?? 2000);
    this.#remindWaiting();
    this.#armRefresh();
  }

  get config(): FelixConfig {
    return this.#config;
  }

  status(): AgentStatus {
    return {
      ready: this.#ready === true,
      inSync: this.#inSync,
      programmed: this.#programmed,
      revision: this.#revision,
      appliedRevision: this.#appliedRevision,
      applies: this.#applies,
      applyFailures: this.#failures,
      lastApplyMs: this.#lastApplyMs,
      lastSuccessAt: this.#lastSuccessAt,
    };
  }

  /** The syncer's callback: applies one batch in order, then schedules programming. */
  handleUpdates(batch: readonly ModelUpdate[], revision: number): void {
    if (this.#closed) return;
    const model: ModelUpdate[] = [];
    let configTouched = false;
    for (const u of batch) {
      switch (u.type) {
        case "ready":
          this.#setReady(u.value);
          break;
        case "config": {
          if (u.node !== undefined && u.node !== this.#opts.hostname) break;
          const map = u.node === undefined ? this.#globalConfig : this.#hostConfig;
          if (u.value === null) map.delete(u.name);
          else map.set(u.name, u.value);
          configTouched = true;
          break;
        }
        case "inSync":
          if (!this.#inSync) this.#log.info("Datastore snapshot complete (in sync)");
          this.#inSync = true;
          break;
        default:
          model.push(u);
      }
    }
    if (configTouched) this.#reloadConfig();
    if (model.length > 0) this.#opts.calc.applyUpdates(model);
    this.#revision = Math.max(this.#revision, revision);
    this.#schedule();
  }

  /** The interface monitor's callback. */
  handleInterfaces(list: readonly InterfaceInfo[]): void {
    if (this.#closed) return;
    this.#log.debug(`Interfaces now: ${list.map((i) => i.name).join(", ")}`);
    this.#opts.calc.setInterfaces(list);
    this.#schedule();
  }

  #setReady(value: boolean) {
    const was = this.#ready;
    this.#ready = value;
    if (value && was !== true) {
      const why = this.#opts.notReadyReason === undefined
        ? "/calico/v1/Ready is true"
        : "a valid set of resource files was read";
      this.#log.info(`Datastore is ready (${why}); leaving wait-for-ready`);
    } else if (!value && was === true) {
      this.#log.warning(
        "Datastore became unready (/calico/v1/Ready is no longer true): keeping the current " +
          "rules and applying no changes until it is ready again",
      );
    }
  }

  #remindWaiting() {
    if (this.#closed || this.#ready === true) return;
    const why = this.#opts.notReadyReason ??
      (this.#ready === undefined
        ? "the global datastore 'Ready' flag is not set"
        : "the global datastore 'Ready' flag is not true");
    this.#log.info(`Waiting for the datastore to be ready (wait-for-ready): ${why}`);
  }

  #reloadConfig() {
    const res = this.#opts.resolveConfig(this.#globalConfig, this.#hostConfig);
    for (const w of res.warnings) this.#log.warning(w);
    if (res.fatal !== undefined || res.config === undefined) {
      this.#log.error(
        `Configuration from the datastore is invalid, keeping the previous configuration: ${
          res.fatal ?? "no configuration"
        }`,
      );
      return;
    }
    const changed = changedParams(this.#config, res.config);
    if (changed.length === 0) return;
    this.#config = res.config;
    for (const name of changed) {
      // ClusterGUID and friends are informational: written by the first node create.
      if (INFORMATIONAL_PARAMS.has(name)) this.#log.debug(`Config parameter ${name} changed`);
      else this.#log.info(`Config parameter ${name} changed; applying it live`);
    }
    if (changed.some((n) => DATAPLANE_PARAMS.has(n))) {
      this.#opts.calc.setConfig(toDataplaneConfig(res.config));
    }
    this.#armRefresh();
    this.#opts.onConfigChange?.(res.config, changed);
  }

  #armRefresh() {
    if (this.#refreshTimer !== undefined) this.#clock.clearInterval(this.#refreshTimer);
    this.#refreshTimer = undefined;
    const secs = this.#config.nftablesRefreshInterval;
    if (secs > 0) {
      this.#refreshTimer = this.#clock.setInterval(() => this.#refresh(), secs * 1000);
    }
  }

  async #refresh() {
    if (!this.#programmed || this.#applying || this.#closed) return;
    try {
      const r = await this.#opts.dataplane.refresh();
      if (r.repaired) {
        this.#log.warning(
          `nftables table hostfence ${
            r.reason === "missing" ? "was missing" : "had drifted from the desired state"
          }; reprogrammed it`,
        );
      }
    } catch (err) {
      this.#log.error(`Periodic nftables refresh failed: ${errorMessage(err)}`);
    }
  }

  /**
   * Coalesces bursts: at most one apply runs, and one more is queued behind it. A change on a
   * quiet host is applied at once. Applies that keep following each other closely are a burst
   * (a script writing hundreds of policies): each next one then waits twice as long as the
   * last (BURST_MIN_MS up to BURST_MAX_MS), so a burst of any length costs a few transactions.
   * A wait ends early once the writes have stopped for BURST_QUIET_MS: the end of a burst is
   * programmed that long after its last write, not up to BURST_MAX_MS.
   */
  #schedule() {
    this.#lastInputAt = this.#clock.now();
    if (this.#closed || this.#ready !== true || !this.#inSync) return;
    if (this.#retryTimer !== undefined) return; // a retry is already due
    if (this.#applying) {
      this.#pending = true;
      return;
    }
    if (this.#burstTimer !== undefined) return; // the burst's next apply is already due
    const until = this.#lastApplyEnd + this.#burstGap();
    if (until > this.#clock.now()) {
      void this.#waitOutBurst(until).then(() => this.#startApplying());
      return;
    }
    this.#startApplying();
  }

  /** Waits until `until`, or less once no input has come for BURST_QUIET_MS; close() wakes it. */
  #waitOutBurst(until: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        if (this.#burstTimer !== undefined) this.#clock.clearTimeout(this.#burstTimer);
        this.#burstTimer = undefined;
        this.#burstWake = undefined;
        resolve();
      };
      const check = () => {
        const now = this.#clock.now();
        const quietAt = this.#lastInputAt + BURST_QUIET_MS;
        if (now >= until || now >= quietAt) return done();
        this.#burstTimer = this.#clock.setTimeout(check, Math.min(until, quietAt) - now);
      };
      this.#burstWake = done;
      check();
    });
  }

  /** The spacing the current streak of close applies asks for (0 when not in a burst). */
  #burstGap(): number {
    if (this.#streak < BURST_STREAK) return 0;
    return Math.min(BURST_MIN_MS * 2 ** (this.#streak - BURST_STREAK), BURST_MAX_MS);
  }

  #startApplying() {
    if (this.#closed || this.#applying) return;
    this.#applying = (async () => {
      await Promise.resolve(); // let the current event batch finish first
      do {
        this.#pending = false;
        const started = this.#clock.now();
        // Waiting out the burst's own gap does not end the burst.
        const close = started - this.#lastApplyEnd < this.#burstGap() + BURST_WINDOW_MS;
        this.#streak = close ? this.#streak + 1 : 0;
        await this.#applyOnce();
        this.#lastApplyEnd = this.#clock.now();
        const gap = this.#burstGap();
        if (this.#pending && gap > 0 && !this.#closed && this.#retryTimer === undefined) {
          await this.#waitOutBurst(this.#lastApplyEnd + gap);
        }
      } while (this.#pending && !this.#closed && this.#retryTimer === undefined);
    })().finally(() => this.#applying = undefined);
  }

  async #applyOnce() {
    const revision = this.#revision;
    const started = this.#clock.now();
    try {
      const { changed } = await this.#opts.dataplane.apply(this.#opts.calc);
      const took = this.#clock.now() - started;
      this.#lastApplyMs = took;
      if (changed) this.#applies++;
      if (!this.#programmed) queueMicrotask(() => this.#opts.onFirstProgram?.());
      this.#programmed = true;
      this.#appliedRevision = revision;
      this.#lastSuccessAt = this.#clock.date();
      this.#retryDelay = this.#opts.retryMinMs ?? 500;
      this.#log.info(
        `Dataplane in sync at revision ${revision}` +
          (changed ? ` (applied in ${took.toFixed(1)} ms)` : " (no change)"),
      );
    } catch (err) {
      this.#failures++;
      const delay = this.#retryDelay;
      this.#retryDelay = Math.min(delay * 2, this.#opts.retryMaxMs ?? 30_000);
      this.#log.error(
        `Failed to program nftables, keeping the previous rules; retrying in ${delay} ms: ${
          errorMessage(err)
        }`,
      );
      this.#retryTimer = this.#clock.setTimeout(() => {
        this.#retryTimer = undefined;
        this.#schedule();
      }, delay);
    }
  }

  /** Stops timers and waits for an apply in progress; the programmed rules stay. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#waitTimer !== undefined) this.#clock.clearInterval(this.#waitTimer);
    if (this.#refreshTimer !== undefined) this.#clock.clearInterval(this.#refreshTimer);
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer);
    if (this.#burstTimer !== undefined) this.#clock.clearTimeout(this.#burstTimer);
    this.#burstTimer = undefined;
    this.#burstWake?.();
    await this.#applying;
  }
}

/** An apply beginning within this long (after the burst's gap) continues the streak. */
const BURST_WINDOW_MS = 50;
/** A streak this long is a burst: from here each apply waits before the next. */
const BURST_STREAK = 3;
const BURST_MIN_MS = 10;
const BURST_MAX_MS = 500;
/** No input for this long ends a burst's wait: the writer has stopped. */
const BURST_QUIET_MS = 25;

const INFORMATIONAL_PARAMS: ReadonlySet<string> = new Set([
  "ClusterGUID",
  "ClusterType",
  "CalicoVersion",
]);
