// PromiseWorker: the base of every AsyncWorker whose outcome is a JS promise.
// A subclass does its work in Execute (on the libuv pool) and settles
// deferred_ in OnOK; an error node-addon-api reports (SetError, an exception
// out of Execute) rejects the promise in OnError.
#pragma once

#include <napi.h>

#include "errors.h"

namespace lbctl {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // Queues the worker (node-addon-api deletes it once settled); returns its promise.
  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  explicit PromiseWorker(Napi::Env env)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }
  // Rejects with the addon's error for `e`; on the JS thread (OnOK or OnError) only.
  void RejectWith(const ErrorInfo& e) { deferred_.Reject(MakeError(Env(), e).Value()); }

  Napi::Promise::Deferred deferred_;
};

}  // namespace lbctl
