// Event-loop integration for native sockets: a uv_poll handle that calls back
// on the JS thread when the fd is readable. Reads are bounded per wakeup by
// the owner so one busy socket cannot starve the loop.
#pragma once

#include <napi.h>
#include <uv.h>

#include <functional>
#include <string>
#include <vector>

namespace lbctl {

class SocketWatcher {
 public:
  SocketWatcher() = default;
  SocketWatcher(const SocketWatcher&) = delete;
  SocketWatcher& operator=(const SocketWatcher&) = delete;
  ~SocketWatcher() { Stop(); }

  // Starts watching fd; onReadable runs on the JS thread inside a HandleScope
  // and hands what it read to `callback` through Deliver(). While watching,
  // `owner` (the JS handle) is kept alive, like a listening server. Returns a
  // libuv error code (0 on success).
  int Start(Napi::Env env, int fd, Napi::Object owner, Napi::Function callback,
            std::function<void()> onReadable);
  // The JS method start(callback) of a socket handle: validates the callback
  // and starts watching, throwing a BpfError naming `what` on failure.
  void StartFromJs(const Napi::CallbackInfo& info, int fd, const std::string& what,
                   std::function<void()> onReadable);
  // Calls the JS callback with `owner` as this; false when it threw (the
  // exception is reported as uncaught) or when watching stopped meanwhile.
  bool Deliver(const std::vector<napi_value>& args);
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
  Napi::FunctionReference callback_;
};

}  // namespace lbctl
