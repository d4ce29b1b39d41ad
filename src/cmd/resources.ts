/**
 * `create`, `apply`, `replace`, `delete` and `get`: read and check the whole input first,
 * then talk to the datastore one resource at a time in file order, stopping at the first
 * failure, and report with calicoctl's result lines.
 *
 * What only some runs need is imported where it is used, so that a run loads only its own
 * code (README "CLI start-up"): the file decoder (`-f`; the `yaml` package only to locate an
 * error), the YAML/JSON printer (`-o yaml`/`json`), the v3 printer, the commit-confirm store
 * and the lockout check (inside lockout_guard.ts). `get policy` loads none of them; a unit
 * test reads the module graph.
 */
import { ConnectionConfigError } from "../datastore/connection.ts";
import { DurationError, parseConfirmWithin } from "../datastore/confirm_record.ts";
import type { ConfirmItem } from "../datastore/confirm_store.ts";
import { EtcdResourceStore, resourceId } from "../datastore/etcd_store.ts";
import {
  AlreadyExistsError,
  type ListFilter,
  NotExistError,
  type ResourceId,
  type ResourceStore,
} from "../datastore/store.ts";
import type { DecodedManifest } from "../model/input_fast.ts";
import { decodeInputBytes, InvalidUtf8Error } from "../model/input_text.ts";
import { quote } from "../log/quote.ts";
import { formatTable } from "../model/output_table.ts";
import type { Resource, ResourceKind } from "../model/resources.ts";
import {
  connectionOptions,
  DATASTORE_OPTIONS,
  DEFAULT_MAX_INPUT_BYTES,
  InvalidOptionError,
  type OptionSpec,
  parseCommand,
  type ParsedCommand,
  stringFlag,
} from "./args.ts";
import { errorMessage } from "../util/error_message.ts";
import { type CliIo, type Command, InputTooLargeError } from "./io.ts";
import { manifestKindFromArgument, unknownKindMessage } from "./kinds.ts";
import { confirmNotice, sharedKind, writeReport, type WriteVerb } from "./results.ts";

const FILE_OPTION: OptionSpec = {
  filename: { type: "string", short: "f" },
  "max-input-bytes": { type: "string" },
};
import { type Change, LOCKOUT_OPTIONS, LockoutFlagError, lockoutRefusal } from "./lockout_guard.ts";
import { isModelResource, type ManifestResource } from "../model/v3/types.ts";
import { v1ApplyBackWarnings } from "../model/v1_limits.ts";
import {
  deleteFelixConfiguration,
  felixConfigurationChanges,
  listFelixConfigurations,
  writeFelixConfiguration,
} from "./felix_configuration.ts";

const ID_OPTIONS: OptionSpec = {
  node: { type: "string", short: "n" },
  orchestrator: { type: "string" },
  workload: { type: "string" },
};

/** Flags every write command takes: `--confirm-within DURATION` (commit-confirm). */
const SAFETY_OPTIONS: OptionSpec = { "confirm-within": { type: "string" } };

const WRITE_OPTIONS: Record<WriteVerb, OptionSpec> = {
  create: {
    ...DATASTORE_OPTIONS,
    ...FILE_OPTION,
    ...SAFETY_OPTIONS,
    ...LOCKOUT_OPTIONS,
    "skip-exists": { type: "boolean" },
  },
  apply: { ...DATASTORE_OPTIONS, ...FILE_OPTION, ...SAFETY_OPTIONS, ...LOCKOUT_OPTIONS },
  replace: { ...DATASTORE_OPTIONS, ...FILE_OPTION, ...SAFETY_OPTIONS, ...LOCKOUT_OPTIONS },
  delete: {
    ...DATASTORE_OPTIONS,
    ...FILE_OPTION,
    ...ID_OPTIONS,
    ...SAFETY_OPTIONS,
    ...LOCKOUT_OPTIONS,
    "skip-not-exists": { type: "boolean" },
  },
};

const GET_OPTIONS: OptionSpec = {
  ...DATASTORE_OPTIONS,
  ...FILE_OPTION,
  ...ID_OPTIONS,
  output: { type: "string", short: "o" },
  api: { type: "string" },
};

