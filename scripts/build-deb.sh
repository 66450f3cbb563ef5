#!/usr/bin/env bash
# Builds the Debian package build/deb/lbctl_<version>_<arch>.deb from the npm
# tarball (npm pack) of this checkout, built first (npm run build).
#   /usr/lib/lbctl/          the package and its runtime dependencies
#   /usr/sbin/lbctl          link to its launcher
#   /lib/systemd/system/lbctl.service, /etc/default/lbctl, /etc/lbctl/
#   man pages, bash completion, docs (docs/operations.md, "Installing")
# Usage: bash scripts/build-deb.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-$root/build/deb}
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/root

tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
# A package directory of its own, with its dependencies beside it.
mkdir -p "$stage/usr/lib/lbctl"
npm install --silent --no-audit --no-fund --prefer-offline --omit=dev --install-links \
  --prefix "$work/install" "$work/$tarball" >/dev/null
cp -a "$work/install/node_modules/lbctl/." "$stage/usr/lib/lbctl/"
mkdir -p "$stage/usr/lib/lbctl/node_modules"
for dep in "$work/install/node_modules/"*; do
  [ "$(basename "$dep")" = lbctl ] || cp -a "$dep" "$stage/usr/lib/lbctl/node_modules/"
done
rm -rf "$stage/usr/lib/lbctl/node_modules/.bin" "$stage/usr/lib/lbctl/node_modules/.package-lock.json"

mkdir -p "$stage/usr/sbin"
ln -s ../lib/lbctl/bin/lbctl "$stage/usr/sbin/lbctl"
install -D -m 0644 packaging/lbctl.service "$stage/lib/systemd/system/lbctl.service"
install -D -m 0644 packaging/default "$stage/etc/default/lbctl"
install -d -m 0755 "$stage/etc/lbctl"
install -d "$stage/usr/share/man/man8" "$stage/usr/share/man/man5"
gzip -9n -c build/man/lbctl.8 >"$stage/usr/share/man/man8/lbctl.8.gz"
gzip -9n -c build/man/lbctl.conf.5 >"$stage/usr/share/man/man5/lbctl.conf.5.gz"
install -d "$stage/usr/share/bash-completion/completions"
node bin/lbctl completion bash >"$stage/usr/share/bash-completion/completions/lbctl"
install -d "$stage/usr/share/doc/lbctl/examples"
cp docs/*.md "$stage/usr/share/doc/lbctl/"
cp -r test/fixtures/config/. "$stage/usr/share/doc/lbctl/examples/" 2>/dev/null || true

install -d "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: lbctl
Version: $version
Architecture: $arch
Maintainer: lbctl maintainers <root@localhost>
Installed-Size: $size
Depends: nodejs (>= 20), libbpf1, libelf1, zlib1g
Recommends: iproute2
Suggests: bird2
Section: net
Priority: optional
Description: high-availability layer-4 load balancer (VRRP, XDP)
 lbctl does the job of keepalived and LVS in one daemon: VRRP for virtual
 IPs, health checks of real servers, and an XDP data plane forwarding to
 them. It reads keepalived.conf as it is, or its own YAML.
CONTROL
echo /etc/default/lbctl >"$stage/DEBIAN/conffiles"
cat >"$stage/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
# The unit is installed, not enabled: configure /etc/lbctl first.
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
SCRIPT
cat >"$stage/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl stop lbctl.service >/dev/null 2>&1 || true; fi
SCRIPT
cat >"$stage/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
SCRIPT
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/lbctl_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
