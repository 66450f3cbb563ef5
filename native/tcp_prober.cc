#include "tcp_prober.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "address.h"
#include "errors.h"

namespace lbctl {
namespace {

// Completions taken per wakeup: a burst of thousands is delivered over several
// loop turns instead of one long callback.
constexpr int kMaxSettledPerWakeup = 512;

std::string Endpoint(int family, const std::string& address, uint32_t port) {
  return (family == 6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

}  // namespace

void TcpProber::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "TcpProber",
                                    {
                                        InstanceMethod<&TcpProber::Connect>("connect"),
                                        InstanceMethod<&TcpProber::Cancel>("cancel"),
                                        InstanceMethod<&TcpProber::Pending>("pending"),
                                        InstanceMethod("close", &TcpProber::Close),
                                    });
  exports.Set("TcpProber", ctor);
}

TcpProber::TcpProber(const Napi::CallbackInfo& info) : FdHandle<TcpProber>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Throw(env, code::kNativeInvalidArgument, "open TCP prober",
          "Cannot open TCP prober: expected a callback");
  }
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    Throw(env, code::kSystem, "epoll_create1", "Cannot open TCP prober: " + Describe(err), err);
  }
  fd_.Reset(fd);
  int err = watcher_.Start(env, fd, info.This().As<Napi::Object>(), info[0].As<Napi::Function>(),
                           [this] { Settle(); });
  if (err != 0) {
    Throw(env, code::kSystem, "uv_poll_start",
          std::string("Cannot open TCP prober: ") + uv_strerror(err), -err);
  }
  KeepLoopWhilePending();
}

void TcpProber::BeforeClose() {
  watcher_.Stop();
  for (const auto& [id, fd] : probes_) ::close(fd);
  probes_.clear();
}

void TcpProber::KeepLoopWhilePending() { watcher_.Ref(!probes_.empty()); }

Napi::Value TcpProber::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "TCP probe";
  int epfd = Fd(env, op);
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsString() ||
      !info[3].IsNumber()) {
    Throw(env, code::kNativeInvalidArgument, op,
          "Cannot start TCP probe: expected (id, family, address, port[, bindAddress, bindPort])");
  }
  const uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  const int family = info[1].As<Napi::Number>().Int32Value();
  const std::string address = info[2].As<Napi::String>().Utf8Value();
  const uint32_t port = info[3].As<Napi::Number>().Uint32Value();
  const std::string bindAddress =
      info.Length() > 4 && info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
  const uint32_t bindPort = info.Length() > 5 && info[5].IsNumber()
                                ? info[5].As<Napi::Number>().Uint32Value()
                                : 0;
  const std::string target = Endpoint(family, address, port);
  sockaddr_storage to;
  socklen_t toLen;
  if ((family != 4 && family != 6) || port == 0 || port > 65535 || bindPort > 65535 ||
      !ParseSockaddr(family, address, static_cast<uint16_t>(port), 0, &to, &toLen)) {
    Throw(env, code::kNativeInvalidArgument, op,
          "Cannot probe " + target + ": not an IPv" + std::to_string(family) +
              " address and a port 1..65535");
  }
  if (probes_.count(id) != 0) {
    Throw(env, code::kNativeInvalidArgument, op,
          "Cannot probe " + target + ": probe " + std::to_string(id) + " is already in progress");
  }
  UniqueFd sock(socket(family == 4 ? AF_INET : AF_INET6,
                       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!sock.Valid()) {
    int err = errno;
    Throw(env, code::kSystem, "socket", "Cannot probe " + target + ": " + Describe(err), err);
  }
  if (!bindAddress.empty() || bindPort != 0) {
    sockaddr_storage from;
    socklen_t fromLen;
    const std::string source = bindAddress.empty() ? (family == 4 ? "0.0.0.0" : "::") : bindAddress;
    if (!ParseSockaddr(family, source, static_cast<uint16_t>(bindPort), 0, &from, &fromLen)) {
      Throw(env, code::kNativeInvalidArgument, op,
            "Cannot probe " + target + ": bind address '" + source + "' is not an IPv" +
                std::to_string(family) + " address");
    }
    if (bind(sock.Get(), reinterpret_cast<sockaddr*>(&from), fromLen) != 0) {
      // Settled now, like a refused connect: the caller words the errno.
      return Napi::Number::New(env, errno);
    }
  }
  if (connect(sock.Get(), reinterpret_cast<sockaddr*>(&to), toLen) == 0) {
    return Napi::Number::New(env, 0);
  }
  if (errno != EINPROGRESS) return Napi::Number::New(env, errno);
  epoll_event event{};
  event.events = EPOLLOUT;  // EPOLLERR and EPOLLHUP are always reported
  event.data.u32 = id;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, sock.Get(), &event) != 0) {
    int err = errno;
    Throw(env, code::kSystem, "epoll_ctl", "Cannot probe " + target + ": " + Describe(err), err);
  }
  probes_.emplace(id, sock.Release());
  KeepLoopWhilePending();
  return Napi::Number::New(env, -1);
}

Napi::Value TcpProber::Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Throw(env, code::kNativeInvalidArgument, "cancel TCP probe",
          "Cannot cancel TCP probe: expected its id");
  }
  auto found = probes_.find(info[0].As<Napi::Number>().Uint32Value());
  if (found == probes_.end()) return Napi::Boolean::New(env, false);
  ::close(found->second);  // also leaves the epoll set
  probes_.erase(found);
  KeepLoopWhilePending();
  return Napi::Boolean::New(env, true);
}

Napi::Value TcpProber::Pending(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(probes_.size()));
}

void TcpProber::Settle() {
  if (!fd_.Valid()) return;
  epoll_event events[kMaxSettledPerWakeup];
  int n = epoll_wait(fd_.Get(), events, kMaxSettledPerWakeup, 0);
  if (n <= 0) return;
  std::vector<uint32_t> ids;
  std::vector<int32_t> errnos;
  ids.reserve(n);
  errnos.reserve(n);
  for (int i = 0; i < n; i++) {
    auto found = probes_.find(events[i].data.u32);
    if (found == probes_.end()) continue;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(found->second, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    ::close(found->second);
    probes_.erase(found);
    ids.push_back(events[i].data.u32);
    errnos.push_back(err);
  }
  KeepLoopWhilePending();
  if (ids.empty()) return;
  Napi::Env env = Env();
  auto idArray = Napi::Uint32Array::New(env, ids.size());
  auto errnoArray = Napi::Int32Array::New(env, errnos.size());
  std::copy(ids.begin(), ids.end(), idArray.Data());
  std::copy(errnos.begin(), errnos.end(), errnoArray.Data());
  watcher_.Deliver({idArray, errnoArray});
}

}  // namespace lbctl
