/**
 * What the local datastore (DatastoreType=local) costs per re-read of a policy directory:
 * every change re-reads the whole directory, so this is the price of one edit. Medians of
 * several runs for directories of 10 files of N/10 policies each (plus one host endpoint),
 * in the same run as the baseline: the CLI's decoder alone on the same text (what
 * `hostfence apply -f` does before writing anything).
 *
 *   deno run -A scripts/bench_local.ts
 */
import { parseResources } from "../src/model/input.ts";
import { loadPolicySet, type PolicyFile } from "../src/datastore/local_files.ts";
import { diffKeys } from "../src/datastore/local_source.ts";
import { median, time } from "./_bench.ts";

const RUNS = 7;
const enc = new TextEncoder();

function files(policies: number): PolicyFile[] {
  const out: PolicyFile[] = [{
    path: "00-hep.yaml",
    bytes: enc.encode(
      "- apiVersion: v1\n  kind: hostEndpoint\n  metadata:\n    name: eth0\n" +
        "    labels: {role: web}\n  spec:\n    interfaceName: eth0\n",
    ),
  }];
  const per = Math.ceil(policies / 10);
  for (let f = 0; f < 10; f++) {
    let text = "";
    for (let i = f * per; i < Math.min(policies, (f + 1) * per); i++) {
      text += `- apiVersion: v1\n  kind: policy\n  metadata:\n    name: p${i}\n  spec:\n` +
        `    order: ${i}\n    selector: role == 'web'\n    ingress:\n    - action: allow\n` +
        `      protocol: tcp\n      source:\n        nets: ["198.18.${i % 256}.0/24"]\n` +
        `      destination:\n        ports: [${1000 + i}]\n`;
    }
    out.push({ path: `${String(f + 10)}-policies.yaml`, bytes: enc.encode(text) });
  }
  return out;
}

console.log(
  "| policies | CLI decoder only (ms) | load set (ms) | ratio | diff, one policy edited (ms) |",
);
console.log(
  "| -------: | --------------------: | ------------: | ----: | ---------------------------: |",
);
for (const n of [10, 100, 1000, 5000]) {
  const fs = files(n);
  const texts = fs.map((f) => new TextDecoder().decode(f.bytes));
  const decode: number[] = [], load: number[] = [], diff: number[] = [];
  const before = loadPolicySet(fs, "h1").keys;
  const edited = new Map(before);
  const k = [...edited.keys()].find((key) => key.endsWith("/p0"))!;
  edited.set(k, edited.get(k)!.replace('"order":0', '"order":1'));
  // One untimed round first, so neither side pays for compiling the other's code.
  texts.forEach((t, i) => parseResources(t, fs[i]!.path));
  loadPolicySet(fs, "h1");
  for (let r = 0; r < RUNS; r++) {
    decode.push(time(() => texts.forEach((t, i) => parseResources(t, fs[i]!.path))));
    load.push(time(() => loadPolicySet(fs, "h1")));
    diff.push(time(() => diffKeys(before, edited, () => {})));
  }
  const d = median(decode), l = median(load);
  console.log(
    `| ${n} | ${d.toFixed(1)} | ${l.toFixed(1)} | ${(l / d).toFixed(2)} | ` +
      `${median(diff).toFixed(2)} |`,
  );
}
