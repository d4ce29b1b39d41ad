/**
 * Label lookups for selector evaluation: effective labels with profile inheritance
 * and the selector a rule's `tag` stands for.
 */
import type { LabelLookup } from "./compile.ts";

/** Label maps: keys and values as validated by libcalico-go's label rules (model/validate.ts). */
export type Labels = Readonly<Record<string, string>>;

/** What inheritance needs from a profile: its labels and its tags. */
export interface LabelSource {
  readonly labels?: Labels | undefined;
  readonly tags?: readonly string[] | undefined;
}

/**
 * The effective labels of an endpoint: its own labels first; then, profile by profile in the
 * endpoint's order, that profile's labels and then its tags (each a label with value "").
 * The first definition of a key wins, so own labels beat profile labels, an earlier profile
 * beats a later one, and within one profile a label beats a same-named tag. The map is built
 * once so that evaluating many selectors costs one `Map` lookup per label test.
 */
export function effectiveLabels(
  own: Labels | undefined,
  profiles: readonly LabelSource[],
): LabelLookup {
  const map = new Map<string, string>(own ? Object.entries(own) : []);
  for (const p of profiles) {
    if (p.labels) { for (const [k, v] of Object.entries(p.labels)) if (!map.has(k)) map.set(k, v); }
    if (p.tags) { for (const t of p.tags) if (!map.has(t)) map.set(t, ""); }
  }
  return (key) => map.get(key);
}

/**
 * A lookup over a plain label map. Reads only own properties, so keys such as `constructor`
 * or `__proto__` are not found on `Object.prototype`.
 */
export function labelLookup(labels: Labels | ReadonlyMap<string, string>): LabelLookup {
  if (labels instanceof Map) return (key) => labels.get(key);
  const record = labels as Labels;
  return (key) => (Object.hasOwn(record, key) ? record[key] : undefined);
}

/**
 * The canonical selector text a rule's `tag: T` (or `notTag: T`) stands for: exactly
 * `has(T)`. Tags are validated as names (`[a-zA-Z0-9_.-]{1,128}`), all of which are
 * valid label keys, so the result always parses.
 */
export function tagSelector(tag: string): string {
  return `has(${tag})`;
}
