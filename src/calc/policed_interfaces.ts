/**
 * The policed interfaces: each interface a local host endpoint governs, with that endpoint's
 * sorted policy lists, as the dataplane renders them. It exists to join the two per-host
 * results (interface resolution and the policy resolver's lists) into one list whose entries
 * keep their identity while unchanged, so the change collector hears of exactly the
 * interfaces that appeared, went or changed lists. Private to src/calc.
 */
import type { ChangeCollector } from "./change_collector.ts";
import type { EndpointPolicies, PolicedInterface } from "./host_state.ts";
import type { HepName } from "./keys.ts";
import { sameEndpointPolicies } from "./policy_order.ts";

/** See the module comment. */
export class PolicedInterfaces {
  #list: readonly PolicedInterface[] = [];
  #byIface = new Map<string, PolicedInterface>();

  constructor(private readonly changes: ChangeCollector) {}

  /** Every policed interface, in interface-name order. */
  get list(): readonly PolicedInterface[] {
    return this.#list;
  }

  /** The policed interface named `iface`, if it is policed. */
  get(iface: string): PolicedInterface | undefined {
    return this.#byIface.get(iface);
  }

  /** Rebuilds the list from resolution and lists, keeping unchanged entries as they were. */
  update(
    byInterface: ReadonlyMap<string, HepName>,
    lists: (hep: HepName) => EndpointPolicies,
  ): void {
    const next: PolicedInterface[] = [];
    for (const [iface, hep] of byInterface) {
      const l = lists(hep);
      const prev = this.#byIface.get(iface);
      next.push(
        prev && prev.hostEndpoint === hep && sameEndpointPolicies(prev, l)
          ? prev
          : { iface, hostEndpoint: hep, ...l },
      );
    }
    if (next.length === this.#list.length && next.every((p, i) => p === this.#list[i])) return;
    const byIface = new Map(next.map((p) => [p.iface, p]));
    for (const [iface, p] of byIface) {
      if (this.#byIface.get(iface) !== p) this.changes.interface(iface);
    }
    for (const iface of this.#byIface.keys()) {
      if (!byIface.has(iface)) this.changes.interface(iface);
    }
    this.#list = next;
    this.#byIface = byIface;
  }
}
