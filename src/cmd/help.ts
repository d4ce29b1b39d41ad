/**
 * Help texts, one per command. They are checked against golden files
 * (tests/golden/cli/*.txt) so a change in wording shows up in review.
 */
import { DEFAULT_MAX_INPUT_BYTES } from "./args.ts";

const KINDS = `Resource types (case-insensitive; plurals and short names accepted):
  node               (no)
  hostEndpoint       (hep)
  policy             (pol; also globalNetworkPolicy, gnp)
  profile            (pro)
  workloadEndpoint   (wep)
  networkSet         (netset; also globalNetworkSet, gns)
  felixConfiguration (felixconfig; Felix config keys, for get and delete)
Files may also hold projectcalico.org/v3 HostEndpoint, GlobalNetworkPolicy,
GlobalNetworkSet, Profile, Node and FelixConfiguration resources
(README: Calico v3 manifests).
`;

const CONNECTION = `Datastore connection (first match wins for the endpoints):
  --etcd-endpoints, then the file given with -c/--config (default
  /etc/calico/calicoctl.cfg, a calicoApiConfig document; used only if readable),
  then the environment: ETCD_ENDPOINTS, ETCD_AUTHORITY (default 127.0.0.1:2379),
  ETCD_SCHEME (default http), ETCD_USERNAME, ETCD_PASSWORD, ETCD_KEY_FILE,
  ETCD_CERT_FILE, ETCD_CA_CERT_FILE (each also read with a CALICO_ prefix, which wins).
`;

const CONN_OPTIONS = `      --etcd-endpoints=<URLS>  Comma-separated etcd endpoints, e.g.
                               http://10.0.0.5:2379 (scheme defaults to http).
  -c, --config=<FILE>          calicoctl connection config file (YAML or JSON).
  -h, --help                   Show this help.`;

const FILE_OPTION =
  `  -f, --filename=<FILE>        YAML or JSON file holding the resources; '-' reads
                               standard input.
      --max-input-bytes=<N>    Refuse a file or standard input larger than N bytes
                               (suffixes K, M, G; default ${
    DEFAULT_MAX_INPUT_BYTES / 1024 ** 2
  }M).`;

const CONFIRM_OPTION = `      --confirm-within=<DURATION>
                               Commit-confirm: write the whole change at once and
                               roll it back unless 'hostfence confirm <ID>' runs
                               within DURATION (60s, 2m, 1m30s, 1h; 2s to 24h).
                               Prints the change ID.`;

/** The lockout check's options (issue 8), shared by every writing command. */
const LOCKOUT_OPTIONS = `      --force                  Write even when the lockout check refuses.
      --keep-open=<PROTO:PORT> Inbound port that must stay open, e.g. tcp:22 (repeatable);
                               default: tcp failsafe inbound ports, else tcp:22.
      --management-source=<CIDR>
                               Where management traffic comes from (repeatable);
                               default: this machine's own addresses.`;

/** What the lockout check does, for the Description of every writing command. */
const LOCKOUT = `Lockout check:
  Before writing, the change is run through the agents' own calculation for
  every node with host endpoints. If the --keep-open ports, open now from the
  --management-source addresses on a host endpoint interface, would be closed
  after the change, nothing is written: one line per node and interface says
  what would close it, and the exit status is 1. --force (or --confirm-within)
  skips the check. The default sources are this machine's addresses, because
  hostfence is usually run where the nodes are managed from; a CIDR is tried
  at its first and last host address.`;

/** `hostfence --help` */
export const TOP_HELP =
  `hostfence: host-endpoint security for Linux hosts, compatible with Calico 2.x
(calicoctl v1 resources and etcd layout, Felix-style agent on nftables).

Usage:
  hostfence <command> [<args>...]
  hostfence (-h | --help | --version)

Resource commands (calicoctl v1 compatible):
  create    Create resources from a file or standard input.
  apply     Create resources, or fully replace existing ones, from a file.
  replace   Replace existing resources from a file or standard input.
  delete    Delete resources named in a file or on the command line.
  get       Show resources as a table, YAML or JSON.
  config    Set, unset or show Felix configuration stored in etcd.
  confirm   Keep a change made with --confirm-within.

Host commands:
  agent     Run the host agent: watch etcd and program the nftables ruleset.
  render    Print the nftables ruleset the agent would program for a node.
  explain   Explain why a packet is allowed or dropped on a node, stage by stage.
  status    Show every node's agent heartbeat and its host endpoints' states.

Other:
  version   Print the hostfence version.

Options:
  -h, --help     Show this help.
      --version  Print the version.

Run 'hostfence <command> --help' for a command's usage and options.
`;

/**
 * The help of a resource-writing command (create, apply, replace, delete): its usage and
 * examples (`head`), the options all four take around its own (`own`, each line ending in a
 * newline), its description, then the lockout check, resource types and connection settings
 * that all four end with.
 */
