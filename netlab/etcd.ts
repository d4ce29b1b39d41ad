/**
 * A throwaway etcd for tests: its own data dir, a free loopback port (or an address inside
 * a network namespace), stopped and removed by `await using`.
 */

export interface EtcdServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly dataDir: string;
  /** The etcd process id (`ip netns exec` execs etcd), for SIGSTOP/SIGCONT fault tests. */
  readonly pid: number;
  /** Stops the process (SIGTERM, then SIGKILL); the data dir is kept until dispose. */
  stop(): Promise<void>;
  /** Starts it again on the same address and data dir (for restart tests). */
  restart(): Promise<void>;
}

export interface EtcdOptions {
  /** Run inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** Client port; default: a free port. */
  readonly port?: number;
  /** Serve clients over TLS and require client certificates signed by `caFile`. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
  /** More etcd flags, e.g. `["--max-request-bytes=10485760"]`. */
  readonly extraArgs?: readonly string[];
  /** Member of a cluster: its name, peer port and the whole `--initial-cluster` list. */
  readonly member?: { readonly name: string; readonly peerPort: number; readonly cluster: string };
}

/** True when an `etcd` binary is on PATH. */
export function haveEtcd(): boolean {
  try {
    const r = new Deno.Command("etcd", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitHealthy(
  endpoint: string,
  netns: string | undefined,
  child: Deno.ChildProcess,
  tls: EtcdOptions["tls"],
) {
  const deadline = Date.now() + 15_000;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new EtcdStartError(`etcd exited during start-up (${endpoint})`);
    const args = [
      "--endpoints",
      endpoint,
      "--dial-timeout=1s",
      "--command-timeout=1s",
      "endpoint",
      "health",
      // The harness only asks "is it up?"; certificate checks are the tests' business.
      ...(tls
        ? ["--cacert", tls.caFile, "--cert", tls.certFile, "--key", tls.keyFile]
          .concat(["--insecure-skip-tls-verify"])
        : []),
    ];
    const cmd = netns
      ? new Deno.Command("ip", {
        args: ["netns", "exec", netns, "etcdctl", ...args],
        stdout: "null",
        stderr: "null",
        env: { ETCDCTL_API: "3" },
      })
      : new Deno.Command("etcdctl", {
        args,
        stdout: "null",
        stderr: "null",
        env: { ETCDCTL_API: "3" },
      });
    if ((await cmd.output()).success) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${endpoint} did not become healthy within 15 s`);
}

/**
 * Starts etcd and waits until it answers. With ports picked here, a start that fails (another
 * process took a "free" port between the pick and etcd's bind) is retried on new ports.
 */
export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  const tries = opts.port === undefined && !opts.netns ? 3 : 1;
  for (let i = 1;; i++) {
    try {
      return await _startEtcdOnce(opts);
    } catch (err) {
      if (i >= tries || !(err instanceof EtcdStartError)) throw err;
    }
  }
}

/** etcd exited before it became healthy. */
class EtcdStartError extends Error {}

async function _startEtcdOnce(opts: EtcdOptions): Promise<EtcdServer> {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? (opts.netns ? 2379 : freePort());
  const peerPort = opts.member?.peerPort ?? (opts.netns ? 2380 : freePort());
  const name = opts.member?.name ?? "hostfence-test";
  const dataDir = await Deno.makeTempDir({ prefix: "hostfence-etcd-" });
  const bracket = host.includes(":") ? `[${host}]` : host;
  const endpoint = `${opts.tls ? "https" : "http"}://${bracket}:${port}`;
  const etcdArgs = [
    "--name",
    name,
    "--data-dir",
    dataDir,
    "--listen-client-urls",
    endpoint,
    "--advertise-client-urls",
    endpoint,
    "--listen-peer-urls",
    `http://${bracket}:${peerPort}`,
    "--initial-advertise-peer-urls",
    `http://${bracket}:${peerPort}`,
    "--initial-cluster",
    opts.member?.cluster ?? `${name}=http://${bracket}:${peerPort}`,
    "--initial-cluster-token",
    `hostfence-${Deno.pid}`,
    "--log-level",
    "error",
    ...(opts.extraArgs ?? []),
    ...(opts.tls
      ? [
        "--cert-file",
        opts.tls.certFile,
        "--key-file",
        opts.tls.keyFile,
        "--trusted-ca-file",
        opts.tls.caFile,
        "--client-cert-auth",
      ]
      : []),
  ];
  let child: Deno.ChildProcess;
  const spawn = () => {
    const cmd = opts.netns
      ? new Deno.Command("ip", {
        args: ["netns", "exec", opts.netns, "etcd", ...etcdArgs],
        stdout: "null",
        stderr: "piped",
      })
      : new Deno.Command("etcd", { args: etcdArgs, stdout: "null", stderr: "piped" });
    child = cmd.spawn();
    // Drain stderr so etcd never blocks on a full pipe.
    child.stderr.pipeTo(new WritableStream()).catch(() => {});
  };
  const stop = () => terminate(child);
  spawn();
  try {
    await waitHealthy(endpoint, opts.netns, child!, opts.tls);
  } catch (err) {
    await stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw err;
  }
  let stopped = false;
  return {
    endpoint,
    dataDir,
    get pid() {
      return child!.pid;
    },
    async stop() {
      if (!stopped) await stop();
      stopped = true;
    },
    async restart() {
      if (!stopped) await stop();
      spawn();
      stopped = false;
      await waitHealthy(endpoint, opts.netns, child!, opts.tls);
    },
    async [Symbol.asyncDispose]() {
      if (!stopped) await stop();
      stopped = true;
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A throwaway etcd cluster; dispose stops every member and removes their data. */
export interface EtcdCluster extends AsyncDisposable {
  readonly members: readonly EtcdServer[];
  /** Every member's client URL. */
  readonly endpoints: readonly string[];
}

/**
 * Starts one etcd member per address in `hosts` (inside `netns`, ports 2379/2380 each) or,
 * without a namespace, on loopback with free ports; returns when every member answers.
 */
export async function startEtcdCluster(
  opts: { readonly netns?: string; readonly hosts: readonly string[] },
): Promise<EtcdCluster> {
  const plan = opts.hosts.map((host, i) => ({
    host,
    name: `m${i}`,
    port: opts.netns ? 2379 : freePort(),
    peerPort: opts.netns ? 2380 : freePort(),
  }));
  const cluster = plan.map((m) => `${m.name}=http://${m.host}:${m.peerPort}`).join(",");
  // All at once: no member is healthy until a quorum has formed.
  const started = await Promise.allSettled(plan.map((m) =>
    _startEtcdOnce({
      ...(opts.netns ? { netns: opts.netns } : {}),
      host: m.host,
      port: m.port,
      member: { name: m.name, peerPort: m.peerPort, cluster },
    })
  ));
  const members = started.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    for (const m of members) await m[Symbol.asyncDispose]();
    throw (failed as PromiseRejectedResult).reason;
  }
  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    async [Symbol.asyncDispose]() {
      for (const m of members) await m[Symbol.asyncDispose]();
    },
  };
}

/** A running `etcd grpc-proxy`; dispose stops it and removes its data dir. */
export interface GrpcProxy extends AsyncDisposable {
  /** `http://ADDR:PORT`: what clients are given instead of the members. */
  readonly endpoint: string;
  readonly pid: number;
}

/**
 * Starts etcd's own gRPC proxy (`etcd grpc-proxy start`, in Debian's etcd-server) in front of
 * `endpoints`, listening on `host:port` (inside `netns` when given), and waits until it
 * answers. It coalesces identical watches of its clients into one watch on the cluster.
 */
export async function startGrpcProxy(opts: {
  readonly endpoints: readonly string[];
  readonly host?: string;
  readonly port?: number;
  readonly netns?: string;
}): Promise<GrpcProxy> {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? (opts.netns ? 23790 : freePort());
  const endpoint = `http://${host}:${port}`;
  const dataDir = await Deno.makeTempDir({ prefix: "hostfence-grpc-proxy-" });
  const args = [
    "grpc-proxy",
    "start",
    `--endpoints=${opts.endpoints.map((e) => e.replace(/^https?:\/\//, "")).join(",")}`,
    `--listen-addr=${host}:${port}`,
    `--advertise-client-url=${host}:${port}`,
    `--data-dir=${dataDir}`,
  ];
  const argv = opts.netns
    ? ["ip", "netns", "exec", opts.netns, "etcd", ...args]
    : ["etcd", ...args];
  const child = new Deno.Command(argv[0]!, { args: argv.slice(1), stdout: "null", stderr: "piped" })
    .spawn();
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  const stop = () => terminate(child);
  try {
    await waitHealthy(endpoint, opts.netns, child, undefined);
  } catch (err) {
    await stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw err;
  }
  return {
    endpoint,
    pid: child.pid,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone (at once if it was). */
async function terminate(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, 5000);
  await child.status;
  clearTimeout(timer);
}
