// Names the calling thread (at most 15 characters: the kernel cuts the rest)
// so `top -H`, perf and /proc show which stage of rkvd spends the time.
#pragma once

#include <pthread.h>

#include <string>
#include <thread>
#include <utility>

namespace rkv::server {

inline void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// A thread that names itself, then runs fn.
template <typename Fn>
std::thread StartNamedThread(std::string name, Fn fn) {
  return std::thread([name = std::move(name), fn = std::move(fn)]() mutable {
    NameThisThread(name);
    fn();
  });
}

}  // namespace rkv::server
