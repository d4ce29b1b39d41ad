#!/usr/bin/env bash
# Builds the shippable hostfence into dist/. dist/hostfence is always one executable file,
# in one of two forms:
#
#   binary  dist/hostfence: made by `deno compile` (the program and its npm dependencies
#           embedded in Deno's runtime). Needs Deno's runtime `denort`, which `deno compile`
#           normally downloads; this script never lets it, so it builds the binary only when
#           DENORT_BIN names a denort executable or the release archive is already in Deno's
#           cache ($DENO_DIR/dl/release/v<deno>/denort-<target>.zip).
#   bundle  the fallback when denort is not at hand. First the runtime folder
#           dist/hostfence-bundle/ (what the .deb and .rpm install): the pinned Deno
#           executable, the app sources with their lockfile, a private DENO_DIR holding every
#           npm dependency, a `hostfence` launcher that runs all of it offline and a
#           `warm-cache` script that fills Deno's code cache where the folder lives. Then
#           dist/hostfence: a POSIX sh launcher (scripts/single_file_launcher.sh) with that
#           folder appended as a gzip-compressed tar. On its first run it unpacks itself
#           into runtime/<sha256 of the payload> (under /var/lib/hostfence as root, else the
#           user's cache directory), atomically, and later runs start that folder directly.
#
# Both get exactly the permissions listed in PERMISSIONS below (never --allow-all), and
# every artifact is checked by running `hostfence version` before the build counts as done.
# dist/build-info records which form was built, the version, and a digest of the inputs, so
# `--if-stale` can skip a build whose inputs have not changed.
#
# Usage: scripts/build.sh [--binary | --bundle] [--if-stale]
#   --binary    require the single binary (fail when denort is missing)
#   --bundle    build the fallback (folder and single-file launcher) even when denort is there
#   --if-stale  do nothing when dist/ already holds a build of the current inputs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

log() { printf 'build: %s\n' "$*"; }
die() { printf 'build: %s\n' "$*" >&2; exit 1; }

want=auto if_stale=false
for arg in "$@"; do
  case "$arg" in
    --binary) want=binary ;;
    --bundle) want=bundle ;;
    --if-stale) if_stale=true ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (use --binary, --bundle or --if-stale)" ;;
  esac
done

deno_launcher=.tools/node_modules/.bin/deno
[ -x "$deno_launcher" ] || die "Deno is not installed in .tools/; run scripts/setup.sh first"
# The real executable behind npm's symlink: this file is what the bundle ships.
deno_exe=$(readlink -f "$deno_launcher")
deno_version=$("$deno_exe" --version | head -n1 | cut -d' ' -f2)
version=$(sed -nE 's/^[[:space:]]*"version":[[:space:]]*"([^"]+)".*/\1/p' deno.json | head -n1)
[ -n "$version" ] || die "deno.json has no \"version\""

# What the program may do, and why:
#   net          etcd (endpoints come from config), the health and metrics listeners
#   read         config files, etcd TLS material, and the files the CLI is given with -f
#   write        the log file: LogFilePath must lie under /var/log/calico; and the agent's
#                one-per-namespace lock file under /run/hostfence
#   env          FELIX_* variables (the config source above the file) and ETCD_* for the CLI
#   sys=hostname FelixHostname defaults to the OS host name
#   run=nft,ip   programming nftables and listing/monitoring interfaces
#   ffi          libnftables in-process, one transaction per change without starting nft
PERMISSIONS=(
  --allow-net
  --allow-read
  --allow-write=/var/log/calico,/run/hostfence
  --allow-env
  --allow-sys=hostname
  --allow-run=nft,ip
  --allow-ffi
  --no-prompt
)
# How the runtime runs: a 1 MiB young generation and V8's optimize-for-size mode keep a
# long-running agent's resident size down (about 10 MiB less at the benchmark's scale, no
# measurable cost in apply time or start-up), and gc is exposed so the agent can drop its
# start-up garbage at once (README, "Performance"). The launcher also caps glibc at two malloc
# arenas, for the same reason.
V8_FLAGS=--v8-flags=--max-semi-space-size=1,--optimize-for-size,--expose-gc

# Everything the build reads; a change to any of them makes dist/ stale.
inputs_digest() {
  { find main.ts deno.json deno.lock src scripts/build.sh -type f -print0 | sort -z |
    xargs -0 sha256sum; sha256sum scripts/single_file_launcher.sh; echo "deno $deno_version"; } | sha256sum | cut -d' ' -f1
}
digest=$(inputs_digest)

if $if_stale && [ -f dist/build-info ] && grep -qx "digest=$digest" dist/build-info; then
  kind=$(sed -n 's/^kind=//p' dist/build-info)
  if [ "$want" = auto ] || [ "$want" = "$kind" ]; then
    log "dist/ is up to date ($kind, hostfence $version); nothing to do"
    exit 0
  fi
fi

case "$(uname -m)" in
  x86_64) target=x86_64-unknown-linux-gnu ;;
  aarch64) target=aarch64-unknown-linux-gnu ;;
  *) target="" ;;
