/**
 * The lockout check: would a change cut inbound management access (by default the configured
 * failsafe inbound ports, e.g. tcp/22) from the management sources to any host endpoint
 * interface where it is open now? Both states are computed by the agents' own code
 * (agent/node_state.ts: calculation and nft builder) and judged by the interpreter through
 * `explain`, so the check cannot disagree with what the agents would program.
 */
import type { PortSpec } from "../calc/host_state.ts";
import { computeNodeState, nodesWithHostEndpoints } from "../agent/node_state.ts";
import type { Packet } from "../dataplane/evaluate.ts";
import { explain, type Explanation } from "../explain/explain.ts";
import type { ModelUpdate } from "../datastore/updates.ts";
import { familyOf, formatIp, networkOf, parseCidr } from "../net/ip.ts";

export interface LockoutOptions {
  /** Ports to keep open; default: each node's configured TCP failsafe inbound ports (before). */
  readonly keepOpen?: readonly PortSpec[];
  /** Source CIDRs management traffic comes from; each is tried at its first and last host. */
  readonly sources: readonly string[];
}

/** One path the change would close. */
export interface LockoutFinding {
  readonly node: string;
  readonly iface: string;
  readonly hostEndpoint: string;
  readonly port: PortSpec;
  readonly source: string;
  /** What would close it: the after-state's decision. */
  readonly closedBy: string;
}

/** Source port of the probe packets: an ephemeral port, as an ssh client's would be. */
const SPORT = 40000;

/** The first and last host address of a CIDR (the address itself for a single address). */
export function sampleAddresses(cidr: string): string[] {
  const c = parseCidr(cidr.includes("/") ? cidr : `${cidr}/${cidr.includes(":") ? 128 : 32}`);
  if (c === undefined) throw new RangeError(`'${cidr}' is not a CIDR`);
  const net = networkOf(c);
  const bits = c.ip.bytes.length * 8;
  if (c.prefix >= bits - 1) return [formatIp(c.ip)];
  const first = new Uint8Array(net.ip.bytes);
  first[first.length - 1]! |= 1;
  const last = new Uint8Array(net.ip.bytes);
  for (let i = 0; i < last.length; i++) {
    const hostBits = Math.max(0, Math.min(8, 8 * (i + 1) - c.prefix));
    last[i]! |= (1 << hostBits) - 1;
  }
  // The all-ones IPv4 address is broadcast: step back one.
  if (c.ip.family === 4) last[3]! -= 1;
  return [
    formatIp({ family: c.ip.family, bytes: first }),
    formatIp({ family: c.ip.family, bytes: last }),
  ];
}

function isOpen(x: Explanation): boolean {
  return x.verdict === "ALLOW" && (x.reply === undefined || x.reply.verdict === "ALLOW");
}

/**
 * Every (node, interface, port, source) that is open before and closed after. Nodes are those
 * with host endpoints before or after; interfaces come from their host endpoints' names.
 */
export async function lockoutCheck(
  before: readonly ModelUpdate[],
  after: readonly ModelUpdate[],
  opts: LockoutOptions,
): Promise<LockoutFinding[]> {
  const nodes = [...new Set([...nodesWithHostEndpoints(before), ...nodesWithHostEndpoints(after)])]
    .sort();
  const samples = opts.sources.flatMap(sampleAddresses);
  const findings: LockoutFinding[] = [];
  for (const node of nodes) {
    const b = await computeNodeState(before, node, { local: false });
    const a = await computeNodeState(after, node, { local: false });
    // Management is TCP (ssh and the like); udp failsafes (DHCP replies) are not checked.
    // A failsafe limited to a net is probed like any other: the packets decide whether it
    // protects a management source, so one outside the net is not counted as kept open.
    const tcpFailsafes = [
      ...new Set(
        b.host.config.failsafeInbound.filter((p) => p.protocol === "tcp").map((p) => p.port),
      ),
    ].map((port) => ({ protocol: "tcp", port }) as const);
    const ports = opts.keepOpen ??
      (tcpFailsafes.length > 0 ? tcpFailsafes : [{ protocol: "tcp", port: 22 } as const]);
    const ifaces = new Map(b.interfaces.map((i) => [i.name, i]));
    for (const i of a.interfaces) if (!ifaces.has(i.name)) ifaces.set(i.name, i);
    for (const [name, info] of [...ifaces].sort(([x], [y]) => x.localeCompare(y))) {
      const hep = a.host.interfaces.find((i) => i.iface === name)?.hostEndpoint ??
        b.host.interfaces.find((i) => i.iface === name)?.hostEndpoint;
      if (hep === undefined) continue; // not policed in either state
      for (const port of ports) {
        for (const src of samples) {
          const family = familyOf(src)!;
          if (family === 6 && !b.host.config.ipv6Support) continue;
          const dst = info.addrs.find((x) => familyOf(x) === family) ??
            (family === 4 ? "0.0.0.0" : "::");
          const packet: Packet = {
            path: "input",
            iif: name,
            family,
            src,
            dst,
            protocol: port.protocol === "tcp" ? 6 : 17,
            sport: SPORT,
            dport: port.port,
          };
          if (!isOpen(explain(node, b.host, b.state, packet))) continue;
          const x = explain(node, a.host, a.state, packet);
          if (isOpen(x)) continue;
          findings.push({
            node,
            iface: name,
            hostEndpoint: hep,
            port,
            source: src,
            closedBy: x.verdict === "DROP" ? x.decision : `reply: ${x.reply?.text}`,
          });
        }
      }
    }
  }
  return findings;
}

/** One line per node and interface: the ports and sources cut, and what cuts them. */
export function formatFindings(findings: readonly LockoutFinding[]): string[] {
  const by = new Map<string, LockoutFinding[]>();
  for (const f of findings) {
    const k = `${f.node}\u0000${f.iface}`;
    by.set(k, [...(by.get(k) ?? []), f]);
  }
  return [...by.values()].map((fs) => {
    const f = fs[0]!;
    const ports = [...new Set(fs.map((x) => `${x.port.protocol}/${x.port.port}`))].join(", ");
    const sources = [...new Set(fs.map((x) => x.source))]
      .sort((a, b) => familyOf(a)! - familyOf(b)! || (a < b ? -1 : a > b ? 1 : 0)).join(", ");
    const why = [...new Set(fs.map((x) => x.closedBy))].join("; ");
    return `node ${f.node} interface ${f.iface} (host endpoint ${f.hostEndpoint}): ` +
      `inbound ${ports} from ${sources} would be closed: ${why}`;
  });
}
