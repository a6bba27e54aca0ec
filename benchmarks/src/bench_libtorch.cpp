// Benchmark baseline: the bare libtorch C++ forward that the C API wraps.
// usage: bench_libtorch MODEL NCOL NCALLS REPEATS
// Per call: wrap the caller's input (from_blob), forward under InferenceMode, copy the
// result into the caller's output buffer -- the same job as cl_model_forward.
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  const long ncol = std::atol(argv[2]);
  const long ncalls = std::atol(argv[3]);
  const int repeats = std::atoi(argv[4]);
  at::set_num_threads(1);
  torch::jit::Module module = torch::jit::load(argv[1]);
  module.eval();
  std::vector<float> x(8 * ncol, 0.5f), y(8 * ncol, 0.0f);
  auto call = [&]() {
    c10::InferenceMode guard;
    auto in = torch::from_blob(x.data(), {ncol, 8}, torch::kFloat32);
    auto out = module.forward({in}).toTensor();
    torch::from_blob(y.data(), {ncol, 8}, torch::kFloat32).copy_(out);
  };
  for (int i = 0; i < 1000; ++i) call();
  std::vector<double> us;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < ncalls; ++i) call();
    auto t1 = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / ncalls);
  }
  std::sort(us.begin(), us.end());
  std::printf("US_PER_CALL %.3f\n", us[us.size() / 2]);
  return 0;
}
