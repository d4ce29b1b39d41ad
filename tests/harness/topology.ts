/**
 * The test network: a handful of namespaces wired like a small site, every address from the
 * benchmarking ranges 198.18.0.0/15 and 2001:db8::/32. Nothing in the root namespace is
 * created or changed: every link is made inside the namespaces and etcd lives in one of them.
 *
 * ```
 *            E (etcd 198.18.0.1:2379, "management"; bridge br0 198.18.0.0/24, 2001:db8::/64)
 *            |  mgmt0 of h1 = 198.18.0.11     mgmt0 of h2 = 198.18.0.12
 *   R ---- eth0 [h1] eth1 ---- R2               h2 --eth0-- (into R's bridge)
 *   (bridge br0 198.18.1.0/24)  |  (198.18.2.0/24)
 *                             cali1
 *                               |
 *                               W (workload 198.18.3.2)
 * ```
 *
 * | namespace | interface | IPv4 | IPv6 |
 * |---|---|---|---|
 * | E | br0 | 198.18.0.1/24 | 2001:db8::1/64 |
 * | h1 | mgmt0 | 198.18.0.11/24 | 2001:db8::11/64 |
 * | h1 | eth0 | 198.18.1.1/24 | 2001:db8:1::1/64 |
 * | h1 | eth1 | 198.18.2.1/24 | 2001:db8:2::1/64 |
 * | h1 | cali1 | 198.18.3.1/24 | 2001:db8:3::1/64 |
 * | R | br0 | 198.18.1.2/24 and 198.18.9.2/24 (an "outside" source) | 2001:db8:1::2/64 |
 * | R2 | eth0 | 198.18.2.2/24 | 2001:db8:2::2/64 |
 * | W | eth0 | 198.18.3.2/24 | 2001:db8:3::2/64 |
 * | h2 | mgmt0 | 198.18.0.12/24 | 2001:db8::12/64 |
 * | h2 | eth0 | 198.18.1.3/24 | 2001:db8:1::3/64 |
 *
 * R, R2 and W route everything via h1; h1 routes 198.18.9.0/24 via R. h1 forwards (v4 and v6)
 * when `forwarding` is set. The management network reaches etcd and stands for the
 * operator's management CIDR (198.18.0.0/24).
 */
import { cleanLeftovers, NetNs, veth } from "../../netlab/netns.ts";
import {
  type EtcdCluster,
  type EtcdServer,
  startEtcd,
  startEtcdCluster,
} from "../../netlab/etcd.ts";
import { ProbeDaemon } from "../../netlab/probe.ts";

/** Every address the tests use, by name. */
export const ADDR = {
  etcd: "198.18.0.1",
  etcd6: "2001:db8::1",
  mgmtCidr: "198.18.0.0/24",
  h1Mgmt: "198.18.0.11",
  h1Mgmt6: "2001:db8::11",
  h2Mgmt: "198.18.0.12",
  h1Eth0: "198.18.1.1",
  h1Eth0v6: "2001:db8:1::1",
  h1Eth1: "198.18.2.1",
  h1Eth1v6: "2001:db8:2::1",
  h1Cali: "198.18.3.1",
  h1Cali6: "2001:db8:3::1",
  r: "198.18.1.2",
  r6: "2001:db8:1::2",
  /** A second source address on R, outside 198.18.1.0/24 (routed to h1 via eth0). */
  rOutside: "198.18.9.2",
  rNet: "198.18.1.0/24",
  r2: "198.18.2.2",
  r2v6: "2001:db8:2::2",
  w: "198.18.3.2",
  w6: "2001:db8:3::2",
  h2Eth0: "198.18.1.3",
  h2Eth0v6: "2001:db8:1::3",
} as const;

/** `hostfence explain`'s packet arguments: tcp from `src` to `dst`, into h1 on eth0. */
export function tcpIntoH1Eth0(src: string, dst: string, port: number | string): string[] {
  return ["--node", "h1", "--in", "eth0", "--src", src, "--dst", dst, "tcp", String(port)];
}

export const ETCD_PORT = 2379;

/** The members' addresses in E when the topology runs an etcd cluster. */
export const ETCD_CLUSTER = ["198.18.0.1", "198.18.0.2", "198.18.0.3"] as const;

