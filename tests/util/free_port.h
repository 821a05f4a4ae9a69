// FreePort: a TCP port on 127.0.0.1 that was free when asked (the kernel's
// choice for port 0) and that this process has not handed out before: the
// kernel may offer a port again once it is closed, and two nodes of one
// cluster given the same port would not both start. Another process could
// take it before use; tests bind right away. Thread-safe.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <set>

#include "raft/check.h"

namespace rkv::testing {

inline int KernelChosenPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  RKV_CHECK_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  RKV_CHECK_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  RKV_CHECK_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

inline int FreePort() {
  static std::mutex mu;
  static std::set<int> handed_out;
  std::lock_guard<std::mutex> lock(mu);
  while (true) {
    const int port = KernelChosenPort();
    if (handed_out.insert(port).second) return port;
  }
}

}  // namespace rkv::testing
