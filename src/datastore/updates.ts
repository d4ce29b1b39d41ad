/**
 * The typed stream the syncer turns etcd into. The agent's calculation consumes only these;
 * a value of `null` means the object is gone (deleted, or invalid and treated as missing).
 */
import type {
  HostEndpointResource,
  Labels,
  NetworkSetResource,
  PolicyResource,
  Rule,
  WorkloadEndpointResource,
} from "../model/resources.ts";

export type ModelUpdate =
  | { readonly type: "ready"; readonly value: boolean }
  /** Raw Felix config text: `node` absent for global `/calico/v1/config/<name>`. */
  | {
    readonly type: "config";
    readonly node?: string;
    readonly name: string;
    readonly value: string | null;
  }
  | {
    readonly type: "hostEndpoint";
    readonly node: string;
    readonly name: string;
    readonly value: HostEndpointResource | null;
  }
  | {
    readonly type: "workloadEndpoint";
    /** `<node>/<orchestrator>/<workload>/<name>`, unique per endpoint. */
    readonly id: string;
    readonly value: WorkloadEndpointResource | null;
  }
  | { readonly type: "policy"; readonly name: string; readonly value: PolicyResource | null }
  | {
    readonly type: "networkSet";
    readonly name: string;
    readonly value: NetworkSetResource | null;
  }
  | {
    readonly type: "profileRules";
    readonly name: string;
    readonly value: { readonly ingress: readonly Rule[]; readonly egress: readonly Rule[] } | null;
  }
  | { readonly type: "profileLabels"; readonly name: string; readonly value: Labels | null }
  | {
    readonly type: "profileTags";
    readonly name: string;
    readonly value: readonly string[] | null;
  }
  /** The initial snapshot (or a resync) has been fully delivered. */
  | { readonly type: "inSync" };
