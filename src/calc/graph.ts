/**
 * The calculation graph: typed datastore updates plus the host's interfaces in, the desired
 * HostState for the dataplane out. Pure: no I/O, no clock;
 * the agent feeds it and asks for the result.
 *
 * It is incremental because the datastore is cluster-wide (every host's endpoints feed the IP
 * sets) while updates arrive one object at a time; recomputing everything per update would
 * cost endpoints x selectors each time. Instead:
 * - two label indexes (label_index.ts) keep "which selector matches which endpoint" up to
 *   date, re-evaluating only the pairs an update can affect: one over local host endpoints
 *   for policy selectors, one over every endpoint for IP-set selectors;
 * - each local host endpoint keeps the set of policies whose selector matches it, and its
 *   sorted lists are recomputed only when that set or a member's order/flags change;
 * - each IP set keeps a refcount per address, so an address several endpoints contribute
 *   stays until the last one goes, and a member change touches one entry;
 * - rule sets are resolved once per policy/profile update, and IP-set selectors are
 *   refcounted by the active policies and profiles using them.
 * Network sets are items of the IP-set index only (rule selectors match them, a policy's own
 * selector never does); their nets join the same refcounts as endpoint addresses. A set
 * holding a prefix is handed out in disjoint form (a member inside another left out, as an
 * nft interval set needs), and its member changes are the differences of that form, so the
 * dataplane's element adds and deletes stay exact.
 * The per-host parts (interface resolution, which policies are active) are small and are
 * recomputed whole, only when something they depend on changed.
 */
import type { Logger } from "../log/logger.ts";
import type {
  EndpointPort,
  Labels,
  NetworkSetResource,
  PolicyResource,
  Rule,
} from "../model/resources.ts";
import type { ModelUpdate } from "../datastore/updates.ts";
import type {
  DataplaneConfig,
  HostChanges,
  HostState,
  HostStateSource,
  HostView,
  IpSetMembers,
} from "./host_state.ts";
import type { LabelIndexStats } from "./label_index.ts";
import { type EndpointStatus, type InterfaceInfo } from "./resolve_interfaces.ts";
import { LabelInheritance } from "./label_inheritance.ts";
import { ActiveRulesCalculator } from "./active_rules.ts";
import { PolicedInterfaces } from "./policed_interfaces.ts";
import { PolicyResolver } from "./policy_resolver.ts";
import { InterfaceResolution } from "./interface_resolution.ts";
import { RuleCompiler } from "./rule_compiler.ts";
import { IpSetMemberCalculator } from "./ipset_members.ts";
import { type EndpointKey, hostEndpointKey, networkSetKey, workloadEndpointKey } from "./keys.ts";
import { memberSource } from "./member_source.ts";
import { ChangeCollector } from "./change_collector.ts";

export type { EndpointStatus, InterfaceInfo } from "./resolve_interfaces.ts";

/** What the graph needs to know about its host. */
export interface CalculationGraphOptions {
  /** FelixHostname: host endpoints whose node equals it are local. */
  readonly hostname: string;
  readonly dataplaneConfig: DataplaneConfig;
  readonly log: Logger;
}

/** Work counters, so tests and the benchmark can see that updates stay local. */
export interface CalcStats {
  /** The index matching policy selectors against local host endpoints. */
  readonly policyIndex: LabelIndexStats;
  /** The index matching IP-set selectors against every endpoint. */
  readonly ipSetIndex: LabelIndexStats;
  /** Times a local host endpoint's sorted policy lists were recomputed. */
  readonly endpointListRecomputes: number;
  /** Address refcount changes in IP sets (one per endpoint address per set). */
  readonly ipSetMemberUpdates: number;
  /** Times interface resolution ran. */
  readonly resolutions: number;
}

const NO_PROFILES: readonly string[] = Object.freeze([]);

/**
 * See the module comment. Every mutating method finishes the calculation before returning,
 * so `hostState()` only assembles (and caches) the result.
 */
export class CalculationGraph implements HostStateSource {
  readonly #hostname: string;
  readonly #log: Logger;
  #config: DataplaneConfig;
  readonly #interfaces: InterfaceResolution;

  readonly #policies = new PolicyResolver();

  readonly #members: IpSetMemberCalculator;
  readonly #labels: LabelInheritance;
  readonly #compiler: RuleCompiler;

