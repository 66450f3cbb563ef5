// Free functions: library facts and fd-level helpers shared by handle types.
#pragma once

#include <napi.h>

namespace lbctl {

void InitSystem(Napi::Env env, Napi::Object exports);

}  // namespace lbctl
