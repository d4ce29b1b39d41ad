/**
 * `hostfence render --help`, apart from the command so that the CLI can show it without
 * loading the command's code (etcd client, calculation, dataplane).
 */
export const RENDER_HELP = `Usage:
  hostfence render --node NAME [--interface NAME[=ADDR,...]]...
                   [--etcd-endpoints URLS] [-c FILE] [--policy-dir DIR]

Prints the nftables ruleset that 'hostfence agent' on node NAME would program,
computed from the datastore by the agent's own code, without touching this
machine's firewall.

Options:
  --node NAME            The node (FelixHostname) to render for. Required.
  --interface SPEC       An interface of that node, NAME or NAME=ADDR,ADDR (repeatable).
                         Without it: this machine's interfaces when NAME is this host,
                         else one interface per host endpoint that names one.
  --etcd-endpoints URLS  Comma-separated etcd endpoints (else -c, else ETCD_ENDPOINTS).
  -c, --config FILE      calicoctl-style config file (default /etc/calico/calicoctl.cfg).
  --policy-dir DIR       Read the resources from the YAML files of DIR, as an agent with
                         DatastoreType=local does, instead of etcd.
  -h, --help             Show this help.

Felix parameters come from the datastore (global and the node's own) and from
FELIX_* environment variables.`;
