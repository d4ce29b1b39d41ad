/**
 * `hostfence agent`: wires the stages together and owns the process's I/O edges (arguments,
 * environment, files, etcd, signals). Flow: config -> logging -> etcd syncer -> calculation ->
 * nftables, plus the interface monitor feeding the calculation.
 */
import { CalculationGraph } from "../calc/graph.ts";
import {
  AgentArgsError,
  agentHelpText,
  type ConfigResolution,
  describeConfig,
  etcdEndpointsOf,
  type FelixConfig,
  loadLocalConfig,
  parseAgentArgs,
  resolveConfig,
  toDataplaneConfig,
} from "../config/mod.ts";
import { createEtcdClient } from "../datastore/connection.ts";
import { Syncer } from "../datastore/syncer.ts";
import { createLogger, fileSink, type Logger, type Severity } from "../log/logger.ts";
import { Agent } from "../agent/agent.ts";
import {
  acquireAgentLock,
  type AgentLock,
  AgentLockHeld,
  agentLockPath,
  currentNetns,
} from "../agent/lock.ts";
import { NftDataplane, preferredRunner } from "../dataplane/mod.ts";
import { InterfaceMonitor } from "../agent/interfaces.ts";
import { RollbackKeeper } from "../agent/rollback.ts";
import { StatusReporting } from "../status/reporting.ts";
import { WouldDropReporter } from "../status/would_drop.ts";
import {
  ActivityRecorder,
  agentMetricsSource,
  nftCounterReader,
  ObserveServers,
} from "../observe/mod.ts";

const encoder = new TextEncoder();

/** How long a stop may take before the agent exits anyway (etcd may be frozen or gone). */
const SHUTDOWN_GRACE_MS = 3_000;

/** A sink whose threshold can change while the agent runs (LogSeverity* set live in etcd). */
interface MutableSink {
  severity: Severity | null;
  write(line: string): void;
}

/** Screen and file sinks; `configure` opens the log file, and reopens it when the path changes. */
class LogSinks {
  readonly screen: MutableSink;
  readonly file: MutableSink;
  #path = "";
  #fileWrite: ((line: string) => void) | undefined;

  constructor(cfg: FelixConfig) {
    this.screen = {
      severity: cfg.logSeverityScreen,
      write: (line) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
    };
    this.file = {
      severity: null,
      write: (line) => this.#fileWrite?.(line),
    };
  }

  /** Applies the LogSeverity* and LogFilePath parameters; returns a warning on failure. */
  configure(cfg: FelixConfig): string | undefined {
    this.screen.severity = cfg.logSeverityScreen;
    if (cfg.logFilePath !== this.#path) {
      this.#path = cfg.logFilePath;
      this.#fileWrite = undefined;
      if (cfg.logFilePath !== "") {
        try {
          const sink = fileSink(cfg.logFilePath, "DEBUG");
          this.#fileWrite = sink.write;
        } catch (err) {
          this.file.severity = null;
          return `Cannot open log file ${cfg.logFilePath}: ${(err as Error).message}`;
        }
      }
    }
    this.file.severity = this.#fileWrite ? cfg.logSeverityFile : null;
    return undefined;
  }
}

