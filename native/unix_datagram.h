// One-shot AF_UNIX datagram send: Node's core has no AF_UNIX SOCK_DGRAM, and
// systemd's $NOTIFY_SOCKET (sd_notify) is one. Also the signal dispositions
// Node cannot set itself (real-time signals have no process.on name).
#pragma once

#include <napi.h>

namespace lbctl {

void InitUnixDatagram(Napi::Env env, Napi::Object exports);

}  // namespace lbctl
