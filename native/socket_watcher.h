// Event-loop integration for native sockets: a uv_poll handle that calls back
// on the JS thread when the fd is readable. Reads are bounded per wakeup by
// the owner so one busy socket cannot starve the loop.
#pragma once

#include <napi.h>
#include <uv.h>

#include <functional>

namespace lbctl {

class SocketWatcher {
 public:
  SocketWatcher() = default;
  SocketWatcher(const SocketWatcher&) = delete;
  SocketWatcher& operator=(const SocketWatcher&) = delete;
  ~SocketWatcher() { Stop(); }

  // Starts watching fd; onReadable runs on the JS thread inside a HandleScope.
  // While watching, `owner` (the JS handle) is kept alive, like a listening
  // server. Returns a libuv error code (0 on success).
  int Start(Napi::Env env, int fd, Napi::Object owner, std::function<void()> onReadable);
  // Stops watching; the handle is released asynchronously by libuv. Must be
  // called before the fd is closed.
  void Stop();
  bool Active() const { return poll_ != nullptr; }
  void Ref(bool ref);

 private:
  static void OnPoll(uv_poll_t* handle, int status, int events);

  uv_poll_t* poll_ = nullptr;
  Napi::Env env_ = nullptr;
  std::function<void()> onReadable_;
  Napi::ObjectReference owner_;
};

// Reports an exception thrown by a JS callback invoked from the event loop
// as an uncaught exception (there is no JS caller to hand it to).
void ReportUncaught(Napi::Env env, const Napi::Error& error);

}  // namespace lbctl