/** A failure that ends the command with `message` on stderr and exit code 1. */
class CommandFailure extends Error {
  override name = "CommandFailure";
}

/**
 * `--max-input-bytes N`: a whole number of bytes, optionally with a K, M or G suffix
 * (powers of 1024); the default when absent. Throws CommandFailure for anything else.
 */
export function maxInputBytes(p: ParsedCommand): number {
  const text = stringFlag(p, "max-input-bytes");
  if (text === undefined) return DEFAULT_MAX_INPUT_BYTES;
  const m = /^([0-9]{1,15})([KMG]?)$/i.exec(text.trim());
  const scale = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m?.[2] ?? "").toUpperCase()];
  const n = m && scale ? Number(m[1]) * scale : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new CommandFailure(
      `Failed to execute command: invalid --max-input-bytes ${quote(text, { quote: "'" })}: ` +
        "expected a positive number of bytes, optionally with a K, M or G suffix (e.g. 200M)",
    );
  }
  return n;
}

/**
 * Reads `-f FILE` (`-` = standard input, named `<stdin>` in messages), at most `maxBytes`
 * of it, checks that it is UTF-8, and decodes and validates every resource. Throws
 * CommandFailure with `Failed to execute command: ...`.
 */
async function loadResources(
  path: string,
  io: CliIo,
  maxBytes: number,
): Promise<DecodedManifest[]> {
  let bytes: Uint8Array;
  const source = path === "-" ? "<stdin>" : path;
  try {
    bytes = path === "-" ? await io.readStdin(maxBytes) : await io.readFile(path, maxBytes);
  } catch (e) {
    const reason = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : e instanceof InputTooLargeError
      ? `larger than the input limit of ${e.maxBytes} bytes ` +
        "(raise it with --max-input-bytes, e.g. --max-input-bytes=512M)"
      : errorMessage(e);
    throw new CommandFailure(`Failed to execute command: Cannot read file '${path}': ${reason}`);
  }
  const { decodeFast } = await import("../model/input_fast.ts");
  try {
    const text = decodeInputBytes(bytes, source);
    // A valid file is read by the fast parser alone; input.ts and its `yaml` package, which
    // find each error's line and column, load only when that parser does not succeed.
    const fast = decodeFast(text);
    if (Array.isArray(fast)) return fast;
    const { parseManifestsAfterFast } = await import("../model/input.ts");
    return parseManifestsAfterFast(text, source, fast?.failedItem);
  } catch (e) {
    const { ResourceInputError } = await import("../model/input.ts");
    if (e instanceof ResourceInputError || e instanceof InvalidUtf8Error) {
      throw new CommandFailure(`Failed to execute command: ${e.message}`);
    }
    throw e;
  }
}

/** Opens the store; unusable connection settings become a CommandFailure. */
export async function openStore(p: ParsedCommand, io: CliIo): Promise<ResourceStore> {
  try {
    return await io.openStore(connectionOptions(p));
  } catch (e) {
    if (e instanceof ConnectionConfigError) throw new CommandFailure(e.message);
    throw e;
  }
}

/** The identifiers given on the command line (`KIND NAME --node ...`) as a ResourceId. */
function idFromArguments(kind: ResourceKind, name: string | undefined, p: ParsedCommand) {
  const node = stringFlag(p, "node");
  const orchestrator = stringFlag(p, "orchestrator");
  const workload = stringFlag(p, "workload");
  const id: ResourceId = {
    kind,
    name: name ?? "",
    ...(node !== undefined ? { node } : {}),
    ...(orchestrator !== undefined ? { orchestrator } : {}),
    ...(workload !== undefined ? { workload } : {}),
  };
  return id;
}

/** `KIND [NAME]` positionals: the kind, or a CommandFailure naming the valid kinds. */
function kindArgument(text: string, prefix: string): ResourceKind | "felixConfiguration" {
  const kind = manifestKindFromArgument(text);
  if (kind === undefined) throw new CommandFailure(`${prefix}: ${unknownKindMessage(text)}`);
  return kind;
}

