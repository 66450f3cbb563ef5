#include "errors.h"

#include <string.h>

#include "addon_data.h"

namespace lbctl {

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Throw(env, code::kInvalidArgument, "setErrorFactory", "Cannot set error factory: expected a function");
  }
  AddonData::Of(env)->errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

std::string Describe(int err) {
  char buf[128];
  // GNU strerror_r returns the message pointer (may not use buf).
  const char* msg = strerror_r(err, buf, sizeof(buf));
  return std::string(msg);
}

Napi::Error MakeError(Napi::Env env, const ErrorInfo& e) {
  Napi::Object extra = Napi::Object::New(env);
  if (!e.verifierLog.empty()) extra.Set("verifierLog", e.verifierLog);
  if (!e.libbpfLog.empty()) extra.Set("libbpfLog", e.libbpfLog);

  AddonData* data = AddonData::Of(env);
  if (!data->errorFactory.IsEmpty()) {
    Napi::Value err = data->errorFactory.Call(
        {Napi::String::New(env, e.message), Napi::String::New(env, e.code),
         Napi::Number::New(env, e.err), Napi::String::New(env, e.operation), extra});
    if (err.IsObject()) return Napi::Error(env, err);
  }
  Napi::Error error = Napi::Error::New(env, e.message);
  error.Set("code", e.code);
  error.Set("errno", Napi::Number::New(env, e.err));
  error.Set("operation", e.operation);
  for (const auto& key : {"verifierLog", "libbpfLog"}) {
    if (extra.Has(key)) error.Set(key, extra.Get(key));
  }
  return error;
}

void Throw(Napi::Env env, const char* code, const std::string& operation,
           const std::string& message, int err) {
  ErrorInfo info{code, operation, message, err, {}, {}};
  throw MakeError(env, info);
}

}  // namespace lbctl
