#!/usr/bin/env bash
# Boots one of Debian's kernels under QEMU (TCG: no KVM needed) with the
# host's root file system mounted read-only, runs a command inside and exits
# with its status. Output streams to stdout (the VM's serial console).
#
# Usage: scripts/vm/run.sh [--kernel 6.1|6.12 | --kernel-dir DIR] [--timeout SECONDS]
#                          [--mem MIB] [--cwd DIR] [--env NAME=VALUE]... -- COMMAND [ARG...]
#
# --kernel-dir boots any kernel package extracted with `dpkg -x` and indexed
# with `depmod -b` (e.g. another Debian release's) instead of a known series.
#
# Inside: the host's / (read-only) and the working directory (read-only, at
# the same path, even under /tmp), with fresh proc, sys, dev, bpffs at
# /sys/fs/bpf, tmpfs on /tmp, /run, /root and /var/tmp; the kernel's own
# /sys/kernel/btf/vmlinux; veth, bridge, tunnels and IPVS modules loaded.
# /tmp/lbctl-vm is a writable directory shared with the host: $LBCTL_VM_OUT
# on the host side when set (kept), a temporary directory otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/vm/common.sh
. "$here/common.sh"

series=6.1 kdir= timeout=900 mem=1024 cwd=$PWD envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) series=$2; shift 2 ;;
    --kernel-dir) kdir=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --cwd) cwd=$2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) vm_fail "unknown option $1 (see the usage in $0)" ;;
  esac
done
cwd=$(cd "$cwd" && pwd)
[ $# -gt 0 ] || vm_fail "no command given (usage: run.sh [options] -- COMMAND [ARG...])"
command -v qemu-system-x86_64 >/dev/null || vm_fail "qemu-system-x86_64 is missing (run scripts/setup.sh)"

[ -n "$kdir" ] || kdir=$("$here/kernel.sh" "$series")
initrd=$("$here/initramfs.sh" "$kdir")
kernel=$(ls "$kdir"/boot/vmlinuz-*)

if [ -n "${LBCTL_VM_OUT:-}" ]; then
  out=$LBCTL_VM_OUT
  mkdir -p "$out"
  rm -f "$out/rc"
else
  out=$(mktemp -d /tmp/lbctl-vm.XXXXXX)
  trap 'rm -rf "$out"' EXIT
fi
{
  echo 'set -e'
  printf 'cd %q\n' "$cwd"
  for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$out/cmd.sh"
printf '%s' "$cwd" >"$out/cwd"

# -no-reboot: the guest's poweroff (or a panic, with panic=-1) ends QEMU.
status=0
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 \
  -accel tcg -cpu max -m "$mem" -smp 1 -nographic -no-reboot -nodefaults -serial stdio \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off lbctl.boot=$kdir/boot" \
  -virtfs local,path=/,mount_tag=host,security_model=passthrough,readonly=on,multidevs=remap \
  -virtfs local,path="$cwd",mount_tag=work,security_model=passthrough,readonly=on,multidevs=remap \
  -virtfs local,path="$out",mount_tag=out,security_model=passthrough \
  </dev/null || status=$?
# The guest's CPU time (QEMU's, from `times`: children waited for), which
# unlike wall time does not grow when other work shares the cores.
# (A builtin in a pipe or $(...) would run in a subshell and see none.)
times >"$out/times"
{ read -r _ && read -r cpu_user cpu_sys; } <"$out/times"
vm_say "QEMU used $cpu_user user + $cpu_sys system CPU"
if [ ! -f "$out/rc" ]; then
  [ "$status" -eq 124 ] && vm_fail "the VM did not finish within $timeout s"
  vm_fail "the VM stopped without the command's exit status (QEMU exit $status)"
fi
exit "$(cat "$out/rc")"
