// TcpProber: health checks' TCP connections without a Node socket each. Every
// probe is a nonblocking connect() whose socket joins one epoll set; the JS
// thread's loop polls that set and hands completions to JS in batches. A
// probe is either a bare connect (TCP_CHECK) or an HTTP/1.0 exchange
// (HTTP_GET without digest): send the request, read the head, read the body
// to its end without keeping it. A Node net.Socket per check costs streams,
// handles and their garbage: at thousands of checks a second that was most
// of a check.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fd_handle.h"
#include "socket_watcher.h"

namespace lbctl {

class TcpProber : public FdHandle<TcpProber> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new TcpProber(onSettled: (ids, errnos, outcomes, statuses, details) => void):
  // Uint32Array, Int32Array, Int32Array, Int32Array, (string | undefined)[].
  explicit TcpProber(const Napi::CallbackInfo& info);
  ~TcpProber() override;

  // What ended a probe besides a system call's errno (shared with src/checkers/tcp-probe.ts).
  enum Outcome : int32_t {
    kDone = 0,                // connected; an exchange: accepted status and whole body
    kStatusRejected = 1,      // an exchange's status is not among the accepted ones
    kHeadTooLarge = 2,        // no end of the head within kMaxHttpHeadBytes
    kMalformedStatus = 3,     // detail: the status line
    kClosedBeforeResponse = 4,
    kClosedBeforeBody = 5,    // fewer bytes than Content-Length
    // With an errno: the system call that failed after the connect.
    kWriteFailed = 6,
    kReadFailed = 7,
  };

 private:
  friend class FdHandle<TcpProber>;
  static constexpr const char* kClosedCode = code::kNativeClosed;
  std::string Description() const { return "TCP prober"; }
  void BeforeClose();

  struct Probe {
    int fd = -1;
    bool connected = false;
    std::string request;  // empty for a bare connect
    bool IsExchange() const { return !request.empty(); }
    size_t sent = 0;
    std::vector<std::pair<int, int>> accepted;  // inclusive status ranges
    std::string head;                           // bytes until the head is parsed
    bool inBody = false;
    int status = 0;
    int64_t remaining = -1;  // body bytes still expected; -1: until the server closes
  };
  struct Settled {
    uint32_t id;
    int32_t err;
    int32_t outcome;
    int32_t status;
    std::string detail;
  };

  // connect(id, family, address, port, bindAddress?, bindPort?) → -1 while the
  // connect is in progress (onSettled reports it), else its errno now (0: up).
  Napi::Value Connect(const Napi::CallbackInfo& info);
  // exchange(id, family, address, port, bindAddress?, bindPort?, request: Buffer,
  // accepted: Int32Array of from,to pairs) → -1, else the connect's errno now.
  Napi::Value Exchange(const Napi::CallbackInfo& info);
  // cancel(id) → false when the probe had already settled.
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  // pending() → probes in progress.
  Napi::Value Pending(const Napi::CallbackInfo& info);

  int Start(const Napi::CallbackInfo& info, Probe probe);
  // Moves a probe on after an epoll event; true once it has settled into `out`.
  bool Advance(uint32_t id, Probe& probe, Settled& out);
  bool Send(Probe& probe, Settled& out);
  bool Receive(Probe& probe, Settled& out);
  bool Consume(Probe& probe, const char* data, size_t length, Settled& out);
  void Settle();
  // The loop is kept alive only while a probe is in progress.
  void KeepLoopWhilePending();

  std::unordered_map<uint32_t, Probe> probes_;
  SocketWatcher watcher_;
};

}  // namespace lbctl
