#!/bin/sh
# hostfence @VERSION@ (Deno @DENO_VERSION@): one self-contained executable file. This POSIX sh
# script is followed, from line @PAYLOAD_LINE@ on, by a gzip-compressed tar of hostfence's
# runtime folder (Deno, the app, its npm packages; see scripts/build.sh, which fills in the
# @-names). The first run unpacks it into a directory named by the payload's SHA-256; later
# runs find that directory and start it directly.
#
#   runtime directory   $HOSTFENCE_RUNTIME_DIR/<digest> if set, else as root
#                       /var/lib/hostfence/runtime/<digest>, else
#                       ${XDG_CACHE_HOME:-$HOME/.cache}/hostfence/runtime/<digest>
#
# Unpacking is safe against concurrent first runs and against being killed: the payload's
# digest is checked, it is unpacked into a private temporary directory beside the target,
# and that directory is renamed into place in one step (rename(2)). A run that loses the
# race throws its copy away and uses the winner's; a run killed midway leaves only its
# temporary directory, which a later unpack removes. Deno's code cache is then warmed there.
set -u

digest=@DIGEST@
payload_line=@PAYLOAD_LINE@

die() {
  printf 'hostfence: %s\n' "$*" >&2
  exit 1
}

if [ -n "${HOSTFENCE_RUNTIME_DIR:-}" ]; then
  base=$HOSTFENCE_RUNTIME_DIR
elif [ "$(id -u)" = 0 ]; then
  base=/var/lib/hostfence/runtime
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
  base=$XDG_CACHE_HOME/hostfence/runtime
elif [ -n "${HOME:-}" ]; then
  base=$HOME/.cache/hostfence/runtime
else
  die "no place to unpack the runtime: set HOME, XDG_CACHE_HOME or HOSTFENCE_RUNTIME_DIR"
fi
dir=$base/$digest

payload() {
  tail -n "+$payload_line" "$self"
}

unpack() {
  self=$(readlink -f "$0") || die "cannot find the file being run ($0)"
  mkdir -p "$base" || die "cannot create $base"
  # Temporary directories of runs that died (their process is gone) are removed.
  for old in "$base"/.unpack-*; do
    [ -d "$old" ] || continue
    pid=${old##*/.unpack-}
    pid=${pid%%-*}
    kill -0 "$pid" 2>/dev/null || rm -rf "$old"
  done
  got=$(payload | sha256sum | cut -d' ' -f1)
  [ "$got" = "$digest" ] ||
    die "$self is damaged: its payload's SHA-256 is $got, expected $digest; copy it again"
  tmp=$(mktemp -d "$base/.unpack-$$-XXXXXX") || die "cannot create a directory in $base"
  if ! payload | gzip -dc | tar -xmf - -C "$tmp" --no-same-owner; then
    rm -rf "$tmp"
    die "cannot unpack the runtime into $tmp"
  fi
  chmod 0755 "$tmp"
  if [ -n "${HOSTFENCE_TEST_UNPACK_PAUSE:-}" ]; then
    # Test hook (tests/system/build_test.ts): say "unpacked, not yet in place" and wait to be
    # killed, in this same process, so its temporary directory is left as a crash leaves it.
    : >"$HOSTFENCE_TEST_UNPACK_PAUSE"
    exec sleep 600
  fi
  # GNU mv -T renames onto the target name itself, and fails if another run got there first.
  if mv -T "$tmp" "$dir" 2>/dev/null; then
    "$dir/warm-cache" >/dev/null 2>&1 || true
  else
    rm -rf "$tmp"
    [ -x "$dir/hostfence" ] || die "cannot move the unpacked runtime to $dir"
  fi
}

[ -x "$dir/hostfence" ] || unpack
exec "$dir/hostfence" "$@"
exit 127
# The payload follows this line.
