#include "unix_datagram.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>

#include "errors.h"
#include "unique_fd.h"

namespace lbctl {
namespace {

// sendUnixDatagram(path, payload) → bytes sent. A path starting with '@' is
// in the abstract namespace (as systemd writes it in $NOTIFY_SOCKET). The
// send never blocks: a full receiver queue is an EAGAIN error, not a stall.
Napi::Value SendUnixDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "send unix datagram";
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBuffer()) {
    Throw(env, code::kNativeInvalidArgument, op,
          "Cannot send unix datagram: expected a socket path and a Buffer");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  auto payload = info[1].As<Napi::Buffer<uint8_t>>();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    Throw(env, code::kNativeInvalidArgument, op,
          "Cannot send unix datagram to '" + path + "': the path must have 1 to " +
              std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.Valid()) {
    int err = errno;
    Throw(env, code::kSystem, "socket", "Cannot open unix datagram socket: " + Describe(err), err);
  }
  ssize_t sent = sendto(fd.Get(), payload.Data(), payload.Length(), MSG_DONTWAIT | MSG_NOSIGNAL,
                        reinterpret_cast<sockaddr*>(&addr), len);
  if (sent < 0) {
    int err = errno;
    Throw(env, code::kSystem, "sendto",
          "Cannot send unix datagram to " + path + ": " + Describe(err), err);
  }
  return Napi::Number::New(env, static_cast<double>(sent));
}

// ignoreSignal(signo): SIG_IGN for a signal Node has no name for (real-time
// signals). Refuses the ones libuv, glibc or Node use themselves.
Napi::Value IgnoreSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "ignore signal";
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Throw(env, code::kNativeInvalidArgument, op, "Cannot ignore signal: expected a signal number");
  }
  int signo = info[0].As<Napi::Number>().Int32Value();
  if (signo < SIGRTMIN || signo > SIGRTMAX) {
    Throw(env, code::kNativeInvalidArgument, op,
          "Cannot ignore signal " + std::to_string(signo) + ": only real-time signals " +
              std::to_string(SIGRTMIN) + ".." + std::to_string(SIGRTMAX) +
              " are handled here (others through process.on)");
  }
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  if (sigaction(signo, &action, nullptr) != 0) {
    int err = errno;
    Throw(env, code::kSystem, "sigaction",
          "Cannot ignore signal " + std::to_string(signo) + ": " + Describe(err), err);
  }
  return env.Undefined();
}

Napi::Value RealtimeSignalRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object range = Napi::Object::New(env);
  range.Set("min", Napi::Number::New(env, SIGRTMIN));
  range.Set("max", Napi::Number::New(env, SIGRTMAX));
  return range;
}

}  // namespace

void InitUnixDatagram(Napi::Env env, Napi::Object exports) {
  exports.Set("sendUnixDatagram", Napi::Function::New(env, SendUnixDatagram, "sendUnixDatagram"));
  exports.Set("ignoreSignal", Napi::Function::New(env, IgnoreSignal, "ignoreSignal"));
  exports.Set("realtimeSignalRange",
              Napi::Function::New(env, RealtimeSignalRange, "realtimeSignalRange"));
}

}  // namespace lbctl
