// RKV_CHECK: invariant assertions that stay on in release builds. A failure
// prints the file, line, the condition and both operands, then aborts. Use them
// for broken assumptions inside rkv; data from the network or the disk is
// validated with a Status instead. No dependencies, so storage/ and server/
// use it too. Thread-safe.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace rkv::internal_check {

[[noreturn]] inline void Fail(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "%s:%d: RKV_CHECK failed: %s\n", file, line, what.c_str());
  std::fflush(stderr);
  std::abort();
}

template <typename A, typename B>
std::string Operands(const char* expr, const A& a, const B& b) {
  std::ostringstream out;
  out << expr << " (" << a << " vs. " << b << ")";
  return out.str();
}

}  // namespace rkv::internal_check

#define RKV_CHECK(cond)                                                 \
  do {                                                                  \
    if (!(cond)) ::rkv::internal_check::Fail(__FILE__, __LINE__, #cond); \
  } while (0)

#define RKV_CHECK_MSG(cond, msg)                                                        \
  do {                                                                                  \
    if (!(cond)) ::rkv::internal_check::Fail(__FILE__, __LINE__, std::string(#cond) + ": " + (msg)); \
  } while (0)

#define RKV_CHECK_OP_(a, b, op)                                                   \
  do {                                                                            \
    const auto& rkv_check_a_ = (a);                                               \
    const auto& rkv_check_b_ = (b);                                               \
    if (!(rkv_check_a_ op rkv_check_b_)) {                                        \
      ::rkv::internal_check::Fail(                                                \
          __FILE__, __LINE__,                                                     \
          ::rkv::internal_check::Operands(#a " " #op " " #b, rkv_check_a_, rkv_check_b_)); \
    }                                                                             \
  } while (0)

#define RKV_CHECK_EQ(a, b) RKV_CHECK_OP_(a, b, ==)
#define RKV_CHECK_NE(a, b) RKV_CHECK_OP_(a, b, !=)
#define RKV_CHECK_LT(a, b) RKV_CHECK_OP_(a, b, <)
#define RKV_CHECK_LE(a, b) RKV_CHECK_OP_(a, b, <=)
#define RKV_CHECK_GE(a, b) RKV_CHECK_OP_(a, b, >=)
#define RKV_CHECK_GT(a, b) RKV_CHECK_OP_(a, b, >)
// Fatal unless the status is ok; for statuses that can only fail through a bug.
#define RKV_CHECK_OK(status)                                                      \
  do {                                                                            \
    const auto& rkv_check_s_ = (status);                                          \
    if (!rkv_check_s_.ok()) {                                                     \
      ::rkv::internal_check::Fail(__FILE__, __LINE__,                             \
                                  std::string(#status) + ": " + rkv_check_s_.ToString()); \
    }                                                                             \
  } while (0)

#ifdef NDEBUG
#define RKV_DCHECK(cond) \
  do {                   \
  } while (0)
#else
#define RKV_DCHECK(cond) RKV_CHECK(cond)
#endif
