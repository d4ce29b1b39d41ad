/**
 * `hostfence agent`: assembles the library stages and owns the process's I/O edges (arguments,
 * environment, files, etcd, signals). Flow: config -> logging -> etcd syncer -> calculation ->
 * nftables, plus the interface monitor feeding the calculation; status reporting, observation
 * and rollbacks watch beside it. Each step below is one named function; runAgent reads as
 * the list of them.
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
import type { EtcdClient } from "../datastore/etcd_client.ts";
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
import { NftDataplane, type NftRunner, preferredRunner } from "../dataplane/mod.ts";
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
import { processIo, type Streams } from "./io.ts";

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

/** The streams the agent command writes its own messages to (logs go to the sinks). */
type AgentIo = Streams;

/** The command line, parsed; undefined after printing help or an error (exit code given). */
type Parsed = ReturnType<typeof parseAgentArgs>;

/** `hostfence agent ARGS` (ARGS without the command word); returns the exit code. */
export async function runAgent(args: string[], io: AgentIo = processIo()): Promise<number> {
  const parsed = parseCommandLine(args, io);
  if (typeof parsed === "number") return parsed;
  const settings = await loadSettings(parsed, io);
  if (typeof settings === "number") return settings;
  const logs = startLogging(settings);

  // One agent per network namespace (issue 10): a second one refuses before touching nft.
  const lock = takeLock(settings.live.config.felixHostname, logs.log);
  if (lock === "held") return 1;
  using _held = lock;

  const { runner, description } = preferredRunner();
  logs.log.info(`Programming nftables through ${description}`);
  const dataplane = new NftDataplane(runner);
  if (parsed.cleanup) return await removeTable(dataplane, logs.log);

  const stages = await assemble(settings, logs, runner, dataplane);
  if (stages === undefined) return 1;
  await start(stages);
  await stop(stages, await signalled(), logs.log);
  return 0;
}

/** Parses the flags; prints help or the error and gives the exit code instead. */
function parseCommandLine(args: string[], io: AgentIo): Parsed | number {
  let parsed;
  try {
    parsed = parseAgentArgs(args);
  } catch (err) {
    if (err instanceof AgentArgsError) {
      io.err(`hostfence agent: ${err.message}\n`);
      io.err("Use 'hostfence agent --help' for the list of parameters.\n");
      return 1;
    }
    throw err;
  }
  if (parsed.help) {
    io.out(agentHelpText() + "\n");
    return 0;
  }
  return parsed;
}

/** The configuration: local sources now, etcd's later through `resolveWith`. */
interface Settings {
  readonly local: Awaited<ReturnType<typeof loadLocalConfig>>;
  readonly first: ConfigResolution;
  readonly resolveWith: (
    global: ReadonlyMap<string, string>,
    host: ReadonlyMap<string, string>,
  ) => ConfigResolution;
  /** The configuration in force; replaced when etcd changes it. */
  readonly live: { config: FelixConfig };
}

/** Loads the local config (file, environment, flags); a bad value never starts the agent. */
async function loadSettings(parsed: Parsed, io: AgentIo): Promise<Settings | number> {
  let local;
  try {
    local = await loadLocalConfig(parsed.configFile ? { configFile: parsed.configFile } : {});
  } catch (err) {
    io.err(`hostfence agent: ${(err as Error).message}\n`);
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
    io.err(`hostfence agent: ${first.fatal ?? "configuration could not be resolved"}\n`);
    return 1;
  }
  return { local, first, resolveWith, live: { config: first.config } };
}

interface Logs {
  readonly sinks: LogSinks;
  readonly root: Logger;
  readonly log: Logger;
}

/** Opens the screen and file logs and logs the warnings and the configuration in force. */
function startLogging({ local, first, live: { config } }: Settings): Logs {
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
  return { sinks, root, log };
}

/** The per-namespace lock; "held" when another agent has it, undefined when unusable. */
function takeLock(hostname: string, log: Logger): AgentLock | undefined | "held" {
  const lockPath = agentLockPath(currentNetns());
  try {
    return acquireAgentLock(lockPath, hostname);
  } catch (err) {
    if (err instanceof AgentLockHeld) {
      log.fatal(err.message);
      return "held";
    }
    log.warning(
      `Cannot take the agent lock ${lockPath} (${(err as Error).message}); ` +
        "running without protection against a second agent",
    );
    return undefined;
  }
}

