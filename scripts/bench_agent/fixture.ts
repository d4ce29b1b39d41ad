/**
 * The benchmark's datastore content (issue 7 "Fixture"), as etcd key/value pairs in the
 * project's own v1 layout and encodings (src/datastore/keys.ts, backend_encode.ts). Pure.
 *
 * Host h1 with one host endpoint `eth0` (role=web); policies filler-0000.. (order 1000+i,
 * `role == 'web'`, allow tcp 20000+i); remote host endpoints on other hosts, one expected
 * IPv4 each from 198.19.0.0/16, role=db; one policy allowing tcp/5432 from `role == 'db'`;
 * and the flood's policy (allow udp FLOOD_PORT), ordered after every filler so that a flood
 * packet walks every other policy first.
 */
import {
  encodeHostEndpoint,
  encodeNode,
  encodePolicy,
} from "../../src/datastore/backend_encode.ts";
import {
  hostEndpointKey,
  nodeMetadataKey,
  policyKey,
  READY_KEY,
} from "../../src/datastore/keys.ts";
import type { PolicyResource } from "../../src/model/resources.ts";

/** The TCP port the peer probes for open/close (not a failsafe port). */
export const PROBE_PORT = 7777;
/** A TCP port no policy allows: the peer sees it stop answering once the agent enforces. */
export const DENIED_PORT = 7779;
/** The UDP port the flood targets; allowed by the last policy in order. */
export const FLOOD_PORT = 7778;
/** Fillers' ports in the burst (the burst re-puts every filler with port BURST_BASE+i). */
export const BURST_BASE = 30000;
export const FILLER_BASE = 20000;
export const HOST = "h1";
export const PROBE_POLICY = "bench-probe";

export interface FixtureSizes {
  readonly policies: number;
  readonly remotes: number;
  readonly hosts: number;
}

export type KV = readonly [string, string];

export function fillerName(i: number): string {
  return `filler-${String(i).padStart(4, "0")}`;
}

/** An ingress policy on `role == 'web'` allowing one port. */
export function portPolicy(
  name: string,
  order: number,
  protocol: "tcp" | "udp",
  port: number,
  source?: string,
): PolicyResource {
  return {
    kind: "policy",
    metadata: { name },
    spec: {
      order,
      selector: "role == 'web'",
      ingress: [{
        action: "allow",
        protocol,
        ...(source ? { source: { selector: source } } : {}),
        destination: { ports: [port] },
      }],
    },
  };
}

export function policyKV(p: PolicyResource): KV {
  return [policyKey(p.metadata.name), encodePolicy(p)];
}

/** filler-i allowing tcp `base + i`. */
export function fillerKV(i: number, base = FILLER_BASE): KV {
  return policyKV(portPolicy(fillerName(i), 1000 + i, "tcp", base + i));
}

/** The probe policy: order 10, allow tcp PROBE_PORT. */
export function probeKV(): KV {
  return policyKV(portPolicy(PROBE_POLICY, 10, "tcp", PROBE_PORT));
}

/** The i-th remote endpoint's address: 198.19.x.y. */
export function remoteIp(i: number): string {
  return `198.19.${(i >> 8) & 255}.${i & 255}`;
}

function nodeName(i: number): string {
  return `r${String(i).padStart(3, "0")}`;
}

/** Every key of the fixture, the Ready flag last (the agent starts programming on it). */
export function fixtureKVs(s: FixtureSizes): KV[] {
  const out: KV[] = [];
  const node = (name: string) => {
    out.push([
      nodeMetadataKey(name),
      encodeNode({ kind: "node", metadata: { name }, spec: {} }).metadata,
    ]);
  };
  node(HOST);
  out.push([
    hostEndpointKey(HOST, "eth0"),
    encodeHostEndpoint({
      kind: "hostEndpoint",
      metadata: { name: "eth0", node: HOST, labels: { role: "web" } },
      spec: { interfaceName: "eth0" },
    }),
  ]);
  for (let h = 0; h < s.hosts; h++) node(nodeName(h));
  for (let i = 0; i < s.remotes; i++) {
    const node = nodeName(i % s.hosts);
    const name = `db-${String(i).padStart(5, "0")}`;
    out.push([
      hostEndpointKey(node, name),
      encodeHostEndpoint({
        kind: "hostEndpoint",
        metadata: { name, node, labels: { role: "db" } },
        spec: { expectedIPs: [remoteIp(i)] },
      }),
    ]);
  }
  for (let i = 0; i < s.policies; i++) out.push(fillerKV(i));
  out.push(policyKV(portPolicy("db-5432", 500, "tcp", 5432, "role == 'db'")));
  out.push(policyKV(portPolicy("flood-target", 1000 + s.policies, "udp", FLOOD_PORT)));
  out.push([READY_KEY, "true"]);
  return out;
}

/** Checks sizes against what the address and port plans can hold. */
export function checkSizes(s: FixtureSizes): void {
  if (!Number.isInteger(s.policies) || s.policies < 10 || s.policies > 9999) {
    throw new RangeError(`--policies must be 10..9999 (got ${s.policies})`);
  }
  if (!Number.isInteger(s.remotes) || s.remotes < 1 || s.remotes > 65536) {
    throw new RangeError(`--remotes must be 1..65536 (got ${s.remotes})`);
  }
  if (!Number.isInteger(s.hosts) || s.hosts < 1 || s.hosts > 999) {
    throw new RangeError(`--hosts must be 1..999 (got ${s.hosts})`);
  }
}
