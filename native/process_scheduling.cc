#include "process_scheduling.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <string>

#include "errors.h"

namespace lbctl {
namespace {

// The thread the SIGXCPU guard demotes: the one that last asked for realtime.
std::atomic<pid_t> guarded_tid{0};
std::atomic<uint32_t> demotions{0};
static_assert(std::atomic<pid_t>::is_always_lock_free, "used from a signal handler");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "used from a signal handler");

pid_t CurrentTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// SIGXCPU comes when a realtime thread ran past the soft RLIMIT_RTTIME without
// sleeping; the kernel sends SIGKILL at the hard limit. Dropping the thread to
// SCHED_OTHER stops the count (it only runs for realtime tasks), so a long
// stretch of work ends up sharing the CPU instead of killing the daemon. Only
// a system call and atomics here: async-signal-safe.
void OnSigxcpu(int) {
  const int saved = errno;
  const pid_t tid = guarded_tid.load();
  struct sched_param param = {};
  param.sched_priority = 0;
  if (tid != 0 && syscall(SYS_sched_setscheduler, tid, SCHED_OTHER, &param) == 0) {
    demotions.fetch_add(1);
  }
  errno = saved;
}

double LimitValue(rlim_t v) {
  return v == RLIM_INFINITY ? INFINITY : static_cast<double>(v);
}

rlim_t LimitOf(double v) { return std::isinf(v) ? RLIM_INFINITY : static_cast<rlim_t>(v); }

// setEventLoopRealtime(priority, softUs, hardUs): the calling thread runs
// SCHED_RR at `priority` (1..99), or SCHED_OTHER when 0, and RLIMIT_RTTIME
// becomes soft/hard. Threads and processes it starts afterwards begin with
// normal scheduling (SCHED_RESET_ON_FORK), as keepalived's children do.
// The kernel keeps a thread's realtime count across a spell of SCHED_OTHER
// and resets it only when the thread wakes as a realtime thread, so the
// switch raises the soft limit to the hard one, sleeps once as realtime,
// then sets the limits: a count left from before cannot signal at once.
Napi::Value SetEventLoopRealtime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Throw(env, code::kNativeInvalidArgument, "set realtime priority",
          "Cannot set realtime priority: expected a priority and a soft and hard limit in µs");
  }
  const int priority = info[0].As<Napi::Number>().Int32Value();
  if (priority < 0 || priority > 99) {
    Throw(env, code::kNativeInvalidArgument, "set realtime priority",
          "Cannot set realtime priority " + std::to_string(priority) + ": must be 0 to 99");
  }
  struct rlimit limit;
  limit.rlim_cur = LimitOf(info[1].As<Napi::Number>().DoubleValue());
  limit.rlim_max = LimitOf(info[2].As<Napi::Number>().DoubleValue());
  if (priority > 0) {
    struct rlimit current;
    if (getrlimit(RLIMIT_RTTIME, &current) == 0) {
      current.rlim_cur = current.rlim_max;
      setrlimit(RLIMIT_RTTIME, &current);
    }
  }
  struct sched_param param = {};
  param.sched_priority = priority;
  const int policy = (priority == 0 ? SCHED_OTHER : SCHED_RR) | SCHED_RESET_ON_FORK;
  if (sched_setscheduler(0, policy, &param) != 0) {
    const int err = errno;
    std::string reason = Describe(err);
    if (err == EPERM) {
      reason =
          "not permitted (needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least the priority; "
          "under a cgroup with the cpu controller, realtime bandwidth for that cgroup)";
    }
    Throw(env, code::kSystem, "sched_setscheduler",
          priority == 0 ? "Cannot return the event loop to normal scheduling: " + reason
                        : "Cannot run the event loop at realtime priority " +
                              std::to_string(priority) + ": " + reason,
          err);
  }
  guarded_tid.store(priority == 0 ? 0 : CurrentTid());
  if (priority > 0) {
    struct timespec nap = {0, 50 * 1000};
    nanosleep(&nap, nullptr);
  }
  if (setrlimit(RLIMIT_RTTIME, &limit) != 0) {
    int err = errno;
    // Without CAP_SYS_RESOURCE the hard limit cannot go back up: keep the
    // one there is when the soft limit fits under it.
    struct rlimit current;
    if (err == EPERM && getrlimit(RLIMIT_RTTIME, &current) == 0 &&
        limit.rlim_cur <= current.rlim_max) {
      limit.rlim_max = current.rlim_max;
      if (setrlimit(RLIMIT_RTTIME, &limit) == 0) return env.Undefined();
      err = errno;
    }
    // The limit counts realtime threads only: one that cannot be raised
    // back does nothing to a SCHED_OTHER thread.
    if (priority == 0 && err == EPERM) return env.Undefined();
    Throw(env, code::kSystem, "setrlimit",
          "Cannot set the realtime CPU-time limit: " +
              std::string(err == EPERM ? "not permitted to raise it above the limit set at "
                                         "start (needs CAP_SYS_RESOURCE)"
                                       : Describe(err)),
          err);
  }
  return env.Undefined();
}

