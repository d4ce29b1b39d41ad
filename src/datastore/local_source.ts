/**
 * The local datastore (DatastoreType=local): the YAML files of one directory instead of etcd,
 * for a single host. The directory is read whole, laid out as the etcd keys `apply` would
 * write (local_files.ts), diffed against what was delivered before and handed to the agent
 * as the same ModelUpdates the etcd syncer produces, through the same DatastoreSource
 * interface. Nothing here imports etcd3 or gRPC.
 *
 * Sets are applied atomically: a change anywhere makes the whole directory be read again,
 * and only a set in which every file is valid is delivered. While any file is broken the
 * agent keeps the last good set (its nftables table does not change) and the error is
 * logged with file:line:col.
 *
 * Watching uses inotify (`Deno.watchFs`) on the directory and on its parent, the latter to
 * see the directory itself removed or re-created (an inotify watch dies with the directory
 * it watches). Events are debounced, so an editor's save (temporary file, rename over the
 * original) or a tool writing several files costs one read. A missing directory is polled,
 * and an optional safety interval re-reads it anyway.
 */
import { errorMessage } from "../util/error_message.ts";
import type { Logger } from "../log/logger.ts";
import { silentLogger } from "../log/logger.ts";
import { convertKeyValue } from "./convert.ts";
import {
  isPolicyFileName,
  loadPolicySet,
  PolicyDirError,
  type PolicyFile,
  type PolicySet,
  sortFileNames,
} from "./local_files.ts";
import { type Clock, realClock, type TimerHandle } from "../time/clock.ts";
import type { DatastoreSource, UpdatesCallback } from "./source.ts";
import type { ModelUpdate } from "./updates.ts";

export interface LocalSourceOptions {
  /** The policy directory (absolute). */
  readonly dir: string;
  /** This host's name: endpoints without `metadata.node` are this host's. */
  readonly node: string;
  readonly onUpdates: UpdatesCallback;
  readonly log?: Logger;
  /** Quiet time after the last event before reading; default 150 ms. */
  readonly debounceMs?: number;
  /** A steady stream of events is read at least this often; default 1 s. */
  readonly maxDelayMs?: number;
  /** How often a missing directory is looked for; default 1 s. */
  readonly missingPollMs?: number;
  /** Safety re-read interval; 0 or absent = only on events. */
  readonly resyncIntervalMs?: number;
  /** Largest file read; default 16 MiB, as the CLI's --max-input-bytes. */
  readonly maxFileBytes?: number;
  /** Time and timers (the agent's one clock); default the real one. */
  readonly clock?: Clock;
}

/** Reads the policy files of `dir` in order. Throws Deno.errors.NotFound when `dir` is gone. */
export async function readPolicyDir(dir: string, maxFileBytes: number): Promise<PolicyFile[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (isPolicyFileName(e.name)) names.push(e.name);
  const files: PolicyFile[] = [];
  for (const name of sortFileNames(names)) {
    const path = `${dir.replace(/\/+$/, "")}/${name}`;
    let info;
    try {
      info = await Deno.stat(path); // follows symlinks, as ConfigMap-style directories need
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue; // a dangling link, or gone since listed
      throw e;
    }
    if (!info.isFile) continue;
    if (info.size > maxFileBytes) {
      throw new PolicyDirError(
        `${path}: file is ${info.size} bytes, more than the limit of ${maxFileBytes}`,
        { source: path },
      );
    }
    try {
      files.push({ path, bytes: await Deno.readFile(path) });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw new PolicyDirError(`${path}: cannot read: ${errorMessage(e)}`, { source: path });
    }
  }
  return files;
}

/**
 * The updates that take the agent from `before` to `after` (both key -> raw value), in key
 * order, through the etcd syncer's own conversion; `warn` gets its warnings.
 */
export function diffKeys(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  warn: (line: string) => void,
): ModelUpdate[] {
  const batch: ModelUpdate[] = [];
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const now = after.get(key) ?? null;
    if (now === (before.get(key) ?? null)) continue;
    const c = convertKeyValue(key, now);
    if (!c) continue;
    if (c.warning) warn(c.warning);
    batch.push(c.update);
  }
  return batch;
}

