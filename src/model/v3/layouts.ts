/**
 * The v3 kinds that are model resources (all but FelixConfiguration): the model kind each
 * maps to and its v3 fields, from the kind's field table and v3 layout (fields/v3.ts). The v3
 * decoder, printer and field paths read them here. Pure.
 */
import type { ResourceKind } from "../resources.ts";
import { KIND_FIELDS } from "../fields/kinds.ts";
import { HOST_ENDPOINT_V3 } from "../fields/host_endpoint.ts";
import { POLICY_V3 } from "../fields/policy.ts";
import { PROFILE_V3 } from "../fields/profile.ts";
import { type V3Layout, type V3Slots, v3Slots } from "../fields/v3.ts";
import type { V3Kind } from "./kinds.ts";

/** A v3 kind stored as a model resource. */
export type V3ResourceKind = Exclude<V3Kind, "FelixConfiguration">;

export const V3_MODEL_KINDS: Readonly<Record<V3ResourceKind, ResourceKind>> = {
  HostEndpoint: "hostEndpoint",
  GlobalNetworkPolicy: "policy",
  GlobalNetworkSet: "networkSet",
  Profile: "profile",
  Node: "node",
};

/** The kinds whose v3 fields are not v1's in v1's places (the others have no layout). */
const LAYOUTS: Partial<Record<ResourceKind, V3Layout>> = {
  hostEndpoint: HOST_ENDPOINT_V3,
  policy: POLICY_V3,
  profile: PROFILE_V3,
};

const _slots = new Map<ResourceKind, V3Slots>();

/** A model kind's v3 fields (built once). */
export function v3SlotsOf(kind: ResourceKind): V3Slots {
  let s = _slots.get(kind);
  if (!s) _slots.set(kind, s = v3Slots(KIND_FIELDS[kind], LAYOUTS[kind]));
  return s;
}

/** The v3 kind of a model kind; undefined for one with no v3 form (workload endpoints). */
export function v3ResourceKindOf(kind: ResourceKind): V3ResourceKind | undefined {
  return (Object.keys(V3_MODEL_KINDS) as V3ResourceKind[]).find((k) => V3_MODEL_KINDS[k] === kind);
}

/** Where v3 keeps a model field its own way: `[model path, v3 path]` (`metadata.node`). */
export function v3MovedPaths(kind: ResourceKind): (readonly [string, string])[] {
  const s = v3SlotsOf(kind);
  const moved: (readonly [string, string])[] = [];
  for (const part of ["metadata", "spec"] as const) {
    for (const { field, row } of s[part]) {
      const from = `${row.meta ? "metadata" : "spec"}.${row.key}`, to = `${part}.${field.key}`;
      if (from !== to) moved.push([from, to]);
    }
  }
  return moved;
}
