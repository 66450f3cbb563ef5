// PacketSocket: an AF_PACKET socket bound to one interface for sending whole
// Ethernet frames (gratuitous ARP). It never receives.
#pragma once

#include <napi.h>

#include <string>

#include "fd_handle.h"

namespace lbctl {

class PacketSocket : public FdHandle<PacketSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new PacketSocket(interface)
  explicit PacketSocket(const Napi::CallbackInfo& info);

 private:
  friend class FdHandle<PacketSocket>;
  static constexpr const char* kClosedCode = code::kNativeClosed;
  std::string Description() const { return "packet socket on " + ifname_; }
  Napi::Value Send(const Napi::CallbackInfo& info);

  std::string ifname_;
  int ifindex_ = 0;
};

}  // namespace lbctl
