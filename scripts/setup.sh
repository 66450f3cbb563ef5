#!/usr/bin/env bash
# Prepares a Debian 12 machine to build, test and run lbctl. Idempotent: it
# installs only what is missing, then installs npm dependencies and builds.
# Run as root from the repository: bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "must run as root (lbctl loads BPF programs and creates network namespaces)"

# Build tools, BPF tool chain, and what the tests and the lab drive.
packages=(
  clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config make g++ python3
  iproute2 iputils-ping util-linux procps psmisc curl openssl ca-certificates ipvsadm
  keepalived tcpdump ethtool systemd-container man-db
  qemu-system-x86 busybox-static kmod cpio xz-utils
  prometheus # only for promtool: the tests check metrics and alert rules with it
  bird2      # the BGP daemon lbctl announces VIPs through (docs/scale-out.md); the ECMP lab runs it
)
# Debian 12's newer kernel (6.12), booted by the VM test tier, comes from
# bookworm-backports.
backports=/etc/apt/sources.list.d/debian-backports.sources
need_update=
if [ -r /etc/os-release ] && grep -q '^VERSION_CODENAME=bookworm$' /etc/os-release &&
  ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  say "adding the bookworm-backports apt source"
  cat >"$backports" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  need_update=1
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ "${#missing[@]}" -gt 0 ] || [ -n "$need_update" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian keepalived service must not run on its own: tests start their own.
  # Nor the Prometheus server: only its promtool is used. Nor BIRD: the lab starts its own.
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now keepalived >/dev/null 2>&1 || true
    systemctl disable --now prometheus >/dev/null 2>&1 || true
    systemctl disable --now bird >/dev/null 2>&1 || true
  fi
  # Without systemd, the package's init script started the BIRD it just installed.
  if [[ " ${missing[*]} " == *" bird2 "* ]] && [ -x /etc/init.d/bird ] &&
    ! command -v systemctl >/dev/null 2>&1; then
    /etc/init.d/bird stop >/dev/null 2>&1 || true
  fi
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node.js 20 or newer is required (found $(node --version))"

# Kernel features: bpffs (mount it if we can) and BTF.
if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
  say "mounting bpffs at /sys/fs/bpf"
  mount -t bpf bpf /sys/fs/bpf || fail "bpffs is not mounted at /sys/fs/bpf and cannot be mounted"
fi
[ -e /sys/kernel/btf/vmlinux ] || fail "the kernel has no BTF (/sys/kernel/btf/vmlinux); lbctl needs CONFIG_DEBUG_INFO_BTF=y"

say "installing npm dependencies"
# `npm ci` trips over platform-specific optional packages missing from the
# lock file with some npm versions; `npm install` honours the lock file too.
npm install --no-audit --no-fund --loglevel=error

say "building (native addon, BPF objects, TypeScript)"
npm run --silent build

say "fetching Debian's kernels for the VM test tier (cached in ${LBCTL_VM_CACHE:-/var/cache/lbctl/vm})"
for series in 6.1 6.12; do bash scripts/vm/kernel.sh "$series" >/dev/null; done

# `lbctl` on PATH: a link to this checkout's launcher, unless another lbctl
# (say the Debian package's /usr/sbin/lbctl) is installed.
link=/usr/local/sbin/lbctl
if [ -L "$link" ] || [ ! -e "$link" ]; then
  ln -sfn "$PWD/bin/lbctl" "$link"
  say "lbctl on PATH: $link -> $PWD/bin/lbctl"
else
  say "$link exists and is not a link: left alone"
fi

say "setup complete"
