// Per-environment state of the addon (worker threads get their own).
#pragma once

#include <napi.h>

namespace lbctl {

struct AddonData {
  Napi::FunctionReference errorFactory;

  static AddonData* Of(Napi::Env env) { return env.GetInstanceData<AddonData>(); }
};

}  // namespace lbctl
