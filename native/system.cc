#include "system.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>

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

}  // namespace

void InitSystem(Napi::Env env, Napi::Object exports) {
  exports.Set("libbpfVersion", Napi::Function::New(env, LibbpfVersion, "libbpfVersion"));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus, "possibleCpus"));
  exports.Set("objGet", Napi::Function::New(env, ObjGet, "objGet"));
  exports.Set("ifIndex", Napi::Function::New(env, IfIndex, "ifIndex"));
  exports.Set("setNetworkNamespace",
              Napi::Function::New(env, SetNetworkNamespace, "setNetworkNamespace"));
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
}

}  // namespace lbctl