/** One unit of work for a write command: what it is called, what to do, and as data. */
interface WriteItem {
  readonly kind: string;
  /** What it changes, for the lockout check. */
  readonly lockout: readonly Change[];
  run(store: ResourceStore): Promise<void>;
  /**
   * The same work for a confirmable change (written in one transaction with the rest);
   * absent for a FelixConfiguration, which --confirm-within refuses.
   */
  readonly change?: ConfirmItem;
}

/** The write item for one resource of a file (v1 or v3). */
function writeItem(
  verb: Exclude<WriteVerb, "delete">,
  { resource, v3Kind }: DecodedManifest,
  skip: boolean,
): WriteItem {
  if (resource.kind === "felixConfiguration") {
    return {
      kind: "FelixConfiguration",
      lockout: felixConfigurationChanges(resource),
      run: (store) => writeFelixConfiguration(verb, store, resource, skip),
    };
  }
  return {
    // Results name the kind as the file did (calicoctl v3 says 'GlobalNetworkPolicy').
    kind: v3Kind ?? resource.kind,
    lockout: [{ kind: "write", verb, resource }],
    run: (store) => writeOne(verb, store, resource, skip),
    change: { op: verb, resource, skipExists: skip },
  };
}

/** `--confirm-within`, in seconds, or undefined; a bad duration is a CommandFailure. */
function confirmWithin(p: ParsedCommand): number | undefined {
  const text = stringFlag(p, "confirm-within");
  if (text === undefined) return undefined;
  try {
    return parseConfirmWithin(text);
  } catch (e) {
    if (e instanceof DurationError) throw new CommandFailure(e.message);
    throw e;
  }
}

/** `hostfence create|apply|replace|delete|get ARGS` (ARGS without the command word). */
export const runCreate: Command = (args, io) => runWrite("create", args, io);
export const runApply: Command = (args, io) => runWrite("apply", args, io);
export const runReplace: Command = (args, io) => runWrite("replace", args, io);
export const runDelete: Command = (args, io) => runWrite("delete", args, io);
export const runGet: Command = (args, io) => runGetCommand(["get", ...args], args, io);

function runWrite(verb: WriteVerb, args: string[], io: CliIo): Promise<number> {
  return runWriteCommand(verb, [verb, ...args], args, io);
}

/**
 * `hostfence create|apply|replace|delete ...`; `argv` is the whole command line (for the
 * invalid-option message), `args` what follows the verb. Returns the exit code.
 */
export async function runWriteCommand(
  verb: WriteVerb,
  argv: readonly string[],
  args: readonly string[],
  io: CliIo,
): Promise<number> {
  try {
    const p = parseCommand(argv, args, WRITE_OPTIONS[verb]);
    const file = stringFlag(p, "filename");
    const confirmSecs = confirmWithin(p);
    let items: WriteItem[];
    if (verb === "delete") {
      items = await deleteItems(argv, p, file, io);
    } else {
      if (file === undefined || p.positionals.length > 0) throw new InvalidOptionError(argv);
      const skip = p.values["skip-exists"] === true;
      items = (await loadResources(file, io, maxInputBytes(p))).map((located) =>
        writeItem(verb, located, skip)
      );
    }
    const singleKind = sharedKind(items.map((i) => i.kind));
    const base = { total: items.length, ...(singleKind ? { singleKind } : {}) };
    if (items.length === 0) return report(io, writeReport(verb, { ...base, handled: 0 }));

    const store = await openStore(p, io);
    if (confirmSecs !== undefined) {
      return await writeConfirmable(verb, store, items, confirmSecs, base, io);
    }
    let handled = 0;
    let error: string | undefined;
    try {
      // Lockout check (issue 8): refused changes write nothing.
      let refusal;
      try {
        refusal = await lockoutRefusal(p, store, items.flatMap((i) => i.lockout));
      } catch (e) {
        if (e instanceof LockoutFlagError) throw new CommandFailure(e.message);
        throw e;
      }
      if (refusal !== undefined) throw new CommandFailure(refusal);
      for (const item of items) {
        try {
          await item.run(store);
        } catch (e) {
          error = errorMessage(e);
          break;
        }
        handled++;
      }
    } finally {
      await store.close();
    }
    return report(
      io,
      writeReport(verb, { ...base, handled, ...(error !== undefined ? { error } : {}) }),
    );
  } catch (e) {
    return failure(io, e);
  }
}

