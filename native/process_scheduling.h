// Scheduling of the event loop thread: realtime policy, its CPU-time limit,
// the SIGXCPU guard, CPU affinity and memory locking (keepalived's
// vrrp_rt_priority, vrrp_rlimit_rttime, vrrp_cpu_affinity, vrrp_no_swap).
#pragma once

#include <napi.h>

namespace lbctl {

void InitProcessScheduling(Napi::Env env, Napi::Object exports);

}  // namespace lbctl
