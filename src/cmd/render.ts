/**
 * `hostfence render --node NAME`: the exact ruleset the agent on NAME would program, read from
 * etcd (or from a local policy directory, `--policy-dir`) and computed by the agent's own stages (syncer -> calculation -> nft renderer), without
 * touching the kernel. Interfaces come from this machine when NAME is this host, from
 * `--interface` options when given, and otherwise from the node's host endpoints' names.
 */
import type { InterfaceInfo } from "../calc/graph.ts";
import { ConnectionConfigError, resolveConnectionConfig } from "../datastore/connection.ts";
import { render } from "../dataplane/mod.ts";
import { createLogger, screenSink } from "../log/logger.ts";
import { computeNodeState, NodeStateError, readSnapshot } from "../agent/node_state.ts";
import { PolicyDirError } from "../datastore/local_files.ts";
import { readPolicyDirSnapshot } from "../datastore/local_source.ts";
import {
  InvalidOptionError,
  listFlag,
  NODE_STATE_OPTIONS,
  parseCommand,
  stringFlag,
} from "./args.ts";
import { processIo, type Streams } from "./io.ts";
import { RENDER_HELP } from "./render_help.ts";
import { errorMessage } from "../util/error_message.ts";

export { RENDER_HELP };

/** Parses `NAME` or `NAME=ADDR,ADDR` into an interface listing entry. */
export function parseInterfaceSpec(spec: string): InterfaceInfo {
  const [name = "", addrs = ""] = spec.split("=", 2);
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(name)) {
    throw new RangeError(`Invalid --interface "${spec}": expected NAME or NAME=ADDR,ADDR`);
  }
  return { name, up: true, addrs: addrs ? addrs.split(",").map((a) => a.trim()) : [] };
}

/** `hostfence render ARGS` (ARGS without the command word); returns the exit code. */
export async function runRender(args: string[], io: Streams = processIo()): Promise<number> {
  let p;
  try {
    p = parseCommand(["render", ...args], args, NODE_STATE_OPTIONS, {
      positionals: false,
      lastWins: true,
    });
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    io.err(`Invalid option: ${err.reason}. Use 'hostfence render --help'.\n`);
    return 1;
  }
  if (p.values.help === true) {
    io.out(RENDER_HELP + "\n");
    return 0;
  }
  const node = stringFlag(p, "node");
  if (!node) {
    io.err("hostfence render: --node NAME is required\n");
    return 1;
  }
  let explicit: InterfaceInfo[] | undefined;
  try {
    explicit = p.values.interface === undefined
      ? undefined
      : listFlag(p, "interface").map(parseInterfaceSpec);
  } catch (err) {
    io.err(`hostfence render: ${errorMessage(err)}\n`);
    return 1;
  }

  const log = createLogger([screenSink("WARNING")], "render");
  const policyDir = stringFlag(p, "policy-dir");
  if (policyDir) {
    let state;
    try {
      const updates = await readPolicyDirSnapshot(policyDir, node);
      state = await computeNodeState(updates, node, { ...(explicit ? { explicit } : {}), log });
    } catch (err) {
      if (!(err instanceof PolicyDirError || err instanceof NodeStateError)) throw err;
      io.err(`hostfence render: ${err.message}\n`);
      return 1;
    }
    io.out(render(state.state).trimEnd() + "\n");
    return 0;
  }
  const endpoints = stringFlag(p, "etcd-endpoints");
  const configFile = stringFlag(p, "config");
  let conn;
  try {
    conn = await resolveConnectionConfig({
      ...(endpoints ? { endpoints } : {}),
      ...(configFile ? { configFile } : {}),
    });
  } catch (err) {
    if (err instanceof ConnectionConfigError) {
      io.err(err.message + "\n");
      return 1;
    }
    throw err;
  }

  let state;
  try {
    const updates = await readSnapshot(conn);
    state = await computeNodeState(updates, node, { ...(explicit ? { explicit } : {}), log });
  } catch (err) {
    if (err instanceof NodeStateError) {
      io.err(`hostfence render: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  io.out(render(state.state).trimEnd() + "\n");
  return 0;
}
