/**
 * `hostfence agent` arguments: every Felix parameter as `--<kebab-case-name>=VALUE` or
 * `--<kebab-case-name> VALUE`, plus `--config-file`/`-c`, `--cleanup` and `--help`/`-h`, parsed
 * with the CLI's one parser (src/cmd/args.ts) against an option table built from the parameter
 * table. Flags sit above the environment in precedence. Pure.
 *
 * Felix's command line is more lenient than parseArgs: names in any case and with or without
 * dashes (`--FelixHostname`), a value after a space even when it starts with `-`, and a boolean
 * parameter without a value meaning true. `_canonicalArgs` rewrites such a command line into the
 * strict `--canonical-name=VALUE` form first (as explain takes out `--forward IN OUT`), so
 * parseArgs sees only names from its table.
 */
import { envName, IGNORED_PARAMS, kebabName, lookupParam, PARAM_LIST } from "../config/params.ts";
import { DEFAULT_CONFIG_FILE } from "../config/resolve.ts";
import { quote } from "../log/quote.ts";
import { InvalidOptionError, type OptionSpec, parseCommand } from "./args.ts";

/** The parsed agent command line. */
export interface AgentArgs {
  /** Parameter values by canonical Felix name (or the ignored parameter's name). */
  readonly flags: Map<string, string>;
  /** `--config-file`/`-c`, when given. */
  readonly configFile?: string;
  /** `--cleanup`: remove hostfence's nftables state and exit. */
  readonly cleanup: boolean;
  /** `--help`/`-h`. */
  readonly help: boolean;
}

/** A command line the agent cannot accept; the message says which argument and why. */
export class AgentArgsError extends Error {
  override name = "AgentArgsError";
}

/** Option name (kebab case) -> the canonical Felix name it sets, for every accepted parameter. */
const BY_OPTION: ReadonlyMap<string, string> = new Map([
  ...PARAM_LIST.map((p) => [kebabName(p.name), p.name] as const),
  ...IGNORED_PARAMS.map((p) => [kebabName(p.name), p.name] as const),
]);

/** The agent's option table: one string option per parameter, plus the command's own flags. */
const AGENT_OPTIONS: OptionSpec = {
  ...Object.fromEntries([...BY_OPTION.keys()].map((k) => [k, { type: "string" }] as const)),
  "config-file": { type: "string", short: "c" },
  cleanup: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

function isBoolParam(name: string): boolean {
  const hit = lookupParam(name);
  return hit.kind === "param" && hit.spec.type.syntax === "bool";
}

/**
 * Felix's lenient command line -> `--canonical-name=VALUE`, `--cleanup` and `--help` only.
 * Throws `AgentArgsError` for an unknown flag, a missing value or a stray positional argument.
 */
function _canonicalArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-h" || arg === "--help" || arg === "--cleanup") {
      out.push(arg);
      continue;
    }
    let flag: string;
    let inline: string | undefined;
    if (arg === "-c") {
      flag = "config-file";
    } else if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      flag = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
    } else {
      throw new AgentArgsError(
        `Unexpected argument ${quote(arg)}: the agent takes only --flags ` +
          `(see hostfence agent --help)`,
      );
    }
    const squashed = flag.replace(/-/g, "").toLowerCase();
    const hit = squashed === "configfile" ? undefined : lookupParam(squashed);
    if (hit?.kind === "unknown") {
      throw new AgentArgsError(`Unknown flag ${quote("--" + flag)} (see hostfence agent --help)`);
    }
    const name = hit === undefined
      ? "ConfigFile"
      : hit.kind === "param"
      ? hit.spec.name
      : hit.param.name;
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (isBoolParam(name) && (next === undefined || next.startsWith("-"))) {
        value = "true";
      } else if (next === undefined) {
        throw new AgentArgsError(`Flag --${kebabName(name)} needs a value`);
      } else {
        value = next;
        i++;
      }
    }
    if (name === "ConfigFile" && value === "") {
      throw new AgentArgsError("Flag --config-file needs a value");
    }
    out.push(`--${kebabName(name)}=${value}`);
  }
  return out;
}

