# Shared by the VM scripts (sourced).
# Kernels and initramfs images live outside the repository so reruns (and
# other checkouts on the same machine) reuse them.
VM_CACHE=${LBCTL_VM_CACHE:-/var/cache/lbctl/vm}
vm_say() { printf 'vm: %s\n' "$*" >&2; }
vm_fail() { printf 'vm: %s\n' "$*" >&2; exit 2; }
