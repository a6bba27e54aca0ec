// threads.cpp -- intra-op thread count: default 1 (one thread per MPI rank) or
// CLIMLEARN_NUM_THREADS, applied lazily at the first load/forward unless the user set it.
#include "internal.hpp"

#include <ATen/Parallel.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace climlearn {

namespace {

std::mutex threads_mutex;
std::atomic<bool> threads_configured{false};

constexpr long max_threads = 1 << 16;

/** CLIMLEARN_NUM_THREADS if it is a positive integer, else 1 (invalid values are ignored:
 *  the library cannot report at this point and must not print). */
int default_num_threads() {
  const char *env = std::getenv("CLIMLEARN_NUM_THREADS");
  if (env == nullptr || *env == '\0') return 1;
  errno = 0;
  char *end = nullptr;
  const long n = std::strtol(env, &end, 10);
  while (end != nullptr && (*end == ' ' || *end == '\t' || *end == '\n')) ++end;
  if (errno != 0 || end == env || *end != '\0' || n < 1 || n > max_threads) return 1;
  return static_cast<int>(n);
}

}  // namespace

void ensure_threads_configured() {
  if (threads_configured.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(threads_mutex);
  if (threads_configured.load(std::memory_order_relaxed)) return;
  at::set_num_threads(default_num_threads());
  threads_configured.store(true, std::memory_order_release);
}

}  // namespace climlearn

extern "C" {

CL_API int cl_set_num_threads(int n) {
  return climlearn::guarded([&] {
    if (n < 1) {
      throw climlearn::Error(CL_ERR_ARGUMENT,
                             "number of threads must be >= 1, given " + std::to_string(n));
    }
    std::lock_guard<std::mutex> lock(climlearn::threads_mutex);
    at::set_num_threads(n);
    climlearn::threads_configured.store(true, std::memory_order_release);
    return CL_OK;
  });
}

CL_API int cl_get_num_threads(int *n) {
  return climlearn::guarded([&] {
    if (n == nullptr) throw climlearn::Error(CL_ERR_ARGUMENT, "cl_get_num_threads: n is NULL");
    climlearn::ensure_threads_configured();
    *n = at::get_num_threads();
    return CL_OK;
  });
}

}  // extern "C"
