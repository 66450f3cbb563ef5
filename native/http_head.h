// The head of an HTTP/1.x response, as HTTP_GET reads it: the status code and
// the body's Content-Length. No N-API: TcpProber's exchanges parse with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lbctl {

// Status line and headers larger than this are not a health-check answer.
inline constexpr size_t kMaxHttpHeadBytes = 16 * 1024;

struct HttpHead {
  enum class Found { kIncomplete, kTooLarge, kMalformed, kComplete };
  Found found = Found::kIncomplete;
  int status = 0;
  int64_t contentLength = -1;  // -1: none (the body ends when the server closes)
  size_t bodyStart = 0;        // offset of the first body byte in the bytes parsed
  std::string statusLine;      // the first line, up to 80 bytes, when malformed
};

// Parses `bytes` (everything received so far). The status line must read
// "HTTP/d.d SSS" followed by a space or its end.
HttpHead ParseHttpHead(const std::string& bytes);

}  // namespace lbctl
