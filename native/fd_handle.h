// FdHandle<T>: the base of every JS object that owns one file descriptor (a BPF
// map, program or link; a raw, packet or netlink socket). The guards each handle
// needs live here once: use after close fails with one error naming the handle,
// close() releases the fd exactly once and may be repeated.
//
// T provides `static constexpr const char* kClosedCode` (the code of "is closed"),
// `std::string Description() const` ("map counters", "netlink socket", ...) and,
// when something must stop before the fd closes, `void BeforeClose()`.
#pragma once

#include <fcntl.h>
#include <napi.h>

#include <cerrno>
#include <string>

#include "errors.h"
#include "unique_fd.h"

namespace lbctl {

template <typename T>
class FdHandle : public Napi::ObjectWrap<T> {
 public:
  explicit FdHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}

  // The open fd, or throws "Cannot <operation>: <description> is closed".
  int Fd(Napi::Env env, const char* operation) const {
    if (!fd_.Valid()) {
      Throw(env, T::kClosedCode, operation,
            std::string("Cannot ") + operation + ": " + Self().Description() + " is closed");
    }
    return fd_.Get();
  }

 protected:
  // new T(fd): adopts the descriptor argument, or throws "Cannot open <what>: ...".
  void AdoptFdArgument(const Napi::CallbackInfo& info, const char* what) {
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Throw(info.Env(), code::kInvalidArgument, std::string("open ") + what,
            std::string("Cannot open ") + what + ": expected a file descriptor");
    }
    fd_.Reset(info[0].As<Napi::Number>().Int32Value());
  }

  // close(): stops what uses the fd (T::BeforeClose), then closes it.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    static_cast<T*>(this)->BeforeClose();
    fd_.Reset();
    return info.Env().Undefined();
  }

  void BeforeClose() {}

  // dup(): another descriptor of the same object, owned by the caller: a second
  // handle that is closed on its own while the object lives on.
  Napi::Value Dup(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int copy = fcntl(Fd(env, "duplicate"), F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
      int err = errno;
      Throw(env, code::kSystem, "fcntl",
            "Cannot duplicate " + Self().Description() + ": " + Describe(err), err);
    }
    return Napi::Number::New(env, copy);
  }

  UniqueFd fd_;

 private:
  const T& Self() const { return static_cast<const T&>(*this); }
};

}  // namespace lbctl
