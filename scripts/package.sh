#!/usr/bin/env bash
# Packages the build in dist/ (scripts/build.sh; run here only when dist/ is missing or stale)
# as a .deb (dpkg-deb) and/or an .rpm (rpmbuild), written to dist/:
#
#   dist/hostfence_<version>_<debian arch>.deb
#   dist/hostfence-<version>-1.<rpm arch>.rpm
#
# Both hold the program (the single binary as /usr/bin/hostfence, or the fallback bundle as
# /usr/lib/hostfence/ with /usr/bin/hostfence a symlink to its launcher), the systemd unit, the
# default /etc/calico/felix.cfg (a configuration file: kept on upgrade when edited), the local
# datastore's directory /etc/hostfence/policy.d with a commented example (also a configuration
# file) and the logrotate entry for /var/log/calico/felix.log. The files come from packaging/.
#
# Usage: scripts/package.sh [deb|rpm|all]     (default: all)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

log() { printf 'package: %s\n' "$*"; }
die() { printf 'package: %s\n' "$*" >&2; exit 1; }

what=${1:-all}
case "$what" in
  deb | rpm | all) ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown package format '$what' (use deb, rpm or all)" ;;
esac
if [ "$what" != rpm ]; then
  command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (Debian package dpkg)"
fi
if [ "$what" != deb ]; then
  command -v rpmbuild >/dev/null || die "rpmbuild is missing (Debian package rpm)"
fi

bash scripts/build.sh --if-stale
info() { sed -n "s/^$1=//p" dist/build-info; }
kind=$(info kind)
version=$(info version)
[ -n "$kind" ] && [ -n "$version" ] || die "dist/build-info is incomplete; run scripts/build.sh"
# A hyphen would split the version into upstream and revision (deb) or be invalid (rpm);
# the tilde sorts a pre-release before its release in both.
pkg_version=${version//-/\~}
license=$(sed -nE 's/^[[:space:]]*"license":[[:space:]]*"([^"]+)".*/\1/p' deno.json | head -n1)

case "$(uname -m)" in
  x86_64) deb_arch=amd64 rpm_arch=x86_64 ;;
  aarch64) deb_arch=arm64 rpm_arch=aarch64 ;;
  *) die "unsupported machine architecture $(uname -m)" ;;
esac

work=$(mktemp -d "dist/.package-XXXXXX")
work=$(cd "$work" && pwd)
trap 'rm -rf "$work"' EXIT

# The file tree both packages install; only the unit's directory differs (set per format).
# Permissions are set explicitly so the packages do not depend on the builder's umask.
stage_tree() {
  local dest=$1 unit_dir=$2
  mkdir -p "$dest/usr/bin" "$dest$unit_dir" "$dest/etc/calico" "$dest/etc/logrotate.d" \
    "$dest/etc/hostfence/policy.d"
  if [ "$kind" = binary ]; then
    install -m 0755 dist/hostfence "$dest/usr/bin/hostfence"
  else
    mkdir -p "$dest/usr/lib"
    cp -a dist/hostfence-bundle "$dest/usr/lib/hostfence"
    # Only the npm packages travel: caches from running the folder in dist/ are keyed by that
    # path (postinst fills them where the package installs it).
    find "$dest/usr/lib/hostfence/deno_dir" -mindepth 1 -maxdepth 1 ! -name npm -exec rm -rf {} +
    chmod -R u=rwX,go=rX "$dest/usr/lib/hostfence"
    ln -s ../lib/hostfence/hostfence "$dest/usr/bin/hostfence"
  fi
  install -m 0644 packaging/systemd/hostfence.service "$dest$unit_dir/hostfence.service"
  install -m 0644 packaging/config/felix.cfg "$dest/etc/calico/felix.cfg"
  install -m 0644 packaging/logrotate/hostfence "$dest/etc/logrotate.d/hostfence"
  install -m 0644 packaging/config/policy.d/example.yaml "$dest/etc/hostfence/policy.d/example.yaml"
}

build_deb() {
  local dest="$work/deb" out="dist/hostfence_${pkg_version}_${deb_arch}.deb"
  # Debian 12 (the target) keeps units in /lib/systemd/system.
  stage_tree "$dest" /lib/systemd/system
  mkdir -p "$dest/DEBIAN"
  local size
  size=$(du -sk --exclude=DEBIAN "$dest" | cut -f1)
  sed -e "s/@VERSION@/$pkg_version/" -e "s/@ARCH@/$deb_arch/" -e "s/@INSTALLED_SIZE@/$size/" \
    packaging/deb/control.in >"$dest/DEBIAN/control"
  # Depends in control.in: libc6 (>= 2.27) and libgcc_s are what the bundled Deno links
  # against (its highest symbol version is GLIBC_2.27); recheck when Deno is upgraded.
  printf '%s\n' /etc/calico/felix.cfg /etc/logrotate.d/hostfence \
    /etc/hostfence/policy.d/example.yaml >"$dest/DEBIAN/conffiles"
  for script in postinst prerm postrm; do
    install -m 0755 "packaging/deb/$script" "$dest/DEBIAN/$script"
  done
  rm -f "$out"
  dpkg-deb --root-owner-group -Zxz -z6 --threads-max="$(nproc)" --build "$dest" "$out" >/dev/null
  log "built $out ($(du -h "$out" | cut -f1))"
}

build_rpm() {
  local dest="$work/rpm-root" top="$work/rpmbuild" out
  out="dist/hostfence-${pkg_version}-1.${rpm_arch}.rpm"
  stage_tree "$dest" /usr/lib/systemd/system
  mkdir -p "$top"/{BUILD,BUILDROOT,RPMS,SOURCES,SPECS,SRPMS}
  local files="/usr/bin/hostfence"
  [ "$kind" = bundle ] && files=$'/usr/bin/hostfence\n/usr/lib/hostfence'
  local spec="$top/SPECS/hostfence.spec"
  while IFS= read -r line; do
    case "$line" in
      @PROGRAM_FILES@) printf '%s\n' "$files" ;;
      *)
        line=${line//@VERSION@/$pkg_version}
        line=${line//@ARCH@/$rpm_arch}
        line=${line//@LICENSE@/${license:-Unspecified}}
        line=${line//@STAGE@/$dest}
        printf '%s\n' "$line"
        ;;
    esac
  done <packaging/rpm/hostfence.spec.in >"$spec"
  # --nodeps: the build host is Debian, whose rpm database knows nothing of the requirements.
  # The payload is compressed with xz like the .deb (Deno dominates the size either way).
  rpmbuild -bb --nodeps --quiet \
    --define "_topdir $top" \
    --define "_rpmdir $top/RPMS" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "_binary_payload w6T.xzdio" \
    --define "_dbpath $work/rpmdb" \
    --target "$rpm_arch" \
    "$spec" >"$work/rpmbuild.log" 2>&1 || { cat "$work/rpmbuild.log" >&2; die "rpmbuild failed"; }
  rm -f "$out"
  mv "$top/RPMS/hostfence-${pkg_version}-1.${rpm_arch}.rpm" "$out"
  log "built $out ($(du -h "$out" | cut -f1))"
}

[ "$what" = rpm ] || build_deb
[ "$what" = deb ] || build_rpm
