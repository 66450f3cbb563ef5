// TcpProber: TCP connect probes (TCP_CHECK) without a Node socket each. Every
// probe is a nonblocking connect() whose socket joins one epoll set; the JS
// thread's loop polls that set and hands completions to JS in batches of
// (id, errno) pairs. A Node net.Socket per probe costs streams, handles and
// their garbage: at thousands of checks a second that was most of a check.
#pragma once

#include <napi.h>

#include <cstdint>
#include <unordered_map>

#include "fd_handle.h"
#include "socket_watcher.h"

namespace lbctl {

class TcpProber : public FdHandle<TcpProber> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new TcpProber(onSettled: (ids: Uint32Array, errnos: Int32Array) => void)
  explicit TcpProber(const Napi::CallbackInfo& info);

 private:
  friend class FdHandle<TcpProber>;
  static constexpr const char* kClosedCode = code::kNativeClosed;
  std::string Description() const { return "TCP prober"; }
  void BeforeClose();

  // connect(id, family, address, port, bindAddress?, bindPort?) → -1 while the
  // connect is in progress (onSettled reports it), else its errno now (0: up).
  Napi::Value Connect(const Napi::CallbackInfo& info);
  // cancel(id) → false when the probe had already settled.
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  // pending() → probes in progress.
  Napi::Value Pending(const Napi::CallbackInfo& info);

  void Settle();
  // The loop is kept alive only while a probe is in progress.
  void KeepLoopWhilePending();

  std::unordered_map<uint32_t, int> probes_;  // id → socket
  SocketWatcher watcher_;
};

}  // namespace lbctl
