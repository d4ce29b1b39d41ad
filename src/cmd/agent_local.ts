/**
 * `hostfence agent` on a local directory (DatastoreType=local): the policy directory's
 * files feed the agent through the same update interface as etcd. Nothing is written
 * anywhere: no status heartbeats, endpoint states or would-drop counts (they live in etcd),
 * and no commit-confirm rollbacks (the files are the truth; edit them back).
 */
import { LocalSource } from "../datastore/local_source.ts";
import { type DatastoreBuilder, feedAgent } from "./agent_datastore.ts";

export const localStages: DatastoreBuilder = (ctx) => {
  const { live, root, log, clock } = ctx;
  const config = live.config;
  log.info(
    `DatastoreType is local: resources come from ${config.policyDir}; no etcd is used and ` +
      "no status is reported to one",
  );
  const source = new LocalSource({
    dir: config.policyDir,
    node: config.felixHostname,
    log: root.child("policydir"),
    resyncIntervalMs: config.resyncIntervalSecs * 1000,
    clock,
    onUpdates: feedAgent(ctx),
  });
  return {
    source,
    afterInterfaces: () => {},
    setConfig: () => {},
    start: () => source.start(),
    stopping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
};
