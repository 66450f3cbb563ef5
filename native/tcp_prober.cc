#include "tcp_prober.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "address.h"
#include "errors.h"
#include "http_head.h"

namespace lbctl {
namespace {

// Completions taken per wakeup: a burst of thousands is delivered over several
// loop turns instead of one long callback.
constexpr int kMaxEventsPerWakeup = 128;
// Reads per socket per wakeup: a server streaming a large body shares the loop
// with the others (epoll reports the socket again on the next turn).
constexpr int kMaxReadsPerEvent = 8;
constexpr size_t kReadBytes = 16 * 1024;

std::string Endpoint(int family, const std::string& address, uint32_t port) {
  return (family == 6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// The scope of "fe80::1%eth0" (an interface name or index); 0 when the zone
// names no interface.
uint32_t ZoneIndex(const std::string& zone) {
  if (!zone.empty() && zone.find_first_not_of("0123456789") == std::string::npos) {
    return zone.size() > 9 ? 0 : static_cast<uint32_t>(std::stoul(zone));
  }
  return if_nametoindex(zone.c_str());
}

}  // namespace

void TcpProber::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "TcpProber",
                                    {
                                        InstanceMethod<&TcpProber::Connect>("connect"),
                                        InstanceMethod<&TcpProber::Exchange>("exchange"),
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

TcpProber::~TcpProber() {
  // Collected without close() (a worker's environment going away): no socket outlives it.
  for (const auto& [id, probe] : probes_) ::close(probe.fd);
}

void TcpProber::BeforeClose() {
  watcher_.Stop();
  for (const auto& [id, probe] : probes_) ::close(probe.fd);
  probes_.clear();
}

void TcpProber::KeepLoopWhilePending() { watcher_.Ref(!probes_.empty()); }

Napi::Value TcpProber::Connect(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Start(info, Probe{}));
}

Napi::Value TcpProber::Exchange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[6].IsBuffer() || !info[7].IsTypedArray() ||
      info[7].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    Throw(env, code::kNativeInvalidArgument, "HTTP probe",
          "Cannot start HTTP probe: expected a request Buffer and an Int32Array of accepted "
          "status ranges");
  }
  Probe probe;
  auto request = info[6].As<Napi::Buffer<char>>();
  probe.request.assign(request.Data(), request.Length());
  auto ranges = info[7].As<Napi::Int32Array>();
  if (request.Length() == 0 || ranges.ElementLength() == 0 || ranges.ElementLength() % 2 != 0) {
    Throw(env, code::kNativeInvalidArgument, "HTTP probe",
          "Cannot start HTTP probe: the request is empty or the status ranges are not pairs");
  }
  for (size_t i = 0; i < ranges.ElementLength(); i += 2) {
    probe.accepted.emplace_back(ranges[i], ranges[i + 1]);
  }
  return Napi::Number::New(env, Start(info, std::move(probe)));
}

int TcpProber::Start(const Napi::CallbackInfo& info, Probe probe) {
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
  // A link-local IPv6 address carries its interface: fe80::1%eth0.
  const size_t percent = family == 6 ? address.find('%') : std::string::npos;
  uint32_t scope = 0;
  if (percent != std::string::npos) {
    scope = ZoneIndex(address.substr(percent + 1));
    if (scope == 0) {
      Throw(env, code::kNativeInvalidArgument, op,
            "Cannot probe " + target + ": no interface '" + address.substr(percent + 1) + "'");
    }
  }
  sockaddr_storage to;
  socklen_t toLen;
  if ((family != 4 && family != 6) || port == 0 || port > 65535 || bindPort > 65535 ||
      !ParseSockaddr(family, address.substr(0, percent), static_cast<uint16_t>(port), scope, &to,
                     &toLen)) {
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
    // As Node's sockets do: a fixed bind_port is free again while the last
    // check's connection (closed by us first) waits in TIME_WAIT.
    const int on = 1;
    setsockopt(sock.Get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    // Settled now, like a refused connect: the caller words the errno.
    if (bind(sock.Get(), reinterpret_cast<sockaddr*>(&from), fromLen) != 0) return errno;
  }
  if (connect(sock.Get(), reinterpret_cast<sockaddr*>(&to), toLen) == 0) {
    // Connected at once: a bare connect is done; an exchange goes on from the epoll set.
    if (!probe.IsExchange()) return 0;
  } else if (errno != EINPROGRESS) {
    return errno;
  }
  epoll_event event{};
  event.events = EPOLLOUT;  // EPOLLERR and EPOLLHUP are always reported
  event.data.u32 = id;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, sock.Get(), &event) != 0) {
    int err = errno;
    Throw(env, code::kSystem, "epoll_ctl", "Cannot probe " + target + ": " + Describe(err), err);
  }
  probe.fd = sock.Release();
  probes_.emplace(id, std::move(probe));
  KeepLoopWhilePending();
  return -1;
}

Napi::Value TcpProber::Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Throw(env, code::kNativeInvalidArgument, "cancel TCP probe",
          "Cannot cancel TCP probe: expected its id");
  }
  auto found = probes_.find(info[0].As<Napi::Number>().Uint32Value());
  if (found == probes_.end()) return Napi::Boolean::New(env, false);
  ::close(found->second.fd);  // also leaves the epoll set
  probes_.erase(found);
  KeepLoopWhilePending();
  return Napi::Boolean::New(env, true);
}

Napi::Value TcpProber::Pending(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(probes_.size()));
}