function _writeHelp(head: string, own: string, description: string): string {
  return `${head}
Options:
${FILE_OPTION}
${CONFIRM_OPTION}
${own}${LOCKOUT_OPTIONS}
${CONN_OPTIONS}

Description:
${description}

${LOCKOUT}

${KINDS}
${CONNECTION}`;
}

/** `hostfence create --help` */
export const CREATE_HELP = _writeHelp(
  `Create resources from a file or standard input.

Usage:
  hostfence create --filename=<FILE> [--skip-exists] [--etcd-endpoints=<URLS>]
                   [--config=<FILE>]

Examples:
  # Create the policies in policy.yaml.
  hostfence create -f ./policy.yaml

  # Create a node from standard input.
  printf 'apiVersion: v1\\nkind: node\\nmetadata:\\n  name: host1\\n' | hostfence create -f -
`,
  `      --skip-exists            Count a resource that already exists as a success
                               and leave it unchanged.
`,
  `  Every resource in the file is checked (YAML syntax, known kind and fields,
  field values) before etcd is contacted; a problem is reported with its file,
  line and column and nothing is written. Resources are then created one by one
  in file order, and processing stops at the first failure (earlier resources
  stay created). A resource that already exists fails with 'resource already
  exists' unless --skip-exists is given. Two concurrent creates of the same
  resource cannot both succeed.

  A file holds one resource, a list of resources, a <kind>List with 'items', or
  several YAML documents separated by '---'.`,
);

/** `hostfence apply --help` */
export const APPLY_HELP = _writeHelp(
  `Create resources, or fully replace existing ones, from a file or standard input.

Usage:
  hostfence apply --filename=<FILE> [--etcd-endpoints=<URLS>] [--config=<FILE>]

Examples:
  # Apply the policies in policy.yaml.
  hostfence apply -f ./policy.yaml

  # Round-trip: read the policies back and apply them unchanged.
  hostfence get policy -o yaml | hostfence apply -f -
`,
  "",
  `  Every resource in the file is checked before etcd is contacted. Each resource
  is then written in file order, created when absent and replaced as a whole
  when present (fields left out of the file are removed, not merged).
  Processing stops at the first failure.`,
);

/** `hostfence replace --help` */
export const REPLACE_HELP = _writeHelp(
  `Replace existing resources from a file or standard input.

Usage:
  hostfence replace --filename=<FILE> [--etcd-endpoints=<URLS>] [--config=<FILE>]

Examples:
  # Replace the policies in policy.yaml.
  hostfence replace -f ./policy.yaml
`,
  "",
  `  Every resource in the file is checked before etcd is contacted. Each resource
  must already exist ('resource does not exist' otherwise) and is replaced as a
  whole. Resources are handled in file order; processing stops at the first
  failure.`,
);

/** `hostfence delete --help` */
export const DELETE_HELP = _writeHelp(
  `Delete resources named in a file or on the command line.

Usage:
  hostfence delete --filename=<FILE> [--skip-not-exists] [--etcd-endpoints=<URLS>]
                   [--config=<FILE>]
  hostfence delete <KIND> <NAME> [--node=<NODE>] [--orchestrator=<ORCH>]
                   [--workload=<WORKLOAD>] [--skip-not-exists]
                   [--etcd-endpoints=<URLS>] [--config=<FILE>]

Examples:
  # Delete the policy named "webserver".
  hostfence delete policy webserver

  # Delete host endpoint "eth0" of node "host1".
  hostfence delete hostEndpoint eth0 --node=host1

  # Delete everything named in resources.yaml.
  hostfence delete -f ./resources.yaml
`,
  `  -n, --node=<NODE>            Node of a hostEndpoint or workloadEndpoint.
      --orchestrator=<ORCH>    Orchestrator of a workloadEndpoint.
      --workload=<WORKLOAD>    Workload of a workloadEndpoint.
      --skip-not-exists        Count a resource that does not exist as a success.
`,
  `  Resources are identified by kind and metadata (name, and node for host
  endpoints); the spec in a file is ignored. Resources are deleted in file order
  and processing stops at the first failure. A resource that does not exist
  fails with 'resource does not exist' unless --skip-not-exists is given.`,
);

