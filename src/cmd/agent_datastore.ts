/**
 * The part of `hostfence agent` that depends on where resources come from: etcd
 * (agent_etcd.ts: the syncer plus status reporting, would-drop counts and rollbacks, which
 * all write to etcd) or a local directory (agent_local.ts: no etcd at all). src/cmd/agent.ts
 * loads only the one the configuration names, so an agent with DatastoreType=local never
 * loads etcd3 or gRPC.
 */
import type { Agent } from "../agent/agent.ts";
import type { CalculationGraph } from "../calc/graph.ts";
import type { FelixConfig } from "../config/mod.ts";
import type { NftDataplane, NftRunner } from "../dataplane/mod.ts";
import type { DatastoreSource, UpdatesCallback } from "../datastore/source.ts";
import type { Logger } from "../log/logger.ts";
import type { ActivityRecorder } from "../observe/mod.ts";
import type { Clock } from "../time/clock.ts";

/** What the datastore stages are built from: the agent's other stages, already built. */
export interface DatastoreContext {
  /** The configuration in force (replaced when the datastore changes it). */
  readonly live: { readonly config: FelixConfig };
  readonly root: Logger;
  readonly log: Logger;
  readonly runner: NftRunner;
  readonly dataplane: NftDataplane;
  readonly recorder: ActivityRecorder;
  readonly calc: CalculationGraph;
  readonly agent: Agent;
  /** The one clock the agent's stages take their time and timers from. */
  readonly clock: Clock;
}

/** The datastore and whatever runs beside it, in one lifecycle. */
export interface DatastoreStages {
  /** Feeds the agent (its callback is wired by the builder). */
  readonly source: DatastoreSource;
  /** Called after each interface change (endpoint status reporting). */
  afterInterfaces(): void;
  /** A live configuration change. */
  setConfig(config: FelixConfig): void;
  /** Starts the source and the stages beside it, once the interfaces are known. */
  start(): void;
  /** First step of stopping, before the source and the agent close. */
  stopping(): Promise<void>;
  /** Last step of stopping, after the agent closed. */
  close(): Promise<void>;
}

/** Builds a datastore's stages; undefined (after logging why) when it cannot be set up. */
export type DatastoreBuilder = (ctx: DatastoreContext) => DatastoreStages | undefined;

/** A source's onUpdates: each batch is counted for metrics, then handed to the agent. */
export function feedAgent(ctx: Pick<DatastoreContext, "recorder" | "agent">): UpdatesCallback {
  return (batch, revision) => {
    ctx.recorder.recordBatch(batch);
    ctx.agent.handleUpdates(batch, revision);
  };
}