/** The work for `delete`: from a file (identifiers only) or from `KIND NAME` arguments. */
async function deleteItems(
  argv: readonly string[],
  p: ParsedCommand,
  file: string | undefined,
  io: CliIo,
): Promise<WriteItem[]> {
  const skip = p.values["skip-not-exists"] === true;
  const del = (id: ResourceId) => async (store: ResourceStore) => {
    try {
      await store.delete(id);
    } catch (e) {
      if (!(skip && e instanceof NotExistError)) throw e;
    }
  };
  const idFlags = ["node", "orchestrator", "workload"].some((f) => p.values[f] !== undefined);
  const item = (kind: string, id: ResourceId): WriteItem => ({
    kind,
    lockout: [{ kind: "delete", id }],
    run: del(id),
    change: { op: "delete", id, skipNotExists: skip },
  });
  if (file !== undefined) {
    if (p.positionals.length > 0 || idFlags) throw new InvalidOptionError(argv);
    return (await loadResources(file, io, maxInputBytes(p))).map(({ resource, v3Kind }) => {
      if (resource.kind !== "felixConfiguration") {
        return item(v3Kind ?? resource.kind, resourceId(resource));
      }
      const name = resource.metadata.name;
      return {
        kind: "FelixConfiguration",
        lockout: felixConfigurationChanges({ ...resource, spec: { values: {} } }),
        run: async (store: ResourceStore) => {
          try {
            await deleteFelixConfiguration(store, name);
          } catch (e) {
            if (!(skip && e instanceof NotExistError)) throw e;
          }
        },
      };
    });
  }
  const [kindText, name, ...extra] = p.positionals;
  if (kindText === undefined || extra.length > 0) throw new InvalidOptionError(argv);
  const kind = kindArgument(kindText, "Failed to execute command");
  if (kind === "felixConfiguration") {
    if (name === undefined || idFlags) throw new InvalidOptionError(argv);
    return [{
      kind: "FelixConfiguration",
      lockout: felixConfigurationChanges({ kind, metadata: { name }, spec: { values: {} } }),
      run: async (store) => {
        try {
          await deleteFelixConfiguration(store, name);
        } catch (e) {
          if (!(skip && e instanceof NotExistError)) throw e;
        }
      },
    }];
  }
  return [item(kind, idFromArguments(kind, name, p))];
}

/**
 * `--confirm-within`: the whole change, its rollback record and the leased guard in one
 * transaction (all or nothing), then the change ID and how to keep it.
 */
async function writeConfirmable(
  verb: WriteVerb,
  store: ResourceStore,
  items: readonly WriteItem[],
  ttlSecs: number,
  base: { total: number; singleKind?: string },
  io: CliIo,
): Promise<number> {
  try {
    if (!(store instanceof EtcdResourceStore)) {
      throw new CommandFailure("--confirm-within needs the etcd datastore");
    }
    const changes = items.map((i) => i.change);
    if (changes.some((c) => c === undefined)) {
      throw new CommandFailure(
        "--confirm-within cannot be used with FelixConfiguration (its keys are not one transaction)",
      );
    }
    const writesNode = (c: Change) => c.kind === "write" && c.resource.kind === "node";
    if (items.some((i) => i.lockout.some(writesNode))) await store.ensureInitialized();
    const { ConfirmStore } = await import("../datastore/confirm_store.ts");
    let result;
    try {
      result = await store.withClient((client) =>
        new ConfirmStore(client).commit(changes as ConfirmItem[], verb, ttlSecs)
      );
    } catch (e) {
      // Nothing was written, whatever failed: report it like a first-item failure.
      return report(io, writeReport(verb, { ...base, handled: 0, error: errorMessage(e) }));
    }
    const r = writeReport(verb, { ...base, handled: items.length });
    io.out(r.stdout);
    io.out(confirmNotice(result.id, result.deadline));
    return 0;
  } finally {
    await store.close();
  }
}

