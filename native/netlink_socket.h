// NetlinkSocket: a netlink socket (rtnetlink for addresses, routes and link
// state; generic netlink for IPVS). The native side only moves datagrams:
// messages are built and parsed in TypeScript (src/netlink/).
#pragma once

#include <napi.h>

#include "socket_watcher.h"
#include "unique_fd.h"

namespace lbctl {

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new NetlinkSocket(protocol, groups = 0)
  explicit NetlinkSocket(const Napi::CallbackInfo& info);

 private:
  Napi::Value PortId(const Napi::CallbackInfo& info);
  Napi::Value AddMembership(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  int Fd(Napi::Env env, const char* operation) const;
  void ReadAll();

  UniqueFd fd_;
  int protocol_ = 0;
  uint32_t portId_ = 0;
  SocketWatcher watcher_;
};

}  // namespace lbctl
