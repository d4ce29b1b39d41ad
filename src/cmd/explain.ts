/**
 * `hostfence explain`: reads the datastore (etcd, or `--policy-dir`) like `render`, computes the node's table with the
 * agent's own code (agent/node_state.ts) and explains one packet (explain.ts). I/O only.
 */
import type { InterfaceInfo } from "../calc/graph.ts";
import {
  computeNodeState,
  type NodeState,
  NodeStateError,
  readSnapshot,
} from "../agent/node_state.ts";
import type { ModelUpdate } from "../datastore/updates.ts";
import { PolicyDirError } from "../datastore/local_files.ts";
import { readPolicyDirSnapshot } from "../datastore/local_source.ts";
import { parseInterfaceSpec } from "./render.ts";
import { ConnectionConfigError, resolveConnectionConfig } from "../datastore/connection.ts";
import { openResourceStore } from "../datastore/etcd_store.ts";
import { createLogger, type Logger, screenSink } from "../log/logger.ts";
import type { CliIo } from "./io.ts";
import { explain, formatExplanation } from "../explain/explain.ts";
import { EXPLAIN_HELP } from "./explain_help.ts";
import { type ExplainArgs, PacketArgsError, parseExplainArgs } from "./explain_args.ts";
import { errorMessage } from "../util/error_message.ts";

/** Entry point of `hostfence explain`; returns the exit code. */
export async function runExplain(args: string[], io: CliIo): Promise<number> {
  const fail = (msg: string) => {
    io.err(`hostfence explain: ${msg}\n`);
    return 1;
  };
  let parsed;
  let explicit: InterfaceInfo[] | undefined;
  try {
    parsed = parseExplainArgs(args);
    if (parsed.interfaces.length > 0) explicit = parsed.interfaces.map(parseInterfaceSpec);
  } catch (err) {
    if (err instanceof PacketArgsError || err instanceof RangeError) {
      return fail(`${err.message}. Use 'hostfence explain --help'.`);
    }
    throw err;
  }
  if (parsed.help) {
    io.out(EXPLAIN_HELP + "\n");
    return 0;
  }
  const node = parsed.node!;
  const packet = parsed.packet!;
  const log = createLogger([screenSink("WARNING")], "explain");
  let ns: NodeState;
  if (parsed.policyDir) {
    try {
      const updates: ModelUpdate[] = await readPolicyDirSnapshot(parsed.policyDir, node);
      ns = await computeNodeState(updates, node, { ...(explicit ? { explicit } : {}), log });
    } catch (err) {
      if (err instanceof PolicyDirError || err instanceof NodeStateError) return fail(err.message);
      throw err;
    }
  } else {
    const read = await readEtcd(parsed, node, explicit, fail, log);
    if (typeof read === "number") return read;
    ns = read;
  }
  const known = ns.interfaces.map((i) => i.name);
  const prefixes = ns.host.config.interfacePrefixes;
  for (const [flag, name] of [["in", packet.iif], ["out", packet.oif]] as const) {
    if (name === undefined || known.includes(name) || prefixes.some((p) => name.startsWith(p))) {
      continue;
    }
    return fail(
      `interface '${name}' (--${flag}) is not an interface of node '${node}' (known: ${
        known.length > 0 ? known.join(", ") : "none"
      }; workload prefixes ${prefixes.join(", ")}); pass --interface ${name} to ` +
        "explain a packet on an interface no host endpoint names",
    );
  }
  const x = explain(node, ns.host, ns.state, packet);
  io.out(parsed.output === "json" ? JSON.stringify(x, null, 2) + "\n" : formatExplanation(x));
  return 0;
}

/** The node's state from etcd (the node must exist there), or the exit code after `fail`. */
async function readEtcd(
  parsed: ExplainArgs,
  node: string,
  explicit: InterfaceInfo[] | undefined,
  fail: (msg: string) => number,
  log: Logger,
): Promise<NodeState | number> {
  let conn;
  try {
    conn = await resolveConnectionConfig({
      ...(parsed.etcdEndpoints ? { endpoints: parsed.etcdEndpoints } : {}),
      ...(parsed.config ? { configFile: parsed.config } : {}),
    });
  } catch (err) {
    if (err instanceof ConnectionConfigError) return fail(err.message);
    throw err;
  }
  try {
    const store = openResourceStore(conn);
    try {
      const nodes = await store.list("node", { name: node });
      if (nodes.length === 0) return fail(`node '${node}' does not exist in the datastore`);
    } finally {
      await store.close();
    }
    const updates = await readSnapshot(conn);
    return await computeNodeState(updates, node, { ...(explicit ? { explicit } : {}), log });
  } catch (err) {
    if (err instanceof NodeStateError) return fail(err.message);
    const msg = errorMessage(err);
    if (/unavailable|connect|refused|deadline/i.test(msg)) {
      return fail(`Cannot read the datastore at ${conn.endpoints.join(",")}`);
    }
    throw err;
  }
}
