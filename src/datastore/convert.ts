/**
 * One etcd key/value → one ModelUpdate for the agent, with Felix's validation filter applied:
 * a value that does not decode or is invalid becomes `null` (treated as missing) plus a
 * warning line operators can grep for. Pure, so the syncer's decisions are unit-testable.
 */
import type { Resource } from "../model/resources.ts";
import { formatIssues, validateResource } from "../model/validate.ts";
import {
  BackendParseError,
  decodeHostEndpointValue,
  decodeNetworkSet,
  decodePolicy,
  decodeProfileLabels,
  decodeProfileRules,
  decodeProfileTags,
  decodeWorkloadEndpoint,
  parseJson,
  unknownPolicyTypes,
} from "./backend_decode.ts";
import { type ParsedKey, parseKey } from "./keys.ts";
import type { ModelUpdate } from "./updates.ts";
import { quote } from "../log/quote.ts";
import { errorMessage } from "../util/error_message.ts";

/** libcalico-go's `name` validation rule, which the backend applies to HEP `profile_ids`. */
const NAME_RE = /^[a-zA-Z0-9_.-]{1,128}$/;
const BACKEND_ACTIONS = new Set(["allow", "deny", "log", "pass"]);

/** What converting one key gave: the update, and a warning when the value was rejected. */
export interface Converted {
  readonly update: ModelUpdate;
  readonly warning?: string;
}

/** Thrown inside conversion for a decoded value that breaks a rule. */
class _Invalid extends Error {}

function _validate(resource: Resource): void {
  let issues;
  try {
    issues = validateResource(resource);
  } catch (e) {
    throw new _Invalid(`validator failed: ${errorMessage(e)}`);
  }
  if (issues.length) throw new _Invalid(formatIssues(issues));
}

function _checkRuleActions(rules: readonly { action: string }[] | undefined, dir: string) {
  (rules ?? []).forEach((r, i) => {
    if (!BACKEND_ACTIONS.has(r.action)) {
      throw new _Invalid(
        `error with field Action = ${
          quote(r.action, { quote: "'" })
        } (${dir}[${i}]: action must be one of ` +
          `allow, deny, log, next-tier or empty)`,
      );
    }
  });
}

const DESCRIPTIONS: Record<string, string> = {
  hostEndpoint: "host endpoint",
  workloadEndpoint: "workload endpoint",
  policy: "policy",
  networkSet: "network set",
  profileRules: "profile rules",
  profileTags: "profile tags",
  profileLabels: "profile labels",
};

function _nullUpdate(k: ParsedKey): ModelUpdate | undefined {
  switch (k.type) {
    case "ready":
      return { type: "ready", value: false };
    case "config":
      return k.node !== undefined
        ? { type: "config", node: k.node, name: k.name, value: null }
        : { type: "config", name: k.name, value: null };
    case "hostEndpoint":
      return { type: "hostEndpoint", node: k.node, name: k.name, value: null };
    case "workloadEndpoint":
      return { type: "workloadEndpoint", id: workloadEndpointId(k), value: null };
    case "policy":
      return { type: "policy", name: k.name, value: null };
    case "networkSet":
      return { type: "networkSet", name: k.name, value: null };
    case "profileRules":
    case "profileTags":
    case "profileLabels":
      return { type: k.type, name: k.name, value: null };
    default:
      return undefined;
  }
}

/** The `id` of a workload endpoint update: `<node>/<orchestrator>/<workload>/<name>`. */
export function workloadEndpointId(
  k: { node: string; orchestrator: string; workload: string; name: string },
): string {
  return `${k.node}/${k.orchestrator}/${k.workload}/${k.name}`;
}

