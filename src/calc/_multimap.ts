/** Map-of-sets helpers shared by the calculation's indexes. Private to src/calc. */

/** Adds `v` to the set under `k`, creating the set. */
export function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, s = new Set());
  s.add(v);
}

/** Removes `v` from the set under `k`, dropping the set when it empties (no stale keys). */
export function removeFrom(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}