async function writeOne(
  verb: Exclude<WriteVerb, "delete">,
  store: ResourceStore,
  resource: Resource,
  skipExists: boolean,
): Promise<void> {
  switch (verb) {
    case "create":
      try {
        await store.create(resource);
      } catch (e) {
        if (!(skipExists && e instanceof AlreadyExistsError)) throw e;
      }
      return;
    case "apply":
      return await store.apply(resource);
    case "replace":
      return await store.replace(resource);
  }
}

/** How `get` prints. */
export type OutputFormat =
  | { readonly type: "table"; readonly wide: boolean; readonly columns?: readonly string[] }
  | { readonly type: "yaml" | "json" };

/** `-o` values: ps, wide, custom-columns=A,B, yaml, json; undefined for anything else. */
export function parseOutputFormat(text: string): OutputFormat | undefined {
  switch (text) {
    case "ps":
      return { type: "table", wide: false };
    case "wide":
      return { type: "table", wide: true };
    case "yaml":
    case "json":
      return { type: text };
  }
  const m = /^custom-columns=(.+)$/.exec(text);
  if (m) {
    const columns = m[1]!.split(",").map((c) => c.trim()).filter((c) => c !== "");
    if (columns.length > 0) return { type: "table", wide: false, columns };
  }
  return undefined;
}

/** One list call for `get`. */
interface GetQuery {
  readonly kind: ResourceKind | "felixConfiguration";
  readonly filter: ListFilter;
}

/**
 * `--api v1` (calicoctl v1 output) or `--api v3` (projectcalico.org/v3); undefined when not
 * given: v1, except that FelixConfiguration (which has only a v3 form) prints as v3.
 */
function apiFlag(p: ParsedCommand): "v1" | "v3" | undefined {
  const text = stringFlag(p, "api");
  if (text === undefined || text === "v1" || text === "v3") return text;
  throw new CommandFailure(
    `Failed to get resources: invalid --api ${quote(text, { quote: "'" })} (expected v1 or v3)`,
  );
}

/** What `get` asks for: each resource named in the `-f` file, or `KIND [NAME]` and the id flags. */
async function getQueries(
  argv: readonly string[],
  p: ParsedCommand,
  io: CliIo,
): Promise<GetQuery[]> {
  const file = stringFlag(p, "filename");
  if (file !== undefined) {
    const idFlags = ["node", "orchestrator", "workload"].some((f) => p.values[f] !== undefined);
    if (p.positionals.length > 0 || idFlags) throw new InvalidOptionError(argv);
    const located = await loadResources(file, io, maxInputBytes(p));
    if (located.length === 0) throw new CommandFailure("No resources specified in file");
    return located.map(({ resource }) =>
      resource.kind === "felixConfiguration"
        ? { kind: resource.kind, filter: { name: resource.metadata.name } }
        : {
          kind: resource.kind,
          filter: filterFor(resourceId(resource)),
        }
    );
  }
  const [kindText, name, ...extra] = p.positionals;
  if (kindText === undefined || extra.length > 0) throw new InvalidOptionError(argv);
  const kind = kindArgument(kindText, "Failed to get resources");
  return [{
    kind,
    filter: kind === "felixConfiguration"
      ? (name !== undefined ? { name } : {})
      : filterFor(idFromArguments(kind, name, p)),
  }];
}

/** One query's resources; FelixConfigurations are read from their config keys. */
async function runQuery(store: ResourceStore, q: GetQuery): Promise<ManifestResource[]> {
  if (q.kind !== "felixConfiguration") return await store.list(q.kind, q.filter);
  const nodes = q.filter.name === undefined
    ? (await store.list("node")).map((n) => n.metadata.name)
    : [];
  return await listFelixConfigurations(store, q.filter.name, nodes);
}

