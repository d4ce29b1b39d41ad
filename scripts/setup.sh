#!/usr/bin/env bash
# Installs everything hostfence needs on a Debian 12 machine, idempotently:
# the pinned Deno (from the npm package `deno`) into .tools/, the Debian packages
# the agent and the tests drive, and the npm dependencies into Deno's cache.
set -euo pipefail
DENO_VERSION=2.9.6
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

log() { printf 'setup: %s\n' "$*"; }

need_pkgs=()
for pair in etcd:etcd-server etcdctl:etcd-client nft:nftables ip:iproute2 ping:iputils-ping \
  rpmbuild:rpm dpkg-deb:dpkg hping3:hping3; do
  bin=${pair%%:*} pkg=${pair#*:}
  command -v "$bin" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages ${need_pkgs[*]}: run this script as root to install them" >&2
    exit 1
  fi
  log "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# Debian's etcd-server package starts a system etcd on 127.0.0.1:2379; hostfence's tests
# and demo start their own, so the packaged service is stopped and kept from starting.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl stop etcd || true
  systemctl disable etcd >/dev/null 2>&1 || true
fi

deno_bin=.tools/node_modules/deno/bin/deno
want="deno $DENO_VERSION"
have=$([ -x .tools/node_modules/.bin/deno ] && .tools/node_modules/.bin/deno --version 2>/dev/null | head -n1 | cut -d' ' -f1-2 || true)
if [ "$have" != "$want" ]; then
  command -v npm >/dev/null 2>&1 || { log "npm is required to install Deno (apt-get install npm)" >&2; exit 1; }
  log "installing Deno $DENO_VERSION from the npm package 'deno' into .tools/"
  mkdir -p .tools
  (cd .tools && [ -f package.json ] || echo '{"private":true}' > package.json)
  (cd .tools && npm install --no-audit --no-fund --silent "deno@$DENO_VERSION" >/dev/null)
fi
[ -x .tools/node_modules/.bin/deno ] || { log "Deno did not install into .tools/" >&2; exit 1; }
: "$deno_bin"

log "caching npm dependencies"
.tools/node_modules/.bin/deno install --frozen=false >/dev/null 2>&1 || .tools/node_modules/.bin/deno install
log "ready: $(.tools/node_modules/.bin/deno --version | head -n1)"
