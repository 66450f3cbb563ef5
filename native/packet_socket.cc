#include "packet_socket.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include "errors.h"

namespace lbctl {

void PacketSocket::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "PacketSocket",
                                    {
                                        InstanceMethod<&PacketSocket::Send>("send"),
                                        InstanceMethod("close", &PacketSocket::Close),
                                    });
  exports.Set("PacketSocket", ctor);
}

PacketSocket::PacketSocket(const Napi::CallbackInfo& info) : FdHandle<PacketSocket>(info) {
  Napi::Env env = info.Env();
  const char* op = "open packet socket";
  if (info.Length() < 1 || !info[0].IsString()) {
    Throw(env, code::kNativeInvalidArgument, op, "Cannot open packet socket: expected an interface name");
  }
  ifname_ = info[0].As<Napi::String>().Utf8Value();
  ifindex_ = static_cast<int>(if_nametoindex(ifname_.c_str()));
  if (ifindex_ == 0) {
    Throw(env, code::kNativeNoSuchInterface, "if_nametoindex",
          "Cannot open packet socket on " + ifname_ + ": no such interface", ENODEV);
  }
  // Protocol 0: the socket receives nothing, it only transmits.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    int err = errno;
    Throw(env, code::kSystem, "socket",
          "Cannot open packet socket on " + ifname_ + ": " + Describe(err), err);
  }
  fd_.Reset(fd);
  sockaddr_ll addr = {};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = ifindex_;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    Throw(env, code::kSystem, "bind",
          "Cannot bind packet socket to " + ifname_ + ": " + Describe(err), err);
  }
}

// send(frame): a complete Ethernet frame, destination MAC first.
Napi::Value PacketSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env, "send frame");
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Throw(env, code::kNativeInvalidArgument, "send frame", "Cannot send frame: expected a Buffer");
  }
  auto frame = info[0].As<Napi::Buffer<uint8_t>>();
  if (frame.Length() < ETH_HLEN) {
    Throw(env, code::kNativeInvalidArgument, "send frame",
          "Cannot send frame on " + ifname_ + ": shorter than an Ethernet header");
  }
  sockaddr_ll addr = {};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = ifindex_;
  addr.sll_halen = ETH_ALEN;
  memcpy(addr.sll_addr, frame.Data(), ETH_ALEN);
  ssize_t sent = sendto(fd, frame.Data(), frame.Length(), 0,
                        reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (sent < 0) {
    int err = errno;
    Throw(env, code::kSystem, "sendto",
          "Cannot send frame on " + ifname_ + ": " + Describe(err), err);
  }
  return Napi::Number::New(env, static_cast<double>(sent));
}

}  // namespace lbctl
