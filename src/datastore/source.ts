/**
 * What the agent needs of a datastore: something that, once started, hands it ordered
 * batches of ModelUpdates (updates.ts), each with a revision that only grows, ending its
 * first snapshot with `inSync`. The etcd Syncer (syncer.ts) and the local directory
 * (local_source.ts) both are one; the agent does not know which it has.
 */
import type { ModelUpdate } from "./updates.ts";

/** Receives each batch in order; the next batch waits until a returned promise settles. */
export type UpdatesCallback = (batch: ModelUpdate[], revision: number) => void | Promise<void>;

export interface DatastoreSource {
  /** Starts reading in the background. */
  start(): void;
  /** Stops, and waits for batches already queued to be delivered. */
  close(): Promise<void>;
  /** The revision of the last batch handed over (0 before the first). */
  readonly revision: number;
}
