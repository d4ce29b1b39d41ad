/**
 * The calculation graph: typed datastore updates plus the host's interfaces in, the desired
 * HostState for the dataplane out. Pure: no I/O, no clock; the agent feeds it and asks for
 * the result.
 *
 * It is incremental because the datastore is cluster-wide while updates arrive one object at
 * a time. The work is done by named nodes, in Felix's manner; this file only wires them:
 * - update_router.ts sends each update to the nodes it feeds;
 * - label_inheritance.ts keeps every endpoint's effective labels (own plus profiles');
 * - ipset_members.ts keeps the members of every IP set in use (selector sets, named-port
 *   sets, network sets' prefixes in disjoint form), matching its selectors incrementally;
 * - policy_resolver.ts keeps, per local host endpoint, the matching policies and sorted lists;
 * - interface_resolution.ts decides which local host endpoint governs which interface;
 * - policed_interfaces.ts joins those two into the policed-interface list;
 * - active_rules.ts keeps the policies and profiles that list uses, and refcounts their sets;
 * - change_collector.ts hears every change, for the generation and for takeChanges().
 * After each batch the per-host nodes settle in a fixed order (resolution, lists, policed
 * interfaces and active rules) and the collector seals a generation.
 */
import type { Logger } from "../log/logger.ts";
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
import type { EndpointStatus, InterfaceInfo } from "./resolve_interfaces.ts";
import { ActiveRulesCalculator } from "./active_rules.ts";
import { ChangeCollector } from "./change_collector.ts";
import { InterfaceResolution } from "./interface_resolution.ts";
import { IpSetMemberCalculator } from "./ipset_members.ts";
import { LabelInheritance } from "./label_inheritance.ts";
import { PolicedInterfaces } from "./policed_interfaces.ts";
import { PolicyResolver } from "./policy_resolver.ts";
import { RuleCompiler } from "./rule_compiler.ts";
import { UpdateRouter } from "./update_router.ts";

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

/**
 * See the module comment. Every mutating method finishes the calculation before returning,
 * so `hostState()` only assembles (and caches) the result.
 */
export class CalculationGraph implements HostStateSource {
  #config: DataplaneConfig;
  readonly #changes = new ChangeCollector();
  readonly #members = new IpSetMemberCalculator(this.#changes);
  readonly #policies = new PolicyResolver();
  readonly #labels = new LabelInheritance((key, labels, localHep) => {
    this.#members.relabelItem(key, labels);
    if (localHep !== undefined) this.#policies.relabelHep(localHep, labels);
  });
  readonly #interfaces: InterfaceResolution;
  readonly #policed = new PolicedInterfaces(this.#changes);
  readonly #activeRules: ActiveRulesCalculator;
  readonly #router: UpdateRouter;

  #cached: HostState | undefined;
  #cachedGeneration = -1;

  constructor(opts: CalculationGraphOptions) {
    this.#config = opts.dataplaneConfig;
    this.#interfaces = new InterfaceResolution(opts.dataplaneConfig.interfacePrefixes);
    this.#activeRules = new ActiveRulesCalculator(
      opts.log,
      this.#members,
      this.#changes,
      (name) => this.#policies.rules(name),
    );
    this.#router = new UpdateRouter(opts.hostname, {
      compiler: new RuleCompiler(opts.log),
      labels: this.#labels,
      members: this.#members,
      policies: this.#policies,
      interfaces: this.#interfaces,
      activeRules: this.#activeRules,
    });
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
    return this.#cachedGeneration !== this.generation;
  }

  /** Increases every time `endpointStatuses()` would return something different. */
  get statusGeneration(): number {
    return this.#interfaces.statusGeneration;
  }

  /** Applies one batch of syncer updates; `ready`, `config` and `inSync` are ignored here. */
  applyUpdates(batch: readonly ModelUpdate[]): void {
    for (const u of batch) this.#router.route(u);
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
    if (this.#cached && !this.dirty) return this.#cached;
    const ipSets = new Map<string, IpSetMembers>();
    for (const id of this.#members.ids()) ipSets.set(id, this.#members.members(id)!);
    this.#cached = {
      config: this.#config,
      interfaces: this.#policed.list,
      policies: this.#activeRules.ruleSets("policy"),
      profiles: this.#activeRules.ruleSets("profile"),
      ipSets,
    };
    this.#cachedGeneration = this.generation;
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

  /** Settles the per-host nodes in dependency order, then seals the batch's generation. */
  #flush() {
    const moved = this.#interfaces.flush();
    const relisted = this.#policies.flush();
    if (moved || relisted) {
      this.#policed.update(this.#interfaces.byInterface, (hep) => this.#policies.lists(hep));
      this.#activeRules.update(this.#policed.list);
    } else if (this.#activeRules.dirty) {
      // The policed lists are as they were: only changed rule sets need looking at.
      this.#activeRules.refresh();
    }
    this.#changes.seal();
  }
}
