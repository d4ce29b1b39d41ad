/**
 * Resources -> the etcd keys they occupy in the libcalico-go v1 layout: which keys a write
 * puts (or deletes) and which ranges a delete removes. Pure and free of any etcd client, so
 * the local datastore (src/datastore/local_source.ts) lays a directory of files out exactly
 * as `apply` would in etcd, without loading etcd3 or gRPC.
 */
import type { Resource } from "../model/resources.ts";
import {
  encodeHostEndpoint,
  encodeNode,
  encodePolicy,
  encodeProfile,
  encodeWorkloadEndpoint,
} from "./backend_encode.ts";
import {
  type BgpField,
  bgpHostDir,
  bgpKey,
  birdIpKey,
  hostDir,
  hostEndpointKey,
  missingIdentifier,
  nodeMetadataKey,
  orchRefsKey,
  policyKey,
  profileDir,
  profileKey,
  workloadEndpointKey,
} from "./keys.ts";
import { InsufficientIdentifiersError, type ResourceId } from "./store.ts";

/** The identifiers of a resource, as the store's error messages name them. */
export function resourceId(r: Resource): ResourceId {
  switch (r.kind) {
    case "hostEndpoint":
      return { kind: r.kind, name: r.metadata.name, node: r.metadata.node };
    case "workloadEndpoint":
      return {
        kind: r.kind,
        name: r.metadata.name,
        node: r.metadata.node,
        orchestrator: r.metadata.orchestrator,
        workload: r.metadata.workload,
      };
    default:
      return { kind: r.kind, name: r.metadata.name };
  }
}

/** Throws InsufficientIdentifiersError (`insufficient identifiers, missing 'node'`). */
export function checkIdentifiers(id: ResourceId): void {
  const missing = missingIdentifier(id);
  if (missing !== undefined) {
    throw new InsufficientIdentifiersError(`insufficient identifiers, missing '${missing}'`);
  }
}

/** One write: `value: null` deletes the key. */
export interface KeyWrite {
  readonly key: string;
  readonly value: string | null;
}

/** The primary key (the one create/replace test) and every key a write touches. */
export function writesFor(r: Resource): { primary: string; writes: KeyWrite[] } {
  switch (r.kind) {
    case "policy": {
      const key = policyKey(r.metadata.name);
      return { primary: key, writes: [{ key, value: encodePolicy(r) }] };
    }
    case "hostEndpoint": {
      const key = hostEndpointKey(r.metadata.node, r.metadata.name);
      return { primary: key, writes: [{ key, value: encodeHostEndpoint(r) }] };
    }
    case "workloadEndpoint": {
      const m = r.metadata;
      const key = workloadEndpointKey(m.node, m.orchestrator, m.workload, m.name);
      return { primary: key, writes: [{ key, value: encodeWorkloadEndpoint(r) }] };
    }
    case "profile": {
      const v = encodeProfile(r);
      const name = r.metadata.name;
      return {
        primary: profileKey(name, "tags"),
        writes: [
          { key: profileKey(name, "tags"), value: v.tags },
          { key: profileKey(name, "labels"), value: v.labels },
          { key: profileKey(name, "rules"), value: v.rules },
        ],
      };
    }
    case "node": {
      const v = encodeNode(r);
      const n = r.metadata.name;
      const writes: KeyWrite[] = [
        { key: nodeMetadataKey(n), value: v.metadata },
        { key: birdIpKey(n), value: v.birdIp },
        { key: orchRefsKey(n), value: v.orchRefs },
      ];
      for (const [field, value] of Object.entries(v.bgp)) {
        writes.push({ key: bgpKey(n, field as BgpField), value });
      }
      return { primary: nodeMetadataKey(n), writes };
    }
  }
}

/** The key ranges a delete removes: `[key, isPrefix]`. */
export function deleteRanges(id: ResourceId): [string, boolean][] {
  switch (id.kind) {
    case "policy": {
      const k = policyKey(id.name);
      return [[k, false], [k + "/", true]];
    }
    case "hostEndpoint": {
      const k = hostEndpointKey(id.node!, id.name);
      return [[k, false], [k + "/", true]];
    }
    case "workloadEndpoint": {
      const k = workloadEndpointKey(id.node!, id.orchestrator!, id.workload!, id.name);
      return [[k, false], [k + "/", true]];
    }
    case "profile":
      return [[profileDir(id.name), true]];
    case "node":
      return [[hostDir(id.name), true], [bgpHostDir(id.name), true]];
  }
}
