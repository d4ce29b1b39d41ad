/**
 * Command dispatch for the one `hostfence` executable: the calicoctl-v1-compatible resource
 * commands, `config`, `version`, and the host-side `agent` and `render`. `main` returns the
 * exit code; the process wrapper (main.ts at the repository root) exits with it.
 */
import { RENDER_HELP } from "../cmd/render_help.ts";
import { EXPLAIN_HELP } from "../cmd/explain_help.ts";
import { STATUS_HELP } from "../cmd/status_help.ts";
import { invalidOptionMessage, wantsHelp } from "../cmd/args.ts";
import {
  APPLY_HELP,
  CONFIG_HELP,
  CONFIRM_HELP,
  CREATE_HELP,
  DELETE_HELP,
  GET_HELP,
  REPLACE_HELP,
  TOP_HELP,
  VERSION_HELP,
} from "../cmd/help.ts";
import { errorMessage } from "../util/error_message.ts";
import { type CliIo, type Command, processIo } from "../cmd/io.ts";
import { buildFormLine, VERSION_LINE } from "./version.ts";

export { VERSION_LINE };

/** Each command's help text, for `<command> --help` and `help <command>`. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  create: CREATE_HELP,
  apply: APPLY_HELP,
  replace: REPLACE_HELP,
  delete: DELETE_HELP,
  get: GET_HELP,
  config: CONFIG_HELP,
  confirm: CONFIRM_HELP,
  version: VERSION_HELP,
  render: RENDER_HELP + "\n",
  explain: EXPLAIN_HELP + "\n",
  status: STATUS_HELP.endsWith("\n") ? STATUS_HELP : STATUS_HELP + "\n",
};

/**
 * The commands that do work, each loaded on first use: `version` and `--help` must answer as
 * fast as Deno starts, so nothing here is imported until its command runs (the etcd client
 * and gRPC, YAML, the calculation and the dataplane are most of the start-up time).
 * src/cli/warm.ts loads them all to fill Deno's code cache. Each is a Command of src/cmd:
 * `(args after the command word, io) => exit code`.
 */
export const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  create: async () => (await import("../cmd/resources.ts")).runCreate,
  apply: async () => (await import("../cmd/resources.ts")).runApply,
  replace: async () => (await import("../cmd/resources.ts")).runReplace,
  delete: async () => (await import("../cmd/resources.ts")).runDelete,
  get: async () => (await import("../cmd/resources.ts")).runGet,
  config: async () => (await import("../cmd/config.ts")).runConfig,
  confirm: async () => (await import("../cmd/confirm.ts")).runConfirm,
  render: async () => (await import("../cmd/render.ts")).runRender,
  explain: async () => (await import("../cmd/explain.ts")).runExplain,
  status: async () => (await import("../cmd/status.ts")).runStatus,
  agent: async () => (await import("../cmd/agent.ts")).runAgent,
};

/** Loads and runs one command of COMMANDS. */
async function runCommand(command: string, rest: string[], io: CliIo) {
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (load === undefined) throw new Error(`no code for command '${command}'`);
  return await (await load())(rest, io);
}

/**
 * Runs one command line (without the program name) and returns the exit code. Results
 * go to standard output, errors to standard error; unexpected errors are one line, never
 * a stack trace. `io` is replaced in tests.
 */
export async function main(args: string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (e) {
    io.err(`hostfence: unexpected error: ${errorMessage(e).split("\n")[0]}\n`);
    return 1;
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      io.err(TOP_HELP);
      return 1;
    case "-h":
    case "--help":
      io.out(TOP_HELP);
      return 0;
    case "help": {
      const topic = rest[0];
      if (rest.length > 1 || (topic !== undefined && !Object.hasOwn(COMMAND_HELP, topic))) {
        io.err(invalidOptionMessage(argv) + "\n");
        return 1;
      }
      io.out(topic === undefined ? TOP_HELP : COMMAND_HELP[topic]!);
      return 0;
    }
    case "--version":
    case "version":
      if (wantsHelp(rest) && command === "version") {
        io.out(VERSION_HELP);
        return 0;
      }
      if (rest.length > 0) {
        io.err(invalidOptionMessage(argv) + "\n");
        return 1;
      }
      // `--version` stays the one line scripts parse; `version` also names the build.
      io.out(VERSION_LINE + "\n" + (command === "version" ? buildFormLine() + "\n" : ""));
      return 0;
    case "agent":
      return await runCommand(command, rest, io);
  }
  const help = COMMAND_HELP[command];
  if (help === undefined || !Object.hasOwn(COMMAND_HELP, command)) {
    io.err(invalidOptionMessage(argv) + "\n");
    return 1;
  }
  if (wantsHelp(rest)) {
    io.out(help);
    return 0;
  }
  return await runCommand(command, rest, io);
}
