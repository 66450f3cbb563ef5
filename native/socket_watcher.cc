#include "socket_watcher.h"

#include "errors.h"

namespace lbctl {

int SocketWatcher::Start(Napi::Env env, int fd, Napi::Object owner, Napi::Function callback,
                         std::function<void()> onReadable) {
  Stop();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return UV_EINVAL;
  auto* poll = new uv_poll_t;
  int err = uv_poll_init(loop, poll, fd);
  if (err != 0) {
    delete poll;
    return err;
  }
  poll->data = this;
  err = uv_poll_start(poll, UV_READABLE, OnPoll);
  if (err != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(poll),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    return err;
  }
  poll_ = poll;
  env_ = env;
  onReadable_ = std::move(onReadable);
  owner_ = Napi::Persistent(owner);
  callback_ = Napi::Persistent(callback);
  return 0;
}

void SocketWatcher::StartFromJs(const Napi::CallbackInfo& info, int fd, const std::string& what,
                                std::function<void()> onReadable) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Throw(env, code::kNativeInvalidArgument, "receive", "Cannot receive: expected a callback");
  }
  int err = Start(env, fd, info.This().As<Napi::Object>(), info[0].As<Napi::Function>(),
                  std::move(onReadable));
  if (err != 0) {
    Throw(env, code::kSystem, "uv_poll_start",
          "Cannot receive on " + what + ": " + uv_strerror(err), -err);
  }
}

void SocketWatcher::Stop() {
  if (poll_ == nullptr) return;
  uv_poll_stop(poll_);
  poll_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(poll_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  poll_ = nullptr;
  onReadable_ = nullptr;
  owner_.Reset();
  callback_.Reset();
}

void SocketWatcher::Ref(bool ref) {
  if (poll_ == nullptr) return;
  if (ref) {
    uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  } else {
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }
}

void SocketWatcher::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<SocketWatcher*>(handle->data);
  if (self == nullptr || !self->onReadable_) return;
  Napi::HandleScope scope(self->env_);
  // Copy: the callback may stop (and so reset) this watcher.
  std::function<void()> callback = self->onReadable_;
  callback();
}

bool SocketWatcher::Deliver(const std::vector<napi_value>& args) {
  if (poll_ == nullptr || callback_.IsEmpty()) return false;
  try {
    callback_.MakeCallback(owner_.Value(), args);
  } catch (const Napi::Error& error) {
    // No JS caller to hand it to: report it as uncaught.
    napi_fatal_exception(env_, error.Value());
    return false;
  }
  return poll_ != nullptr;
}

}  // namespace lbctl
