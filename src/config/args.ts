/**
 * Command-line flags of `hostfence agent`: every parameter as `--<kebab-case-name>=VALUE` or
 * `--<kebab-case-name> VALUE`, plus `--config-file`/`-c`, `--cleanup` and `--help`/`-h`. Flags sit
 * above the environment in precedence (README "Agent configuration"). Pure: parses an argument
 * list, builds help.
 */
import { envName, IGNORED_PARAMS, kebabName, lookupParam, PARAM_LIST } from "./params.ts";
import { DEFAULT_CONFIG_FILE } from "./resolve.ts";
import { quote } from "../log/quote.ts";

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

function isBoolParam(name: string): boolean {
  const hit = lookupParam(name);
  return hit.kind === "param" && hit.spec.type.syntax === "bool";
}

/**
 * Parses the agent's arguments (without the `agent` word). Flag names match case-insensitively
 * and with or without dashes (`--felix-hostname`, `--FelixHostname`). A boolean flag given
 * without a value means `true`. Later repeats win. Throws `AgentArgsError` for an unknown flag,
 * a missing value or a stray positional argument.
 */
export function parseAgentArgs(args: readonly string[]): AgentArgs {
  const flags = new Map<string, string>();
  let configFile: string | undefined;
  let cleanup = false;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (arg === "--cleanup") {
      cleanup = true;
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
    const isConfigFile = squashed === "configfile";
    const hit = isConfigFile ? undefined : lookupParam(squashed);
    if (!isConfigFile && (hit === undefined || hit.kind === "unknown")) {
      throw new AgentArgsError(
        `Unknown flag ${quote("--" + flag)} (see hostfence agent --help)`,
      );
    }
    const name = hit?.kind === "param"
      ? hit.spec.name
      : hit?.kind === "ignored"
      ? hit.param.name
      : "ConfigFile";
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
    if (isConfigFile) {
      if (value === "") throw new AgentArgsError("Flag --config-file needs a value");
      configFile = value;
    } else {
      flags.set(name, value);
    }
  }
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
