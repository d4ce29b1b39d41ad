/**
 * PolicyAuditMode's would-drop counts: attributed from the audited rules and compiled-set
 * elements of the real builder's NftState, listed at zero before they count, absent with
 * audit off, and shown by `hostfence status` (table and JSON).
 */
import assert from "node:assert/strict";
import { buildNftState, chainNames, parseCounters } from "../../src/dataplane/mod.ts";
import { attributeCounters, type CounterReading } from "../../src/observe/mod.ts";
import { ActivityRecorder } from "../../src/observe/activity.ts";
import { encodeText } from "../../src/observe/exposition.ts";
import { collectMetrics, type MetricsSource } from "../../src/observe/metrics.ts";
import { SCENARIOS } from "../fixtures/dataplane_scenarios.ts";
import { wouldDropEntries } from "../../src/status/would_drop.ts";
import {
  buildStatusView,
  formatStatusJson,
  formatStatusTable,
} from "../../src/status/status_view.ts";

const AUDIT = SCENARIOS.audit_mode!;

function listing(rules: { chain: string; comment: string; packets: number }[]): string {
  return JSON.stringify({
    nftables: [
      { metainfo: { json_schema_version: 1 } },
      ...rules.map((r, i) => ({
        rule: {
          family: "inet",
          table: "hostfence",
          chain: r.chain,
          handle: 10 + i,
          comment: r.comment,
          expr: [{ counter: { packets: r.packets, bytes: r.packets * 60 } }],
        },
      })),
    ],
  });
}

Deno.test("audited deny rules and endpoint drops count as would-drops", () => {
  const nft = buildNftState(AUDIT);
  const reading = attributeCounters(
    parseCounters(listing([
      { chain: chainNames.policyIn("web"), comment: "policy web ingress rule 2", packets: 5 },
      { chain: chainNames.policyIn("web"), comment: "policy web ingress rule 1", packets: 9 },
      { chain: chainNames.fromHost("eth1"), comment: "eth1 ingress: default drop", packets: 3 },
    ])),
    nft,
    AUDIT,
  );
  const entries = wouldDropEntries(reading.wouldDrops ?? []);
  const get = (by: string, direction: string, reason?: string) =>
    entries.find((e) => e.by === by && e.direction === direction && e.reason === reason)?.packets;
  assert.equal(get("policy web", "ingress"), 5, "only web's deny rule is a would-drop");
  assert.equal(get("endpoint hep1 (eth1)", "ingress", "default drop"), 3);
  // Listed at zero before they count: the compiled run's elements and the profile's deny.
  assert.equal(get("policy deny-a", "ingress"), 0);
  assert.equal(get("profile prof", "ingress"), 0);
  assert.equal(get("endpoint hep0 (eth0)", "ingress", "no policy allowed"), 0);
  // The plain counters still count the same packets.
  assert.equal(
    reading.policies.find((p) => p.policy === "web" && p.direction === "ingress")?.packets,
    14,
  );
});

Deno.test("with audit off there are no would-drops", () => {
  const host = { ...AUDIT, config: { ...AUDIT.config, policyAuditMode: false } };
  const reading = attributeCounters([], buildNftState(host), host);
  assert.equal(reading.wouldDrops, undefined);
});

Deno.test("hostfence status shows the published would-drops", () => {
  const felix = {
    "/calico/felix/v1/host/h1/would_drop": JSON.stringify({
      counts: [{ by: "policy drop-ssh", direction: "ingress", packets: 12 }, {
        by: "endpoint hep1 (eth1)",
        direction: "ingress",
        reason: "default drop",
        packets: 3,
      }],
    }),
  };
  const view = buildStatusView(
    ["/calico/v1/host/h1/metadata", "/calico/v1/host/h2/metadata"],
    felix,
  );
  const now = new Date("2026-01-01T00:00:00Z");
  const table = formatStatusTable(view, now);
  assert.match(table, /PolicyAuditMode: packets accepted that policy would have dropped/);
  assert.match(table, /h1\s+policy drop-ssh\s+ingress\s+deny rule\s+12/);
  assert.match(table, /h1\s+endpoint hep1 \(eth1\)\s+ingress\s+default drop\s+3/);
  const json = JSON.parse(formatStatusJson(view, now));
  assert.equal(json[0].wouldDrops.length, 2);
  assert.equal(json[1].wouldDrops, undefined);
  // Nothing published: no section at all (the table stays as before).
  assert.doesNotMatch(
    formatStatusTable(buildStatusView(["/calico/v1/host/h1/metadata"], {}), now),
    /PolicyAuditMode/,
  );
});

Deno.test("metrics carry would-drop families only under audit mode", async () => {
  const nft = buildNftState(AUDIT);
  const reading = attributeCounters(
    parseCounters(listing([
      { chain: chainNames.policyIn("web"), comment: "policy web ingress rule 2", packets: 5 },
    ])),
    nft,
    AUDIT,
  );
  const source = (counters: CounterReading): MetricsSource => ({
    status: () => ({
      ready: true,
      inSync: true,
      programmed: true,
      revision: 1,
      appliedRevision: 1,
      applies: 1,
      applyFailures: 0,
      lastApplyMs: 1,
      lastSuccessAt: new Date(0),
    }),
    activity: () => new ActivityRecorder().snapshot(),
    counters: () => Promise.resolve(counters),
  });
  const text = encodeText(await collectMetrics(source(reading)));
  assert.match(
    text,
    /^hostfence_policy_would_drop_packets_total\{policy="web",direction="ingress",class="normal"\} 5$/m,
  );
  assert.match(
    text,
    /^hostfence_endpoint_would_drop_packets_total\{interface="eth1",host_endpoint="hep1",direction="ingress",reason="default drop"\} 0$/m,
  );
  const off = encodeText(await collectMetrics(source({ policies: [], endpointDrops: [] })));
  assert.doesNotMatch(off, /would_drop/);
});
