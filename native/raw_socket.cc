#include "raw_socket.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/socket.h>

#include "address.h"
#include "errors.h"

namespace lbctl {
namespace {

// Datagrams read per wakeup: enough for a burst, bounded so one socket
// cannot hold the event loop.
constexpr int kMaxReadsPerWakeup = 64;
constexpr size_t kMaxDatagramBytes = 65536;

std::string OptionalString(Napi::Object options, const char* key) {
  Napi::Value v = options.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

unsigned InterfaceIndex(Napi::Env env, const std::string& ifname, const char* operation) {
  unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) {
    Throw(env, code::kNativeNoSuchInterface, "if_nametoindex",
          std::string("Cannot ") + operation + " on " + ifname + ": no such interface", ENODEV);
  }
  return index;
}

}  // namespace

void RawIpSocket::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "RawIpSocket",
      {
          InstanceMethod<&RawIpSocket::SetTtl>("setTtl"),
          InstanceMethod<&RawIpSocket::SetTos>("setTos"),
          InstanceMethod<&RawIpSocket::JoinMulticast>("joinMulticast"),
          InstanceMethod<&RawIpSocket::LeaveMulticast>("leaveMulticast"),
          InstanceMethod<&RawIpSocket::SetMulticastInterface>("setMulticastInterface"),
          InstanceMethod<&RawIpSocket::SetMulticastLoop>("setMulticastLoop"),
          InstanceMethod<&RawIpSocket::SetChecksumOffset>("setChecksumOffset"),
          InstanceMethod<&RawIpSocket::Send>("send"),
          InstanceMethod<&RawIpSocket::Start>("start"),
          InstanceMethod<&RawIpSocket::Stop>("stop"),
          InstanceMethod<&RawIpSocket::RefLoop>("ref"),
          InstanceMethod<&RawIpSocket::UnrefLoop>("unref"),
          InstanceMethod("close", &RawIpSocket::Close),
      });
  exports.Set("RawIpSocket", ctor);
}