/** The list filter that finds one resource (by the identifiers its kind uses). */
function filterFor(id: ResourceId): ListFilter {
  const f: Record<string, string> = {};
  if (id.name) f.name = id.name;
  if (id.kind === "hostEndpoint" || id.kind === "workloadEndpoint") {
    if (id.node) f.node = id.node;
  }
  if (id.kind === "workloadEndpoint") {
    if (id.orchestrator) f.orchestrator = id.orchestrator;
    if (id.workload) f.workload = id.workload;
  }
  return f;
}

/** Prints resources in `format`; tables one per kind, in the order the kinds were asked for. */
export async function renderGetOutput(
  resources: readonly Resource[],
  kinds: readonly ResourceKind[],
  format: OutputFormat,
): Promise<string> {
  if (format.type !== "table") {
    return (await import("../model/output.ts")).formatResources(resources, format.type);
  }
  const opts = format.columns ? { columns: format.columns } : {};
  return [...new Set(kinds)].map((k) => formatTable(resources, k, format.wide, opts)).join("");
}

/** `hostfence get ...`; returns the exit code. */
export async function runGetCommand(
  argv: readonly string[],
  args: readonly string[],
  io: CliIo,
): Promise<number> {
  try {
    const p = parseCommand(argv, args, GET_OPTIONS);
    const outputText = stringFlag(p, "output") ?? "ps";
    const format = parseOutputFormat(outputText);
    if (format === undefined) {
      throw new CommandFailure(`unrecognized output format '${outputText}'`);
    }
    const queries = await getQueries(argv, p, io);
    const api = apiFlag(p);
    const asV3 = api === "v3" || queries.some((q) => q.kind === "felixConfiguration");
    // Tables look the same for v1 and v3; FelixConfiguration has none.
    if (format.type === "table" && queries.some((q) => q.kind === "felixConfiguration")) {
      throw new CommandFailure(
        "Failed to get resources: FelixConfiguration prints with -o yaml or -o json only",
      );
    }
    const kinds = queries.flatMap((q) => q.kind === "felixConfiguration" ? [] : [q.kind]);
    if (format.type === "table" && format.columns) {
      // Unknown headings are reported before etcd is contacted.
      try {
        await renderGetOutput([], kinds, format);
      } catch (e) {
        throw new CommandFailure(`Failed to get resources: ${errorMessage(e)}`);
      }
    }

    const store = await openStore(p, io);
    const found: ManifestResource[] = [];
    try {
      for (const q of queries) found.push(...await runQuery(store, q));
    } catch (e) {
      throw new CommandFailure(`Failed to get resources: ${errorMessage(e)}`);
    } finally {
      await store.close();
    }
    if (format.type !== "table" && asV3) {
      if (api === "v1") {
        throw new CommandFailure(
          "Failed to get resources: FelixConfiguration has no v1 form; use --api v3 " +
            "(or hostfence config get)",
        );
      }
      const { formatV3Resources, NoV3FormError, v3KindOf } = await import("../model/v3/output.ts");
      const one = new Set(queries.map((q) => v3KindOf(q.kind)));
      try {
        io.out(formatV3Resources(found, format.type, one.size === 1 ? [...one][0] : undefined));
      } catch (e) {
        if (e instanceof NoV3FormError) {
          throw new CommandFailure(`Failed to get resources: ${e.message}`);
        }
        throw e;
      }
      return 0;
    }
    const model = found.filter(isModelResource);
    io.out(await renderGetOutput(model, kinds, format));
    if (format.type !== "table") {
      for (const line of v1ApplyBackWarnings(model)) io.err(`Warning: ${line}\n`);
    }
    return 0;
  } catch (e) {
    return failure(io, e);
  }
}

function report(io: CliIo, r: { exitCode: number; stdout: string; stderr: string }): number {
  if (r.stdout) io.out(r.stdout);
  if (r.stderr) io.err(r.stderr);
  return r.exitCode;
}

/** Prints an expected failure and returns 1; anything else propagates to main. */
export function failure(io: CliIo, e: unknown): number {
  if (e instanceof CommandFailure || e instanceof InvalidOptionError) {
    io.err(e.message + "\n");
    return 1;
  }
  throw e;
}

export { CommandFailure };
