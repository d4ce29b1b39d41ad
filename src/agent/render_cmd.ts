/**
 * `hostfence render --node NAME`: prints the ruleset the agent would program, from etcd.
 * CONTRACT STUB: the lead fills this in. Returns the process exit code.
 */
export function runRender(_args: string[]): Promise<number> {
  console.error("hostfence render: not implemented yet");
  return Promise.resolve(1);
}