/** Entry point of `hostfence agent`; returns the exit code. */
export async function runAgent(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseAgentArgs(args);
  } catch (err) {
    if (err instanceof AgentArgsError) {
      console.error(`hostfence agent: ${err.message}`);
      console.error("Use 'hostfence agent --help' for the list of parameters.");
      return 1;
    }
    throw err;
  }
  if (parsed.help) {
    console.log(agentHelpText());
    return 0;
  }

  let local;
  try {
    local = await loadLocalConfig(parsed.configFile ? { configFile: parsed.configFile } : {});
  } catch (err) {
    console.error(`hostfence agent: ${(err as Error).message}`);
    return 1;
  }
  const resolveWith = (
    global: ReadonlyMap<string, string>,
    host: ReadonlyMap<string, string>,
  ): ConfigResolution =>
    resolveConfig({
      ...local,
      flags: parsed.flags,
      datastoreGlobal: global,
      datastoreHost: host,
    });
  const first = resolveWith(new Map(), new Map());
  if (first.fatal !== undefined || first.config === undefined) {
    // Die-on-fail: a bad local value never starts the agent, so no rules change.
    console.error(`hostfence agent: ${first.fatal ?? "configuration could not be resolved"}`);
    return 1;
  }
  let config = first.config;

  const sinks = new LogSinks(config);
  const fileWarning = sinks.configure(config);
  const root = createLogger([sinks.screen, sinks.file], "hostfence");
  const log = root.child("agent");
  if (fileWarning) log.warning(fileWarning);
  for (const w of [...local.warnings, ...first.warnings]) log.warning(w);
  for (const n of first.notes) {
    if (n.severity === "INFO") log.info(n.message);
    else log.debug(n.message);
  }
  for (const line of describeConfig({ config, sources: first.sources })) {
    root.child("config").info(line);
  }

  // One agent per network namespace (issue 10): a second one refuses before touching nft.
  let lock: AgentLock | undefined;
  const lockPath = agentLockPath(currentNetns());
  try {
    lock = acquireAgentLock(lockPath, config.felixHostname);
  } catch (err) {
    if (err instanceof AgentLockHeld) {
      log.fatal(err.message);
      return 1;
    }
    log.warning(
      `Cannot take the agent lock ${lockPath} (${(err as Error).message}); ` +
        "running without protection against a second agent",
    );
  }
  using _held = lock;

  const { runner, description } = preferredRunner();
  log.info(`Programming nftables through ${description}`);
  const dataplane = new NftDataplane(runner);
  if (parsed.cleanup) {
    try {
      await dataplane.cleanup();
      log.info(
        "Removed the hostfence nftables table; this host's interfaces are no longer policed",
      );
      return 0;
    } catch (err) {
      log.error(`Cleanup failed: ${(err as Error).message}`);
      return 1;
    }
  }

  const hostname = config.felixHostname;
  log.info(`Starting hostfence agent for host '${hostname}' (pid ${Deno.pid})`);
  const calc = new CalculationGraph({
    hostname,
    dataplaneConfig: toDataplaneConfig(config),
    log: root.child("calc"),
  });
  const recorder = new ActivityRecorder();
  // Both are built once the agent exists, but the agent's config callback needs them.
  // deno-lint-ignore prefer-const
  let servers: ObserveServers | undefined;
  // deno-lint-ignore prefer-const
  let reporting: StatusReporting | undefined;
  const agent = new Agent({
    hostname,
    config,
    resolveConfig: resolveWith,
    calc,
    dataplane: recorder.instrument(dataplane),
    log,
    // With V8's gc exposed (scripts/hostfence and the builds pass --expose-gc), the start-up
    // snapshot's garbage is collected at once and its pages go back to the system.
    onFirstProgram: () => (globalThis as { gc?: () => void }).gc?.(),
    onConfigChange: (cfg) => {
      config = cfg;
      const w = sinks.configure(cfg);
      if (w) log.warning(w);
      void servers?.configure(cfg);
      reporting?.setConfig(cfg);
    },
  });

  const endpoints = etcdEndpointsOf(config);
  const conn = {
    endpoints,
    ...(config.etcdKeyFile ? { keyFile: config.etcdKeyFile } : {}),
    ...(config.etcdCertFile ? { certFile: config.etcdCertFile } : {}),
    ...(config.etcdCaFile ? { caCertFile: config.etcdCaFile } : {}),
  };
  let client;
  try {
    client = createEtcdClient(conn);
  } catch (err) {
    log.fatal(`Cannot set up the etcd client: ${(err as Error).message}`);
    await agent.close();
    return 1;
  }
  log.info(`Connecting to etcd at ${endpoints.join(",")}`);
  const status = new StatusReporting({ client, hostname, config, log: root.child("status") });
  reporting = status;
  const reportEndpoints = () => status.syncFrom(calc, agent.status().inSync);
  const syncer = new Syncer({
    client,
    endpoints,
    log: root.child("syncer"),
    resyncIntervalMs: config.resyncIntervalSecs * 1000,
    onUpdates: (batch, revision) => {
      recorder.recordBatch(batch);
      agent.handleUpdates(batch, revision);
      reportEndpoints();
    },
  });
  const monitor = new InterfaceMonitor(
    (list) => {
      agent.handleInterfaces(list);
      reportEndpoints();
    },
    root.child("ifaces"),
  );
  servers = new ObserveServers(
    agentMetricsSource({
      agent,
      recorder,
      counters: nftCounterReader(
        runner,
        () => dataplane.programmed,
        () => recorder.programmed,
      ),
    }),
    { log: root.child("observe") },
  );
  await servers.configure(config);
  // PolicyAuditMode's would-drop counts, for `hostfence status`.
  const wouldDrops = new WouldDropReporter({
    client,
    hostname,
    read: nftCounterReader(runner, () => dataplane.programmed, () => recorder.programmed),
    active: () => config.policyAuditMode,
    log: root.child("status"),
  });
  wouldDrops.start();
  await monitor.start();
  syncer.start();
  status.start();
  // Rolls back changes made with --confirm-within that nobody confirmed in time.
  const rollbacks = new RollbackKeeper({ client, hostname, log: root.child("confirm") });
  rollbacks.start();

  const stopped = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => stopped.resolve(name);
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGTERM", onSignal("SIGTERM")],
    ["SIGINT", onSignal("SIGINT")],
  ];
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);
  const why = await stopped.promise;
  log.info(
    `Received ${why}; stopping. The programmed rules stay in place (use --cleanup to remove them)`,
  );
  for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  // Shutdown must not hang on an etcd that does not answer: the rules are already in place.
  const watchdog = setTimeout(() => {
    log.warning(
      `Shutdown did not finish within ${SHUTDOWN_GRACE_MS / 1000} s (etcd not answering?); ` +
        "exiting now, rules left in place",
    );
    Deno.exit(0);
  }, SHUTDOWN_GRACE_MS);
  // Bounded (1 s) and run beside the other closes, so a frozen etcd delays nothing.
  const rollbacksClosed = rollbacks.close();
  await wouldDrops.close();
  await servers.close();
  await monitor.close();
  await syncer.close();
  await agent.close();
  await status.close();
  await rollbacksClosed;
  client.close();
  clearTimeout(watchdog);
  return 0;
}

export type { Logger };
