// IP address text <-> socket address conversions shared by socket handles.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace lbctl {

// Parses "a.b.c.d" (family 4) or an IPv6 address (family 6) into `out`;
// scopeId sets sin6_scope_id (for link-local destinations). False if invalid.
bool ParseSockaddr(int family, const std::string& text, uint16_t port, uint32_t scopeId,
                   sockaddr_storage* out, socklen_t* len);

std::string FormatAddress(int family, const void* addr);

}  // namespace lbctl
