/**
 * `hostfence explain` arguments -> a packet for the interpreter (src/explain). Pure, so every way a packet
 * description can make no sense gets its own clear message (tested without etcd).
 */
import { canonicalIp, familyOf } from "../net/ip.ts";
import type { Packet } from "../dataplane/evaluate.ts";
import {
  InvalidOptionError,
  listFlag,
  NODE_STATE_OPTIONS,
  type OptionSpec,
  parseCommand,
  stringFlag,
} from "./args.ts";

/** A packet description that makes no sense; the message says which part and why. */
export class PacketArgsError extends Error {}

export interface ExplainArgs {
  readonly help: boolean;
  readonly node?: string;
  readonly packet?: Packet;
  readonly interfaces: readonly string[];
  readonly etcdEndpoints?: string;
  readonly config?: string;
  /** Read the resources from this directory (DatastoreType=local) instead of etcd. */
  readonly policyDir?: string;
  readonly output: "text" | "json";
}

/** Source port used when `--sport` is not given: an ephemeral port, as a client would pick. */
export const DEFAULT_SPORT = 40000;

function port(text: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new PacketArgsError(`${what} '${text}' is not a port (1-65535)`);
  }
  return Number(text);
}

function byte(text: string, what: string): number {
  if (!/^[0-9]{1,3}$/.test(text) || Number(text) > 255) {
    throw new PacketArgsError(`${what} '${text}' is not a number 0-255`);
  }
  return Number(text);
}

function ifname(text: string, flag: string): string {
  if (!/^[a-zA-Z0-9_.@:-]{1,15}$/.test(text)) {
    throw new PacketArgsError(`${flag} '${text}' is not an interface name`);
  }
  return text;
}

const EXPLAIN_OPTIONS: OptionSpec = {
  ...NODE_STATE_OPTIONS,
  in: { type: "string" },
  out: { type: "string" },
  src: { type: "string" },
  dst: { type: "string" },
  sport: { type: "string" },
  output: { type: "string", short: "o" },
};

/** Parses the command line after `explain` with the CLI's one parser (src/cmd/args.ts). */
export function parseExplainArgs(argv: readonly string[]): ExplainArgs {
  const { args, forward } = _takeForward(argv);
  let p;
  try {
    p = parseCommand(["explain", ...argv], args, EXPLAIN_OPTIONS, { lastWins: true });
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    throw new PacketArgsError(`Invalid option: ${err.reason}`);
  }
  const values = {
    node: stringFlag(p, "node"),
    in: stringFlag(p, "in"),
    out: stringFlag(p, "out"),
    src: stringFlag(p, "src"),
    dst: stringFlag(p, "dst"),
    sport: stringFlag(p, "sport"),
    interface: p.values.interface === undefined ? undefined : listFlag(p, "interface"),
    "etcd-endpoints": stringFlag(p, "etcd-endpoints"),
    config: stringFlag(p, "config"),
    "policy-dir": stringFlag(p, "policy-dir"),
    output: stringFlag(p, "output"),
    help: p.values.help === true,
  };
  const output = values.output ?? "text";
  if (output !== "text" && output !== "json") {
    throw new PacketArgsError(`-o '${output}' is not an output format (text or json)`);
  }
  const common = {
    interfaces: values.interface ?? [],
    ...(values["etcd-endpoints"] ? { etcdEndpoints: values["etcd-endpoints"] } : {}),
    ...(values.config ? { config: values.config } : {}),
    ...(values["policy-dir"] ? { policyDir: values["policy-dir"] } : {}),
    output,
  } as const;
  if (values.help) return { help: true, ...common };
  if (!values.node) throw new PacketArgsError("--node NAME is required");

  const { path, iif, oif } = _path(values.in, values.out, forward);
  const { src, dst, family } = _addresses(values.src, values.dst);
  const l4 = _layer4(p.positionals, values.sport, family);
  const packet: Packet = {
    path,
    ...(iif !== undefined ? { iif } : {}),
    ...(oif !== undefined ? { oif } : {}),
    family,
    src,
    dst,
    ...l4,
  };
  return { help: false, node: values.node, packet, ...common };
}

