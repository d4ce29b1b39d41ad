/**
 * `hostfence status --help`, apart from the command so that the CLI can show it without
 * loading the command's code (the etcd client).
 */
export const STATUS_HELP = `Usage:
  hostfence status [--node=<NODE>] [--output=<OUTPUT>] [--config=<CONFIG>]
                   [--etcd-endpoints=<URLS>]

Examples:
  # Show the agent heartbeat and host endpoint states of every node.
  hostfence status

  # Show one node, as JSON.
  hostfence status --node=host1 -o json

Options:
  -h --help                  Show this screen.
  -n --node=<NODE>           Show only this node.
  -o --output=<OUTPUT>       Output format, one of: table, json. [default: table]
  -c --config=<CONFIG>       Path to the file containing connection configuration in
                             YAML or JSON format. [default: /etc/calico/calicoctl.cfg]
     --etcd-endpoints=<URLS> Comma-separated etcd endpoints; overrides the config file
                             and the ETCD_ENDPOINTS environment variable.

Description:
  For every node (each /calico/v1/host/<node>/ directory, and each node that ever
  reported), prints:
    HEARTBEAT    live: the agent reported within ReportingTTLSecs (its lease-bound
                 status key exists); EXPIRED: it stopped reporting (only
                 last_reported_status is left); NEVER: no agent ever reported.
    LAST REPORT  the time of the newest report (UTC); AGE: how long ago that was.
    UPTIME       the agent's uptime at that report.
    ENDPOINTS    each host endpoint of the node with the status its agent reported:
                 up, down, error, or unknown (EndpointReportingEnabled is off, or the
                 agent has not reported it).

  With PolicyAuditMode on, a second table lists the packets each node accepted
  that policy would have dropped: per policy or profile (its deny rules) and per
  host endpoint (no policy allowed, no profile allowed, default drop), as the
  agent last published them (every 5 s). With -o json: each node's wouldDrops.

  An agent with DatastoreType=local (a policy directory instead of etcd) writes
  nothing to etcd: it has no heartbeat here. Read its log instead.
`;
