/**
 * `hostfence agent` on etcd (DatastoreType=etcdv2): the etcd client, the syncer feeding the
 * agent, and the stages that write to etcd beside it: status heartbeats and endpoint states,
 * PolicyAuditMode's would-drop counts, and the rollback of unconfirmed changes.
 */
import { etcdEndpointsOf, type FelixConfig } from "../config/mod.ts";
import { createEtcdClient } from "../datastore/connection.ts";
import type { EtcdClient } from "../datastore/etcd_client.ts";
import { Syncer } from "../datastore/syncer.ts";
import type { Logger } from "../log/logger.ts";
import { RollbackKeeper } from "../agent/rollback.ts";
import { StatusReporting } from "../status/reporting.ts";
import { WouldDropReporter } from "../status/would_drop.ts";
import { nftCounterReader } from "../observe/mod.ts";
import { errorMessage } from "../util/error_message.ts";
import { type DatastoreBuilder, feedAgent } from "./agent_datastore.ts";

/** The etcd stages; undefined (logged) when the etcd client cannot be set up. */
export const etcdStages: DatastoreBuilder = (ctx) => {
  const { live, root, log, runner, dataplane, recorder, calc, agent, clock } = ctx;
  const config = live.config;
  const hostname = config.felixHostname;
  const client = openClient(config, log);
  if (client === undefined) return undefined;
  const status = new StatusReporting({
    client,
    hostname,
    config,
    log: root.child("status"),
    clock,
  });
  const reportEndpoints = () => status.syncFrom(calc, agent.status().inSync);
  const feed = feedAgent(ctx);
  const syncer = new Syncer({
    client,
    endpoints: etcdEndpointsOf(config),
    log: root.child("syncer"),
    resyncIntervalMs: config.resyncIntervalSecs * 1000,
    clock,
    onUpdates: (batch, revision) => {
      feed(batch, revision);
      reportEndpoints();
    },
  });
  const programmed = () => dataplane.programmed;
  // PolicyAuditMode's would-drop counts, for `hostfence status`.
  const wouldDrops = new WouldDropReporter({
    client,
    hostname,
    read: nftCounterReader(runner, programmed, () => recorder.programmed),
    active: () => live.config.policyAuditMode,
    log: root.child("status"),
    clock,
  });
  // Rolls back changes made with --confirm-within that nobody confirmed in time.
  const rollbacks = new RollbackKeeper({ client, hostname, log: root.child("confirm"), clock });
  let rollbacksClosed: Promise<void> = Promise.resolve();
  return {
    source: syncer,
    afterInterfaces: reportEndpoints,
    setConfig: (cfg) => status.setConfig(cfg),
    start() {
      wouldDrops.start();
      syncer.start();
      status.start();
      rollbacks.start();
    },
    async stopping() {
      // Bounded (1 s) and run beside the other closes, so a frozen etcd delays nothing.
      rollbacksClosed = rollbacks.close();
      await wouldDrops.close();
    },
    async close() {
      await status.close();
      await rollbacksClosed;
      client.close();
    },
  };
};

/** The etcd client for the configured endpoints and TLS files; undefined (logged) if unusable. */
function openClient(config: FelixConfig, log: Logger): EtcdClient | undefined {
  const endpoints = etcdEndpointsOf(config);
  const conn = {
    endpoints,
    ...(config.etcdKeyFile ? { keyFile: config.etcdKeyFile } : {}),
    ...(config.etcdCertFile ? { certFile: config.etcdCertFile } : {}),
    ...(config.etcdCaFile ? { caCertFile: config.etcdCaFile } : {}),
    // http stays "unset" so a client certificate only gRPC can use still works (connection.ts).
    ...(config.etcdTransport === "grpc" ? { transport: "grpc" as const } : {}),
  };
  let client;
  try {
    client = createEtcdClient(conn);
  } catch (err) {
    log.fatal(`Cannot set up the etcd client: ${errorMessage(err)}`);
    return undefined;
  }
  log.info(`Connecting to etcd at ${endpoints.join(",")}`);
  return client;
}