/** `hostfence get --help` */
export const GET_HELP = `Show resources as a table, YAML or JSON.

Usage:
  hostfence get <KIND> [<NAME>] [--node=<NODE>] [--orchestrator=<ORCH>]
                [--workload=<WORKLOAD>] [--output=<FORMAT>] [--api=<VERSION>]
                [--etcd-endpoints=<URLS>] [--config=<FILE>]
  hostfence get --filename=<FILE> [--output=<FORMAT>] [--api=<VERSION>]
                [--etcd-endpoints=<URLS>] [--config=<FILE>]

Examples:
  # List all policies as a table.
  hostfence get policy

  # Show one host endpoint as YAML.
  hostfence get hostEndpoint eth0 --node=host1 -o yaml

  # Show the resources named in a file as JSON.
  hostfence get -f ./resources.yaml -o json

  # Show all policies as Calico 3 GlobalNetworkPolicy YAML.
  hostfence get policy -o yaml --api v3

Options:
${FILE_OPTION}
  -n, --node=<NODE>            Only endpoints of this node.
      --orchestrator=<ORCH>    Only workload endpoints of this orchestrator.
      --workload=<WORKLOAD>    Only workload endpoints of this workload.
  -o, --output=<FORMAT>        ps (default), wide, custom-columns=<COL>,<COL>...,
                               yaml or json.
      --api=<VERSION>          v1 (default) or v3: print yaml and json as calicoctl
                               v1 resources or as projectcalico.org/v3 ones
                               (FelixConfiguration is always v3).
${CONN_OPTIONS}

Description:
  Prints the matching resources; none matching is not an error (the table has
  only its headings, yaml and json print []). yaml and json always print a list
  and can be fed back to 'hostfence apply -f -' unchanged. With --api v3 one
  resource prints as itself and several as a <Kind>List (or a List when the
  kinds differ); that output applies back unchanged too.

  Table columns (ps first, then the extra wide ones):
    node              NAME; ASN, IPV4, IPV6
    hostEndpoint      NODE, NAME; INTERFACE, IPS, PROFILES
    policy            NAME; ORDER, SELECTOR
    profile           NAME; TAGS
    workloadEndpoint  NODE, ORCHESTRATOR, WORKLOAD, NAME; NETWORKS, NATS,
                      INTERFACE, PROFILES
    networkSet        NAME; NETS, LABELS

${KINDS}
${CONNECTION}`;

/** `hostfence config --help` */
export const CONFIG_HELP = `Set, unset or show Felix configuration stored in etcd.

Usage:
  hostfence config set <NAME> <VALUE> [--node=<NODE>] [--raw=felix]
                       [--etcd-endpoints=<URLS>] [--config=<FILE>]
  hostfence config unset <NAME> [--node=<NODE>] [--raw=felix]
                       [--etcd-endpoints=<URLS>] [--config=<FILE>]
  hostfence config get <NAME> [--node=<NODE>] [--raw=felix]
                       [--etcd-endpoints=<URLS>] [--config=<FILE>]

Examples:
  # Turn off the inbound failsafe ports on every host.
  hostfence config set FailsafeInboundHostPorts none --raw=felix

  # Allow inbound ssh and https as failsafe on host1 only.
  hostfence config set FailsafeInboundHostPorts tcp:22,tcp:443 --node=host1 --raw=felix

  # Show the global log level.
  hostfence config get logLevel

Options:
  -n, --node=<NODE>            Work on the node's own value instead of the global one.
      --raw=felix              NAME is a Felix parameter, stored as given
                               (/calico/v1/config/<NAME>, or
                               /calico/v1/host/<NODE>/config/<NAME> with --node).
                               The value is not checked here: the agent reports a
                               bad value in its log and keeps its previous one.
${LOCKOUT_OPTIONS}
${CONN_OPTIONS}

Description:
  Without --raw, NAME is one of these settings:
    logLevel   global or per node: none, debug, info, warning, error, critical
               (stored as Felix's LogSeverityScreen)
    any agent parameter (see 'hostfence agent --help'), in any case, stored
               under its canonical name, e.g. FailsafeInboundHostPorts
  --raw=felix stores any other name exactly as given.

  The agent applies a changed value without restarting. A node's own value wins
  over the global one; unsetting it returns the node to the global value.
  'config get' prints the value, or '(unset)'.

${LOCKOUT}

${CONNECTION}`;

/** `hostfence confirm --help` */
export const CONFIRM_HELP = `Keep a change made with --confirm-within.

Usage:
  hostfence confirm [<ID>] [--etcd-endpoints=<URLS>] [--config=<FILE>]

Examples:
  # Apply a policy; it is rolled back unless confirmed within two minutes.
  hostfence apply -f ./policy.yaml --confirm-within 2m

  # Still reachable? Keep it.
  hostfence confirm 3f9c0a1e

Options:
${CONN_OPTIONS}

Description:
  'create', 'apply', 'replace' and 'delete' with --confirm-within=<DURATION>
  write the change together with a rollback record (the previous value of every
  key the change writes) and a guard key on an etcd lease of that duration, and
  print the change ID. 'confirm <ID>' removes the record and the guard: the
  change stays. Without an ID it confirms the only change waiting, or lists them.

  If nobody confirms in time, the hostfence agents roll the change back: one of
  them restores the previous values of the resources that still hold what the
  change wrote (a resource edited since is left alone, and logged) and logs what
  it restored. An agent that starts after the deadline rolls back at start.

${CONNECTION}`;

/** `hostfence version --help` */
export const VERSION_HELP = `Print the hostfence version.

Usage:
  hostfence version
  hostfence --version
`;