/** See the module comment. Call start() once; close() stops watching and waits. */
export class LocalSource implements DatastoreSource {
  readonly #opts: LocalSourceOptions;
  readonly #log: Logger;
  readonly #dir: string;
  /** The keys last delivered: the last good set. */
  #delivered: ReadonlyMap<string, string> = new Map();
  #good: PolicySet | undefined;
  #revision = 0;
  #generation = 0;
  #closed = false;
  #started = false;
  #delivery: Promise<void> = Promise.resolve();
  #loading: Promise<void> | undefined;
  #again = false;
  #debounce: TimerHandle | undefined;
  #firstEventAt: number | undefined;
  #dirWatcher: Deno.FsWatcher | undefined;
  #dirIno: number | null | undefined;
  #parentWatcher: Deno.FsWatcher | undefined;
  #pollTimer: TimerHandle | undefined;
  #resyncTimer: TimerHandle | undefined;
  #missing = false;
  /** The directory itself was created or removed: watch it afresh (its inode may be reused). */
  #rewatch = false;
  #lastError: string | undefined;
  readonly #clock: Clock;

  constructor(opts: LocalSourceOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? silentLogger;
    this.#clock = opts.clock ?? realClock;
    this.#dir = opts.dir.length > 1 ? opts.dir.replace(/\/+$/, "") : opts.dir;
  }

  get revision(): number {
    return this.#revision;
  }

  /** The last good set (undefined until one was read). */
  get current(): PolicySet | undefined {
    return this.#good;
  }

  start(): void {
    if (this.#started) throw new Error("LocalSource already started");
    this.#started = true;
    this.#log.info(`Reading resources from the policy directory ${this.#dir} (no etcd)`);
    this.#watchParent();
    const every = this.#opts.resyncIntervalMs ?? 0;
    if (every > 0) this.#resyncTimer = this.#clock.setInterval(() => this.#trigger(0), every);
    this.#trigger(0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#debounce !== undefined) this.#clock.clearTimeout(this.#debounce);
    if (this.#pollTimer !== undefined) this.#clock.clearInterval(this.#pollTimer);
    if (this.#resyncTimer !== undefined) this.#clock.clearInterval(this.#resyncTimer);
    this.#closeWatcher(this.#dirWatcher);
    this.#closeWatcher(this.#parentWatcher);
    this.#dirWatcher = this.#parentWatcher = undefined;
    await this.#loading;
    await this.#delivery;
  }

  /** Schedules a read `delay` ms from now (debounced; bounded by maxDelayMs). */
  #trigger(delay = this.#opts.debounceMs ?? 150) {
    if (this.#closed) return;
    if (this.#loading) {
      this.#again = true;
      return;
    }
    const now = this.#clock.now();
    this.#firstEventAt ??= now;
    const cap = (this.#opts.maxDelayMs ?? 1000) - (now - this.#firstEventAt);
    if (this.#debounce !== undefined) this.#clock.clearTimeout(this.#debounce);
    this.#debounce = this.#clock.setTimeout(() => {
      this.#debounce = undefined;
      this.#firstEventAt = undefined;
      this.#loading = this.#reload().finally(() => {
        this.#loading = undefined;
        if (this.#again) {
          this.#again = false;
          this.#trigger();
        }
      });
    }, Math.max(0, Math.min(delay, cap)));
  }

  async #reload(): Promise<void> {
    let set: PolicySet;
    try {
      const files = await readPolicyDir(this.#dir, this.#opts.maxFileBytes ?? 16 * 1024 * 1024);
      if (this.#closed) return;
      this.#setMissing(false);
      await this.#watchDir();
      set = loadPolicySet(files, this.#opts.node);
    } catch (e) {
      if (this.#closed) return;
      if (e instanceof Deno.errors.NotFound) return this.#setMissing(true);
      const text = e instanceof PolicyDirError ? e.message : `${this.#dir}: ${errorMessage(e)}`;
      // One line, so that grep finds the whole error (several fields come as a list).
      const msg = text.split("\n").map((l) => l.replace(/^-\s+/, "").trim()).join(" ")
        .replace(/: error with the following fields: /, ": error with the following fields: - ");
      this.#lastError = msg;
      this.#log.error(`Policy directory ${this.#dir} not applied, ${this.#keeping()}: ${msg}`);
      return;
    }
    if (this.#lastError !== undefined) {
      this.#log.info(`Policy directory ${this.#dir} is valid again`);
      this.#lastError = undefined;
    }
    const first = this.#good === undefined;
    const batch = diffKeys(this.#delivered, set.keys, (w) => this.#log.warning(w));
    this.#good = set;
    this.#delivered = set.keys;
    if (!first && batch.length === 0) {
      this.#log.debug(`Policy directory ${this.#dir} re-read: no change`);
      return;
    }
    if (first) batch.push({ type: "inSync" });
    const revision = ++this.#generation;
    this.#log.info(
      `Read policy directory ${this.#dir}: ${set.files} file${set.files === 1 ? "" : "s"}, ` +
        `${set.resources} resource${set.resources === 1 ? "" : "s"} (revision ${revision})`,
    );
    this.#deliver(batch, revision);
  }

  #keeping(): string {
    return this.#good === undefined
      ? "nothing is programmed until it is fixed (rules already in nftables stay)"
      : `keeping the last good state (revision ${this.#generation}, ` +
        `${this.#good.resources} resources)`;
  }

  #setMissing(missing: boolean) {
    if (missing === this.#missing) return;
    this.#missing = missing;
    if (missing) {
      this.#closeWatcher(this.#dirWatcher);
      this.#dirWatcher = undefined;
      this.#dirIno = undefined;
      this.#log.error(`Policy directory ${this.#dir} does not exist; ${this.#keeping()}`);
      this.#pollTimer = this.#clock.setInterval(
        () => this.#trigger(0),
        this.#opts.missingPollMs ?? 1000,
      );
    } else {
      if (this.#pollTimer !== undefined) this.#clock.clearInterval(this.#pollTimer);
      this.#pollTimer = undefined;
      this.#log.info(`Policy directory ${this.#dir} exists again`);
    }
  }

  #deliver(batch: ModelUpdate[], revision: number) {
    this.#delivery = this.#delivery.then(async () => {
      try {
        await this.#opts.onUpdates(batch, revision);
      } catch (e) {
        this.#log.error(`Datastore update handler failed: ${errorMessage(e)}`);
      }
      this.#revision = revision;
    });
  }

