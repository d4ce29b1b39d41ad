/**
 * The scale fixture of issue 7 as datastore updates: host h1 with one host endpoint on eth0
 * (role=web); `policies` filler policies (order 1000+i, allow tcp 20000+i from anywhere);
 * `members` remote host endpoints spread over 100 hosts, one IPv4 each from 198.19.0.0/16
 * (role=db); one policy allowing tcp/5432 from `role == 'db'`. The benchmarks feed these to the
 * real calculation graph, so every cost measured is the agent's own.
 */
import type { InterfaceInfo } from "../src/calc/graph.ts";
import type { ModelUpdate } from "../src/datastore/updates.ts";
import type { Rule } from "../src/model/resources.ts";

export const FIXTURE_IFACES: InterfaceInfo[] = [
  { name: "eth0", up: true, addrs: ["198.18.0.1"] },
];

/** A policy selecting the web host endpoint with one ingress rule. */
export function webPolicy(name: string, order: number, rule: Rule): ModelUpdate {
  return {
    type: "policy",
    name,
    value: {
      kind: "policy",
      metadata: { name },
      spec: { order, selector: "role == 'web'", ingress: [rule] },
    },
  };
}

/** An ingress allow of one TCP port. */
export function allowTcp(port: number): Rule {
  return { action: "allow", protocol: "tcp", destination: { ports: [port] } };
}

/** Remote host endpoint number `i` (role=db, one address), or its deletion. */
export function remoteDb(i: number, present = true): ModelUpdate {
  const node = `host-${String(i % 100).padStart(3, "0")}`;
  const name = `db-${i}`;
  return {
    type: "hostEndpoint",
    node,
    name,
    value: present
      ? {
        kind: "hostEndpoint",
        metadata: { name, node, labels: { role: "db" } },
        spec: { expectedIPs: [`198.19.${Math.floor(i / 250) % 256}.${(i % 250) + 1}`] },
      }
      : null,
  };
}

/** The whole fixture. */
export function scaleFixture(policies: number, members: number): ModelUpdate[] {
  const out: ModelUpdate[] = [
    { type: "ready", value: true },
    {
      type: "hostEndpoint",
      node: "h1",
      name: "web",
      value: {
        kind: "hostEndpoint",
        metadata: { name: "web", node: "h1", labels: { role: "web" } },
        spec: { interfaceName: "eth0" },
      },
    },
    webPolicy("db-clients", 500, {
      action: "allow",
      protocol: "tcp",
      source: { selector: "role == 'db'" },
      destination: { ports: [5432] },
    }),
  ];
  for (let i = 0; i < policies; i++) {
    out.push(webPolicy(`filler-${String(i).padStart(4, "0")}`, 1000 + i, allowTcp(20000 + i)));
  }
  for (let i = 0; i < members; i++) out.push(remoteDb(i));
  return out;
}
