// RawIpSocket: a raw IPv4/IPv6 socket for one IP protocol (VRRP = 112,
// ICMP = 1, ICMPv6 = 58) with multicast membership and TTL / hop-limit access.
// Received datagrams are delivered without the IP header, with the header
// facts (source, destination, TTL or hop limit, interface) alongside.
#pragma once

#include <napi.h>

#include <string>

#include "socket_watcher.h"
#include "fd_handle.h"

namespace lbctl {

class RawIpSocket : public FdHandle<RawIpSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new RawIpSocket({ family: 4 | 6, protocol, interface?, bindAddress? })
  explicit RawIpSocket(const Napi::CallbackInfo& info);

 private:
  friend class FdHandle<RawIpSocket>;
  static constexpr const char* kClosedCode = code::kNativeClosed;
  std::string Description() const { return description_; }
  void BeforeClose() { watcher_.Stop(); }  // the watcher polls the fd
  Napi::Value SetTtl(const Napi::CallbackInfo& info);
  Napi::Value SetTos(const Napi::CallbackInfo& info);
  Napi::Value JoinMulticast(const Napi::CallbackInfo& info);
  Napi::Value LeaveMulticast(const Napi::CallbackInfo& info);
  Napi::Value SetMulticastInterface(const Napi::CallbackInfo& info);
  Napi::Value SetMulticastLoop(const Napi::CallbackInfo& info);
  Napi::Value SetChecksumOffset(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value RefLoop(const Napi::CallbackInfo& info);
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info);

  void SetInt(Napi::Env env, int level, int name, int value, const char* what);
  void Membership(const Napi::CallbackInfo& info, bool join);
  void ReadAll();

  int family_ = 4;
  int protocol_ = 0;
  uint32_t boundIfindex_ = 0;  // scope of link-local destinations
  std::string description_;
  SocketWatcher watcher_;
};

}  // namespace lbctl
