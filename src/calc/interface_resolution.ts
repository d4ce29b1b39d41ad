/**
 * The interface resolution node: which local host endpoint governs each host interface, and
 * each endpoint's status. It exists to hold the inputs resolution needs (the local host
 * endpoints' placement fields, the interface listing, the workload prefixes) and to rerun the
 * pure resolveInterfaces only when one of them changed: one host has a handful of interfaces
 * and endpoints, so a whole recompute is cheap and cannot drift. Private to src/calc.
 */
import type { HepName } from "./keys.ts";
import {
  type EndpointStatus,
  type HepPlacement,
  type InterfaceInfo,
  type Resolution,
  resolveInterfaces,
} from "./resolve_interfaces.ts";
import { sameList } from "../util/same_list.ts";

/** See the module comment. */
export class InterfaceResolution {
  readonly #heps = new Map<HepName, HepPlacement>();
  #interfaces: readonly InterfaceInfo[] = [];
  #prefixes: readonly string[];
  #dirty = true;
  #resolution: Resolution = { byInterface: new Map(), statuses: new Map() };
  #statusGeneration = 0;
  #resolutions = 0;

  constructor(prefixes: readonly string[]) {
    this.#prefixes = prefixes;
  }

  /** Winning host endpoint per policed interface (after `flush()`). */
  get byInterface(): ReadonlyMap<string, HepName> {
    return this.#resolution.byInterface;
  }

  /** Every local host endpoint's status (after `flush()`). */
  get statuses(): ReadonlyMap<HepName, EndpointStatus> {
    return this.#resolution.statuses;
  }

  /** Increases every time `statuses` changes. */
  get statusGeneration(): number {
    return this.#statusGeneration;
  }

  /** Times resolution ran. */
  get resolutions(): number {
    return this.#resolutions;
  }

  /** Replaces the interface listing. */
  setInterfaces(list: readonly InterfaceInfo[]): void {
    this.#interfaces = list.map((i) => ({ name: i.name, up: i.up, addrs: [...i.addrs] }));
    this.#dirty = true;
  }

  /** Replaces the workload interface prefixes (InterfacePrefix). */
  setPrefixes(prefixes: readonly string[]): void {
    if (JSON.stringify(prefixes) !== JSON.stringify(this.#prefixes)) this.#dirty = true;
    this.#prefixes = prefixes;
  }

  /** Adds or updates a local host endpoint's placement fields. */
  updateHep(name: HepName, interfaceName: string | undefined, expectedIPs: string[]): void {
    const old = this.#heps.get(name);
    if (
      !old || old.interfaceName !== interfaceName || !sameList(old.expectedIPs, expectedIPs)
    ) {
      this.#dirty = true;
    }
    this.#heps.set(name, {
      name,
      ...(interfaceName === undefined ? {} : { interfaceName }),
      expectedIPs,
    });
  }

  /** Removes a local host endpoint. */
  deleteHep(name: HepName): void {
    this.#heps.delete(name);
    this.#dirty = true;
  }

  /** Resolves again if an input changed; true when the interface -> endpoint map changed. */
  flush(): boolean {
    if (!this.#dirty) return false;
    this.#dirty = false;
    this.#resolutions++;
    const next = resolveInterfaces([...this.#heps.values()], this.#interfaces, this.#prefixes);
    if (!_sameMap(next.statuses, this.#resolution.statuses)) this.#statusGeneration++;
    const changed = !_sameMap(next.byInterface, this.#resolution.byInterface);
    this.#resolution = next;
    return changed;
  }
}

function _sameMap<V>(a: ReadonlyMap<string, V>, b: ReadonlyMap<string, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
