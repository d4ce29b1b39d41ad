/**
 * Calico 3's applyOnForward with real forwarded packets (R -> h1 -> R2, eth0 a host endpoint,
 * eth1 not): a v3 GlobalNetworkPolicy without applyOnForward polices traffic to the host but
 * not traffic forwarded through it; with `applyOnForward: true` it polices both; when
 * policies select the endpoint but none applies on the forward path, forwarded packets are
 * allowed in that direction (Calico 3), profiles or not. v1 policies (no applyOnForward) keep
 * policing forwarded traffic (agent_paths_test).
 */
import { expectAll } from "../../netlab/probe.ts";
import { ADDR } from "../harness/topology.ts";
import { AGENT_TESTS_IGNORED, hep0, openSite, profile, type Site } from "../harness/scenario.ts";

/** A v3 policy on role == 'web' allowing inbound tcp to `port`. */
function gnp(name: string, port: number, applyOnForward?: boolean): string {
  return `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: ${name}
spec:
  selector: role == 'web'
  types: [Ingress]
${applyOnForward === undefined ? "" : `  applyOnForward: ${applyOnForward}\n`}  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [${port}]
`;
}

async function applyV3(site: Site, yaml: string): Promise<void> {
  await site.agent.waitForRevision(await site.ds.apply(yaml));
}

Deno.test({
  name: "v3 applyOnForward: forwarded packets are policed only by policies that apply on forward",
  ignore: AGENT_TESTS_IGNORED,
  async fn(t) {
    await using site = await openSite();
    const { probe, ds } = site;
    const h1 = ADDR.h1Eth0;

    await t.step("a policy without applyOnForward polices the host only", async () => {
      await site.apply(hep0());
      await applyV3(site, gnp("local-80", 80) + "---\n" + gnp("fwd-81", 81, true));
      await expectAll([
        ["R -> h1 tcp/80 (local-80 applies to the host)", probe.r.tcp(h1, 80), "allow"],
        ["R -> h1 tcp/81 (fwd-81 applies to the host too)", probe.r.tcp(h1, 81), "allow"],
        ["R -> h1 tcp/8080", probe.r.tcp(h1, 8080), "drop"],
        ["R -> R2 tcp/81 (fwd-81 applies on forward)", probe.r.tcp(ADDR.r2, 81), "allow"],
        ["R -> R2 tcp/80 (local-80 is not on the forward path)", probe.r.tcp(ADDR.r2, 80), "drop"],
        ["R -> R2 v6 tcp/80", probe.r.tcp(ADDR.r2v6, 80), "drop"],
      ]);
    });

    await t.step("applyOnForward: true puts it on the forward path, live", async () => {
      await applyV3(site, gnp("local-80", 80, true));
      await expectAll([
        ["R -> R2 tcp/80", probe.r.tcp(ADDR.r2, 80), "allow"],
        ["R -> R2 v6 tcp/80", probe.r.tcp(ADDR.r2v6, 80), "allow"],
        ["R -> h1 tcp/80", probe.r.tcp(h1, 80), "allow"],
      ]);
      await applyV3(site, gnp("local-80", 80, false));
      await expectAll([["R -> R2 tcp/80 after false", probe.r.tcp(ADDR.r2, 80), "drop"]]);
    });

    await t.step(
      "no policy on the forward path: forwarded packets are allowed in that direction",
      async () => {
        await ds.deleteResource("policy", "fwd-81");
        await expectAll([
          ["R -> h1 tcp/80 (local-80)", probe.r.tcp(h1, 80), "allow"],
          ["R -> h1 tcp/81 (a policy applies to the host)", probe.r.tcp(h1, 81), "drop"],
          ["R -> R2 tcp/81 (nothing applies on forward)", probe.r.tcp(ADDR.r2, 81), "allow"],
          ["R -> R2 v6 tcp/8080", probe.r.tcp(ADDR.r2v6, 8080), "allow"],
        ]);
        // Profiles change nothing on the forward path while policies select the endpoint.
        await site.apply(
          profile("closed", { ingress: [{ action: "deny" }], egress: [{ action: "deny" }] }),
          hep0({ profiles: ["closed"] }),
        );
        await expectAll([
          ["R -> R2 tcp/81 (profile closed)", probe.r.tcp(ADDR.r2, 81), "allow"],
          ["R -> h1 tcp/80 (local-80)", probe.r.tcp(h1, 80), "allow"],
        ]);
      },
    );
  },
});