  readonly #changes = new ChangeCollector();
  readonly #policed = new PolicedInterfaces(this.#changes);
  readonly #activeRules: ActiveRulesCalculator;

  #cached: HostState | undefined;
  #cachedGeneration = -1;

  constructor(opts: CalculationGraphOptions) {
    this.#hostname = opts.hostname;
    this.#config = opts.dataplaneConfig;
    this.#log = opts.log;
    this.#interfaces = new InterfaceResolution(opts.dataplaneConfig.interfacePrefixes);
    this.#members = new IpSetMemberCalculator(this.#changes);
    this.#labels = new LabelInheritance((key, labels, localHep) => {
      this.#members.relabelItem(key, labels);
      if (localHep !== undefined) this.#policies.relabelHep(localHep, labels);
    });
    this.#compiler = new RuleCompiler(this.#log);
    this.#activeRules = new ActiveRulesCalculator(
      this.#log,
      this.#members,
      this.#changes,
      (name) => this.#policies.rules(name),
    );
    this.#flush();
  }

  /**
   * Increases every time the HostState changes (not on updates that leave it as it was), so
   * the agent re-renders only when needed.
   */
  get generation(): number {
    return this.#changes.generation;
  }

  /** True when the HostState changed since `hostState()` was last called. */
  get dirty(): boolean {
    return this.#cachedGeneration !== this.#changes.generation;
  }

  /** Increases every time `endpointStatuses()` would return something different. */
  get statusGeneration(): number {
    return this.#interfaces.statusGeneration;
  }

  /** Applies one batch of syncer updates; `ready`, `config` and `inSync` are ignored here. */
  applyUpdates(batch: readonly ModelUpdate[]): void {
    for (const u of batch) {
      switch (u.type) {
        case "hostEndpoint": {
          const key = hostEndpointKey(u.node, u.name);
          const local = u.node === this.#hostname ? u.name : undefined;
          const v = u.value;
          this.#updateEndpoint(
            key,
            v === null ? null : {
              own: v.metadata.labels ?? {},
              profiles: v.spec.profiles ?? [],
              ips: v.spec.expectedIPs ?? [],
              ports: v.spec.ports ?? [],
              ...(v.spec.interfaceName === undefined
                ? {}
                : { interfaceName: v.spec.interfaceName }),
            },
            local,
          );
          break;
        }
        case "workloadEndpoint": {
          const v = u.value;
          this.#updateEndpoint(
            workloadEndpointKey(u.id),
            v === null ? null : {
              own: v.metadata.labels ?? {},
              profiles: v.spec.profiles ?? [],
              ips: v.spec.ipNetworks ?? [],
              ports: [],
            },
            undefined,
          );
          break;
        }
        case "policy":
          this.#updatePolicy(u.name, u.value);
          break;
        case "networkSet":
          this.#updateNetworkSet(u.name, u.value);
          break;
        case "profileRules":
          this.#updateProfileRules(u.name, u.value);
          break;
        case "profileLabels":
          this.#labels.setProfileLabels(u.name, u.value ?? undefined);
          break;
        case "profileTags":
          this.#labels.setProfileTags(u.name, u.value ?? undefined);
          break;
        default:
          // ready / config / inSync belong to the agent.
          break;
      }
    }
    this.#flush();
  }

  /** Replaces the host's interface listing (every link, up or down). */
  setInterfaces(list: readonly InterfaceInfo[]): void {
    this.#interfaces.setInterfaces(list);
    this.#flush();
  }

  /** Replaces the dataplane config; a change of InterfacePrefix re-resolves interfaces. */
  setConfig(dataplaneConfig: DataplaneConfig): void {
    if (JSON.stringify(dataplaneConfig) === JSON.stringify(this.#config)) return;
    this.#interfaces.setPrefixes(dataplaneConfig.interfacePrefixes);
    this.#config = dataplaneConfig;
    this.#changes.full();
    this.#flush();
  }

  /** The desired state; the same object is returned until something changes. */
  hostState(): HostState {
    if (this.#cached && this.#cachedGeneration === this.#changes.generation) return this.#cached;
    const ipSets = new Map<string, IpSetMembers>();
    for (const id of this.#members.ids()) ipSets.set(id, this.#members.members(id)!);
    this.#cached = {
      config: this.#config,
      interfaces: this.#policed.list,
      policies: this.#activeRules.ruleSets("policy"),
      profiles: this.#activeRules.ruleSets("profile"),
      ipSets,
    };
    this.#cachedGeneration = this.#changes.generation;
    return this.#cached;
  }

  /** A live view of the desired state by key, for the dataplane's incremental path. */
  view(): HostView {
    return {
      config: this.#config,
      interface: (iface) => this.#policed.get(iface),
      policy: (name) => this.#activeRules.policy(name),
      profile: (name) => this.#activeRules.profile(name),
      ipSet: (id) => this.#members.members(id),
    };
  }

  /** What changed in the desired state since the last call (the first call says `full`). */
  takeChanges(): HostChanges {
    return this.#changes.take();
  }

  /** Status of every local host endpoint, by name. */
  endpointStatuses(): Map<string, EndpointStatus> {
    return new Map(this.#interfaces.statuses);
  }

  /** Local host endpoints the named policy's selector currently matches, sorted. */
  policyEndpoints(policyName: string): string[] {
    return this.#policies.endpoints(policyName);
  }

  /** Work counters (see CalcStats). */
  stats(): CalcStats {
    const policies = this.#policies.stats();
    const members = this.#members.stats();
    return {
      policyIndex: policies.index,
      ipSetIndex: members.index,
      endpointListRecomputes: policies.listRecomputes,
      ipSetMemberUpdates: members.memberUpdates,
      resolutions: this.#interfaces.resolutions,
    };
  }

  // ---- updates -------------------------------------------------------------------------

  #updateEndpoint(
    key: EndpointKey,
    data: {
      own: Labels;
      profiles: readonly string[];
      ips: readonly string[];
      ports: readonly EndpointPort[];
      interfaceName?: string;
      /** `ips` are a network set's CIDRs (members keep their prefix). */
      nets?: boolean;
    } | null,
    localHep: string | undefined,
  ) {
    if (data === null) {
      if (!this.#labels.has(key)) return;
      this.#members.deleteItem(key);
      this.#labels.delete(key);
      if (localHep !== undefined) {
        this.#policies.deleteHep(localHep);
        this.#interfaces.deleteHep(localHep);
      }
      return;
    }
    const src = memberSource(data.ips, data.ports, data.nets ?? false);
    const profiles = data.profiles.length === 0 ? NO_PROFILES : [...data.profiles];
    const labels = this.#labels.update(key, data.own, profiles, localHep);
    this.#members.updateItem(key, src, labels);
    if (localHep === undefined) return;

    this.#interfaces.updateHep(localHep, data.interfaceName, src.ips.map((a) => a.text));
    this.#policies.updateHep(localHep, profiles, labels);
  }

  /** A network set is an IP-set item with its own labels and its nets as members. */
  #updateNetworkSet(name: string, value: NetworkSetResource | null) {
    this.#updateEndpoint(
      networkSetKey(name),
      value === null ? null : {
        own: value.metadata.labels ?? {},
        profiles: NO_PROFILES,
        ips: value.spec.nets ?? [],
        // Named ports come from endpoints only, as in Calico: a network set has none.
        ports: [],
        nets: true,
      },
      undefined,
    );
  }

  #updatePolicy(name: string, value: PolicyResource | null) {
    this.#policies.updatePolicy(
      name,
      value === null ? undefined : this.#compiler.policy(name, value),
    );
    this.#activeRules.policyChanged(name);
  }

  #updateProfileRules(
    name: string,
    value: { readonly ingress: readonly Rule[]; readonly egress: readonly Rule[] } | null,
  ) {
    this.#activeRules.setProfileRules(name, this.#compiler.profileRules(name, value));
  }

  // ---- the per-host stage ----------------------------------------------------------------

  /** Settles the per-host nodes in dependency order, then seals the batch's generation. */
  #flush() {
    const moved = this.#interfaces.flush();
    const relisted = this.#policies.flush();
    if (moved || relisted || this.#activeRules.dirty) {
      this.#policed.update(this.#interfaces.byInterface, (hep) => this.#policies.lists(hep));
      this.#activeRules.update(this.#policed.list);
    }
    this.#changes.seal();
  }
}
