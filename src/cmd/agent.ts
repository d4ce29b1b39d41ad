/**
 * `hostfence agent`: assembles the library stages and owns the process's I/O edges (arguments,
 * environment, files, signals). Flow: config -> logging -> datastore source (the etcd syncer,
 * or a local policy directory) -> calculation -> nftables, plus the interface monitor feeding
 * the calculation; observation watches beside it, and on etcd also status reporting and
 * rollbacks (agent_etcd.ts, loaded only for etcd). Each step below is one named function;
 * runAgent reads as the list of them.
 */
import { CalculationGraph } from "../calc/graph.ts";
import {
  type ConfigResolution,
  describeConfig,
  type FelixConfig,
  loadLocalConfig,
  resolveConfig,
  toDataplaneConfig,
} from "../config/mod.ts";
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
import {
  ActivityRecorder,
  agentMetricsSource,
  nftCounterReader,
  ObserveServers,
} from "../observe/mod.ts";
import { type Clock, realClock } from "../time/clock.ts";
import { errorMessage } from "../util/error_message.ts";
import { AgentArgsError, agentHelpText, parseAgentArgs } from "./agent_args.ts";
import { processIo, type Streams } from "./io.ts";
import type { DatastoreBuilder, DatastoreStages } from "./agent_datastore.ts";

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
          return `Cannot open log file ${cfg.logFilePath}: ${errorMessage(err)}`;
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

/**
 * `hostfence agent ARGS` (ARGS without the command word); returns the exit code. Every stage
 * takes its time and timers from `clock`, the one place time enters the agent.
 */
export async function runAgent(
  args: string[],
  io: AgentIo = processIo(),
  clock: Clock = realClock,
): Promise<number> {
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

  const stages = await assemble(settings, logs, runner, dataplane, clock);
  if (stages === undefined) return 1;
  await start(stages);
  await stop(stages, await signalled(), logs.log, clock);
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
    io.err(`hostfence agent: ${errorMessage(err)}\n`);
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
      `Cannot take the agent lock ${lockPath} (${errorMessage(err)}); ` +
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
    log.error(`Cleanup failed: ${errorMessage(err)}`);
    return 1;
  }
}

/** Everything that runs until the agent stops, in the order it starts. */
interface Stages {
  readonly agent: Agent;
  readonly datastore: DatastoreStages;
  readonly monitor: InterfaceMonitor;
  readonly servers: ObserveServers;
}

/**
 * The builder of the configured datastore's stages, loaded on demand: the local directory
 * never loads the etcd client (etcd3, gRPC).
 */
async function datastoreBuilder(config: FelixConfig): Promise<DatastoreBuilder> {
  return config.datastoreType === "local"
    ? (await import("./agent_local.ts")).localStages
    : (await import("./agent_etcd.ts")).etcdStages;
}

/**
 * Builds the stages and connects them: the datastore source and the interface monitor feed
 * the agent (calculation -> nftables); observation reads the programmed rules; config changes
 * from the datastore reach the logs, the servers and the datastore's own stages. Undefined
 * (after logging why) when the datastore cannot be set up.
 */
async function assemble(
  settings: Settings,
  logs: Logs,
  runner: NftRunner,
  dataplane: NftDataplane,
  clock: Clock,
): Promise<Stages | undefined> {
  const { live } = settings;
  const { root, log } = logs;
  const recorder = new ActivityRecorder({ now: () => clock.now() });
  const { calc, agent, configListeners } = buildAgent(settings, logs, dataplane, recorder, clock);
  const build = await datastoreBuilder(live.config);
  const datastore = build({ live, root, log, runner, dataplane, recorder, calc, agent, clock });
  if (datastore === undefined) {
    await agent.close();
    return undefined;
  }
  const monitor = new InterfaceMonitor(
    (list) => {
      agent.handleInterfaces(list);
      datastore.afterInterfaces();
    },
    root.child("ifaces"),
    { clock },
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
  configListeners.push(
    (cfg) => void servers.configure(cfg),
    (cfg) => datastore.setConfig(cfg),
  );
  await servers.configure(live.config);
  return { agent, datastore, monitor, servers };
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
  clock: Clock,
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
    clock,
    // With V8's gc exposed (scripts/hostfence and the builds pass --expose-gc), the start-up
    // snapshot's garbage is collected at once and its pages go back to the system.
    onFirstProgram: () => (globalThis as { gc?: () => void }).gc?.(),
    ...(config.datastoreType === "local"
      ? { notReadyReason: `no valid set of resource files read from ${config.policyDir} yet` }
      : {}),
    onConfigChange: (cfg) => {
      live.config = cfg;
      const w = sinks.configure(cfg);
      if (w) log.warning(w);
      for (const listener of configListeners) listener(cfg);
    },
  });
  return { calc, agent, configListeners };
}

/** Starts the stages: interfaces first, then the datastore (and, on etcd, what runs beside it). */
async function start(s: Stages): Promise<void> {
  await s.monitor.start();
  s.datastore.start();
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
async function stop(s: Stages, why: string, log: Logger, clock: Clock): Promise<void> {
  log.info(
    `Received ${why}; stopping. The programmed rules stay in place (use --cleanup to remove them)`,
  );
  // Shutdown must not hang on an etcd that does not answer: the rules are already in place.
  const watchdog = clock.setTimeout(() => {
    log.warning(
      `Shutdown did not finish within ${SHUTDOWN_GRACE_MS / 1000} s (etcd not answering?); ` +
        "exiting now, rules left in place",
    );
    Deno.exit(0);
  }, SHUTDOWN_GRACE_MS);
  await s.datastore.stopping();
  await s.servers.close();
  await s.monitor.close();
  await s.datastore.source.close();
  await s.agent.close();
  await s.datastore.close();
  clock.clearTimeout(watchdog);
}

export type { Logger };
