/** Minimal assertions for system tests (JSR's @std/assert is unreachable here). */

/** Thrown when a system-test expectation fails. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Throws AssertionError with `message` unless `cond` holds. */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}

/** Throws unless `actual` strictly equals `expected`. */
export function assertEquals<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) {
    throw new AssertionError(
      `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
}
