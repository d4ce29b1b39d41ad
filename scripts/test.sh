#!/usr/bin/env bash
# Runs every hostfence test (unit and system) and ends with one plain line:
#   N passed, N failed, N skipped
# System tests need root, etcd and nft; scripts/setup.sh installs them.
# Arguments are passed to `deno test` (e.g. a file or --filter NAME).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh >/dev/null || { echo "test: scripts/setup.sh failed" >&2; exit 1; }
deno=.tools/node_modules/.bin/deno
log=$(mktemp /tmp/hostfence-test.XXXXXX)
trap 'rm -f "$log"' EXIT
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(tests/)
NO_COLOR=1 "$deno" test --allow-all --no-prompt "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Deno's closing line: "ok | 12 passed (3 steps) | 0 failed | 1 ignored (4s)"
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1)
passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
skipped=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$summary")
passed=${passed:-0} failed=${failed:-0} skipped=${skipped:-0}
if [ -z "$summary" ] && [ "$status" -ne 0 ]; then failed=$((failed + 1)); fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
