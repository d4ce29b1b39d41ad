/**
 * Writing the lab's datastore: an etcd inside a network namespace (the tests' namespace E, see
 * tests/harness/topology.ts, or a benchmark's), which the calling process (in the root
 * namespace) cannot reach directly, and no root-namespace interface may be added to reach it.
 * So every write runs *inside* that namespace with `ip netns exec`: resources through the real
 * CLI (`scripts/hostfence create|apply|replace|delete -f -`, which is also what the operator
 * does) and raw keys through `etcdctl` (for data the CLI would refuse, e.g. a hostEndpoint with
 * neither interfaceName nor expectedIPs).
 *
 * Revisions: `put`/`del` return the etcd revision of the write. After CLI writes, `fence()`
 * re-puts `/calico/v1/Ready = true` (a no-op update the agent must still acknowledge) and
 * returns its revision, so `agent.waitForRevision(await ds.fence())` means "everything
 * written so far is programmed". Only valid once the datastore is ready.
 */
import { type NetNs, run, type RunResult } from "./netns.ts";
import { HOSTFENCE, REPO_ROOT } from "./paths.ts";

const WRITER = `${REPO_ROOT}/netlab/etcd_writer.ts`;

export const READY_KEY = "/calico/v1/Ready";

export interface CliResult extends RunResult {
  readonly argv: readonly string[];
}

/** Thrown when a CLI write that must succeed fails. */
export class CliError extends Error {
  override name = "CliError";
  constructor(readonly result: CliResult) {
    super(
      `hostfence ${result.argv.join(" ")} failed (exit ${result.code}):\n` +
        `${result.stderr.trim()}\n${result.stdout.trim()}`,
    );
  }
}

/** The datastore as a test or benchmark writes it. */
export class LabDatastore {
  constructor(readonly ns: NetNs, readonly endpoint: string) {}

  /** Runs `etcdctl` (v3) inside the etcd namespace. */
  etcdctl(args: readonly string[], stdin?: string): Promise<RunResult> {
    return this.ns.exec(["etcdctl", `--endpoints=${this.endpoint}`, ...args], {
      env: { ETCDCTL_API: "3" },
      ...(stdin === undefined ? {} : { stdin }),
    });
  }

  /** Puts a raw value; returns the write's revision. */
  async put(key: string, value: string): Promise<number> {
    // The value goes on stdin so JSON and leading dashes need no quoting.
    const r = await this.etcdctl(["put", key, "-w", "json"], value);
    return revisionOf(r.stdout);
  }

  /** Deletes a key (or every key under a prefix); returns the revision after the delete. */
  async del(key: string, opts: { prefix?: boolean } = {}): Promise<number> {
    const r = await this.etcdctl(["del", key, ...(opts.prefix ? ["--prefix"] : []), "-w", "json"]);
    return revisionOf(r.stdout);
  }

  /** The raw value at `key`, or undefined. */
  async get(key: string): Promise<string | undefined> {
    const r = await this.etcdctl(["get", key, "-w", "json"]);
    const j = JSON.parse(r.stdout) as { kvs?: Array<{ value: string }> };
    const kv = j.kvs?.[0];
    return kv === undefined ? undefined : atob(kv.value);
  }

  /** Every key under `prefix`. */
  async keys(prefix = "/calico/"): Promise<string[]> {
    const r = await this.etcdctl(["get", prefix, "--prefix", "--keys-only"]);
    return r.stdout.split("\n").filter((l) => l !== "");
  }

  /**
   * Bulk writes through netlab/etcd_writer.ts inside the etcd namespace: `repeat KEY
   * COUNT BYTES`, or `puts` with `{"key","value"}` lines on stdin. Returns the last revision.
   */
  async bulk(args: readonly string[], stdin?: string): Promise<number> {
    const r = await this.ns.exec([
      Deno.execPath(),
      "run",
      "--quiet",
      "--allow-all",
      "--config",
      `${REPO_ROOT}/deno.json`,
      WRITER,
      this.endpoint,
      ...args,
    ], stdin === undefined ? {} : { stdin });
    return Number(r.stdout.trim());
  }

  /** Compacts etcd's history up to `revision` and defragments, as an operator's cron would. */
  async compact(revision: number): Promise<void> {
    await this.etcdctl(["compact", String(revision), "--physical"]);
    await this.etcdctl(["defrag"]);
  }

  /** The current etcd revision. */
  async revision(): Promise<number> {
    const r = await this.etcdctl(["get", "/", "--limit=1", "-w", "json"]);
    return revisionOf(r.stdout);
  }

  /** Runs the hostfence CLI inside the etcd namespace against this etcd; never throws. */
  async cli(args: readonly string[], stdin?: string): Promise<CliResult> {
    const r = await run(this.ns.wrap([HOSTFENCE, ...args]), {
      env: { ETCD_ENDPOINTS: this.endpoint, NO_COLOR: "1" },
      allowFail: true,
      ...(stdin === undefined ? {} : { stdin }),
    });
    return { ...r, argv: args };
  }

  /** `hostfence <verb> -f -` with YAML on stdin; throws CliError unless it succeeds. */
  async write(verb: "create" | "apply" | "replace" | "delete", yaml: string): Promise<CliResult> {
    const r = await this.cli([verb, "-f", "-"], yaml);
    if (r.code !== 0) throw new CliError(r);
    return r;
  }

  /** `hostfence apply -f -`, then the fence revision (see the module doc). */
  async apply(yaml: string): Promise<number> {
    await this.write("apply", yaml);
    return await this.fence();
  }

  /** `hostfence delete <kind> <name> [--node=...]`, then the fence revision. */
  async deleteResource(kind: string, name: string, node?: string): Promise<number> {
    const r = await this.cli(["delete", kind, name, ...(node ? [`--node=${node}`] : [])]);
    if (r.code !== 0) throw new CliError(r);
    return await this.fence();
  }

  /** Re-puts the Ready flag; returns its revision (a sync point for waitForRevision). */
  fence(): Promise<number> {
    return this.put(READY_KEY, "true");
  }

  /** Sets a Felix config value (global, or per host) as raw text; returns the fence revision. */
  async setConfig(name: string, value: string | null, node?: string): Promise<number> {
    const key = node ? `/calico/v1/host/${node}/config/${name}` : `/calico/v1/config/${name}`;
    if (value === null) await this.del(key);
    else await this.put(key, value);
    return await this.fence();
  }

  /**
   * Removes every policy, profile, host/workload endpoint and config value (keeps nodes, the
   * Ready flag and ClusterGUID) so the next step starts from "nodes only"; returns the fence
   * revision.
   */
  async reset(): Promise<number> {
    await this.del("/calico/v1/policy/", { prefix: true });
    for (const key of await this.keys("/calico/v1/host/")) {
      if (/\/(endpoint|workload|config)\//.test(key)) await this.del(key);
    }
    for (const key of await this.keys("/calico/v1/config/")) {
      if (key !== "/calico/v1/config/ClusterGUID") await this.del(key);
    }
    return await this.fence();
  }
}

function revisionOf(json: string): number {
  const j = JSON.parse(json) as { header?: { revision?: number | string } };
  const r = Number(j.header?.revision);
  if (!Number.isInteger(r) || r <= 0) throw new Error(`No revision in etcdctl output: ${json}`);
  return r;
}
