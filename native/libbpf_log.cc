#include "libbpf_log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

namespace lbctl {
namespace {

thread_local std::string* current_capture = nullptr;
// Debug output goes to stderr only when asked for, never by default.
const bool echo_to_stderr = getenv("LBCTL_LIBBPF_DEBUG") != nullptr;
// Bound the captured text: a verifier dump must not grow an error without limit.
constexpr size_t kMaxCaptureBytes = 64 * 1024;

int Print(enum libbpf_print_level level, const char* format, va_list args) {
  char line[1024];
  va_list copy;
  va_copy(copy, args);
  vsnprintf(line, sizeof(line), format, copy);
  va_end(copy);
  if (current_capture != nullptr && level != LIBBPF_DEBUG &&
      current_capture->size() < kMaxCaptureBytes) {
    current_capture->append(line);
  }
  if (echo_to_stderr) fputs(line, stderr);
  return 0;
}

}  // namespace

void InstallLibbpfLogger() { libbpf_set_print(Print); }

LibbpfLogCapture::LibbpfLogCapture() : previous_(current_capture) { current_capture = &text_; }

LibbpfLogCapture::~LibbpfLogCapture() { current_capture = previous_; }

}  // namespace lbctl