/**
 * Parses the agent's arguments (without the `agent` word). Flag names match case-insensitively
 * and with or without dashes (`--felix-hostname`, `--FelixHostname`). A boolean flag given
 * without a value means `true`. Later repeats win. Throws `AgentArgsError` for an unknown flag,
 * a missing value or a stray positional argument.
 */
export function parseAgentArgs(args: readonly string[]): AgentArgs {
  let parsed;
  try {
    parsed = parseCommand(["agent", ...args], _canonicalArgs(args), AGENT_OPTIONS, {
      positionals: false,
      lastWins: true,
    });
  } catch (err) {
    // The rewrite leaves nothing parseArgs refuses; should it, the agent's own wording holds.
    if (err instanceof InvalidOptionError) throw new AgentArgsError(err.reason ?? err.message);
    throw err;
  }
  const flags = new Map<string, string>();
  let configFile: string | undefined;
  for (const [option, value] of Object.entries(parsed.values)) {
    if (typeof value !== "string") continue;
    if (option === "config-file") configFile = value;
    else flags.set(BY_OPTION.get(option) ?? option, value);
  }
  const cleanup = parsed.values.cleanup === true;
  const help = parsed.values.help === true;
  return configFile === undefined ? { flags, cleanup, help } : { flags, configFile, cleanup, help };
}

function _wrap(text: string, indent: string, width = 98): string[] {
  const out: string[] = [];
  let line = indent;
  for (const word of text.split(" ")) {
    if (line !== indent && line.length + 1 + word.length > width) {
      out.push(line);
      line = indent;
    }
    line += line === indent ? word : ` ${word}`;
  }
  if (line !== indent) out.push(line);
  return out;
}

function _metavar(syntax: string): string {
  const oneOf = /^oneof\((.*)\)$/.exec(syntax);
  if (oneOf?.[1] !== undefined) return oneOf[1].split(",").join("|");
  if (syntax.startsWith("file")) return "PATH";
  return syntax.toUpperCase();
}

/** The `hostfence agent --help` text, generated from the parameter table. */
export function agentHelpText(): string {
  const lines = [
    "Usage: hostfence agent [flags]",
    "",
    "Runs the host agent: reads host endpoints and policy from etcd and enforces them with",
    "nftables. Every parameter can also be set in the environment (FELIX_<NAME>), in the",
    `config file (default ${DEFAULT_CONFIG_FILE}) or in etcd; flags win over all of them.`,
    'The value "none" clears a parameter to empty, zero or false.',
    "",
    "Flags:",
    "  -c, --config-file=PATH   INI config file (default " + DEFAULT_CONFIG_FILE + ")",
    "      --cleanup            Remove hostfence's nftables table and exit",
    "  -h, --help               Show this help",
    "",
    "Parameters:",
  ];
  for (const p of PARAM_LIST) {
    const def = p.field === "felixHostname" ? "OS host name" : p.type.format(p.default) || "none";
    const text = [
      `${p.description}.`,
      `Default: ${def}.`,
      `Env ${envName(p.name)}.`,
      ...(p.aliases ?? []).map((a) => `Alias ${a} (--${kebabName(a)}, ${envName(a)}).`),
      p.localOnly ? "Not read from etcd." : "",
      p.dieOnFail ? "A bad value stops the agent." : "",
    ].filter((t) => t !== "").join(" ");
    lines.push(`      --${kebabName(p.name)}=${_metavar(p.type.syntax)}`);
    lines.push(..._wrap(text, "          "));
  }
  lines.push("");
  lines.push(
    "Accepted and ignored (they only matter to Felix's iptables/ipset/IPIP/OpenStack code):",
  );
  lines.push(..._wrap(IGNORED_PARAMS.map((p) => p.name).join(" "), "  "));
  return lines.join("\n") + "\n";
}
