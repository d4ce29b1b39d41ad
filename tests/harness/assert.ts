/** Minimal assertions for tests that want a message (JSR's @std/assert is unreachable here). */

/** Thrown when a system-test expectation fails. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Throws AssertionError with `message` unless `cond` holds. */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}

/**
 * Throws unless `actual` is the same value as `expected` (`Object.is`: no deep comparison;
 * unit tests' `assertEquals` is node's deepStrictEqual, hence the different name).
 */
export function assertStrictEquals<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(
      `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
}

/** Throws unless `text` contains `part`; the message shows the whole text. */
export function assertIncludes(text: string, part: string, what: string): void {
  assert(
    text.includes(part),
    `${what}: expected to contain ${JSON.stringify(part)}, got:\n${text}`,
  );
}

/** Throws unless `text` matches `re`; the message shows the whole text. */
export function assertMatch(text: string, re: RegExp, what: string): void {
  assert(re.test(text), `${what}: expected to match ${re}, got:\n${text}`);
}
