/** Map-of-sets helpers shared by the calculation's indexes. Private to src/calc. */

/** Adds `v` to the set under `k`, creating the set. */
export function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, s = new Set());
  s.add(v);
}

/** Removes `v` from the set under `k`, dropping the set when it empties (no stale keys). */
export function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}
