// Names the calling thread (at most 15 characters: the kernel cuts the rest)
// so `top -H`, perf and /proc show which stage of rkvd spends the time.
#pragma once

#include <pthread.h>

#include <string>

namespace rkv::server {

inline void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace rkv::server