/** `--forward IN OUT` takes two values, which parseArgs cannot express: takes it out first. */
function _takeForward(
  argv: readonly string[],
): { args: string[]; forward: [string, string] | undefined } {
  const args: string[] = [];
  let forward: [string, string] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--forward") {
      const inIf = argv[i + 1];
      const outIf = argv[i + 2];
      if (
        inIf === undefined || outIf === undefined || inIf.startsWith("-") || outIf.startsWith("-")
      ) {
        throw new PacketArgsError("--forward needs two interfaces: --forward IN OUT");
      }
      if (forward !== undefined) throw new PacketArgsError("--forward is given twice");
      forward = [ifname(inIf, "--forward"), ifname(outIf, "--forward")];
      i += 2;
    } else args.push(a);
  }
  return { args, forward };
}

/** The packet's path: exactly one of --in, --out, --forward. */
function _path(
  inIf: string | undefined,
  outIf: string | undefined,
  forward: [string, string] | undefined,
): { path: Packet["path"]; iif: string | undefined; oif: string | undefined } {
  const given = [inIf, outIf, forward].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw new PacketArgsError(
      given === 0
        ? "say where the packet goes: --in IFACE (to the host), --out IFACE (from the host) " +
          "or --forward IN OUT"
        : "give only one of --in, --out and --forward (a forwarded packet is --forward IN OUT)",
    );
  }
  const path: Packet["path"] = forward ? "forward" : inIf !== undefined ? "input" : "output";
  const iif = forward?.[0] ?? (inIf !== undefined ? ifname(inIf, "--in") : undefined);
  const oif = forward?.[1] ?? (outIf !== undefined ? ifname(outIf, "--out") : undefined);
  if (forward && forward[0] === forward[1]) {
    throw new PacketArgsError(`--forward ${forward[0]} ${forward[1]}: in and out are the same`);
  }
  return { path, iif, oif };
}

/** --src and --dst: both given, both addresses, one family. */
function _addresses(
  srcText: string | undefined,
  dstText: string | undefined,
): { src: string; dst: string; family: 4 | 6 } {
  if (srcText === undefined || dstText === undefined) {
    throw new PacketArgsError("--src ADDR and --dst ADDR are both required");
  }
  const src = canonicalIp(srcText);
  const dst = canonicalIp(dstText);
  if (src === undefined) throw new PacketArgsError(`--src '${srcText}' is not an IP address`);
  if (dst === undefined) throw new PacketArgsError(`--dst '${dstText}' is not an IP address`);
  const family = familyOf(src)!;
  if (familyOf(dst) !== family) {
    throw new PacketArgsError(
      `--src ${src} is IPv${family} but --dst ${dst} is IPv${
        familyOf(dst)
      }: one packet has one family`,
    );
  }
  return { src, dst, family };
}

/** The protocol words (`tcp PORT`, `udp PORT`, `icmp [TYPE [CODE]]`) and --sport. */
function _layer4(
  positionals: readonly string[],
  sport: string | undefined,
  family: 4 | 6,
): Pick<Packet, "protocol" | "sport" | "dport" | "icmpType" | "icmpCode"> {
  const [word, ...rest] = positionals;
  if (word === undefined) {
    throw new PacketArgsError("say the protocol: tcp PORT, udp PORT or icmp [TYPE [CODE]]");
  }
  const w = word.toLowerCase();
  if (w === "tcp" || w === "udp") {
    if (rest.length !== 1) {
      throw new PacketArgsError(`${w} needs exactly one destination port: ${w} PORT`);
    }
    return {
      protocol: w === "tcp" ? 6 : 17,
      sport: sport === undefined ? DEFAULT_SPORT : port(sport, "--sport"),
      dport: port(rest[0]!, `${w} port`),
    };
  }
  if (w === "icmp" || w === "icmpv6") {
    if (sport !== undefined) throw new PacketArgsError(`--sport makes no sense for ${w}`);
    if (w === "icmpv6" && family === 4) {
      throw new PacketArgsError("icmpv6 needs IPv6 addresses (icmp with IPv6 addresses is ICMPv6)");
    }
    if (rest.length > 2) throw new PacketArgsError(`${w} takes at most a type and a code`);
    const type = rest[0] === undefined ? (family === 4 ? 8 : 128) : byte(rest[0], `${w} type`);
    const code = rest[1] === undefined ? 0 : byte(rest[1], `${w} code`);
    return { protocol: family === 4 ? 1 : 58, icmpType: type, icmpCode: code };
  }
  throw new PacketArgsError(
    `'${word}' is not a protocol here: use tcp PORT, udp PORT or icmp [TYPE [CODE]]`,
  );
}