RawIpSocket::RawIpSocket(const Napi::CallbackInfo& info) : FdHandle<RawIpSocket>(info) {
  Napi::Env env = info.Env();
  const char* op = "open raw socket";
  if (info.Length() < 1 || !info[0].IsObject()) {
    Throw(env, code::kNativeInvalidArgument, op, "Cannot open raw socket: expected options");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  family_ = options.Get("family").ToNumber().Int32Value();
  protocol_ = options.Get("protocol").ToNumber().Int32Value();
  if ((family_ != 4 && family_ != 6) || protocol_ <= 0 || protocol_ > 255) {
    Throw(env, code::kNativeInvalidArgument, op,
          "Cannot open raw socket: family must be 4 or 6 and protocol 1..255");
  }
  description_ = "raw IPv" + std::to_string(family_) + " socket (protocol " +
                 std::to_string(protocol_) + ")";
  int fd = socket(family_ == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  protocol_);
  if (fd < 0) {
    int err = errno;
    Throw(env, code::kSystem, "socket", "Cannot open " + description_ + ": " + Describe(err), err);
  }
  fd_.Reset(fd);

  std::string ifname = OptionalString(options, "interface");
  if (!ifname.empty()) {
    boundIfindex_ = InterfaceIndex(env, ifname, "open raw socket");
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                   static_cast<socklen_t>(ifname.size())) != 0) {
      int err = errno;
      Throw(env, code::kSystem, "setsockopt(SO_BINDTODEVICE)",
            "Cannot bind " + description_ + " to " + ifname + ": " + Describe(err), err);
    }
    description_ += " on " + ifname;
  }
  std::string bindAddress = OptionalString(options, "bindAddress");
  if (!bindAddress.empty()) {
    sockaddr_storage addr;
    socklen_t len;
    if (!ParseSockaddr(family_, bindAddress, 0, boundIfindex_, &addr, &len)) {
      Throw(env, code::kNativeInvalidArgument, op,
            "Cannot bind " + description_ + ": '" + bindAddress + "' is not an IPv" +
                std::to_string(family_) + " address");
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      int err = errno;
      Throw(env, code::kSystem, "bind",
            "Cannot bind " + description_ + " to " + bindAddress + ": " + Describe(err), err);
    }
  }
  // Ancillary data tells us the interface and, for IPv6, the hop limit
  // (IPv4 carries the TTL in the header we receive).
  if (family_ == 4) {
    SetInt(env, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
  } else {
    SetInt(env, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
    SetInt(env, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT");
    SetInt(env, IPPROTO_IPV6, IPV6_RECVTCLASS, 1, "IPV6_RECVTCLASS");
  }
}

void RawIpSocket::SetInt(Napi::Env env, int level, int name, int value, const char* what) {
  int fd = Fd(env, "set socket option");
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    int err = errno;
    Throw(env, code::kSystem, std::string("setsockopt(") + what + ")",
          "Cannot set " + std::string(what) + " on " + description_ + ": " + Describe(err), err);
  }
}

// setTtl(n): TTL / hop limit for unicast and multicast sends.
Napi::Value RawIpSocket::SetTtl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ttl = info.Length() > 0 ? info[0].ToNumber().Int32Value() : -1;
  if (ttl < 1 || ttl > 255) {
    Throw(env, code::kNativeInvalidArgument, "set TTL", "Cannot set TTL: must be 1..255");
  }
  if (family_ == 4) {
    SetInt(env, IPPROTO_IP, IP_TTL, ttl, "IP_TTL");
    SetInt(env, IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL");
  } else {
    SetInt(env, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, "IPV6_UNICAST_HOPS");
    SetInt(env, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl, "IPV6_MULTICAST_HOPS");
  }
  return env.Undefined();
}

// setTos(n): IPv4 type of service / IPv6 traffic class of sent datagrams.
Napi::Value RawIpSocket::SetTos(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int tos = info.Length() > 0 ? info[0].ToNumber().Int32Value() : -1;
  if (tos < 0 || tos > 255) {
    Throw(env, code::kNativeInvalidArgument, "set TOS", "Cannot set TOS: must be 0..255");
  }
  if (family_ == 4) {
    SetInt(env, IPPROTO_IP, IP_TOS, tos, "IP_TOS");
  } else {
    SetInt(env, IPPROTO_IPV6, IPV6_TCLASS, tos, "IPV6_TCLASS");
  }
  return env.Undefined();
}

void RawIpSocket::Membership(const Napi::CallbackInfo& info, bool join) {
  Napi::Env env = info.Env();
  const char* op = join ? "join multicast group" : "leave multicast group";
  int fd = Fd(env, op);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    Throw(env, code::kNativeInvalidArgument, op,
          std::string("Cannot ") + op + ": expected (group, interface)");
  }
  std::string group = info[0].As<Napi::String>().Utf8Value();
  std::string ifname = info[1].As<Napi::String>().Utf8Value();
  unsigned ifindex = InterfaceIndex(env, ifname, op);
  sockaddr_storage addr;
  socklen_t len;
  if (!ParseSockaddr(family_, group, 0, 0, &addr, &len)) {
    Throw(env, code::kNativeInvalidArgument, op,
          std::string("Cannot ") + op + ": '" + group + "' is not an IPv" +
              std::to_string(family_) + " address");
  }
  int rc;
  const char* what;
  if (family_ == 4) {
    ip_mreqn mreq = {};
    mreq.imr_multiaddr = reinterpret_cast<sockaddr_in*>(&addr)->sin_addr;
    mreq.imr_ifindex = static_cast<int>(ifindex);
    what = join ? "IP_ADD_MEMBERSHIP" : "IP_DROP_MEMBERSHIP";
    rc = setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mreq,
                    sizeof(mreq));
  } else {
    ipv6_mreq mreq = {};
    mreq.ipv6mr_multiaddr = reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr;
    mreq.ipv6mr_interface = ifindex;
    what = join ? "IPV6_JOIN_GROUP" : "IPV6_LEAVE_GROUP";
    rc = setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mreq,
                    sizeof(mreq));
  }
  if (rc != 0) {
    int err = errno;
    Throw(env, code::kSystem, std::string("setsockopt(") + what + ")",
          std::string("Cannot ") + op + " " + group + " on " + ifname + ": " + Describe(err), err);
  }
}

Napi::Value RawIpSocket::JoinMulticast(const Napi::CallbackInfo& info) {
  Membership(info, true);
  return info.Env().Undefined();
}

Napi::Value RawIpSocket::LeaveMulticast(const Napi::CallbackInfo& info) {
  Membership(info, false);
  return info.Env().Undefined();
}

Napi::Value RawIpSocket::SetMulticastInterface(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "set multicast interface";
  int fd = Fd(env, op);
  if (info.Length() < 1 || !info[0].IsString()) {
    Throw(env, code::kNativeInvalidArgument, op, "Cannot set multicast interface: expected a name");
  }
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  int ifindex = static_cast<int>(InterfaceIndex(env, ifname, op));
  int rc;
  if (family_ == 4) {
    ip_mreqn mreq = {};
    mreq.imr_ifindex = ifindex;
    rc = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq));
  } else {
    rc = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex));
  }
  if (rc != 0) {
    int err = errno;
    Throw(env, code::kSystem, "setsockopt(MULTICAST_IF)",
          "Cannot send multicast on " + ifname + ": " + Describe(err), err);
  }
  return env.Undefined();
}

Napi::Value RawIpSocket::SetMulticastLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int on = info.Length() > 0 && info[0].ToBoolean().Value() ? 1 : 0;
  if (family_ == 4) {
    SetInt(env, IPPROTO_IP, IP_MULTICAST_LOOP, on, "IP_MULTICAST_LOOP");
  } else {
    SetInt(env, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on, "IPV6_MULTICAST_LOOP");
  }
  return env.Undefined();
}

