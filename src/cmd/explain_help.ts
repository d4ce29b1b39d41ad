/**
 * `hostfence explain --help`, apart from the command so that the CLI can show it without
 * loading the command's code (etcd client, calculation, dataplane).
 */
export const EXPLAIN_HELP = `Usage:
  hostfence explain --node NAME (--in IFACE | --out IFACE | --forward IN OUT)
                    --src ADDR --dst ADDR [--sport PORT]
                    (tcp PORT | udp PORT | icmp [TYPE [CODE]])
                    [--interface NAME[=ADDR,...]]... [-o text|json]
                    [--etcd-endpoints URLS] [-c FILE] [--policy-dir DIR]

Explains why one new packet is allowed or dropped on node NAME: it runs the packet
through the exact nftables ruleset the agent on NAME would program (the one
'hostfence render' prints), computed from the datastore, without touching this
machine's firewall. It prints each stage in order (untracked, pre-DNAT, failsafe,
normal policies, profiles, default) with the policy, rule number and verdict
that decided, and whether conntrack accepts a reply first.

Examples:
  hostfence explain --node h1 --in eth0 --src 198.18.0.20 --dst 198.18.1.1 tcp 22
  hostfence explain --node h1 --out eth0 --src 2001:db8:1::1 --dst 2001:db8::1 udp 53
  hostfence explain --node h1 --forward eth0 eth1 --src 198.18.1.2 \\
                    --dst 198.18.2.2 icmp 8 0 -o json

Options:
  --node NAME            The node (FelixHostname). Required.
  --in IFACE             The packet arrives on IFACE for the host itself.
  --out IFACE            The host sends the packet out of IFACE.
  --forward IN OUT       The host forwards the packet from IN to OUT.
  --src ADDR, --dst ADDR Source and destination address (IPv4 or IPv6, one family).
  --sport PORT           Source port for tcp/udp (default 40000).
  tcp PORT, udp PORT     Protocol and destination port.
  icmp [TYPE [CODE]]     ICMP (ICMPv6 with IPv6 addresses); default echo request.
  --interface SPEC       An interface of that node, NAME or NAME=ADDR,ADDR (repeatable),
                         as for 'hostfence render'.
  -o, --output FORMAT    text (default) or json (the same explanation as data).
  --etcd-endpoints URLS  Comma-separated etcd endpoints (else -c, else ETCD_ENDPOINTS).
  -c, --config FILE      calicoctl-style config file (default /etc/calico/calicoctl.cfg).
  --policy-dir DIR       Read the resources from the YAML files of DIR, as an agent with
                         DatastoreType=local does, instead of etcd.
  -h, --help             Show this help.

Routing and DNAT are not modelled: the interfaces given are the ones the packet
uses. Exit status 0 whatever the verdict; 1 for a packet description that makes
no sense, an unknown node or interface, or an unreachable datastore.`;
