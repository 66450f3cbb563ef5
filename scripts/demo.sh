#!/usr/bin/env bash
# The demo: a keepalived + LVS-DR site like the classic tutorials', built by `lbctl lab up` in
# network namespaces on this machine, and what it does when things fail:
# rr alternation, a real server stopped, the sorry server, recovery, and the
# master director stopped (the backup takes the VIP over by VRRP); on the way, `lbctl status`
# and a `lbctl reload` of a changed weight over the control socket.
set -euo pipefail
cd "$(dirname "$0")/.."
lbctl() { node bin/lbctl "$@"; }
step() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }

vip=10.77.0.100
client=lblab-client
requests() { # N: N requests from the client, one connection each, answers on one line
  local out=()
  for _ in $(seq "$1"); do
    out+=("$(nsenter --net="/var/run/netns/$client" curl -s --max-time 1 "http://$vip/" || echo FAILED)")
  done
  echo "${out[*]}"
}
trap 'lbctl lab down >/dev/null 2>&1 || true' EXIT

step "lbctl doctor: can this machine run lbctl?"
lbctl doctor || true

step "lbctl lab up: client, two directors (VRRP master/backup, XDP DR), two real servers"
lbctl lab up
lbctl lab status

step "8 requests from the client to $vip: rr alternates between rs1 and rs2"
requests 8

step "stop rs1's web server; health checks notice within delay_loop + retry (about 2 s)"
lbctl lab stop rs1
sleep 3
requests 6

step "stop rs2 too: quorum is lost, the sorry server on the director answers"
lbctl lab stop rs2
sleep 3
requests 4

step "start both again: traffic returns to the real servers"
lbctl lab start rs1
lbctl lab start rs2
sleep 3
requests 6

# The lab runs director1 as lbctl instance lblab-director1 with --run-dir /run/lbctl/lab/lblab:
# its control socket is /run/lbctl/lab/lblab/lblab-director1.sock, reachable from the host.
labdir=/run/lbctl/lab/lblab
director1=(--instance lblab-director1 --run-dir "$labdir")
conf=$labdir/director1.conf
step "lbctl status on director1: the virtual server, its reals and weights, the VRRP instance"
lbctl status "${director1[@]}"

step "set rs1's weight to 3 in director1's keepalived.conf, then lbctl reload (no restart)"
sed -i '/real_server 10\.77\.0\.11 80/{n;s/weight 1/weight 3/}' "$conf"
grep -A1 'real_server 10.77.0.11 80' "$conf"
lbctl reload "${director1[@]}"
lbctl status "${director1[@]}"

step "what director1 did (its log)"
# One line per event (JSON when lbctl logs JSON, else journal-style text); the interesting ones.
lbctl lab log director1 | node -e '
  for (const line of require("node:fs").readFileSync(0, "utf8").split("\n")) {
    let msg;
    try { msg = JSON.parse(line).msg; } catch { msg = line.replace(/^<\d>/, ""); }
    if (/real server|applied|removed|quorum|XDP|reload|MASTER/.test(msg ?? "")) console.log(msg);
  }'

step "stop the master director: director2 takes the VIP over"
lbctl lab stop director1
sleep 2
lbctl lab status
requests 6

step "lbctl lab down: everything removed"
lbctl lab down
ip netns list | grep -c '^lblab-' || true
