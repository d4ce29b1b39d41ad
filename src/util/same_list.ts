/**
 * Element-wise list equality, the one helper the calculation and the dataplane use to keep an
 * unchanged list's old object (and skip work) when a recomputed one is the same.
 */

/**
 * True when `a` and `b` have the same length and `same` holds for each pair of elements at
 * the same index (by default `===`).
 */
export function sameList<T>(
  a: readonly T[],
  b: readonly T[],
  same: (x: T, y: T) => boolean = (x, y) => x === y,
): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i]!, b[i]!)) return false;
  return true;
}
