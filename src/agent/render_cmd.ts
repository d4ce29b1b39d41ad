/**
 * `hostfence render --node NAME`: the exact ruleset the agent on NAME would program, read from
 * etcd and computed by the agent's own stages (syncer -> calculation -> nft renderer), without
 * touching the kernel. Interfaces come from this machine when NAME is this host, from
 * `--interface` options when given, and otherwise from the node's host endpoints' names.
 */
import { parseArgs } from "node:util";
import { CalculationGraph } from "../calc/graph.ts";
import type { InterfaceInfo } from "../calc/graph.ts";
import { detectHostname, resolveConfig, toDataplaneConfig } from "../config/mod.ts";
import {
  ConnectionConfigError,
  createEtcdClient,
  resolveConnectionConfig,
} from "../datastore/connection.ts";
import { Syncer } from "../datastore/syncer.ts";
import type { ModelUpdate } from "../datastore/updates.ts";
import { buildNftState, render } from "../dataplane/mod.ts";
import { createLogger, screenSink } from "../log/logger.ts";
import { listInterfaces } from "./interfaces.ts";
import { RENDER_HELP } from "./render_help.ts";

export { RENDER_HELP };

/** Parses `NAME` or `NAME=ADDR,ADDR` into an interface listing entry. */
export function parseInterfaceSpec(spec: string): InterfaceInfo {
  const [name = "", addrs = ""] = spec.split("=", 2);
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(name)) {
    throw new RangeError(`Invalid --interface "${spec}": expected NAME or NAME=ADDR,ADDR`);
  }
  return { name, up: true, addrs: addrs ? addrs.split(",").map((a) => a.trim()) : [] };
}

/** Entry point of `hostfence render`; returns the exit code. */
export async function runRender(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        node: { type: "string" },
        interface: { type: "string", multiple: true },
        "etcd-endpoints": { type: "string" },
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`Invalid option: ${(err as Error).message}. Use 'hostfence render --help'.`);
    return 1;
  }
  if (values.help) {
    console.log(RENDER_HELP);
    return 0;
  }
  const node = values.node;
  if (!node) {
    console.error("hostfence render: --node NAME is required");
    return 1;
  }
  let explicit: InterfaceInfo[] | undefined;
  try {
    explicit = values.interface?.map(parseInterfaceSpec);
  } catch (err) {
    console.error(`hostfence render: ${(err as Error).message}`);
    return 1;
  }

  const log = createLogger([screenSink("WARNING")], "render");
  let conn;
  try {
    conn = await resolveConnectionConfig({
      ...(values["etcd-endpoints"] ? { endpoints: values["etcd-endpoints"] } : {}),
      ...(values.config ? { configFile: values.config } : {}),
    });
  } catch (err) {
    if (err instanceof ConnectionConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }

  // One snapshot through the agent's own syncer, then stop.
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
    console.error(`hostfence render: ${(err as Error).message}`);
    return 1;
  } finally {
    clearTimeout(timeout);
    await syncer.close();
    client.close();
  }

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
    console.error(`hostfence render: ${resolved.fatal ?? "configuration could not be resolved"}`);
    return 1;
  }
  for (const w of resolved.warnings) log.warning(w);

  const calc = new CalculationGraph({
    hostname: node,
    dataplaneConfig: toDataplaneConfig(resolved.config),
    log,
  });
  calc.applyUpdates(updates);
  let interfaces = explicit;
  if (!interfaces && node === detectHostname(Deno.env.toObject())) {
    interfaces = await listInterfaces();
  }
  if (!interfaces) {
    interfaces = [];
    for (const u of updates) {
      if (u.type !== "hostEndpoint" || u.node !== node || !u.value) continue;
      const name = u.value.spec.interfaceName;
      if (name) {
        interfaces.push({ name, up: true, addrs: [...(u.value.spec.expectedIPs ?? [])] });
      } else {
        log.warning(
          `Host endpoint ${u.name} has no interfaceName; pass --interface NAME=ADDR to say ` +
            "which interface carries its expected IPs",
        );
      }
    }
  }
  calc.setInterfaces(interfaces);
  console.log(render(buildNftState(calc.hostState())).trimEnd());
  return 0;
}
