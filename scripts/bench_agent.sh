#!/usr/bin/env bash
# End-to-end agent benchmark (root): a real etcd, the real agent and a probing peer in network
# namespaces this script creates and always removes; prints one table of figures beside floors
# measured in the same run. Flags: --quick, --policies N, --remotes N, --hosts N, --reps N,
# --flood-seconds S (see scripts/bench_agent.ts and README "Performance").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "bench_agent: run as root (it creates network namespaces and nftables tables)" >&2
  exit 1
fi
bash "$root/scripts/setup.sh" >&2
# Namespaces are named hft-<this pid>-bench-<role>: the harness's leftover sweep in other test
# runs leaves them alone while this script lives. The Deno driver removes everything itself,
# also on Ctrl-C or TERM (forwarded below); the EXIT trap removes whatever it could not.
group="$$-bench"
child=
cleanup() {
  local ns pid
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then kill -KILL "$child" 2>/dev/null || true; fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^hft-$group-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true' INT TERM
set +e
"$root/.tools/node_modules/.bin/deno" run --quiet --allow-all --config "$root/deno.json" \
  "$root/scripts/bench_agent.ts" --group "$group" "$@" &
child=$!
# `wait` returns early when a trapped signal arrives; keep waiting until the driver is done.
while :; do
  wait "$child"
  rc=$?
  kill -0 "$child" 2>/dev/null || break
done
exit "$rc"