esac
deno_dir=$("$deno_exe" info --json 2>/dev/null | sed -nE 's/^[[:space:]]*"denoDir":[[:space:]]*"([^"]+)".*/\1/p')
denort_zip="$deno_dir/dl/release/v$deno_version/denort-$target.zip"

denort_source=""
if [ -n "${DENORT_BIN:-}" ]; then
  [ -f "$DENORT_BIN" ] && [ -x "$DENORT_BIN" ] ||
    die "DENORT_BIN=$DENORT_BIN is not an executable file"
  denort_source="DENORT_BIN=$DENORT_BIN"
elif [ -n "$target" ] && [ -f "$denort_zip" ]; then
  denort_source="$denort_zip"
fi

kind=$want
if [ "$want" = auto ]; then
  if [ -n "$denort_source" ]; then
    kind=binary
  else
    kind=bundle
    log "no denort runtime for Deno $deno_version (set DENORT_BIN=/path/to/denort, or put denort-${target:-<target>}.zip into $deno_dir/dl/release/v$deno_version/), so building the fallback: dist/hostfence as a single-file launcher that unpacks its runtime on first run, and the folder dist/hostfence-bundle/"
  fi
elif [ "$want" = binary ] && [ -z "$denort_source" ]; then
  die "cannot build the single binary: no denort runtime for Deno $deno_version (set DENORT_BIN=/path/to/denort, or put denort-${target:-<target>}.zip into $deno_dir/dl/release/v$deno_version/)"
fi

mkdir -p dist
stage=$(mktemp -d "dist/.build-XXXXXX")
trap 'rm -rf "$stage"' EXIT

# Runs a built `hostfence version` in a bare environment (no HOME, no DENO_DIR, no .tools on
# PATH) and insists on our version line and the expected form: the build is not done until
# the artifact runs. Extra arguments are VAR=value settings for that environment.
smoke_check() {
  local exe=$1 form=$2 out
  shift 2
  local hint=""
  [ "$kind" = binary ] && hint=" (is $denort_source Deno's runtime denort, not the deno CLI?)"
  out=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent "$@" "$exe" version 2>&1) ||
    die "the built $exe failed to run 'version'$hint: $out"
  case "$out" in
    "hostfence $version"$'\n'"form: $form "*) ;;
    *) die "the built $exe printed '$out' for 'version', expected 'hostfence $version' and 'form: $form ...'" ;;
  esac
}

if [ "$kind" = binary ]; then
  log "compiling dist/hostfence with denort from $denort_source"
  # No network for this step: with denort at hand nothing needs downloading, and a missing
  # npm package must fail here rather than be fetched behind the build's back.
  "$deno_exe" compile --quiet --frozen --lock=deno.lock --config deno.json --cached-only \
    --no-remote "${PERMISSIONS[@]}" "$V8_FLAGS" --output "$stage/hostfence" main.ts
  smoke_check "$stage/hostfence" "compiled binary"
  rm -rf dist/hostfence dist/hostfence-bundle
  mv "$stage/hostfence" dist/hostfence
else
  bundle="$stage/hostfence-bundle"
  mkdir -p "$bundle/app" "$bundle/deno_dir"
  "$deno_exe" check --quiet --frozen main.ts
  cp "$deno_exe" "$bundle/deno"
  cp main.ts deno.json deno.lock "$bundle/app/"
  cp -r src "$bundle/app/src"
  # Seed the private cache from Deno's own cache (so an offline machine that ran setup.sh
  # can build), then let Deno fill in whatever is missing, from the lockfile only.
  if [ -d "$deno_dir/npm" ]; then
    cp -r "$deno_dir/npm" "$bundle/deno_dir/npm"
  fi
  (cd "$bundle/app" && DENO_DIR="$root/$bundle/deno_dir" "$deno_exe" install --quiet --frozen \
    --entrypoint main.ts)
  # Keep only the npm packages the lockfile names: the seed may hold other projects' ones.
  DENO_DIR="$root/$bundle/deno_dir" "$deno_exe" run --quiet --no-config --ext=ts --allow-read \
    --allow-write="$root/$bundle/deno_dir" - "$root/$bundle/app/deno.lock" \
    "$root/$bundle/deno_dir/npm" <<'EOF'
