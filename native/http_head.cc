#include "http_head.h"

#include <cctype>
#include <strings.h>

namespace lbctl {
namespace {

bool Digit(char c) { return c >= '0' && c <= '9'; }

// "HTTP/d.d SSS" then a space or the end of the line; the status, or -1.
int StatusOf(const std::string& line) {
  if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0 || !Digit(line[5]) ||
      line[6] != '.' || !Digit(line[7]) || line[8] != ' ' || !Digit(line[9]) ||
      !Digit(line[10]) || !Digit(line[11]) || (line.size() > 12 && line[12] != ' ')) {
    return -1;
  }
  return (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
}

// "Content-Length: 123" in any case, spaces allowed around the number; -1 otherwise.
int64_t ContentLengthOf(const std::string& line) {
  static constexpr char kName[] = "content-length:";
  constexpr size_t kNameLength = sizeof(kName) - 1;
  if (line.size() <= kNameLength || strncasecmp(line.c_str(), kName, kNameLength) != 0) return -1;
  size_t i = kNameLength;
  while (i < line.size() && isspace(static_cast<unsigned char>(line[i]))) i++;
  const size_t digits = i;
  int64_t value = 0;
  for (; i < line.size() && Digit(line[i]); i++) {
    if (value > (INT64_MAX - 9) / 10) return -1;
    value = value * 10 + (line[i] - '0');
  }
  if (i == digits) return -1;
  while (i < line.size() && isspace(static_cast<unsigned char>(line[i]))) i++;
  return i == line.size() ? value : -1;
}

}  // namespace

HttpHead ParseHttpHead(const std::string& bytes) {
  HttpHead head;
  const size_t end = bytes.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (bytes.size() > kMaxHttpHeadBytes) head.found = HttpHead::Found::kTooLarge;
    return head;
  }
  head.bodyStart = end + 4;
  size_t lineStart = 0;
  bool first = true;
  while (lineStart <= end) {
    size_t lineEnd = bytes.find("\r\n", lineStart);
    if (lineEnd == std::string::npos || lineEnd > end) lineEnd = end;
    const std::string line = bytes.substr(lineStart, lineEnd - lineStart);
    if (first) {
      head.status = StatusOf(line);
      if (head.status < 0) {
        head.found = HttpHead::Found::kMalformed;
        head.statusLine = line.substr(0, 80);
        return head;
      }
      first = false;
    } else if (head.contentLength < 0) {
      head.contentLength = ContentLengthOf(line);
    }
    lineStart = lineEnd + 2;
  }
  head.found = HttpHead::Found::kComplete;
  return head;
}

}  // namespace lbctl
