#!/usr/bin/env bash
# The newcomer's first run (as root, after or instead of scripts/setup.sh): builds a private
# network of namespaces (addresses from 198.18.0.0/15 and 2001:db8::/32), starts etcd and
# `hostfence agent` inside it, walks the guide "Using Calico to Secure Host Interfaces" step by
# step with the real CLI, probes real connections after each step and prints a PASS/DROP table.
# Everything it made is removed at the end, also on Ctrl-C or error. It never touches the
# machine's own interfaces or firewall: links, addresses and nftables rules exist only inside
# the namespaces it creates (named hft-<pid>-<random>-<role>).
#
# The walk-through itself is scripts/demo.ts; this wrapper installs what is needed, gives the
# run its names and temporary directory, and removes anything a crashed run could leave.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root: it creates network namespaces and nftables rules inside them" >&2
  exit 1
fi
bash scripts/setup.sh >/dev/null

# The bash pid leads the group: it stays alive for the whole run, so other runs' leftover
# clean-up (netlab/netns.ts cleanLeftovers) leaves these namespaces alone.
group="$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
work=$(mktemp -d /tmp/hostfence-demo.XXXXXX)

# A safety net behind the demo's own clean-up: only namespaces of this run's group, and only
# the processes inside them, are removed.
leftovers() {
  local ns pid found=0
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^hft-${group}-" || true); do
    found=1
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    echo "demo: removed leftover namespace $ns" >&2
  done
  if [ -d "$work" ]; then
    rm -rf "$work"
    [ "$found" = 1 ] && echo "demo: removed leftover temporary files $work" >&2
  fi
  return 0
}
trap leftovers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMPDIR="$work" .tools/node_modules/.bin/deno run --allow-all --no-prompt --quiet \
  --config deno.json scripts/demo.ts --group "$group" --workdir "$work"
