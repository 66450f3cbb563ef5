// BpfMap: one owned map fd. Keys and values are Buffers; per-CPU values are
// one Buffer holding every possible CPU's slot (split by the JS facade).
#pragma once

#include <napi.h>

#include <string>

#include "fd_handle.h"

namespace lbctl {

class BpfMap : public FdHandle<BpfMap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new BpfMap(fd): adopts fd (already owned by nobody else).
  explicit BpfMap(const Napi::CallbackInfo& info);

 private:
  friend class FdHandle<BpfMap>;
  static constexpr const char* kClosedCode = code::kClosed;
  std::string Description() const { return "map " + name_; }
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value UpdateBatch(const Napi::CallbackInfo& info);
  Napi::Value UpdateOffLoop(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value NextKey(const Napi::CallbackInfo& info);
  Napi::Value ReadArray(const Napi::CallbackInfo& info);
  Napi::Value ReadPerCpuSums(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);

  // Argument checks and failures shared by the methods; each throws with the
  // method's operation in "Cannot <operation> in map <name>: ..." messages.
  [[noreturn]] void Refuse(Napi::Env env, const char* operation, const std::string& why,
                           int err = 0) const;
  [[noreturn]] void Fail(Napi::Env env, const char* call, const char* operation,
                         const std::string& why, int err) const;
  void CheckSize(Napi::Env env, const char* operation, const char* what, size_t got,
                 size_t want) const;
  Napi::Buffer<uint8_t> KeyArg(const Napi::CallbackInfo& info, const char* operation) const;
  int DupFd(Napi::Env env, int fd, const char* verb) const;
  size_t ValueBytes() const;

  std::string name_;
  uint32_t type_ = 0;
  uint32_t keySize_ = 0;
  uint32_t valueSize_ = 0;
  uint32_t maxEntries_ = 0;
  uint32_t flags_ = 0;
  uint32_t id_ = 0;
  bool perCpu_ = false;
};

}  // namespace lbctl
