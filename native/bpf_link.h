// BpfLink: one owned bpf_link fd (an XDP attachment). Closing an unpinned
// link detaches it; a pinned link lives on until unpinned or detached.
#pragma once

#include <napi.h>

#include "unique_fd.h"

namespace lbctl {

class BpfLink : public Napi::ObjectWrap<BpfLink> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new BpfLink(fd): adopts fd.
  explicit BpfLink(const Napi::CallbackInfo& info);

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  int Fd(Napi::Env env, const char* operation) const;

  UniqueFd fd_;
};

}  // namespace lbctl
