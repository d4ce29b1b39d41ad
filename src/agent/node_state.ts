/**
 * What the agent on a node would compute, without touching the kernel: one datastore snapshot
 * read through the agent's own syncer, then the agent's calculation and nft builder for that
 * node. Shared by `hostfence render`, `hostfence explain` and the CLI's lockout check, so all
 * three see exactly the table the agent would program.
 */
import { CalculationGraph } from "../calc/graph.ts";
import type { InterfaceInfo } from "../calc/graph.ts";
import type { HostState } from "../calc/host_state.ts";
import { detectHostname, resolveConfig, toDataplaneConfig } from "../config/mod.ts";
import type { ConnectionConfig } from "../datastore/connection.ts";
import { createEtcdClient } from "../datastore/connection.ts";
import { Syncer } from "../datastore/syncer.ts";
import type { ModelUpdate } from "../datastore/updates.ts";
import { buildNftState } from "../dataplane/mod.ts";
import type { NftState } from "../dataplane/state.ts";
import type { Logger } from "../log/logger.ts";
import { createLogger } from "../log/logger.ts";
import { listInterfaces } from "./interfaces.ts";
import { errorMessage } from "../util/error_message.ts";

/** Thrown for anything that stops the node's state from being computed; the message says why. */
export class NodeStateError extends Error {}

/** Reads one snapshot of the datastore through the agent's syncer, then stops. */
export async function readSnapshot(conn: ConnectionConfig): Promise<ModelUpdate[]> {
  const client = createEtcdClient(conn);
  const updates: ModelUpdate[] = [];
  const synced = Promise.withResolvers<void>();
  let failures = 0;
  const syncLog = createLogger([{
    severity: "WARNING",
    write: (line) => {
      // The syncer retries forever; a dry run gives up after the first connection failures.
      if (/connect|unavailable|refused|deadline/i.test(line) && ++failures >= 2) {
        synced.reject(new Error(`Cannot read the datastore at ${conn.endpoints.join(",")}`));
      } else {
        console.error(line);
      }
    },
  }], "syncer");
  const syncer = new Syncer({
    client,
    endpoints: conn.endpoints,
    log: syncLog,
    retryMinMs: 200,
    retryMaxMs: 500,
    onUpdates: (batch) => {
      updates.push(...batch);
      if (batch.some((u) => u.type === "inSync")) synced.resolve();
    },
  });
  syncer.start();
  const timeout = setTimeout(
    () =>
      synced.reject(new Error(`Timed out reading the datastore at ${conn.endpoints.join(",")}`)),
    10_000,
  );
  try {
    await synced.promise;
  } catch (err) {
    throw new NodeStateError(errorMessage(err));
  } finally {
    clearTimeout(timeout);
    await syncer.close();
    client.close();
  }
  return updates;
}

export interface NodeState {
  readonly host: HostState;
  readonly state: NftState;
  /** The interfaces the state was computed for. */
  readonly interfaces: readonly InterfaceInfo[];
}

/** Nodes that have host endpoints in `updates` (the last value of each key wins). */
export function nodesWithHostEndpoints(updates: readonly ModelUpdate[]): string[] {
  const heps = new Map<string, string>();
  for (const u of updates) {
    if (u.type !== "hostEndpoint") continue;
    const key = `${u.node}/${u.name}`;
    if (u.value) heps.set(key, u.node);
    else heps.delete(key);
  }
  return [...new Set(heps.values())].sort();
}

/**
 * The node's calculated host state and nft table for `updates`. Interfaces: `explicit` when
 * given, this machine's when `node` is this host (and `local` is not false), else one per host
 * endpoint of the node that names its interface.
 */
export async function computeNodeState(
  updates: readonly ModelUpdate[],
  node: string,
  opts: { explicit?: readonly InterfaceInfo[]; local?: boolean; log?: Logger } = {},
): Promise<NodeState> {
  const log = opts.log ?? createLogger([], "node-state");
  const global = new Map<string, string>();
  const host = new Map<string, string>();
  for (const u of updates) {
    if (u.type !== "config") continue;
    if (u.node !== undefined && u.node !== node) continue;
    const map = u.node === undefined ? global : host;
    if (u.value === null) map.delete(u.name);
    else map.set(u.name, u.value);
  }
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => /^felix_/i.test(k)),
  );
  const resolved = resolveConfig({
    flags: new Map([["FelixHostname", node]]),
    env,
    datastoreGlobal: global,
    datastoreHost: host,
    detectedHostname: node,
  });
  if (resolved.fatal !== undefined || resolved.config === undefined) {
    throw new NodeStateError(resolved.fatal ?? "configuration could not be resolved");
  }
  for (const w of resolved.warnings) log.warning(w);
  const calc = new CalculationGraph({
    hostname: node,
    dataplaneConfig: toDataplaneConfig(resolved.config),
    log,
  });
  calc.applyUpdates([...updates]);
  let interfaces: InterfaceInfo[] | undefined = opts.explicit ? [...opts.explicit] : undefined;
  if (!interfaces && opts.local !== false && node === detectHostname(Deno.env.toObject())) {
    interfaces = await listInterfaces();
  }
  if (!interfaces) {
    const byKey = new Map<string, InterfaceInfo | undefined>();
    for (const u of updates) {
      if (u.type !== "hostEndpoint" || u.node !== node) continue;
      if (!u.value) {
        byKey.delete(u.name);
        continue;
      }
      const name = u.value.spec.interfaceName;
      if (name) {
        byKey.set(u.name, { name, up: true, addrs: [...(u.value.spec.expectedIPs ?? [])] });
      } else {
        byKey.set(u.name, undefined);
        log.warning(
          `Host endpoint ${u.name} has no interfaceName; pass --interface NAME=ADDR to say ` +
            "which interface carries its expected IPs",
        );
      }
    }
    interfaces = [...byKey.values()].filter((i) => i !== undefined);
  }
  calc.setInterfaces(interfaces);
  const hostState = calc.hostState();
  return { host: hostState, state: buildNftState(hostState), interfaces };
}
