/**
 * netlab: runs hostfence for real on a private network of Linux network namespaces, for the
 * demo (scripts/demo.ts), the benchmarks and the system tests alike.
 *
 * - netns.ts: namespaces (all named `hft-...`), veth pairs, commands run inside them
 * - etcd.ts: a throw-away etcd server, cluster or grpc-proxy
 * - datastore.ts (+ etcd_writer.ts): writing that etcd from outside its namespace, through the
 *   real CLI, `etcdctl` and bulk puts
 * - agent.ts: `hostfence agent` in a namespace, with its log lines to wait on
 * - probe.ts (+ probe_daemon.ts): real TCP, UDP and ICMP probes between namespaces
 * - guide_examples.ts: the user's guide's YAML examples, with the placeholders filled in
 * - paths.ts: the checkout's `scripts/hostfence`
 *
 * Why a folder of its own: it is tooling, not product, so it stays out of src/ (which is what
 * ships: scripts/build.sh copies only src/ and main.ts); and the demo is not a test, so it must
 * not reach into tests/, nor may the benchmarks. Test-only helpers built on it (topologies,
 * scenarios, assertions) stay in tests/harness/; data built in code for benchmarks and tests
 * alike is in synth/.
 */
export * from "./agent.ts";
export * from "./datastore.ts";
export * from "./etcd.ts";
export * from "./guide_examples.ts";
export * from "./netns.ts";
export * from "./paths.ts";
export * from "./probe.ts";
