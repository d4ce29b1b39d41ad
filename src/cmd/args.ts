/**
 * Command-line parsing on node:util parseArgs, strict, with calicoctl's single error line
 * for anything it does not accept. Pure.
 */
import { parseArgs } from "node:util";
import type { ConnectionOptions } from "../datastore/connection.ts";
import { errorMessage } from "../util/error_message.ts";

/** The flags a command declares, in parseArgs' own format. */
export type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean }
>;

/** Flags every datastore command takes: where etcd is, and help. */
export const DATASTORE_OPTIONS: OptionSpec = {
  "etcd-endpoints": { type: "string" },
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
};

/**
 * Flags of the commands that work out one node's state as its agent would (render, explain):
 * the node, its interfaces, and where resources come from (etcd, or a policy directory).
 */
export const NODE_STATE_OPTIONS: OptionSpec = {
  ...DATASTORE_OPTIONS,
  node: { type: "string" },
  interface: { type: "string", multiple: true },
  "policy-dir": { type: "string" },
};

/**
 * The largest input (`-f FILE` or standard input) read unless `--max-input-bytes` says
 * otherwise: it bounds the time and memory a mistaken or hostile file can take (issue 10).
 * 16 MiB holds some 30,000 policies and takes well under 1 GB to read; reading takes about
 * 30-60 times the input in memory, so raise it knowingly.
 */
export const DEFAULT_MAX_INPUT_BYTES = 16 * 1024 * 1024;

/** A command line that does not fit the command's usage; main prints `message()`. */
export class InvalidOptionError extends Error {
  override name = "InvalidOptionError";
  /** `argv`: the whole command line after the program name (for the message). */
  constructor(readonly argv: readonly string[], readonly reason?: string) {
    super(invalidOptionMessage(argv));
  }
}

/** `Invalid option: 'hostfence create --bogus'. Use flag '--help' to read about a specific subcommand.` */
export function invalidOptionMessage(argv: readonly string[]): string {
  return `Invalid option: '${["hostfence", ...argv].join(" ")}'. ` +
    "Use flag '--help' to read about a specific subcommand.";
}

/** Parsed flags (strings and booleans) and positional arguments. */
export interface ParsedCommand {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

/** How strict parseCommand is beyond the option table; the defaults suit the resource commands. */
export interface ParseRules {
  /** Positional arguments allowed (default true); when false one is an error. */
  readonly positionals?: boolean;
  /** A single-valued flag given twice keeps the last value instead of failing (default false). */
  readonly lastWins?: boolean;
}

/**
 * Parses `args` (after the command words) against `options`. `argv` is the full command
 * line for the error message. Throws InvalidOptionError (`reason` says what is wrong) on an
 * unknown flag, a missing value, a value given to a boolean flag, or a flag given twice.
 */
export function parseCommand(
  argv: readonly string[],
  args: readonly string[],
  options: OptionSpec,
  rules: ParseRules = {},
): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      allowPositionals: rules.positionals ?? true,
      strict: true,
      tokens: true,
    });
  } catch (e) {
    throw new InvalidOptionError(argv, errorMessage(e));
  }
  if (rules.lastWins) {
    return { values: parsed.values as ParsedCommand["values"], positionals: parsed.positionals };
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== "option") continue;
    if (seen.has(t.name) && !options[t.name]?.multiple) {
      throw new InvalidOptionError(argv, `--${t.name} given twice`);
    }
    seen.add(t.name);
  }
  return { values: parsed.values as ParsedCommand["values"], positionals: parsed.positionals };
}

/** True when `-h`/`--help` is among the arguments (checked before strict parsing). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "-h" || a === "--help") return true;
  }
  return false;
}

/** A string flag's value, or undefined. */
export function stringFlag(p: ParsedCommand, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

/** A repeatable string flag's values (empty when not given). */
export function listFlag(p: ParsedCommand, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}

/** The connection flags of a parsed datastore command. */
export function connectionOptions(p: ParsedCommand): ConnectionOptions {
  const endpoints = stringFlag(p, "etcd-endpoints");
  const configFile = stringFlag(p, "config");
  return {
    ...(endpoints !== undefined ? { endpoints } : {}),
    ...(configFile !== undefined ? { configFile } : {}),
  };
}