  /** (Re)watches the directory when it is new or was re-created (another inode). */
  async #watchDir() {
    let ino: number | null;
    try {
      ino = (await Deno.stat(this.#dir)).ino;
    } catch {
      return;
    }
    if (this.#dirWatcher !== undefined && ino === this.#dirIno && !this.#rewatch) return;
    this.#rewatch = false;
    if (this.#dirWatcher !== undefined) {
      this.#closeWatcher(this.#dirWatcher);
      this.#dirWatcher = undefined;
      // Deno shares one inotify instance among watchers and drops a path's watch only after
      // the close is processed: watching the same path again at once would silently get the
      // dead watch of the removed directory.
      await new Promise<void>((r) => this.#clock.setTimeout(r, 20));
      if (this.#closed) return;
    }
    try {
      const w = Deno.watchFs(this.#dir, { recursive: false });
      this.#dirWatcher = w;
      this.#dirIno = ino;
      this.#pump(w, (ev) => ev.kind !== "access", () => {
        // The watch died with the directory: look again.
        if (this.#dirWatcher === w) {
          this.#dirWatcher = undefined;
          this.#trigger();
        }
      });
    } catch (e) {
      this.#log.warning(
        `Cannot watch ${this.#dir} (${errorMessage(e)}); re-reading it ` +
          "only when its parent directory changes",
      );
    }
  }

  /** Watches the parent directory for the policy directory being removed or re-created. */
  #watchParent() {
    const slash = this.#dir.lastIndexOf("/");
    const parent = slash > 0 ? this.#dir.slice(0, slash) : "/";
    if (parent === this.#dir) return;
    try {
      const w = Deno.watchFs(parent, { recursive: false });
      this.#parentWatcher = w;
      this.#pump(w, (ev) => {
        const ours = ev.paths.some((p) => p === this.#dir);
        if (ours) this.#rewatch = true;
        return ours;
      }, () => {});
    } catch {
      // No parent to watch: a missing directory is polled instead.
    }
  }

  #pump(w: Deno.FsWatcher, relevant: (ev: Deno.FsEvent) => boolean, ended: () => void) {
    (async () => {
      try {
        for await (const ev of w) if (relevant(ev)) this.#trigger();
      } catch {
        // A closed or broken watcher ends the loop.
      }
      if (!this.#closed) ended();
    })();
  }

  #closeWatcher(w: Deno.FsWatcher | undefined) {
    try {
      w?.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * One snapshot of a policy directory as the agent's updates (ending with `inSync`), for
 * `render` and `explain --policy-dir`. Throws PolicyDirError for a broken set or a
 * missing directory.
 */
export async function readPolicyDirSnapshot(dir: string, node: string): Promise<ModelUpdate[]> {
  let files;
  try {
    files = await readPolicyDir(dir, 16 * 1024 * 1024);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new PolicyDirError(`policy directory ${dir} does not exist`, { source: dir });
    }
    if (e instanceof PolicyDirError) throw e;
    throw new PolicyDirError(`${dir}: ${errorMessage(e)}`, { source: dir });
  }
  const set = loadPolicySet(files, node);
  const updates = diffKeys(new Map(), set.keys, () => {});
  updates.push({ type: "inSync" });
  return updates;
}
