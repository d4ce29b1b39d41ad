/**
 * The text of a caught value for a log line or the operator: an Error's message (never its
 * stack), anything else as a string. `catch (e)` gives `unknown`, so every message built from
 * a caught error goes through here instead of casting.
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