/** `--cleanup`: removes the table and exits. */
async function removeTable(dataplane: NftDataplane, log: Logger): Promise<number> {
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

/** Everything that runs until the agent stops, in the order it starts. */
interface Stages {
  readonly client: EtcdClient;
  readonly agent: Agent;
  readonly syncer: Syncer;
  readonly monitor: InterfaceMonitor;
  readonly servers: ObserveServers;
  readonly status: StatusReporting;
  readonly wouldDrops: WouldDropReporter;
  readonly rollbacks: RollbackKeeper;
}

/**
 * Builds the stages and connects them: syncer and interface monitor feed the agent (calculation
 * -> nftables) and the endpoint status; observation and would-drop counts read the programmed
 * rules; config changes from etcd reach the logs, the servers and the status reporting.
 * Undefined (after logging why) when the etcd client cannot be set up.
 */
async function assemble(
  settings: Settings,
  logs: Logs,
  runner: NftRunner,
  dataplane: NftDataplane,
): Promise<Stages | undefined> {
  const { live: { config } } = settings;
  const { root, log } = logs;
  const hostname = config.felixHostname;
  const recorder = new ActivityRecorder();
  const { calc, agent, configListeners } = buildAgent(settings, logs, dataplane, recorder);
  const client = openClient(config, log);
  if (client === undefined) {
    await agent.close();
    return undefined;
  }
  const status = new StatusReporting({ client, hostname, config, log: root.child("status") });
  const reportEndpoints = () => status.syncFrom(calc, agent.status().inSync);
  const syncer = new Syncer({
    client,
    endpoints: etcdEndpointsOf(config),
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
  const programmed = () => dataplane.programmed;
  const servers = new ObserveServers(
    agentMetricsSource({
      agent,
      recorder,
      counters: nftCounterReader(runner, programmed, () => recorder.programmed),
    }),
    { log: root.child("observe") },
  );
  configListeners.push((cfg) => void servers.configure(cfg), (cfg) => status.setConfig(cfg));
  await servers.configure(config);
  // PolicyAuditMode's would-drop counts, for `hostfence status`.
  const wouldDrops = new WouldDropReporter({
    client,
    hostname,
    read: nftCounterReader(runner, programmed, () => recorder.programmed),
    active: () => settings.live.config.policyAuditMode,
    log: root.child("status"),
  });
  // Rolls back changes made with --confirm-within that nobody confirmed in time.
  const rollbacks = new RollbackKeeper({ client, hostname, log: root.child("confirm") });
  return { client, agent, syncer, monitor, servers, status, wouldDrops, rollbacks };
}

/**
 * The calculation and the agent loop over the (instrumented) dataplane. The servers and the
 * status reporting are built after the agent, so its config callback reaches them through
 * `configListeners`, filled once they exist (no change arrives before the syncer starts).
 */
function buildAgent(
  { resolveWith, live }: Settings,
  { sinks, root, log }: Logs,
  dataplane: NftDataplane,
  recorder: ActivityRecorder,
) {
  const config = live.config;
  const hostname = config.felixHostname;
  log.info(`Starting hostfence agent for host '${hostname}' (pid ${Deno.pid})`);
  const calc = new CalculationGraph({
    hostname,
    dataplaneConfig: toDataplaneConfig(config),
    log: root.child("calc"),
  });
  const configListeners: ((cfg: FelixConfig) => void)[] = [];
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
      live.config = cfg;
      const w = sinks.configure(cfg);
      if (w) log.warning(w);
      for (const listener of configListeners) listener(cfg);
    },
  });
  return { calc, agent, configListeners };
}

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
    log.fatal(`Cannot set up the etcd client: ${(err as Error).message}`);
    return undefined;
  }
  log.info(`Connecting to etcd at ${endpoints.join(",")}`);
  return client;
}

/** Starts the stages: would-drop counts, interfaces, the etcd watch, status, rollbacks. */
async function start(s: Stages): Promise<void> {
  s.wouldDrops.start();
  await s.monitor.start();
  s.syncer.start();
  s.status.start();
  s.rollbacks.start();
}

/** Waits for SIGTERM or SIGINT; gives its name. */
async function signalled(): Promise<string> {
  const stopped = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => stopped.resolve(name);
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGTERM", onSignal("SIGTERM")],
    ["SIGINT", onSignal("SIGINT")],
  ];
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);
  const why = await stopped.promise;
  for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  return why;
}

/** Stops every stage, leaving the programmed rules in place; never hangs on a silent etcd. */
async function stop(s: Stages, why: string, log: Logger): Promise<void> {
  log.info(
    `Received ${why}; stopping. The programmed rules stay in place (use --cleanup to remove them)`,
  );
  // Shutdown must not hang on an etcd that does not answer: the rules are already in place.
  const watchdog = setTimeout(() => {
    log.warning(
      `Shutdown did not finish within ${SHUTDOWN_GRACE_MS / 1000} s (etcd not answering?); ` +
        "exiting now, rules left in place",
    );
    Deno.exit(0);
  }, SHUTDOWN_GRACE_MS);
  // Bounded (1 s) and run beside the other closes, so a frozen etcd delays nothing.
  const rollbacksClosed = s.rollbacks.close();
  await s.wouldDrops.close();
  await s.servers.close();
  await s.monitor.close();
  await s.syncer.close();
  await s.agent.close();
  await s.status.close();
  await rollbacksClosed;
  s.client.close();
  clearTimeout(watchdog);
}

export type { Logger };
