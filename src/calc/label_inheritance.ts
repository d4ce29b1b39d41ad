/**
 * The label inheritance index (Felix's label inheritance index): each endpoint's effective
 * labels, its own plus those its profiles lend it (effective_labels.ts). It exists because
 * profile labels and tags arrive apart from the endpoints that use them: an edit of one
 * profile must relabel exactly the endpoints naming it, and the selector indexes downstream
 * need each endpoint's whole label map, not a lookup. Equal maps are shared (interned), since
 * thousands of endpoints usually carry a handful of label sets. Private to src/calc.
 */
import type { Labels } from "../model/resources.ts";
import { addTo, removeFrom } from "./_multimap.ts";
import { effectiveLabelMap, type ProfileLabelSource } from "./effective_labels.ts";
import type { EndpointKey, HepName } from "./keys.ts";
import type { LabelMap } from "./label_index.ts";

/** Receives the new labels of endpoints a profile edit relabelled. */
export type RelabelListener = (
  key: EndpointKey,
  labels: LabelMap,
  localHep: HepName | undefined,
) => void;

interface _Endpoint {
  readonly own: Labels;
  readonly profiles: readonly string[];
  /** The HEP name when this is a local host endpoint. */
  readonly localHep: HepName | undefined;
  labels: LabelMap;
}

interface _Profile {
  labels?: Labels | undefined;
  tags?: readonly string[] | undefined;
}

const INTERN_LIMIT = 50_000;

/** See the module comment. */
export class LabelInheritance {
  readonly #endpoints = new Map<EndpointKey, _Endpoint>();
  readonly #byProfile = new Map<string, Set<EndpointKey>>();
  readonly #profiles = new Map<string, _Profile>();
  readonly #interned = new Map<string, LabelMap>();
  readonly #lookup = (name: string): ProfileLabelSource | undefined => this.#profiles.get(name);

  constructor(private readonly onRelabel: RelabelListener) {}

  /** True when endpoint `key` is known. */
  has(key: EndpointKey): boolean {
    return this.#endpoints.has(key);
  }

  /** Adds or replaces an endpoint; returns its effective labels. */
  update(
    key: EndpointKey,
    own: Labels,
    profiles: readonly string[],
    localHep: HepName | undefined,
  ): LabelMap {
    const labels = this.#intern(effectiveLabelMap(own, profiles, this.#lookup));
    const old = this.#endpoints.get(key);
    if (old) { for (const p of old.profiles) removeFrom(this.#byProfile, p, key); }
    for (const p of profiles) addTo(this.#byProfile, p, key);
    this.#endpoints.set(key, { own, profiles, localHep, labels });
    return labels;
  }

  /** Forgets an endpoint. */
  delete(key: EndpointKey): void {
    const old = this.#endpoints.get(key);
    if (!old) return;
    for (const p of old.profiles) removeFrom(this.#byProfile, p, key);
    this.#endpoints.delete(key);
  }

  /** Profile `name`'s labels changed (undefined: gone); relabels its endpoints. */
  setProfileLabels(name: string, labels: Labels | undefined): void {
    this.#profile(name).labels = labels;
    this.#relabelUsers(name);
  }

  /** Profile `name`'s tags changed (undefined: gone); relabels its endpoints. */
  setProfileTags(name: string, tags: readonly string[] | undefined): void {
    this.#profile(name).tags = tags;
    this.#relabelUsers(name);
  }

  #profile(name: string): _Profile {
    let p = this.#profiles.get(name);
    if (!p) this.#profiles.set(name, p = {});
    return p;
  }

  #relabelUsers(profile: string) {
    for (const key of this.#byProfile.get(profile) ?? []) {
      const ep = this.#endpoints.get(key)!;
      ep.labels = this.#intern(effectiveLabelMap(ep.own, ep.profiles, this.#lookup));
      this.onRelabel(key, ep.labels, ep.localHep);
    }
  }

  /** One shared map per distinct label set; the indexes never mutate a map they were given. */
  #intern(labels: LabelMap): LabelMap {
    let key = "";
    // Keys in code-unit order (sort's default), one array rather than one per entry.
    for (const k of [...labels.keys()].sort()) {
      const v = labels.get(k)!;
      key += `${k.length}:${k}${v.length}:${v}`;
    }
    let shared = this.#interned.get(key);
    if (shared === undefined) {
      if (this.#interned.size >= INTERN_LIMIT) this.#interned.clear();
      this.#interned.set(key, shared = labels);
    }
    return shared;
  }
}
