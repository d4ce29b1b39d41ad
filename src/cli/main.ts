/**
 * Command dispatch for the one `hostfence` executable: the calicoctl-v1-compatible resource
 * commands, `config`, `version`, and the host-side `agent` and `render`. `main` returns the
 * exit code; the process wrapper (main.ts at the repository root) exits with it.
 */
import denoJson from "../../deno.json" with { type: "json" };
import { RENDER_HELP, runRender } from "../agent/render_cmd.ts";
import { runStatus, STATUS_HELP } from "../status/mod.ts";
import { runAgent } from "../agent/run.ts";
import { invalidOptionMessage, wantsHelp } from "./args.ts";
import { runConfigCommand } from "./config_cmd.ts";
import {
  APPLY_HELP,
  CONFIG_HELP,
  CREATE_HELP,
  DELETE_HELP,
  GET_HELP,
  REPLACE_HELP,
  TOP_HELP,
  VERSION_HELP,
} from "./help.ts";
import { type CliIo, processIo } from "./io.ts";
import { errorText, runGetCommand, runWriteCommand } from "./resource_cmds.ts";

/** `hostfence 0.1.0`: the version in deno.json, the one place it is kept. */
export const VERSION_LINE = `hostfence ${denoJson.version}`;

/** Each command's help text, for `<command> --help` and `help <command>`. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  create: CREATE_HELP,
  apply: APPLY_HELP,
  replace: REPLACE_HELP,
  delete: DELETE_HELP,
  get: GET_HELP,
  config: CONFIG_HELP,
  version: VERSION_HELP,
  render: RENDER_HELP + "\n",
  status: STATUS_HELP.endsWith("\n") ? STATUS_HELP : STATUS_HELP + "\n",
};

/**
 * Runs one command line (without the program name) and returns the exit code. Results
 * go to standard output, errors to standard error; unexpected errors are one line, never
 * a stack trace. `io` is replaced in tests.
 */
export async function main(args: string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (e) {
    io.err(`hostfence: unexpected error: ${errorText(e).split("\n")[0]}\n`);
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
      io.out(VERSION_LINE + "\n");
      return 0;
    case "agent":
      return await runAgent(rest);
    case "render":
    case "status":
      if (wantsHelp(rest)) {
        io.out(COMMAND_HELP[command]!);
        return 0;
      }
      return command === "render" ? await runRender(rest) : await runStatus(rest, io);
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
  switch (command) {
    case "create":
    case "apply":
    case "replace":
    case "delete":
      return await runWriteCommand(command, argv, rest, io);
    case "get":
      return await runGetCommand(argv, rest, io);
    case "config":
      return await runConfigCommand(argv, rest, io);
  }
  io.err(invalidOptionMessage(argv) + "\n");
  return 1;
}
