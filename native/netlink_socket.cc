#include "netlink_socket.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "errors.h"

namespace lbctl {
namespace {

constexpr int kMaxReadsPerWakeup = 64;
// Large dumps arrive in datagrams of up to a page or two; 64 KiB holds any.
constexpr size_t kReceiveBytes = 65536;
constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;

}  // namespace

void NetlinkSocket::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "NetlinkSocket",
                                    {
                                        InstanceMethod<&NetlinkSocket::PortId>("portId"),
                                        InstanceMethod<&NetlinkSocket::AddMembership>("addMembership"),
                                        InstanceMethod<&NetlinkSocket::Send>("send"),
                                        InstanceMethod<&NetlinkSocket::Start>("start"),
                                        InstanceMethod<&NetlinkSocket::Stop>("stop"),
                                        InstanceMethod("close", &NetlinkSocket::Close),
                                    });
  exports.Set("NetlinkSocket", ctor);
}

NetlinkSocket::NetlinkSocket(const Napi::CallbackInfo& info)
    : FdHandle<NetlinkSocket>(info) {
  Napi::Env env = info.Env();
  const char* op = "open netlink socket";
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Throw(env, code::kNativeInvalidArgument, op, "Cannot open netlink socket: expected a protocol");
  }
  protocol_ = info[0].As<Napi::Number>().Int32Value();
  uint32_t groups = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol_);
  if (fd < 0) {
    int err = errno;
    Throw(env, code::kSystem, "socket",
          "Cannot open netlink socket (protocol " + std::to_string(protocol_) + "): " + Describe(err),
          err);
  }
  fd_.Reset(fd);
  // Event bursts (many address or link changes) must not overflow the queue.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes, sizeof(kReceiveBufferBytes));
  int on = 1;
  // Extended acknowledgements carry the kernel's reason text with errors.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
  sockaddr_nl addr = {};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = groups;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    Throw(env, code::kSystem, "bind", "Cannot bind netlink socket: " + Describe(err), err);
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  portId_ = addr.nl_pid;
}

Napi::Value NetlinkSocket::PortId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), portId_);
}

// addMembership(group): subscribe to a multicast group by number (any group,
// including those above 32 that bind()'s bitmask cannot express).
Napi::Value NetlinkSocket::AddMembership(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env, "subscribe");
  int group = info.Length() > 0 ? info[0].ToNumber().Int32Value() : 0;
  if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
    int err = errno;
    Throw(env, code::kSystem, "setsockopt(NETLINK_ADD_MEMBERSHIP)",
          "Cannot subscribe to netlink group " + std::to_string(group) + ": " + Describe(err), err);
  }
  return env.Undefined();
}

// send(message): one or more netlink messages to the kernel.
Napi::Value NetlinkSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env, "send");
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Throw(env, code::kNativeInvalidArgument, "send", "Cannot send netlink message: expected a Buffer");
  }
  auto message = info[0].As<Napi::Buffer<uint8_t>>();
  sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent = sendto(fd, message.Data(), message.Length(), 0,
                        reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  if (sent < 0) {
    int err = errno;
    Throw(env, code::kSystem, "sendto", "Cannot send netlink message: " + Describe(err), err);
  }
  return Napi::Number::New(env, static_cast<double>(sent));
}

// start(onMessage(datagram: Buffer | null, errno?: number)): one call per
// datagram; null with an errno when the kernel reports a lost event burst.
Napi::Value NetlinkSocket::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  watcher_.StartFromJs(info, Fd(env, "receive"), "netlink socket", [this]() { ReadAll(); });
  return env.Undefined();
}

void NetlinkSocket::ReadAll() {
  Napi::Env env = Env();
  std::vector<uint8_t> buffer(kReceiveBytes);
  for (int i = 0; i < kMaxReadsPerWakeup && fd_.Valid() && watcher_.Active(); i++) {
    ssize_t n = recv(fd_.Get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    std::vector<napi_value> args;
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) break;
      // ENOBUFS: events were lost; the owner must resynchronise with a dump.
      args = {env.Null(), Napi::Number::New(env, err)};
    } else {
      args = {Napi::Buffer<uint8_t>::Copy(env, buffer.data(), static_cast<size_t>(n))};
    }
    if (!watcher_.Deliver(args)) return;
  }
}

Napi::Value NetlinkSocket::Stop(const Napi::CallbackInfo& info) {
  watcher_.Stop();
  return info.Env().Undefined();
}

}  // namespace lbctl
