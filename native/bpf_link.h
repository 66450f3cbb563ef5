// BpfLink: one owned bpf_link fd (an XDP attachment). Closing an unpinned
// link detaches it; a pinned link lives on until unpinned or detached.
#pragma once

#include <napi.h>

#include <string>

#include "fd_handle.h"

namespace lbctl {

class BpfLink : public FdHandle<BpfLink> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new BpfLink(fd): adopts fd.
  explicit BpfLink(const Napi::CallbackInfo& info);

 private:
  friend class FdHandle<BpfLink>;
  static constexpr const char* kClosedCode = code::kClosed;
  std::string Description() const { return "link"; }
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
};

}  // namespace lbctl
