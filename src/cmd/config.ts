/**
 * `hostfence config set|unset|get NAME [VALUE] [--node N] [--raw=felix]`: Felix
 * configuration keys in etcd. With `--raw=felix` the name and value are
 * stored as given; without it, NAME is calicoctl's `logLevel` or one of the agent's own
 * parameters (any case, stored under its canonical name); hostfence has no BGP component.
 */
import type { ResourceStore } from "../datastore/store.ts";
import {
  DATASTORE_OPTIONS,
  InvalidOptionError,
  type OptionSpec,
  parseCommand,
  stringFlag,
} from "./args.ts";
import type { Command } from "./io.ts";
import { lookupParam } from "../config/params.ts";
import { CommandFailure, failure, openStore } from "./resources.ts";
import { errorMessage } from "../util/error_message.ts";
import { type Change, LOCKOUT_OPTIONS, LockoutFlagError, lockoutRefusal } from "./lockout_guard.ts";

const CONFIG_OPTIONS: OptionSpec = {
  ...DATASTORE_OPTIONS,
  ...LOCKOUT_OPTIONS,
  node: { type: "string", short: "n" },
  raw: { type: "string" },
};

/** How one config setting is read and written. */
interface ConfigSetting {
  set(store: ResourceStore, value: string, node?: string): Promise<void>;
  unset(store: ResourceStore, node?: string): Promise<void>;
  /** The line `config get` prints. */
  get(store: ResourceStore, node?: string): Promise<string>;
}

/** A Felix parameter stored verbatim. */
function rawFelix(name: string): ConfigSetting {
  return {
    set: (store, value, node) => store.setFelixConfig(name, value, node),
    unset: (store, node) => store.setFelixConfig(name, null, node),
    get: async (store, node) => (await store.getFelixConfig(name, node)) ?? "(unset)",
  };
}

/** calicoctl's log levels and the Felix LogSeverityScreen values they stand for. */
const LOG_LEVELS: Record<string, string> = {
  none: "none",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
  critical: "FATAL",
};

function logLevelName(felixValue: string): string {
  const up = felixValue.toUpperCase();
  const hit = Object.entries(LOG_LEVELS).find(([, v]) => v.toUpperCase() === up);
  return hit ? hit[0] : felixValue;
}

/** `logLevel`: Felix's LogSeverityScreen, global or per node. */
const logLevel: ConfigSetting = {
  set(store, value, node) {
    const felix = LOG_LEVELS[value.toLowerCase()];
    if (felix === undefined) {
      throw new CommandFailure(
        `Error executing command: invalid log level '${value}' (valid: ${
          Object.keys(LOG_LEVELS).join(", ")
        })`,
      );
    }
    return store.setFelixConfig("LogSeverityScreen", felix, node);
  },
  unset: (store, node) => store.setFelixConfig("LogSeverityScreen", null, node),
  async get(store, node) {
    if (node !== undefined) {
      const own = await store.getFelixConfig("LogSeverityScreen", node);
      if (own !== undefined) return logLevelName(own);
    }
    const global = await store.getFelixConfig("LogSeverityScreen");
    if (global === undefined) return "(unset)";
    return node !== undefined
      ? `${logLevelName(global)} (inherited from global)`
      : logLevelName(global);
  },
};

/** Picks the setting NAME and `--raw` refer to, or fails with calicoctl's wording. */
function settingFor(name: string, raw: string | undefined): ConfigSetting {
  switch (raw) {
    case "felix":
      return rawFelix(name);
    case "bgp":
      throw new CommandFailure(
        "Error executing command: BGP configuration is not supported: hostfence has no BGP component",
      );
    case undefined: {
      if (name.toLowerCase() === "loglevel") return logLevel;
      // hostfence's own parameters need no --raw: they are what this command is for here.
      const hit = lookupParam(name);
      if (hit.kind === "param") return rawFelix(hit.spec.name);
      throw new CommandFailure(
        `Error executing command: unrecognised config name '${name}' ` +
          "(use --raw=felix to set a Felix parameter)",
      );
    }
    default:
      throw new CommandFailure(`Error executing command: unrecognised component '${raw}'`);
  }
}

/** `hostfence config ARGS` (ARGS without the command word); returns the exit code. */
export const runConfig: Command = async (args, io) => {
  const argv = ["config", ...args];
  try {
    const p = parseCommand(argv, args, CONFIG_OPTIONS);
    const [action, name, ...rest] = p.positionals;
    const arity = action === "set" ? 1 : action === "unset" || action === "get" ? 0 : -1;
    if (arity < 0 || name === undefined || rest.length !== arity) {
      throw new InvalidOptionError(argv);
    }
    const node = stringFlag(p, "node");
    if (node === "") throw new InvalidOptionError(argv);
    const setting = settingFor(name, stringFlag(p, "raw"));

    const store = await openStore(p, io);
    try {
      if (action !== "get") {
        // Lockout check (issue 8): the setting's writes are recorded first, then judged.
        const changes: Change[] = [];
        const dry = {
          setFelixConfig: (name: string, value: string | null, n?: string) => {
            changes.push({ kind: "config", name, value, ...(n !== undefined ? { node: n } : {}) });
            return Promise.resolve();
          },
        } as unknown as ResourceStore;
        if (action === "set") await setting.set(dry, rest[0]!, node);
        else await setting.unset(dry, node);
        let refusal;
        try {
          refusal = await lockoutRefusal(p, store, changes);
        } catch (e) {
          if (e instanceof LockoutFlagError) throw new CommandFailure(e.message);
          throw e;
        }
        if (refusal !== undefined) throw new CommandFailure(refusal);
      }
      if (action === "set") await setting.set(store, rest[0]!, node);
      else if (action === "unset") await setting.unset(store, node);
      else io.out((await setting.get(store, node)) + "\n");
    } catch (e) {
      if (e instanceof CommandFailure) throw e;
      throw new CommandFailure(`Error executing command: ${errorMessage(e)}`);
    } finally {
      await store.close();
    }
    return 0;
  } catch (e) {
    return failure(io, e);
  }
};
