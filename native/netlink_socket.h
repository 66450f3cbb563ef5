// NetlinkSocket: a netlink socket (rtnetlink for addresses, routes and link
// state; generic netlink for IPVS). The native side only moves datagrams:
// messages are built and parsed in TypeScript (src/netlink/).
#pragma once

#include <napi.h>

#include <string>

#include "socket_watcher.h"
#include "fd_handle.h"

namespace lbctl {

class NetlinkSocket : public FdHandle<NetlinkSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new NetlinkSocket(protocol, groups = 0)
  explicit NetlinkSocket(const Napi::CallbackInfo& info);

 private:
  friend class FdHandle<NetlinkSocket>;
  static constexpr const char* kClosedCode = code::kNativeClosed;
  std::string Description() const { return "netlink socket"; }
  void BeforeClose() { watcher_.Stop(); }  // the watcher polls the fd
  Napi::Value PortId(const Napi::CallbackInfo& info);
  Napi::Value AddMembership(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);

  void ReadAll();

  int protocol_ = 0;
  uint32_t portId_ = 0;
  SocketWatcher watcher_;
};

}  // namespace lbctl
