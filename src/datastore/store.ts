/**
 * The operator-side view of the datastore: whole resources in, whole resources out.
 * etcd_store.ts implements it over etcd; the CLI commands take this interface, so their unit
 * tests (tests/unit/cli_main_test.ts) run against an in-memory store.
 */
import type { Resource, ResourceKind } from "../model/resources.ts";

/** Identifies one resource; fields a kind does not use are absent. */
export interface ResourceId {
  readonly kind: ResourceKind;
  readonly name: string;
  readonly node?: string;
  readonly orchestrator?: string;
  readonly workload?: string;
}

export interface ListFilter {
  readonly name?: string;
  readonly node?: string;
  readonly orchestrator?: string;
  readonly workload?: string;
}

/** `resource already exists: Policy(name=p)` */
export class AlreadyExistsError extends Error {
  override name = "AlreadyExistsError";
}
/** `resource does not exist: Policy(name=p)` */
export class NotExistError extends Error {
  override name = "NotExistError";
}
/** `insufficient identifiers, missing 'node'` */
export class InsufficientIdentifiersError extends Error {
  override name = "InsufficientIdentifiersError";
}
/** The datastore could not be reached; message names the endpoint(s). */
export class DatastoreUnavailableError extends Error {
  override name = "DatastoreUnavailableError";
}

export interface ResourceStore {
  /** Must not exist yet (an etcd transaction, so two concurrent creates cannot both win). */
  create(resource: Resource): Promise<void>;
  /** Must exist already (transaction). */
  replace(resource: Resource): Promise<void>;
  /** Create or fully replace. */
  apply(resource: Resource): Promise<void>;
  /** Recursive delete; NotExistError when absent. */
  delete(id: ResourceId): Promise<void>;
  list(kind: ResourceKind, filter?: ListFilter): Promise<Resource[]>;
  /** Raw Felix config (`/calico/v1/config/<name>` or per-host). `null` value unsets. */
  setFelixConfig(name: string, value: string | null, node?: string): Promise<void>;
  getFelixConfig(name: string, node?: string): Promise<string | undefined>;
  /**
   * Every key and value under /calico/v1/, for the CLI's lockout check (a dry run of a change
   * through the agents' own conversion and calculation). Stores without it skip that check.
   */
  snapshot?(): Promise<Map<string, string>>;
  close(): Promise<void>;
}
