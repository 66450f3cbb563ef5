#!/usr/bin/env bash
# Fetches one of Debian's own kernel packages into the VM cache and prints
# the directory it lives in (boot/vmlinuz-*, lib/modules/<release>/, with
# modules.dep). Idempotent: a cached kernel is reused without network.
#
# Usage: scripts/vm/kernel.sh SERIES     (SERIES: 6.1 or 6.12)
#
# 6.1 is Debian 12's stock kernel (bookworm, bookworm-security); 6.12 is its
# newer kernel from bookworm-backports (scripts/setup.sh adds that source).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/vm/common.sh
. "$here/common.sh"

series=${1:?usage: kernel.sh SERIES (6.1 or 6.12)}
case "$series" in
  6.1) release_target= ;;
  6.12) release_target=bookworm-backports ;;
  *) vm_fail "unknown kernel series '$series' (known: 6.1, 6.12)" ;;
esac

# The package the linux-image-amd64 metapackage of that suite depends on,
# e.g. linux-image-6.1.0-56-amd64: the kernel Debian ships right now.
meta=linux-image-amd64${release_target:+/$release_target}
package=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*-amd64\)$/\1/p' | head -n1)
if [ -z "$package" ]; then
  # Offline (or the source is missing): the newest cached kernel of the series.
  cached=$(ls -d "$VM_CACHE"/kernels/linux-image-"$series".[0-9]*-amd64 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$cached" ] || vm_fail "apt knows no $meta and no $series kernel is cached; run scripts/setup.sh (it adds bookworm-backports)"
  echo "$cached"
  exit 0
fi
case "$package" in
  linux-image-"$series".*) ;;
  *) vm_fail "$meta depends on $package, not a $series kernel" ;;
esac

dir=$VM_CACHE/kernels/$package
if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir"
  mkdir -p "$dir/deb"
  vm_say "downloading $package"
  # apt's sandbox user cannot write to the cache directory; download as root.
  (cd "$dir/deb" && apt-get download -o APT::Sandbox::User=root "$package${release_target:+/$release_target}" >/dev/null) ||
    vm_fail "cannot download $package (stale package lists? run apt-get update)"
  dpkg -x "$dir"/deb/*.deb "$dir"
  rm -rf "$dir/deb"
  release=$(ls "$dir/lib/modules")
  depmod -b "$dir" "$release"
  touch "$dir/.complete"
fi
echo "$dir"
