/**
 * What v1 output (`get -o yaml|json` without `--api v3`) prints but `apiVersion: v1` input
 * cannot take back: named ports (Calico 3's; v1 YAML refuses a host endpoint's `ports` and a
 * port name, as calicoctl v1 did). `get` still prints what is stored, and warns with these
 * lines so the operator round-trips such resources as v3. Pure.
 */
import type { EntityRule, Resource, Rule } from "./resources.ts";

/** One line per resource that v1 input would refuse, naming it and the way out. */
export function v1ApplyBackWarnings(resources: readonly Resource[]): string[] {
  const out: string[] = [];
  for (const r of resources) {
    if (!_hasNamedPorts(r)) continue;
    const node = r.kind === "hostEndpoint" ? ` (node ${r.metadata.node})` : "";
    out.push(
      `${r.kind} ${JSON.stringify(r.metadata.name)}${node} has named ports, which ` +
        "apiVersion v1 cannot apply back; print it with --api v3",
    );
  }
  return out;
}

function _hasNamedPorts(r: Resource): boolean {
  switch (r.kind) {
    case "hostEndpoint":
      return (r.spec.ports ?? []).length > 0;
    case "policy":
    case "profile":
      return [...(r.spec.ingress ?? []), ...(r.spec.egress ?? [])].some(_ruleNamesPorts);
    default:
      return false;
  }
}

function _ruleNamesPorts(rule: Rule): boolean {
  return _sideNamesPorts(rule.source) || _sideNamesPorts(rule.destination);
}

function _sideNamesPorts(e: EntityRule | undefined): boolean {
  return [...(e?.ports ?? []), ...(e?.notPorts ?? [])].some((p) => typeof p === "string");
}