// realtimeTimeLimit() → { soft, hard } of RLIMIT_RTTIME in µs (Infinity: none).
Napi::Value RealtimeTimeLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct rlimit lim;
  if (getrlimit(RLIMIT_RTTIME, &lim) != 0) {
    const int err = errno;
    Throw(env, code::kSystem, "getrlimit",
          "Cannot read the realtime CPU-time limit: " + Describe(err), err);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("soft", LimitValue(lim.rlim_cur));
  out.Set("hard", LimitValue(lim.rlim_max));
  return out;
}

// installRealtimeGuard(): from now on SIGXCPU demotes the realtime thread.
Napi::Value InstallRealtimeGuard(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct sigaction action = {};
  action.sa_handler = OnSigxcpu;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGXCPU, &action, nullptr) != 0) {
    const int err = errno;
    Throw(env, code::kSystem, "sigaction",
          "Cannot watch for the realtime CPU-time limit (SIGXCPU): " + Describe(err), err);
  }
  return env.Undefined();
}

// realtimeDemotions() → how many times the guard has demoted the thread.
Napi::Value RealtimeDemotions(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), demotions.load());
}

// setThreadCpuAffinity(cpus): the calling thread runs only on these CPUs.
Napi::Value SetThreadCpuAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    Throw(env, code::kNativeInvalidArgument, "set CPU affinity",
          "Cannot set CPU affinity: expected an array of CPU numbers");
  }
  Napi::Array cpus = info[0].As<Napi::Array>();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < cpus.Length(); i++) {
    Napi::Value v = cpus.Get(i);
    const int cpu = v.IsNumber() ? v.As<Napi::Number>().Int32Value() : -1;
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
      Throw(env, code::kNativeInvalidArgument, "set CPU affinity",
            "Cannot set CPU affinity: CPU numbers must be 0 to " +
                std::to_string(CPU_SETSIZE - 1));
    }
    CPU_SET(cpu, &set);
  }
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    const int err = errno;
    Throw(env, code::kSystem, "sched_setaffinity",
          "Cannot bind the event loop to CPUs: " +
              std::string(err == EINVAL ? "none of them is online or allowed here"
                                        : Describe(err)),
          err);
  }
  return env.Undefined();
}

// threadCpuAffinity() → the CPUs the calling thread may run on.
Napi::Value ThreadCpuAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    const int err = errno;
    Throw(env, code::kSystem, "sched_getaffinity",
          "Cannot read the event loop's CPUs: " + Describe(err), err);
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (CPU_ISSET(cpu, &set)) out.Set(n++, cpu);
  }
  return out;
}

// lockMemory(on): mlockall(MCL_CURRENT | MCL_FUTURE), or munlockall.
Napi::Value LockMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool on = info.Length() > 0 && info[0].ToBoolean().Value();
  if (!on) {
    munlockall();
    return env.Undefined();
  }
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    const int err = errno;
    Throw(env, code::kSystem, "mlockall",
          "Cannot lock the daemon in memory: " +
              std::string(err == ENOMEM ? "more than RLIMIT_MEMLOCK allows"
                          : err == EPERM ? "not permitted (needs CAP_IPC_LOCK)"
                                         : Describe(err)),
          err);
  }
  return env.Undefined();
}

// setThreadName(name): the calling thread's name (prctl PR_SET_NAME), as
// `ps -L`, `top -H` and /proc/PID/task/TID/comm show it; at most 15 bytes.
Napi::Value SetThreadName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Throw(env, code::kNativeInvalidArgument, "prctl", "Cannot name the thread: expected a string");
  }
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() > 15) {
    Throw(env, code::kNativeInvalidArgument, "prctl",
          "Cannot name the thread: a name is 1 to 15 bytes, not " + std::to_string(name.size()));
  }
  if (prctl(PR_SET_NAME, name.c_str(), 0, 0, 0) != 0) {
    const int err = errno;
    Throw(env, code::kSystem, "prctl", "Cannot name the thread: " + Describe(err), err);
  }
  return env.Undefined();
}

}  // namespace

void InitProcessScheduling(Napi::Env env, Napi::Object exports) {
  const struct {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  } functions[] = {
      {"setEventLoopRealtime", SetEventLoopRealtime},
      {"realtimeTimeLimit", RealtimeTimeLimit},
      {"installRealtimeGuard", InstallRealtimeGuard},
      {"realtimeDemotions", RealtimeDemotions},
      {"setThreadCpuAffinity", SetThreadCpuAffinity},
      {"threadCpuAffinity", ThreadCpuAffinity},
      {"lockMemory", LockMemory},
      {"setThreadName", SetThreadName},
  };
  for (const auto& f : functions) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
}

}  // namespace lbctl
