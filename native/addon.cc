// The lbctl native addon: one file per handle type, all registered here.
#include <napi.h>

#include "addon_data.h"
#include "bpf_link.h"
#include "bpf_ring_buffer.h"
#include "bpf_map.h"
#include "bpf_object.h"
#include "bpf_program.h"
#include "libbpf_log.h"
#include "maglev.h"
#include "netlink_socket.h"
#include "packet_socket.h"
#include "process_scheduling.h"
#include "raw_socket.h"
#include "system.h"
#include "tcp_prober.h"
#include "unix_datagram.h"

namespace {

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  using namespace lbctl;
  env.SetInstanceData(new AddonData());
  InstallLibbpfLogger();
  InitSystem(env, exports);
  InitProcessScheduling(env, exports);
  InitMaglev(env, exports);
  BpfObject::Init(env, exports);
  BpfMap::Init(env, exports);
  BpfProgram::Init(env, exports);
  BpfLink::Init(env, exports);
  BpfRingBuffer::Init(env, exports);
  RawIpSocket::Init(env, exports);
  PacketSocket::Init(env, exports);
  NetlinkSocket::Init(env, exports);
  TcpProber::Init(env, exports);
  InitUnixDatagram(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(lbctl_native, InitAddon)