const [lockPath, npmDir] = Deno.args as [string, string];
const lock = JSON.parse(Deno.readTextFileSync(lockPath));
const wanted = new Set<string>();
for (const id of Object.keys(lock.npm ?? {})) {
  const at = id.indexOf("@", 1);
  const name = id.slice(0, at), version = id.slice(at + 1).split("_")[0];
  wanted.add(`${name}/${version}`);
}
for (const reg of Deno.readDirSync(npmDir)) {
  const regDir = `${npmDir}/${reg.name}`;
  const names: string[] = [];
  for (const e of Deno.readDirSync(regDir)) {
    if (!e.name.startsWith("@")) names.push(e.name);
    else for (const s of Deno.readDirSync(`${regDir}/${e.name}`)) names.push(`${e.name}/${s.name}`);
  }
  for (const name of names) {
    let kept = 0;
    for (const v of Deno.readDirSync(`${regDir}/${name}`)) {
      if (!v.isDirectory) continue;
      if (wanted.has(`${name}/${v.name}`)) kept++;
      else Deno.removeSync(`${regDir}/${name}/${v.name}`, { recursive: true });
    }
    if (kept === 0) Deno.removeSync(`${regDir}/${name}`, { recursive: true });
  }
  for (const e of Deno.readDirSync(regDir)) {
    if (e.name.startsWith("@") && [...Deno.readDirSync(`${regDir}/${e.name}`)].length === 0) {
      Deno.removeSync(`${regDir}/${e.name}`);
    }
  }
}
EOF
  registry=${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org/}
  # The folder's two entry points share one environment and one set of flags.
  for entry in hostfence warm-cache; do
    if [ "$entry" = hostfence ]; then
      what="runs the bundled sources with the bundled Deno $deno_version, offline."
      main='"$here/app/main.ts" "$@"'
    else
      what="loads every command's code once so that Deno's code cache
# in deno_dir/ is warm where this folder lives (the cache is keyed by path)."
      main='"$here/app/src/cli/warm.ts"'
    fi
    cat >"$bundle/$entry" <<EOF
#!/bin/sh
# hostfence $version: $what
# Made by scripts/build.sh (the fallback build, for when deno compile's runtime is missing).
here=\$(readlink -f "\$0")
here=\${here%/*}
DENO_DIR="\$here/deno_dir"
DENO_NO_UPDATE_CHECK=1
DENO_NO_PROMPT=1
NPM_CONFIG_REGISTRY=$registry
MALLOC_ARENA_MAX=\${MALLOC_ARENA_MAX:-2}
export DENO_DIR DENO_NO_UPDATE_CHECK DENO_NO_PROMPT NPM_CONFIG_REGISTRY MALLOC_ARENA_MAX
exec "\$here/deno" run --quiet --cached-only --no-remote --frozen \\
  --config "\$here/app/deno.json" --lock="\$here/app/deno.lock" \\
  ${PERMISSIONS[*]} $V8_FLAGS \\
  $main
EOF
    chmod 0755 "$bundle/$entry"
  done
  printf 'hostfence %s\ndeno %s\n' "$version" "$deno_version" >"$bundle/VERSION"
  # The marker `hostfence version` reads (src/cli/version.ts) to name the form.
  form_marker="$bundle/app/build-form.json"
  printf '{"form":"folder"}\n' >"$form_marker"
  smoke_check "$bundle/hostfence" folder
  # The smoke run left caches keyed by this build path; only the npm packages travel.
  find "$bundle/deno_dir" -mindepth 1 -maxdepth 1 ! -name npm -exec rm -rf {} +
  chmod -R u=rwX,go=rX "$bundle"

  # The single file: the same folder, marked as unpacked by the launcher, as a reproducible
  # tar.gz (sorted names, fixed owner and times, no gzip timestamp) after the launcher
  # script, so that the same inputs give the same digest and so the same runtime directory.
  log "packing dist/hostfence: the launcher and the gzip-compressed runtime folder"
  printf '{"form":"single-file launcher"}\n' >"$form_marker"
  payload="$stage/payload.tar.gz"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$bundle" -cf - . |
    gzip -n -6 >"$payload"
  printf '{"form":"folder"}\n' >"$form_marker"
  payload_digest=$(sha256sum "$payload" | cut -d' ' -f1)
  header="$stage/header.sh"
  sed -e "s/@VERSION@/$version/g" -e "s/@DENO_VERSION@/$deno_version/g" \
    -e "s/@DIGEST@/$payload_digest/g" scripts/single_file_launcher.sh >"$header"
  # The payload starts on the line after the header; the header names that line itself.
  header_lines=$(wc -l <"$header")
  sed -i "s/@PAYLOAD_LINE@/$((header_lines + 1))/" "$header"
  cat "$header" "$payload" >"$stage/hostfence"
  chmod 0755 "$stage/hostfence"
  # Unpacked into the stage, never into this machine's /var/lib or the builder's cache.
  smoke_check "$stage/hostfence" "single-file launcher" HOSTFENCE_RUNTIME_DIR="$stage/runtime"
  [ -d "$stage/runtime/$payload_digest" ] ||
    die "the single-file launcher did not unpack into runtime/$payload_digest"

  rm -rf dist/hostfence dist/hostfence-bundle
  mv "$bundle" dist/hostfence-bundle
  mv "$stage/hostfence" dist/hostfence
fi

printf 'kind=%s\nversion=%s\ndeno=%s\ndigest=%s\n' "$kind" "$version" "$deno_version" "$digest" \
  >dist/build-info
if [ "$kind" = binary ]; then
  log "built the single binary dist/hostfence (hostfence $version, $(du -sh dist/hostfence | cut -f1))"
else
  log "built the fallback bundle: dist/hostfence, a single-file launcher ($(du -sh dist/hostfence | cut -f1)), and the folder dist/hostfence-bundle/ ($(du -sh dist/hostfence-bundle | cut -f1)) (hostfence $version)"
fi
