/**
 * The only I/O of the config package: reads the environment, the INI file and the OS host name,
 * and returns them as plain inputs for `resolveConfig`. Called once at start-up and again when
 * the agent re-resolves after an etcd config change (the local inputs can be reused then).
 */
import { DEFAULT_CONFIG_FILE } from "./resolve.ts";
import { errorMessage } from "../util/error_message.ts";

/** The local half of `ConfigInputs`, ready to be spread into a `resolveConfig` call. */
export interface LocalConfig {
  readonly env: Record<string, string>;
  /** Absent when the file does not exist. */
  readonly fileText?: string;
  readonly filePath: string;
  readonly detectedHostname: string;
  readonly fileExists: (path: string) => boolean;
  /** E.g. an explicitly named config file that does not exist. */
  readonly warnings: string[];
}

/** The OS host name, else `$HOSTNAME`, else "" (resolveConfig then asks for FelixHostname). */
export function detectHostname(env: Readonly<Record<string, string>>): string {
  try {
    const h = Deno.hostname();
    if (h) return h;
  } catch {
    // Fall through to the environment: some sandboxes hide the host name.
  }
  return env["HOSTNAME"] ?? "";
}

/** True when `path` exists and is a file (not a directory). */
export function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Reads the environment and the config file (`configFile`, default `/etc/calico/felix.cfg`).
 * A missing file is not an error (Felix ignores it silently); when the path was given
 * explicitly a warning is returned, since a typo there would otherwise go unnoticed.
 * Throws `Error` naming the path when the file exists but cannot be read.
 */
export async function loadLocalConfig(
  opts: { readonly configFile?: string; readonly env?: Record<string, string> } = {},
): Promise<LocalConfig> {
  const env = opts.env ?? Deno.env.toObject();
  const filePath = opts.configFile ?? DEFAULT_CONFIG_FILE;
  const warnings: string[] = [];
  let fileText: string | undefined;
  try {
    fileText = await Deno.readTextFile(filePath);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(`Cannot read config file ${filePath}: ${errorMessage(e)}`);
    }
    if (opts.configFile !== undefined) {
      warnings.push(`Config file ${filePath} does not exist; continuing without it`);
    }
  }
  const base = { env, filePath, detectedHostname: detectHostname(env), fileExists, warnings };
  return fileText === undefined ? base : { ...base, fileText };
}
