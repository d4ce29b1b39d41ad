/** Each v1 resource kind's field table (see table.ts), for code that handles every kind. */
import type { ResourceKind } from "../resources.ts";
import type { FieldTable } from "./table.ts";
import { HOST_ENDPOINT_FIELDS } from "./host_endpoint.ts";
import { NETWORK_SET_FIELDS } from "./network_set.ts";
import { NODE_FIELDS } from "./node.ts";
import { POLICY_FIELDS } from "./policy.ts";
import { PROFILE_FIELDS } from "./profile.ts";
import { WORKLOAD_ENDPOINT_FIELDS } from "./workload_endpoint.ts";

export const KIND_FIELDS: Readonly<Record<ResourceKind, FieldTable>> = {
  node: NODE_FIELDS,
  hostEndpoint: HOST_ENDPOINT_FIELDS,
  policy: POLICY_FIELDS,
  profile: PROFILE_FIELDS,
  workloadEndpoint: WORKLOAD_ENDPOINT_FIELDS,
  networkSet: NETWORK_SET_FIELDS,
};
