/**
 * Effective labels of an endpoint as a flat map. The label index diffs old and new
 * maps key by key to find which selectors an update can affect, so the calculation needs the
 * whole map rather than a lookup function.
 */
import type { Labels } from "../model/resources.ts";
import type { LabelMap } from "./label_index.ts";

/** What inheritance needs from a profile. */
export interface ProfileLabelSource {
  readonly labels?: Labels | undefined;
  readonly tags?: readonly string[] | undefined;
}

/**
 * Own labels first; then, profile by profile in the endpoint's order, that profile's labels
 * and then its tags (as labels with value ""); the first definition of a key wins. Unknown
 * profiles contribute nothing.
 */
export function effectiveLabelMap(
  own: Labels,
  profiles: readonly string[],
  profile: (name: string) => ProfileLabelSource | undefined,
): LabelMap {
  const out = new Map<string, string>();
  // Object.entries' order without its entry arrays (thousands of endpoints at start).
  for (const k of Object.keys(own)) out.set(k, own[k]!);
  for (const name of profiles) {
    const p = profile(name);
    if (!p) continue;
    for (const [k, v] of Object.entries(p.labels ?? {})) if (!out.has(k)) out.set(k, v);
    for (const t of p.tags ?? []) if (!out.has(t)) out.set(t, "");
  }
  return out;
}
