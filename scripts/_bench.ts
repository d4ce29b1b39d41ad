/** Timing helpers and test data shared by the benchmark scripts (scripts/bench_*.ts). */
import type { Resource } from "../src/model/resources.ts";
import { errorMessage } from "../src/util/error_message.ts";

/** The middle value (upper middle for an even count): robust to the odd slow run. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Wall-clock milliseconds `fn` takes. */
export function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Wall-clock milliseconds the promise `fn` returns takes to settle. */
export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * `n` policies of the shape the input benchmarks parse and print: a compound selector, an
 * allow with a source selector, a net and a port range, a deny, an egress allow. `types` adds
 * the policy types (the v3 benchmark prints them, as calicoctl v3 does).
 */
export function benchPolicies(n: number, o: { types?: boolean } = {}): Resource[] {
  return Array.from({ length: n }, (_, i) =>
    ({
      kind: "policy",
      metadata: { name: `policy-${i}` },
      spec: {
        order: i,
        selector: `role == "web-${i % 50}" && env in {"prod", "staging"}`,
        ...(o.types ? { types: ["ingress", "egress"] } : {}),
        ingress: [
          {
            action: "allow",
            protocol: "tcp",
            source: { selector: `app == "client-${i}"`, nets: ["198.18.0.0/16"] },
            destination: { ports: [80, 443, { min: 8000, max: 8080 }] },
          },
          { action: "deny", protocol: "udp", destination: { ports: [53] } },
        ],
        egress: [{ action: "allow" }],
      },
    }) as unknown as Resource);
}

/** Why the real-nft part of a benchmark cannot run here (not root, no `ip` or `nft`), or undefined. */
export function whyNoNft(): string | undefined {
  try {
    if (Deno.uid() !== 0) return "not root";
    for (const cmd of ["ip", "nft"]) {
      const ok = new Deno.Command(cmd, { args: ["-V"], stdout: "null", stderr: "null" })
        .outputSync().success;
      if (!ok) return `'${cmd} -V' failed`;
    }
  } catch (e) {
    return errorMessage(e);
  }
  return undefined;
}
