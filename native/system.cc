#include "system.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <sys/file.h>
#include <time.h>

#include <string>

#include "errors.h"

namespace lbctl {
namespace {

Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), libbpf_version_string());
}

Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = libbpf_num_possible_cpus();
  if (n < 0) {
    Throw(env, code::kSystem, "libbpf_num_possible_cpus",
          "Cannot count possible CPUs: " + Describe(-n), -n);
  }
  return Napi::Number::New(env, n);
}

// threadCpuNs() → CPU time of the calling thread in ns. CLOCK_THREAD_CPUTIME_ID
// counts to the moment of the call; /proc's schedstat only to the thread's last
// scheduler tick (4 ms apart at HZ=250), too coarse to time a turn of the loop.
Napi::Value ThreadCpuNs(const Napi::CallbackInfo& info) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return Napi::Number::New(info.Env(), static_cast<double>(ts.tv_sec) * 1e9 +
                                           static_cast<double>(ts.tv_nsec));
}

// objGet(path) → fd of a pinned BPF object (map, program or link).
Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Throw(env, code::kInvalidArgument, "open pinned object",
          "Cannot open pinned object: path must be a string");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    int err = errno;
    std::string reason = err == ENOENT ? "nothing is pinned there" : Describe(err);
    Throw(env, code::kObjGet, "bpf_obj_get",
          "Cannot open pinned object " + path + ": " + reason, err);
  }
  return Napi::Number::New(env, fd);
}

// ifIndex(name) → ifindex, or 0 when there is no such interface.
Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Throw(env, code::kNativeInvalidArgument, "look up interface",
          "Cannot look up interface: name must be a string");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(env, if_nametoindex(name.c_str()));
}

// setNetworkNamespace(fd): moves the calling (JS) thread into the network
// namespace `fd` refers to. Sockets opened afterwards on this thread, and
// processes it spawns, live there; libuv's worker threads do not move.
Napi::Value SetNetworkNamespace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Throw(env, code::kNativeInvalidArgument, "enter network namespace",
          "Cannot enter network namespace: expected a file descriptor");
  }
  if (setns(info[0].As<Napi::Number>().Int32Value(), CLONE_NEWNET) != 0) {
    int err = errno;
    Throw(env, code::kSystem, "setns", "Cannot enter network namespace: " + Describe(err), err);
  }
  return env.Undefined();
}

// createArrayMap(name, valueSize, maxEntries) → fd of a new BPF array map
// with u32 keys, made from user space (a small record to pin beside a
// program's own maps).
Napi::Value CreateArrayMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Throw(env, code::kNativeInvalidArgument, "create map",
          "Cannot create map: expected a name, a value size and an entry count");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint32_t valueSize = info[1].As<Napi::Number>().Uint32Value();
  uint32_t entries = info[2].As<Napi::Number>().Uint32Value();
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name.c_str(), sizeof(uint32_t), valueSize, entries,
                          nullptr);
  if (fd < 0) {
    int err = errno;
    Throw(env, code::kMapOperation, "bpf_map_create",
          "Cannot create map " + name + ": " + Describe(err), err);
  }
  return Napi::Number::New(env, fd);
}

// tryLockExclusive(fd) → true when this process now holds an exclusive
// flock(2) on fd, false when another open file description holds one.
// Never blocks: the event loop must not wait on another daemon.
Napi::Value TryLockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Throw(env, code::kNativeInvalidArgument, "lock file",
          "Cannot lock file: expected a file descriptor");
  }
  if (flock(info[0].As<Napi::Number>().Int32Value(), LOCK_EX | LOCK_NB) == 0) {
    return Napi::Boolean::New(env, true);
  }
  int err = errno;
  if (err == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  Throw(env, code::kSystem, "flock", "Cannot lock file: " + Describe(err), err);
  return env.Undefined();
}

}  // namespace

void InitSystem(Napi::Env env, Napi::Object exports) {
  exports.Set("libbpfVersion", Napi::Function::New(env, LibbpfVersion, "libbpfVersion"));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus, "possibleCpus"));
  exports.Set("objGet", Napi::Function::New(env, ObjGet, "objGet"));
  exports.Set("threadCpuNs", Napi::Function::New(env, ThreadCpuNs, "threadCpuNs"));
  exports.Set("ifIndex", Napi::Function::New(env, IfIndex, "ifIndex"));
  exports.Set("setNetworkNamespace",
              Napi::Function::New(env, SetNetworkNamespace, "setNetworkNamespace"));
  exports.Set("createArrayMap", Napi::Function::New(env, CreateArrayMap, "createArrayMap"));
  exports.Set("tryLockExclusive",
              Napi::Function::New(env, TryLockExclusive, "tryLockExclusive"));
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
}

}  // namespace lbctl
