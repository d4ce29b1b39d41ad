/**
 * The local datastore's core: the files of a policy directory -> the etcd keys and values
 * `hostfence apply` would have written for them. Every file goes through the CLI's own
 * document decoder and validation (model/input.ts), and every resource through the CLI's
 * own key layout (layout.ts), so the agent sees exactly the updates it would see had the
 * same files been applied to etcd. Pure: the directory reading and watching is in
 * local_source.ts.
 *
 * A set is all or nothing: the first problem in any file (YAML, an unknown field, a failed
 * validation, a missing identifier, the same resource twice) throws PolicyDirError, and the
 * caller keeps the last good set.
 */
import { errorMessage } from "../util/error_message.ts";
import { type LocatedResource, parseResources, ResourceInputError } from "../model/input.ts";
import { decodeInputBytes, InvalidUtf8Error } from "../model/input_text.ts";
import type { Resource, SourcePosition } from "../model/resources.ts";
import { quote } from "../log/quote.ts";
import { missingIdentifier, READY_KEY, renderResourceKey } from "./keys.ts";
import { resourceId, writesFor } from "./layout.ts";

/** One file of the directory: `path` is how messages name it. */
export interface PolicyFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** A valid set of files, laid out as etcd keys. */
export interface PolicySet {
  /** Key -> value, including `/calico/v1/Ready` = `true` (a directory is always ready). */
  readonly keys: ReadonlyMap<string, string>;
  readonly files: number;
  readonly resources: number;
}

/** Why a set of files cannot be applied; the message names file:line:col where known. */
export class PolicyDirError extends Error {
  constructor(message: string, readonly position?: SourcePosition) {
    super(message);
    this.name = "PolicyDirError";
  }
}

/** The files a directory listing contributes, in the order they are read. */
export function isPolicyFileName(name: string): boolean {
  // Hidden files are editors' swap and lock files (.x.yaml.swp, .#x.yaml) or Kubernetes'
  // ConfigMap plumbing (..data); `x.yaml~` and `#x.yaml#` fail the suffix test.
  return !name.startsWith(".") && /\.ya?ml$/.test(name);
}

/** Sorts names by code point, so the order (and the first error reported) never varies. */
export function sortFileNames(names: readonly string[]): string[] {
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function where(p: SourcePosition): string {
  return p.line !== undefined ? `${p.source}:${p.line}:${p.column ?? 1}` : p.source;
}

function describe(r: Resource): string {
  return `${r.kind} ${quote(r.metadata.name)}`;
}

/**
 * Decodes, validates and lays out `files` (already in reading order). `node` fills in the
 * `metadata.node` of host and workload endpoints that leave it out: on a single host the
 * files need not repeat the host's name. Throws PolicyDirError on the first problem.
 */
export function loadPolicySet(files: readonly PolicyFile[], node: string): PolicySet {
  const keys = new Map<string, string>([[READY_KEY, "true"]]);
  /**
   * Which resource wrote each key, to name both sides of a clash. Positions are looked up
   * only for an error: on the CLI decoder's fast path they cost a second, slower parse.
   */
  const owners = new Map<string, { what: string; from: LocatedResource }>();
  let resources = 0;
  for (const file of files) {
    let located;
    try {
      located = parseResources(decodeInputBytes(file.bytes, file.path), file.path);
    } catch (e) {
      if (e instanceof ResourceInputError || e instanceof InvalidUtf8Error) {
        throw new PolicyDirError(e.message, e.position);
      }
      throw new PolicyDirError(`${file.path}: ${errorMessage(e)}`, { source: file.path });
    }
    for (const item of located) {
      const r = withNode(item.resource, node);
      const id = resourceId(r);
      const missing = missingIdentifier(id);
      if (missing !== undefined) {
        const position = item.position;
        throw new PolicyDirError(
          `${where(position)}: ${describe(r)}: insufficient identifiers, missing '${missing}'`,
          position,
        );
      }
      // calicoctl names a profile by its tags key; here the resource itself is meant.
      const what = r.kind === "profile" ? `Profile(name=${id.name})` : renderResourceKey(id);
      for (const w of writesFor(r).writes) {
        if (w.value === null) continue;
        const before = owners.get(w.key);
        if (before !== undefined) {
          const position = item.position;
          const at = before.from.position;
          throw new PolicyDirError(
            before.what === what
              ? `${where(position)}: ${what} is defined twice: in ${where(at)} and in ` +
                `${where(position)} (each resource may appear in one place only)`
              : `${where(position)}: ${what} and ${before.what} (${where(at)}) both set ` +
                `${w.key}`,
            position,
          );
        }
        owners.set(w.key, { what, from: item });
        keys.set(w.key, w.value);
      }
      resources++;
    }
  }
  return { keys, files: files.length, resources };
}

function withNode(r: Resource, node: string): Resource {
  if ((r.kind === "hostEndpoint" || r.kind === "workloadEndpoint") && !r.metadata.node) {
    return { ...r, metadata: { ...r.metadata, node } } as Resource;
  }
  return r;
}
