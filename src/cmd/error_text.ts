/** The text of an error for the operator: its message, never a stack. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