bool TcpProber::Advance(uint32_t id, Probe& probe, Settled& out) {
  out = Settled{id, 0, kDone, 0, {}};
  if (!probe.connected) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(probe.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0 || !probe.IsExchange()) {
      out.err = err;
      return true;
    }
    probe.connected = true;
  }
  if (probe.sent < probe.request.size()) return Send(probe, out);
  return Receive(probe, out);
}

bool TcpProber::Send(Probe& probe, Settled& out) {
  while (probe.sent < probe.request.size()) {
    ssize_t n = send(probe.fd, probe.request.data() + probe.sent, probe.request.size() - probe.sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      probe.sent += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    out.err = errno;
    out.outcome = kWriteFailed;
    return true;
  }
  // Sent: from now on the probe waits for the answer.
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.u32 = out.id;
  if (epoll_ctl(fd_.Get(), EPOLL_CTL_MOD, probe.fd, &event) != 0) {
    out.err = errno;
    out.outcome = kWriteFailed;
    return true;
  }
  return false;
}

bool TcpProber::Receive(Probe& probe, Settled& out) {
  static thread_local char buffer[kReadBytes];
  for (int i = 0; i < kMaxReadsPerEvent; i++) {
    ssize_t n = recv(probe.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      if (Consume(probe, buffer, static_cast<size_t>(n), out)) return true;
      continue;
    }
    if (n == 0) {
      out.status = probe.status;
      if (!probe.inBody) out.outcome = kClosedBeforeResponse;
      else if (probe.remaining > 0) out.outcome = kClosedBeforeBody;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    out.err = errno;
    out.outcome = kReadFailed;
    return true;
  }
  return false;
}

bool TcpProber::Consume(Probe& probe, const char* data, size_t length, Settled& out) {
  size_t body = length;
  if (!probe.inBody) {
    // Only the new bytes (and the 3 before them) can complete the head's end: a
    // head trickled a byte at a time is not scanned again from the start each time.
    const size_t from = probe.head.size() < 3 ? 0 : probe.head.size() - 3;
    probe.head.append(data, length);
    if (probe.head.find("\r\n\r\n", from) == std::string::npos) {
      if (probe.head.size() <= kMaxHttpHeadBytes) return false;
      out.outcome = kHeadTooLarge;
      return true;
    }
    const HttpHead head = ParseHttpHead(probe.head);
    switch (head.found) {
      case HttpHead::Found::kIncomplete:
        return false;
      case HttpHead::Found::kTooLarge:
        out.outcome = kHeadTooLarge;
        return true;
      case HttpHead::Found::kMalformed:
        out.outcome = kMalformedStatus;
        out.detail = head.statusLine;
        return true;
      case HttpHead::Found::kComplete:
        break;
    }
    probe.inBody = true;
    probe.status = out.status = head.status;
    probe.remaining = head.contentLength;
    const bool accepted =
        std::any_of(probe.accepted.begin(), probe.accepted.end(), [&](const auto& range) {
          return head.status >= range.first && head.status <= range.second;
        });
    if (!accepted) {
      out.outcome = kStatusRejected;
      return true;
    }
    body = probe.head.size() - head.bodyStart;
    std::string().swap(probe.head);
  }
  // The body is read to its end, so a server failing mid-body is noticed, but not kept.
  if (probe.remaining < 0) return false;
  probe.remaining -= std::min<int64_t>(probe.remaining, static_cast<int64_t>(body));
  out.status = probe.status;
  return probe.remaining == 0;
}

void TcpProber::Settle() {
  if (!fd_.Valid()) return;
  epoll_event events[kMaxEventsPerWakeup];
  int n = epoll_wait(fd_.Get(), events, kMaxEventsPerWakeup, 0);
  if (n <= 0) return;
  std::vector<Settled> settled;
  settled.reserve(n);
  bool anyDetail = false;
  for (int i = 0; i < n; i++) {
    const uint32_t id = events[i].data.u32;
    auto found = probes_.find(id);
    if (found == probes_.end()) continue;
    Settled out;
    if (!Advance(id, found->second, out)) continue;
    ::close(found->second.fd);
    probes_.erase(found);
    anyDetail = anyDetail || !out.detail.empty();
    settled.push_back(std::move(out));
  }
  KeepLoopWhilePending();
  if (settled.empty()) return;
  Napi::Env env = Env();
  const size_t count = settled.size();
  auto ids = Napi::Uint32Array::New(env, count);
  auto errnos = Napi::Int32Array::New(env, count);
  auto outcomes = Napi::Int32Array::New(env, count);
  auto statuses = Napi::Int32Array::New(env, count);
  Napi::Value details = env.Undefined();
  if (anyDetail) details = Napi::Array::New(env, count);
  for (size_t i = 0; i < count; i++) {
    ids[i] = settled[i].id;
    errnos[i] = settled[i].err;
    outcomes[i] = settled[i].outcome;
    statuses[i] = settled[i].status;
    if (anyDetail && !settled[i].detail.empty()) {
      // Latin-1, as the bytes came: a status line is not UTF-8 by any promise.
      napi_value text;
      napi_create_string_latin1(env, settled[i].detail.data(), settled[i].detail.size(), &text);
      details.As<Napi::Array>().Set(static_cast<uint32_t>(i), Napi::Value(env, text));
    }
  }
  watcher_.Deliver({ids, errnos, outcomes, statuses, details});
}

}  // namespace lbctl
