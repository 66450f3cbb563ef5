// BpfProgram: one owned program fd. Attaches to XDP (as a bpf_link) and runs
// BPF_PROG_TEST_RUN off the JS thread.
#pragma once

#include <napi.h>

#include <string>

#include "fd_handle.h"

namespace lbctl {

class BpfProgram : public FdHandle<BpfProgram> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new BpfProgram(fd): adopts fd.
  explicit BpfProgram(const Napi::CallbackInfo& info);

  const std::string& Name() const { return name_; }

 private:
  friend class FdHandle<BpfProgram>;
  static constexpr const char* kClosedCode = code::kClosed;
  std::string Description() const { return "program " + name_; }
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value AttachXdp(const Napi::CallbackInfo& info);
  Napi::Value TestRun(const Napi::CallbackInfo& info);
  Napi::Value SendLiveFrames(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);

  std::string name_;
  uint32_t type_ = 0;
  uint32_t id_ = 0;
  // Size after the verifier's rewrites, and its effort (verified_insns: 0 before Linux 5.16).
  uint32_t xlatedInsns_ = 0;
  uint32_t jitedBytes_ = 0;
  uint32_t verifiedInsns_ = 0;
};

}  // namespace lbctl
