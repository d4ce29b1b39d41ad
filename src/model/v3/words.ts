/**
 * The v3 spellings of the model's words, by codec: the v3 decoder reads them (exact
 * spelling; protocols also in lower case or as numbers) and the printer writes them back.
 * Pure data.
 */
import type { Action, PolicyType, Protocol } from "../resources.ts";

export const ACTIONS: Readonly<Record<string, Action>> = {
  Allow: "allow",
  Deny: "deny",
  Pass: "pass",
  Log: "log",
};

export const TYPES: Readonly<Record<string, PolicyType>> = { Ingress: "ingress", Egress: "egress" };

export const PROTOCOLS: Readonly<Record<string, Protocol>> = {
  TCP: "tcp",
  UDP: "udp",
  ICMP: "icmp",
  ICMPv6: "icmpv6",
  SCTP: "sctp",
  UDPLite: "udplite",
};
