/**
 * The update router (Felix's calculation-graph dispatcher): the one place that knows which
 * node each datastore update feeds, and in what order. It exists so the nodes never see
 * ModelUpdate and never call each other for an update: an endpoint goes to the label
 * inheritance index, then the IP-set member calculator, and when it is one of this host's,
 * to interface resolution and the policy resolver; a policy is compiled and goes to the
 * policy resolver and the active rules calculator; profile parts go where they are used.
 * Private to src/calc.
 */
import type { ModelUpdate } from "../datastore/updates.ts";
import type { EndpointPort, Labels } from "../model/resources.ts";
import type { ActiveRulesCalculator } from "./active_rules.ts";
import type { InterfaceResolution } from "./interface_resolution.ts";
import type { IpSetMemberCalculator } from "./ipset_members.ts";
import {
  type EndpointKey,
  type HepName,
  hostEndpointKey,
  networkSetKey,
  workloadEndpointKey,
} from "./keys.ts";
import type { LabelInheritance } from "./label_inheritance.ts";
import { memberSource } from "./member_source.ts";
import type { PolicyResolver } from "./policy_resolver.ts";
import type { RuleCompiler } from "./rule_compiler.ts";

/** The nodes updates are routed to. */
export interface RoutedNodes {
  readonly compiler: RuleCompiler;
  readonly labels: LabelInheritance;
  readonly members: IpSetMemberCalculator;
  readonly policies: PolicyResolver;
  readonly interfaces: InterfaceResolution;
  readonly activeRules: ActiveRulesCalculator;
}

/** An endpoint or network set, reduced to what the nodes use. */
interface _Endpoint {
  readonly own: Labels;
  readonly profiles: readonly string[];
  readonly ips: readonly string[];
  readonly ports: readonly EndpointPort[];
  readonly interfaceName?: string | undefined;
  /** `ips` are a network set's CIDRs (members keep their prefix). */
  readonly nets: boolean;
}

const NO_PROFILES: readonly string[] = Object.freeze([]);

/** See the module comment. */
export class UpdateRouter {
  constructor(private readonly hostname: string, private readonly nodes: RoutedNodes) {}

  /** Routes one update; `ready`, `config` and `inSync` belong to the agent. */
  route(u: ModelUpdate): void {
    const n = this.nodes;
    switch (u.type) {
      case "hostEndpoint": {
        const v = u.value;
        this.#endpoint(
          hostEndpointKey(u.node, u.name),
          v === null ? null : {
            own: v.metadata.labels ?? {},
            profiles: v.spec.profiles ?? [],
            ips: v.spec.expectedIPs ?? [],
            ports: v.spec.ports ?? [],
            interfaceName: v.spec.interfaceName,
            nets: false,
          },
          u.node === this.hostname ? u.name : undefined,
        );
        break;
      }
      case "workloadEndpoint": {
        const v = u.value;
        this.#endpoint(
          workloadEndpointKey(u.id),
          v === null ? null : {
            own: v.metadata.labels ?? {},
            profiles: v.spec.profiles ?? [],
            ips: v.spec.ipNetworks ?? [],
            ports: [],
            nets: false,
          },
          undefined,
        );
        break;
      }
      case "networkSet": {
        // An IP-set item with its own labels and its nets as members; named ports come from
        // endpoints only, as in Calico.
        const v = u.value;
        this.#endpoint(
          networkSetKey(u.name),
          v === null ? null : {
            own: v.metadata.labels ?? {},
            profiles: [],
            ips: v.spec.nets ?? [],
            ports: [],
            nets: true,
          },
          undefined,
        );
        break;
      }
      case "policy":
        n.policies.updatePolicy(
          u.name,
          u.value === null ? undefined : n.compiler.policy(u.name, u.value),
        );
        n.activeRules.policyChanged(u.name);
        break;
      case "profileRules":
        n.activeRules.setProfileRules(u.name, n.compiler.profileRules(u.name, u.value));
        break;
      case "profileLabels":
        n.labels.setProfileLabels(u.name, u.value ?? undefined);
        break;
      case "profileTags":
        n.labels.setProfileTags(u.name, u.value ?? undefined);
        break;
      default:
        break;
    }
  }

  #endpoint(key: EndpointKey, data: _Endpoint | null, localHep: HepName | undefined) {
    const n = this.nodes;
    if (data === null) {
      if (!n.labels.has(key)) return;
      n.members.deleteItem(key);
      n.labels.delete(key);
      if (localHep !== undefined) {
        n.policies.deleteHep(localHep);
        n.interfaces.deleteHep(localHep);
      }
      return;
    }
    const profiles = data.profiles.length === 0 ? NO_PROFILES : [...data.profiles];
    const src = memberSource(data.ips, data.ports, data.nets);
    const labels = n.labels.update(key, data.own, profiles, localHep);
    n.members.updateItem(key, src, labels);
    if (localHep === undefined) return;
    n.interfaces.updateHep(localHep, data.interfaceName, src.ips.map((a) => a.text));
    n.policies.updateHep(localHep, profiles, labels);
  }
}
