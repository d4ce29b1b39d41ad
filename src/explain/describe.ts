/**
 * Short human text for a resolved policy rule, as `explain` prints it after the rule number:
 * `ingress: allow tcp from 198.18.0.0/24 to port 22`. Read from the calculation's resolved
 * rule (the same one the nft rule was built from), so the text and the rule cannot disagree.
 */
import type {
  NamedPortRef,
  NumericPort,
  ResolvedEntity,
  ResolvedRule,
} from "../calc/host_state.ts";

/** `port 22`, `ports 80,8000-8080`, `port http` (named ports by name, after numeric ones). */
function portText(ports: readonly NumericPort[], named: readonly NamedPortRef[] = []): string {
  const items = [
    ...ports.map((p) => (typeof p === "number" ? `${p}` : `${p.min}-${p.max}`)),
    ...named.map((n) => n.name),
  ];
  const single = items.length === 1 && (named.length === 1 || typeof ports[0] === "number");
  return `${single ? "port" : "ports"} ${items.join(",")}`;
}

function entityText(e: ResolvedEntity): string[] {
  const out: string[] = [];
  if (e.nets.length > 0) out.push(e.nets.join(","));
  if (e.notNets.length > 0) out.push(`not ${e.notNets.join(",")}`);
  for (const s of e.ipSets) out.push(`selector set ${s}`);
  for (const s of e.notIpSets) out.push(`not selector set ${s}`);
  const named = e.namedPorts ?? [], notNamed = e.notNamedPorts ?? [];
  if (e.ports.length + named.length > 0) out.push(portText(e.ports, named));
  if (e.notPorts.length + notNamed.length > 0) out.push(`not ${portText(e.notPorts, notNamed)}`);
  return out;
}

/** `allow tcp from 198.18.0.0/24 to port 22`; `allow` alone for a rule matching everything. */
export function describeRule(r: ResolvedRule): string {
  const parts: string[] = [r.action];
  if (r.ipVersion !== undefined) parts.push(`ipv${r.ipVersion}`);
  if (r.protocol !== undefined) parts.push(String(r.protocol));
  if (r.notProtocol !== undefined) parts.push(`not ${r.notProtocol}`);
  if (r.icmp?.type !== undefined) {
    parts.push(`type ${r.icmp.type}${r.icmp.code === undefined ? "" : ` code ${r.icmp.code}`}`);
  }
  if (r.notICMP?.type !== undefined) {
    parts.push(
      `not type ${r.notICMP.type}${r.notICMP.code === undefined ? "" : ` code ${r.notICMP.code}`}`,
    );
  }
  const src = entityText(r.source);
  const dst = entityText(r.destination);
  if (src.length > 0) parts.push(`from ${src.join(" ")}`);
  if (dst.length > 0) parts.push(`to ${dst.join(" ")}`);
  if (parts.length === 1) parts.push("all");
  return parts.join(" ");
}
