/**
 * Datastore updates (the syncer's ModelUpdate) written in code, for the benchmarks and tests
 * that feed the calculation directly: the envelope once, the parts that differ as arguments.
 */
import type { ModelUpdate } from "../src/datastore/updates.ts";
import type { PolicyResource } from "../src/model/resources.ts";

/** The update that puts policy `name` with `spec`. */
export function policyUpdate(name: string, spec: PolicyResource["spec"]): ModelUpdate {
  return { type: "policy", name, value: { kind: "policy", metadata: { name }, spec } };
}
