#!/usr/bin/env bash
# The demo: checks the machine with `lbctl doctor`, then attaches the XDP
# counter to a veth in a throw-away network namespace, sends real packets,
# and reads the counters back from the pinned map.
set -euo pipefail
cd "$(dirname "$0")/.."
lbctl() { node bin/lbctl "$@"; }
step() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }

ns_a=lbdemo-a
ns_b=lbdemo-b
pins=/sys/fs/bpf/lbctl/demo-counter
cleanup() {
  ip netns delete "$ns_a" 2>/dev/null || true
  ip netns delete "$ns_b" 2>/dev/null || true
  rm -rf "$pins"
}
trap cleanup EXIT
cleanup

step "lbctl doctor: can this machine run lbctl?"
lbctl doctor

step "two network namespaces joined by a veth pair (10.250.0.1 <-> 10.250.0.2)"
ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add demo0 netns "$ns_a" type veth peer name demo1 netns "$ns_b"
ip -n "$ns_a" addr add 10.250.0.1/24 dev demo0
ip -n "$ns_b" addr add 10.250.0.2/24 dev demo1
ip -n "$ns_a" link set demo0 up
ip -n "$ns_b" link set demo1 up

step "attach the XDP counter to demo0 in native mode (pinned link, the process exits)"
nsenter --net=/var/run/netns/"$ns_a" -- node bin/lbctl counter attach --interface demo0 --mode native --pin-dir "$pins"
ip -n "$ns_a" link show demo0 | grep -o 'prog/xdp id [0-9]*'

step "ping 10.250.0.1 five times from the other namespace"
ip netns exec "$ns_b" ping -c 5 -i 0.2 -W 1 10.250.0.1 | tail -2

step "counters summed over CPUs, read from the pinned map"
lbctl counter show --pin-dir "$pins"

step "the same map through bpftool (BTF gives field names)"
bpftool map dump pinned "$pins/counters" | head -20

step "detach"
lbctl counter detach --pin-dir "$pins"
ip -n "$ns_a" link show demo0 | grep -q prog/xdp && exit 1
echo "detached; cleaning up namespaces"
