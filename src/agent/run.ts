/**
 * `hostfence agent`: the host agent. CONTRACT STUB: the lead fills this in.
 * Returns the process exit code.
 */
export function runAgent(_args: string[]): Promise<number> {
  console.error("hostfence agent: not implemented yet");
  return Promise.resolve(1);
}
