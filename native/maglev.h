// Maglev table fill off the event loop (the probe loop is the costly part of a ring build).
#pragma once

#include <napi.h>

namespace lbctl {

void InitMaglev(Napi::Env env, Napi::Object exports);

}  // namespace lbctl