export interface TopologyOptions {
  /** Also create h2 (on the management bridge and on R's segment). */
  readonly h2?: boolean;
  /** Enable IPv4/IPv6 forwarding in h1 (default true). */
  readonly forwarding?: boolean;
  /** Start etcd in E (default true). */
  readonly etcd?: boolean;
  /**
   * Run a three-member etcd cluster in E instead (198.18.0.1, .2 and .3, port 2379 each);
   * `etcdEndpoint` then lists all three and `etcd` is the first member.
   */
  readonly etcdCluster?: boolean;
  /** More flags for that etcd (e.g. a larger `--max-request-bytes`). */
  readonly etcdArgs?: readonly string[];
  /** TCP/UDP ports every namespace's probe daemon serves (echo), v4 and v6. */
  readonly tcpPorts?: readonly number[];
  readonly udpPorts?: readonly number[];
}

/** The built network; dispose removes everything (processes, etcd, namespaces). */
export interface Topology extends AsyncDisposable {
  readonly group: string;
  readonly e: NetNs;
  readonly h1: NetNs;
  readonly h2?: NetNs;
  readonly r: NetNs;
  readonly r2: NetNs;
  readonly w: NetNs;
  /** Probe daemons (echo servers + probe clients), one per namespace. */
  readonly probe: {
    readonly e: ProbeDaemon;
    readonly h1: ProbeDaemon;
    readonly h2?: ProbeDaemon;
    readonly r: ProbeDaemon;
    readonly r2: ProbeDaemon;
    readonly w: ProbeDaemon;
  };
  /** etcd inside E at `http://198.18.0.1:2379` (absent when `etcd: false`). */
  readonly etcd?: EtcdServer;
  /** Every etcd member (one unless `etcdCluster`). */
  readonly etcdMembers: readonly EtcdServer[];
  /** The client URL(s), comma-separated. */
  readonly etcdEndpoint: string;
  /** Every namespace, for loops. */
  readonly all: readonly NetNs[];
}

/** Default echo ports: ssh-ish 22, a web port 80/81/443, 2222, 8080/8081, 9091, 999, 2379. */
export const DEFAULT_TCP_PORTS = [22, 80, 81, 443, 999, 2222, 2379, 8080, 8081, 9091] as const;
export const DEFAULT_UDP_PORTS = [53, 67, 68, 999, 9091] as const;

