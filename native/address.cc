#include "address.h"

#include <arpa/inet.h>
#include <string.h>

namespace lbctl {

bool ParseSockaddr(int family, const std::string& text, uint16_t port, uint32_t scopeId,
                   sockaddr_storage* out, socklen_t* len) {
  memset(out, 0, sizeof(*out));
  if (family == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    *len = sizeof(*sin);
    return inet_pton(AF_INET, text.c_str(), &sin->sin_addr) == 1;
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_scope_id = scopeId;
  *len = sizeof(*sin6);
  return inet_pton(AF_INET6, text.c_str(), &sin6->sin6_addr) == 1;
}

std::string FormatAddress(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, sizeof(buf));
  return buf;
}

}  // namespace lbctl
