/**
 * Runs inside a test namespace (`ip netns exec NS deno run -A this.ts`): reads nft scripts
 * separated by lines `---` from stdin, applies each through the libnftables runner the agent
 * uses, and prints one JSON line per script: `{ok, stderr}`, then the JSON listing of our
 * table. Lets a system test drive the in-process runner without touching the test process's
 * own namespace.
 */
import { libnftablesRunner } from "../../src/dataplane/nft_ffi.ts";

const { runner, reason } = libnftablesRunner();
if (runner === undefined) {
  console.error(`libnftables not loaded: ${reason}`);
  Deno.exit(2);
}
const input = await new Response(Deno.stdin.readable).text();
for (const script of input.split("\n---\n")) {
  console.log(JSON.stringify(await runner.run(script)));
}
console.log(JSON.stringify({ listing: await runner.listTable() }));