function randomGroup(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `${Deno.pid}-${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

async function prepNs(ns: NetNs, forwarding: boolean): Promise<void> {
  // DAD off before any link exists, so IPv6 addresses (global and link-local) work at once.
  const lines = [
    "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0",
    "net.ipv6.conf.all.accept_ra=0",
    "net.ipv6.conf.default.accept_ra=0",
    `net.ipv4.ip_forward=${forwarding ? 1 : 0}`,
    `net.ipv6.conf.all.forwarding=${forwarding ? 1 : 0}`,
  ];
  await ns.exec(["sysctl", "-q", "-w", ...lines]);
}

/** Builds the network, starts etcd in E and a probe daemon in every namespace. */
export async function buildTopology(opts: TopologyOptions = {}): Promise<Topology> {
  await cleanLeftovers();
  const group = randomGroup();
  const made: NetNs[] = [];
  const daemons: ProbeDaemon[] = [];
  let etcd: EtcdServer | undefined;
  let cluster: EtcdCluster | undefined;
  const teardown = async () => {
    for (const d of daemons) await d.close().catch(() => {});
    if (cluster) await Promise.resolve(cluster[Symbol.asyncDispose]()).catch(() => {});
    else if (etcd) await Promise.resolve(etcd[Symbol.asyncDispose]()).catch(() => {});
    for (const ns of made.reverse()) await ns.remove().catch(() => {});
  };
  try {
    const mk = async (role: string, fwd = false) => {
      const ns = await NetNs.create(role, group);
      made.push(ns);
      await prepNs(ns, fwd);
      return ns;
    };
    const e = await mk("E");
    const h1 = await mk("h1", opts.forwarding ?? true);
    const r = await mk("R", true);
    const r2 = await mk("R2", true);
    const w = await mk("W");
    const h2 = opts.h2 ? await mk("h2") : undefined;

    await e.ipBatch(["link add br0 type bridge", "link set br0 up"]);
    await r.ipBatch(["link add br0 type bridge", "link set br0 up"]);
    await veth(h1, "mgmt0", e, "m-h1");
    await veth(h1, "eth0", r, "p-h1");
    await veth(h1, "eth1", r2, "eth0");
    await veth(h1, "cali1", w, "eth0");
    if (h2) {
      await veth(h2, "mgmt0", e, "m-h2");
      await veth(h2, "eth0", r, "p-h2");
    }
    await e.ipBatch([
      "link set m-h1 master br0",
      "link set m-h1 up",
      ...(h2 ? ["link set m-h2 master br0", "link set m-h2 up"] : []),
      "addr add 198.18.0.1/24 dev br0",
      "addr add 2001:db8::1/64 dev br0 nodad",
      ...(opts.etcdCluster ? ETCD_CLUSTER.slice(1).map((a) => `addr add ${a}/24 dev br0`) : []),
    ]);
    await r.ipBatch([
      "link set p-h1 master br0",
      "link set p-h1 up",
      ...(h2 ? ["link set p-h2 master br0", "link set p-h2 up"] : []),
      "addr add 198.18.1.2/24 dev br0",
      "addr add 198.18.9.2/24 dev br0",
      "addr add 2001:db8:1::2/64 dev br0 nodad",
      "route add default via 198.18.1.1",
      "route add default via 2001:db8:1::1",
    ]);
    await h1.ipBatch([
      "addr add 198.18.0.11/24 dev mgmt0",
      "addr add 2001:db8::11/64 dev mgmt0 nodad",
      "addr add 198.18.1.1/24 dev eth0",
      "addr add 2001:db8:1::1/64 dev eth0 nodad",
      "addr add 198.18.2.1/24 dev eth1",
      "addr add 2001:db8:2::1/64 dev eth1 nodad",
      "addr add 198.18.3.1/24 dev cali1",
      "addr add 2001:db8:3::1/64 dev cali1 nodad",
      "link set mgmt0 up",
      "link set eth0 up",
      "link set eth1 up",
      "link set cali1 up",
      "route add 198.18.9.0/24 via 198.18.1.2 dev eth0",
    ]);
    await r2.ipBatch([
      "addr add 198.18.2.2/24 dev eth0",
      "addr add 2001:db8:2::2/64 dev eth0 nodad",
      "link set eth0 up",
      "route add default via 198.18.2.1",
      "route add default via 2001:db8:2::1",
    ]);
    await w.ipBatch([
      "addr add 198.18.3.2/24 dev eth0",
      "addr add 2001:db8:3::2/64 dev eth0 nodad",
      "link set eth0 up",
      "route add default via 198.18.3.1",
      "route add default via 2001:db8:3::1",
    ]);
    if (h2) {
      await h2.ipBatch([
        "addr add 198.18.0.12/24 dev mgmt0",
        "addr add 2001:db8::12/64 dev mgmt0 nodad",
        "addr add 198.18.1.3/24 dev eth0",
        "addr add 2001:db8:1::3/64 dev eth0 nodad",
        "link set mgmt0 up",
        "link set eth0 up",
      ]);
    }

    const start = async (ns: NetNs) => {
      const d = await ProbeDaemon.start(ns);
      daemons.push(d);
      // etcd owns 2379/2380 in E.
      const tcp = (opts.tcpPorts ?? DEFAULT_TCP_PORTS).filter((p) =>
        ns !== e || (p !== ETCD_PORT && p !== ETCD_PORT + 1)
      );
      await d.serve({ tcp, udp: opts.udpPorts ?? DEFAULT_UDP_PORTS });
      return d;
    };
    const [pe, ph1, pr, pr2, pw, ph2] = await Promise.all([
      start(e),
      start(h1),
      start(r),
      start(r2),
      start(w),
      h2 ? start(h2) : Promise.resolve(undefined),
    ]);
    if (opts.etcdCluster) {
      cluster = await startEtcdCluster({ netns: e.name, hosts: ETCD_CLUSTER });
      etcd = cluster.members[0];
    } else if (opts.etcd ?? true) {
      etcd = await startEtcd({
        netns: e.name,
        host: ADDR.etcd,
        port: ETCD_PORT,
        ...(opts.etcdArgs ? { extraArgs: opts.etcdArgs } : {}),
      });
    }
    const all = made.slice();
    return {
      group,
      e,
      h1,
      ...(h2 ? { h2 } : {}),
      r,
      r2,
      w,
      probe: { e: pe, h1: ph1, r: pr, r2: pr2, w: pw, ...(ph2 ? { h2: ph2 } : {}) },
      ...(etcd ? { etcd } : {}),
      etcdMembers: cluster ? cluster.members : etcd ? [etcd] : [],
      etcdEndpoint: cluster ? cluster.endpoints.join(",") : `http://${ADDR.etcd}:${ETCD_PORT}`,
      all,
      async [Symbol.asyncDispose]() {
        await teardown();
      },
    };
  } catch (e) {
    await teardown();
    throw e;
  }
}
