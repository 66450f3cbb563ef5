#!/usr/bin/env bash
# Builds (once per kernel) the VM's initramfs: a static busybox, the init
# script, and the kernel modules the VM needs with their dependencies,
# decompressed so busybox's insmod loads them in dependency order.
# Prints the path of the image.
#
# Usage: scripts/vm/initramfs.sh KERNEL_DIR   (as printed by kernel.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/vm/common.sh
. "$here/common.sh"

kdir=${1:?usage: initramfs.sh KERNEL_DIR}
release=$(ls "$kdir/lib/modules")
busybox=/bin/busybox

[ -x "$busybox" ] || vm_fail "busybox-static is not installed (run scripts/setup.sh)"

# What the VM loads: its own transport (virtio PCI, 9p), what the tests
# build (veth, bridges, tunnels, VLANs, dummy links, tc marking packets for
# fwmark services) and kernel IPVS with every scheduler keepalived knows.
modules=(
  virtio_pci 9pnet_virtio 9p
  sch_ingress cls_u32 act_skbedit
  veth bridge 8021q dummy ipip ip6_tunnel sit
  ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
  ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh
)

# The image depends on this script, the init script and the module list.
stamp=$(cat "$0" "$here/init" | sha256sum | cut -c1-16)
image=$kdir/initramfs-$stamp.cpio.gz
if [ -f "$image" ]; then
  echo "$image"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,newroot,modules}
cp "$busybox" "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"

# modprobe resolves dependencies in load order ("insmod PATH" lines; builtins are skipped).
: >"$root/modules/order"
declare -A seen=()
for m in "${modules[@]}"; do
  deps=$(modprobe -d "$kdir" -S "$release" --show-depends "$m") || vm_fail "kernel $release has no module $m"
  while read -r verb path _; do
    [ "$verb" = insmod ] || continue
    name=$(basename "$path")
    name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
    [ -z "${seen[$name]:-}" ] || continue
    seen[$name]=1
    case "$path" in
      *.xz) xz -dc "$path" >"$root/modules/$name" ;;
      *.zst) zstd -qdc "$path" >"$root/modules/$name" ;;
      *.gz) gzip -dc "$path" >"$root/modules/$name" ;;
      *) cp "$path" "$root/modules/$name" ;;
    esac
    echo "$name" >>"$root/modules/order"
  done <<<"$deps"
done

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$image.tmp"
mv "$image.tmp" "$image"
echo "$image"
