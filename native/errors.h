// Errors raised by the addon. Every error carries a stable `code`, the
// failing `operation`, the `errno` (when a system call failed) and a message a
// person can act on. The JS side registers a factory so errors are instances
// of its own error classes: BPF_* and XDP_* codes become BpfError
// (src/bpf/errors.ts), the others NativeError (src/native/native-error.ts).
#pragma once

#include <napi.h>

#include <string>

namespace lbctl {

// Stable error codes shared with src/bpf/errors.ts and src/native/native-error.ts.
namespace code {
inline constexpr const char* kInvalidArgument = "BPF_INVALID_ARGUMENT";
inline constexpr const char* kClosed = "BPF_CLOSED";
inline constexpr const char* kBusy = "BPF_BUSY";
inline constexpr const char* kOpenFailed = "BPF_OPEN_FAILED";
inline constexpr const char* kLoadFailed = "BPF_LOAD_FAILED";
inline constexpr const char* kNotFound = "BPF_NOT_FOUND";
inline constexpr const char* kNotLoaded = "BPF_NOT_LOADED";
inline constexpr const char* kAlreadyLoaded = "BPF_ALREADY_LOADED";
inline constexpr const char* kMapOperation = "BPF_MAP_OPERATION_FAILED";
inline constexpr const char* kPin = "BPF_PIN_FAILED";
inline constexpr const char* kObjGet = "BPF_OBJ_GET_FAILED";
inline constexpr const char* kNoSuchInterface = "XDP_NO_SUCH_INTERFACE";
inline constexpr const char* kXdpAttach = "XDP_ATTACH_FAILED";
inline constexpr const char* kLink = "BPF_LINK_FAILED";
inline constexpr const char* kTestRun = "BPF_TEST_RUN_FAILED";
inline constexpr const char* kSystem = "SYSTEM_CALL_FAILED";
// Codes of the non-BPF parts (sockets, namespaces): src/native/native-error.ts.
inline constexpr const char* kNativeInvalidArgument = "NATIVE_INVALID_ARGUMENT";
inline constexpr const char* kNativeClosed = "NATIVE_CLOSED";
inline constexpr const char* kNativeNoSuchInterface = "NATIVE_NO_SUCH_INTERFACE";
}  // namespace code

// Details of a failure, built where it happens (possibly off the JS thread)
// and turned into a JS error on the JS thread.
struct ErrorInfo {
  std::string code;
  std::string operation;
  std::string message;
  int err = 0;                // positive errno, 0 when not a system error
  std::string verifierLog;    // load failures only
  std::string libbpfLog;      // messages libbpf printed during the operation
};

// Registers the JS factory: (message, code, errno, operation, extra) => Error.
Napi::Value SetErrorFactory(const Napi::CallbackInfo& info);

Napi::Error MakeError(Napi::Env env, const ErrorInfo& e);

// "Cannot <action>: <strerror>"-style message with errno appended.
std::string Describe(int err);

[[noreturn]] void Throw(Napi::Env env, const char* code, const std::string& operation,
                        const std::string& message, int err = 0);

}  // namespace lbctl