/** One case per key type, as a table; long because the key layout has that many kinds. */
function _decode(k: ParsedKey, raw: string): ModelUpdate {
  switch (k.type) {
    case "ready":
      return { type: "ready", value: raw === "true" };
    case "config":
      return k.node !== undefined
        ? { type: "config", node: k.node, name: k.name, value: raw }
        : { type: "config", name: k.name, value: raw };
    case "hostEndpoint": {
      // Parsed once: the checks below read the stored fields the decoder also reads.
      const obj = parseJson(raw);
      const hep = decodeHostEndpointValue(k.node, k.name, obj);
      const o = (obj ?? {}) as Record<string, unknown>;
      const hasIps = [o.expected_ipv4_addrs, o.expected_ipv6_addrs]
        .some((v) => Array.isArray(v) && v.length > 0);
      if (!o.name && !hasIps) {
        throw new _Invalid("'name' or 'expected_ipvX_addrs' must be present");
      }
      for (const p of hep.spec.profiles ?? []) {
        if (!NAME_RE.test(p)) {
          throw new _Invalid(
            `error with field ProfileIDs = ${
              quote(p, { quote: "'" })
            } (profile ID does not match the name rule)`,
          );
        }
      }
      _validate(hep);
      return { type: "hostEndpoint", node: k.node, name: k.name, value: hep };
    }
    case "workloadEndpoint": {
      const wep = decodeWorkloadEndpoint(k, raw);
      if (!wep.spec.interfaceName) {
        throw new _Invalid("workload endpoint has no interface name");
      }
      _validate(wep);
      return { type: "workloadEndpoint", id: workloadEndpointId(k), value: wep };
    }
    case "policy": {
      const pol = decodePolicy(k.name, raw, { forAgent: true });
      _checkRuleActions(pol.spec.ingress, "inbound_rules");
      _checkRuleActions(pol.spec.egress, "outbound_rules");
      const bad = unknownPolicyTypes(pol);
      if (bad.length) {
        throw new _Invalid(`error with field Types = '${bad[0]}' (unknown policy type)`);
      }
      _validate(pol);
      return { type: "policy", name: k.name, value: pol };
    }
    case "networkSet": {
      const set = decodeNetworkSet(k.name, raw);
      _validate(set);
      return { type: "networkSet", name: k.name, value: set };
    }
    case "profileRules": {
      const rules = decodeProfileRules(raw);
      _checkRuleActions(rules.ingress, "inbound_rules");
      _checkRuleActions(rules.egress, "outbound_rules");
      _validate({
        kind: "profile",
        metadata: { name: k.name },
        spec: { ingress: rules.ingress, egress: rules.egress },
      });
      return { type: "profileRules", name: k.name, value: rules };
    }
    case "profileTags": {
      const tags = decodeProfileTags(raw);
      for (const t of tags) {
        if (!NAME_RE.test(t)) {
          throw new _Invalid(
            `error with field Tags = ${
              quote(t, { quote: "'" })
            } (tag does not match the name rule)`,
          );
        }
      }
      _validate({ kind: "profile", metadata: { name: k.name, tags }, spec: {} });
      return { type: "profileTags", name: k.name, value: tags };
    }
    case "profileLabels": {
      const labels = decodeProfileLabels(raw);
      _validate({ kind: "profile", metadata: { name: k.name, labels }, spec: {} });
      return { type: "profileLabels", name: k.name, value: labels };
    }
    default:
      throw new Error(`unreachable: ${k.type}`);
  }
}

/** True for keys whose changes reach the agent (others under `/calico/v1/` are ignored). */
export function isAgentKey(key: string): boolean {
  const k = parseKey(key);
  return k !== null && _nullUpdate(k) !== undefined;
}

/**
 * Converts one key and its raw value (`null` = deleted) into the update the agent sees, or
 * `undefined` for keys the agent does not use. A value that fails to parse or validate
 * yields a `null` value and a warning in Felix's grep-able wording.
 */
export function convertKeyValue(key: string, raw: string | null): Converted | undefined {
  const k = parseKey(key);
  if (!k) return undefined;
  const gone = _nullUpdate(k);
  if (!gone) return undefined;
  if (raw === null) return { update: gone };
  try {
    return { update: _decode(k, raw) };
  } catch (e) {
    if (e instanceof BackendParseError) {
      return {
        update: gone,
        warning: `Failed to parse value for ${key}: ${e.message}; ${quote(raw, { quote: "'" })}`,
      };
    }
    if (e instanceof _Invalid) {
      return {
        update: gone,
        warning: `Validation failed for ${
          DESCRIPTIONS[k.type] ?? k.type
        } ${key}, treating as missing: ${e.message}; ${quote(raw, { quote: "'" })}`,
      };
    }
    throw e;
  }
}
