/**
 * Command dispatch. CONTRACT STUB: the CLI owner fills this in; `main` returns the exit code.
 */
export function main(_args: string[]): Promise<number> {
  console.error("hostfence: not implemented yet");
  return Promise.resolve(1);
}
