// PacketSocket: an AF_PACKET socket bound to one interface for sending whole
// Ethernet frames (gratuitous ARP). It never receives.
#pragma once

#include <napi.h>

#include <string>

#include "unique_fd.h"

namespace lbctl {

class PacketSocket : public Napi::ObjectWrap<PacketSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new PacketSocket(interface)
  explicit PacketSocket(const Napi::CallbackInfo& info);

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  UniqueFd fd_;
  std::string ifname_;
  int ifindex_ = 0;
};

}  // namespace lbctl
