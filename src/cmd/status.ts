/**
 * `hostfence status [--node NAME] [-o table|json]`: the operator's view of every node's
 * agent, from etcd: is its heartbeat live, when did it last report, and what did it say
 * about each of the node's host endpoints. Connection flags as in the other datastore
 * commands (`--etcd-endpoints`, `-c/--config`, `ETCD_*` environment).
 */
import { type EtcdClient, getPrefix } from "../datastore/etcd_client.ts";
import {
  connectionOptions,
  DATASTORE_OPTIONS,
  InvalidOptionError,
  type OptionSpec,
  parseCommand,
  stringFlag,
  wantsHelp,
} from "./args.ts";
import {
  type ConnectionConfig,
  ConnectionConfigError,
  type ConnectionOptions,
  createEtcdClient,
  isConnectionError,
  resolveConnectionConfig,
  unavailableError,
} from "../datastore/connection.ts";
import { FELIX_HOST_PREFIX, HOST_PREFIX } from "../datastore/keys.ts";
import { buildStatusView, formatStatusJson, formatStatusTable } from "../status/status_view.ts";
import { processIo, type Streams } from "./io.ts";
import { STATUS_HELP } from "./status_help.ts";

export { STATUS_HELP };

const STATUS_OPTIONS: OptionSpec = {
  ...DATASTORE_OPTIONS,
  node: { type: "string", short: "n" },
  output: { type: "string", short: "o" },
};

/** Where the command writes: the CLI's two streams. */
export type StatusIo = Streams;

export interface StatusCommandOptions {
  /** The wall clock for ages; default now. */
  readonly now?: () => Date;
  /** Environment lookup for the connection settings; default Deno.env. */
  readonly env?: (name: string) => string | undefined;
  /** Path tried when `-c` is not given; default calicoctl's. */
  readonly defaultConfigFile?: string;
}

/** The raw keys the view is built from. */
export interface StatusKeys {
  readonly hostKeys: string[];
  readonly felixValues: Record<string, string>;
}

/** Reads the keys for every node, or for `node` only. */
export async function readStatusKeys(client: EtcdClient, node?: string): Promise<StatusKeys> {
  const hostPrefix = node === undefined ? HOST_PREFIX : `${HOST_PREFIX}${node}/`;
  const felixPrefix = node === undefined ? FELIX_HOST_PREFIX : `${FELIX_HOST_PREFIX}${node}/`;
  const [hostKvs, felixKvs] = await Promise.all([
    getPrefix(client, hostPrefix, true),
    getPrefix(client, felixPrefix),
  ]);
  return {
    hostKeys: hostKvs.map((kv) => kv.key),
    felixValues: Object.fromEntries(felixKvs.map((kv) => [kv.key, kv.value])),
  };
}

/**
 * Runs `hostfence status ARGS` (ARGS without the command word) and returns the exit code:
 * 0 after printing the view; 1 for a bad command line, an unusable connection setting, an
 * unreachable etcd (one line naming the endpoint) or an unknown `--node`.
 */
export async function runStatus(
  args: string[],
  io: StatusIo = processIo(),
  opts: StatusCommandOptions = {},
): Promise<number> {
  if (wantsHelp(args)) {
    io.out(STATUS_HELP);
    return 0;
  }
  try {
    const { node, output, connection } = _parseStatusArgs(args);
    const conn = await resolveConnectionConfig({
      ...connection,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.defaultConfigFile !== undefined
        ? { defaultConfigFile: opts.defaultConfigFile }
        : {}),
    });
    const keys = await _readKeys(conn, node);
    const view = buildStatusView(keys.hostKeys, keys.felixValues);
    if (node !== undefined && view.length === 0) {
      throw new _Refusal(
        `Node '${node}' is unknown: nothing under ${HOST_PREFIX}${node}/ and no status reports`,
      );
    }
    const now = (opts.now ?? (() => new Date()))();
    io.out(output === "json" ? formatStatusJson(view, now) : formatStatusTable(view, now));
    return 0;
  } catch (e) {
    // Each of these is one line saying what is wrong; anything else is a bug and propagates.
    if (
      e instanceof InvalidOptionError || e instanceof ConnectionConfigError ||
      e instanceof _Refusal
    ) {
      io.err(e.message + "\n");
      return 1;
    }
    throw e;
  }
}

/** Why the command stops: the message is the one line printed. */
class _Refusal extends Error {}

/** The command line's node, output format and connection flags. */
function _parseStatusArgs(
  args: string[],
): { node: string | undefined; output: "table" | "json"; connection: ConnectionOptions } {
  const argv = ["status", ...args];
  const p = parseCommand(argv, args, STATUS_OPTIONS);
  if (p.positionals.length > 0) throw new InvalidOptionError(argv);
  const node = stringFlag(p, "node");
  if (node === "" || node?.includes("/")) throw new InvalidOptionError(argv);
  const output = stringFlag(p, "output") ?? "table";
  if (output !== "table" && output !== "json") {
    throw new _Refusal(`Unrecognized output format '${output}': use 'table' or 'json'`);
  }
  return { node, output, connection: connectionOptions(p) };
}

/** Reads the status keys; an unreachable or failing etcd is a _Refusal naming it. */
async function _readKeys(conn: ConnectionConfig, node: string | undefined): Promise<StatusKeys> {
  const client = createEtcdClient(conn);
  try {
    return await readStatusKeys(client, node);
  } catch (e) {
    throw new _Refusal(
      isConnectionError(e)
        ? unavailableError(conn, e).message
        : `Error reading status from etcd at ${conn.endpoints.join(",")}: ${
          e instanceof Error ? e.message.split("\n")[0] : String(e)
        }`,
    );
  } finally {
    client.close();
  }
}