// setChecksumOffset(n): IPv6 only — the kernel fills in the checksum at
// byte n of the payload (with the pseudo-header) on send and verifies it on
// receive (VRRPv3 uses offset 6).
Napi::Value RawIpSocket::SetChecksumOffset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (family_ != 6) {
    Throw(env, code::kNativeInvalidArgument, "set checksum offset",
          "Cannot set checksum offset: only IPv6 raw sockets support IPV6_CHECKSUM");
  }
  SetInt(env, IPPROTO_IPV6, IPV6_CHECKSUM, info.Length() > 0 ? info[0].ToNumber().Int32Value() : -1,
         "IPV6_CHECKSUM");
  return env.Undefined();
}

// send(payload, destination) → bytes sent. Link-local and multicast IPv6
// destinations are scoped to the socket's interface.
Napi::Value RawIpSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "send";
  int fd = Fd(env, op);
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsString()) {
    Throw(env, code::kNativeInvalidArgument, op, "Cannot send: expected (Buffer, destination)");
  }
  auto payload = info[0].As<Napi::Buffer<uint8_t>>();
  std::string destination = info[1].As<Napi::String>().Utf8Value();
  sockaddr_storage addr;
  socklen_t len;
  if (!ParseSockaddr(family_, destination, 0, boundIfindex_, &addr, &len)) {
    Throw(env, code::kNativeInvalidArgument, op,
          "Cannot send on " + description_ + ": '" + destination + "' is not an IPv" +
              std::to_string(family_) + " address");
  }
  ssize_t sent = sendto(fd, payload.Data(), payload.Length(), 0,
                        reinterpret_cast<sockaddr*>(&addr), len);
  if (sent < 0) {
    int err = errno;
    Throw(env, code::kSystem, "sendto",
          "Cannot send to " + destination + " on " + description_ + ": " + Describe(err), err);
  }
  return Napi::Number::New(env, static_cast<double>(sent));
}

// start(onMessage(payload, { source, destination, ttl, ifindex }))
Napi::Value RawIpSocket::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  watcher_.StartFromJs(info, Fd(env, "receive"), description_, [this]() { ReadAll(); });
  return env.Undefined();
}

void RawIpSocket::ReadAll() {
  Napi::Env env = Env();
  static thread_local uint8_t buffer[kMaxDatagramBytes];
  for (int i = 0; i < kMaxReadsPerWakeup && fd_.Valid() && watcher_.Active(); i++) {
    sockaddr_storage from = {};
    alignas(cmsghdr) char control[256];
    iovec iov = {buffer, sizeof(buffer)};
    msghdr msg = {};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd_.Get(), &msg, MSG_DONTWAIT);
    if (n < 0) break;  // EAGAIN: drained. Other errors: nothing to deliver now.

    Napi::Object meta = Napi::Object::New(env);
    const uint8_t* payload = buffer;
    size_t length = static_cast<size_t>(n);
    int ifindex = 0;
    if (family_ == 4) {
      // IPv4 raw sockets deliver the IP header: take TTL and addresses from it.
      if (length < sizeof(iphdr)) continue;
      auto* ip = reinterpret_cast<const iphdr*>(buffer);
      size_t headerLength = static_cast<size_t>(ip->ihl) * 4;
      if (headerLength < sizeof(iphdr) || headerLength > length) continue;
      meta.Set("source", FormatAddress(4, &ip->saddr));
      meta.Set("destination", FormatAddress(4, &ip->daddr));
      meta.Set("ttl", ip->ttl);
      meta.Set("tos", ip->tos);
      payload += headerLength;
      length -= headerLength;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          ifindex = reinterpret_cast<in_pktinfo*>(CMSG_DATA(c))->ipi_ifindex;
        }
      }
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&from);
      meta.Set("source", FormatAddress(6, &sin6->sin6_addr));
      int hops = -1;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != IPPROTO_IPV6) continue;
        if (c->cmsg_type == IPV6_HOPLIMIT) {
          memcpy(&hops, CMSG_DATA(c), sizeof(hops));
        } else if (c->cmsg_type == IPV6_TCLASS) {
          int tclass = 0;
          memcpy(&tclass, CMSG_DATA(c), sizeof(tclass));
          meta.Set("tos", tclass);
        } else if (c->cmsg_type == IPV6_PKTINFO) {
          auto* pi = reinterpret_cast<in6_pktinfo*>(CMSG_DATA(c));
          meta.Set("destination", FormatAddress(6, &pi->ipi6_addr));
          ifindex = static_cast<int>(pi->ipi6_ifindex);
        }
      }
      meta.Set("ttl", hops);
    }
    meta.Set("ifindex", ifindex);
    Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::Copy(env, payload, length);
    if (!watcher_.Deliver({data, meta})) return;
  }
}

Napi::Value RawIpSocket::Stop(const Napi::CallbackInfo& info) {
  watcher_.Stop();
  return info.Env().Undefined();
}

Napi::Value RawIpSocket::RefLoop(const Napi::CallbackInfo& info) {
  watcher_.Ref(true);
  return info.Env().Undefined();
}

Napi::Value RawIpSocket::UnrefLoop(const Napi::CallbackInfo& info) {
  watcher_.Ref(false);
  return info.Env().Undefined();
}

}  // namespace lbctl
