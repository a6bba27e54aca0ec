// native.cpp -- the native backend: MLP-shaped models run by a hand-written kernel instead
// of the TorchScript interpreter.
//
// A climlearn export of a chain of linear layers and elementwise activations carries a
// "native" entry in its card (python/climlearn/export/_native.py) naming the tensors of
// each layer and of the normalisation. At load the tensors are read from the loaded
// module, copied and packed once (W transposed to (in, out), contiguous, in the model
// dtype), and every call then runs:
//
//   h = (x - mean_in) / std_in;  for each layer: h = act(h W^T + b);  y = h * std_out + mean_out
//
// writing the last layer straight into the caller's output array.
//
// Layers run as loops over register blocks (4 columns x 16 float / 8 double outputs, GCC
// vector extensions) compiled at -O3, with an AVX2 clone chosen at run time on CPUs that
// have it (target_clones), at every batch size: measured here they match or beat torch's
// matrix multiply on views of our buffers, even for 256-wide layers at 10,000 columns
// (a BLAS path for very wide layers, or for several threads, is future work). Narrow
// networks (every width <= 16, e.g. a 2-4-2 network applied per grid point) take a fused
// path instead: blocks of 64 columns, transposed, through all layers in L1.
// Activations (relu, tanh, sigmoid, silu, gelu, gelu_tanh, and exp for outputs such as
// 10**y folded into the last layer) are computed by our own vectorisable exp/expm1
// (accurate to a few ulp), except exact GELU which uses std::erf.
//
// Work buffers: two per thread (thread_local), shared by all models and grown when a
// larger batch arrives, so a call allocates no array memory after the first calls of a
// given size, and a model may be called from several threads at once (the packed
// weights are read-only after load).
#include "internal.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <map>

namespace climlearn {

enum class NativeOp { relu, tanh, gelu, gelu_tanh, silu, sigmoid, exp };

struct NativeLayer {
  int64_t in = 0, out = 0;
  torch::Tensor wt;    // (in, out), contiguous: W transposed
  torch::Tensor bias;  // (out), or undefined
  std::vector<NativeOp> acts;  // applied after this layer, in order
};

struct NativeNet {
  int dtype = CL_FLOAT32;
  int64_t n_in = 0, n_out = 0;
  std::vector<NativeOp> pre_acts;  // activations before the first linear layer (rare)
  std::vector<NativeLayer> layers;
  torch::Tensor in_mean, in_std, out_mean, out_std;  // (n_in) / (n_out), or undefined
  bool narrow = false;  // every width small: the fused block path
};

namespace {

using nlohmann::json;

// ---- elementwise maths (vectorisable) ------------------------------------------------

template <class T>
struct ExpConst;

template <>
struct ExpConst<float> {
  using I = int32_t;
  static constexpr float lo = -87.0f, hi = 88.0f;
  static constexpr float magic = 12582912.0f;  // 1.5 * 2^23
  static constexpr I magic_bits = 0x4B400000;
  static constexpr I bias = 127;
  static constexpr int mant = 23;
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_hi = 0.693145751953125f;
  static constexpr float ln2_lo = 1.428606765330187e-06f;
  static constexpr int degree = 7;
};

template <>
struct ExpConst<double> {
  using I = int64_t;
  static constexpr double lo = -708.0, hi = 709.0;
  static constexpr double magic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr I magic_bits = 0x4338000000000000LL;
  static constexpr I bias = 1023;
  static constexpr int mant = 52;
  static constexpr double log2e = 1.44269504088896340736;
  static constexpr double ln2_hi = 6.93147180369123816490e-01;
  static constexpr double ln2_lo = 1.90821492927058770002e-10;
  static constexpr int degree = 13;
};

/** 1/k! for k = 0..D, computed at compile time. */
template <class T, int D>
struct InvFactorials {
  T c[D + 1];
  constexpr InvFactorials() : c() {
    double f = 1;
    for (int k = 0; k <= D; ++k) {
      if (k > 0) f *= k;
      c[k] = static_cast<T>(1.0 / f);
    }
  }
};

/** x = n ln2 + r with |r| <= ln2/2: sets scale = 2^n and returns expm1(r).
 *  x is clamped to the range where 2^n is a normal number. */
template <class T>
inline __attribute__((always_inline)) T exp_parts(T x, T &scale) {
  using C = ExpConst<T>;
  using I = typename C::I;
  x = x < C::lo ? T(C::lo) : x;  // T(): a value, not a reference to the constant
  x = x > C::hi ? T(C::hi) : x;
  const T k = x * C::log2e + C::magic;  // round to nearest integer, held in the mantissa
  I kb;
  std::memcpy(&kb, &k, sizeof kb);
  const T nf = k - C::magic;
  const I n = kb - C::magic_bits;
  const T r = (x - nf * C::ln2_hi) - nf * C::ln2_lo;
  const I sb = (n + C::bias) << C::mant;
  std::memcpy(&scale, &sb, sizeof scale);
  // expm1(r) = r (1/1! + r/2! + r^2/3! + ...), Taylor to r^degree; |r| <= 0.347 gives an
  // error under 1/2 ulp.
  constexpr InvFactorials<T, C::degree> f{};
  T p = f.c[C::degree];
#pragma GCC unroll 16
  for (int d = C::degree - 1; d >= 1; --d) p = p * r + f.c[d];
  return r * p;
}

template <class T>
inline __attribute__((always_inline)) T fast_exp(T x) {
  T scale;
  const T em1 = exp_parts(x, scale);
  return scale * em1 + scale;
}

template <class T>
inline __attribute__((always_inline)) T fast_tanh(T x) {
  const T a = x < T(0) ? -x : x;
  T y = T(-2) * a;
  const T floor_y = sizeof(T) == 4 ? T(-80) : T(-100);  // tanh is 1 to the last bit there
  y = y < floor_y ? floor_y : y;
  T scale;
  const T em1r = exp_parts(y, scale);
  const T em1 = scale * em1r + (scale - T(1));  // expm1(-2|x|), in (-1, 0]
  const T t = -em1 / (T(2) + em1);
  return x < T(0) ? -t : t;
}

template <class T>
inline __attribute__((always_inline)) void apply_op(NativeOp op, T *__restrict v, int64_t n) {
  switch (op) {
    case NativeOp::relu:
      for (int64_t i = 0; i < n; ++i) v[i] = v[i] < T(0) ? T(0) : v[i];  // NaN passes
      break;
    case NativeOp::tanh:
      for (int64_t i = 0; i < n; ++i) v[i] = fast_tanh(v[i]);
      break;
    case NativeOp::exp:  // 0 below, +inf above the range of normal results, as std::exp
      for (int64_t i = 0; i < n; ++i) {
        const T x = v[i];
        const T e = fast_exp(x);
        v[i] = x < ExpConst<T>::lo ? T(0) : (x > ExpConst<T>::hi ? T(HUGE_VAL) : e);
      }
      break;
    case NativeOp::sigmoid:
      for (int64_t i = 0; i < n; ++i) v[i] = T(1) / (T(1) + fast_exp(-v[i]));
      break;
    case NativeOp::silu:
      for (int64_t i = 0; i < n; ++i) v[i] = v[i] / (T(1) + fast_exp(-v[i]));
      break;
    case NativeOp::gelu_tanh: {
      const T beta = T(M_SQRT2 * M_2_SQRTPI * 0.5), kappa = T(0.044715);
      for (int64_t i = 0; i < n; ++i) {
        const T x = v[i];
        v[i] = T(0.5) * x * (T(1) + fast_tanh(beta * (x + kappa * x * x * x)));
      }
      break;
    }
    case NativeOp::gelu:
      for (int64_t i = 0; i < n; ++i) v[i] = v[i] * T(0.5) * (T(1) + std::erf(v[i] * T(M_SQRT1_2)));
      break;
  }
}

/** 256-bit vectors of T (GCC vector extension; lowered to two 128-bit halves in the
 *  default clone, native in the AVX2 clone). */
template <class T>
struct Vec {
  static constexpr int lanes = 32 / int(sizeof(T));
  typedef T type __attribute__((vector_size(32)));
};

template <class T>
inline __attribute__((always_inline)) typename Vec<T>::type vload(const T *p) {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
inline __attribute__((always_inline)) void vstore(T *p, typename Vec<T>::type v) {
  std::memcpy(p, &v, sizeof v);
}

/** CB columns x NV vectors of outputs starting at o0, accumulated in registers: each row
 *  of W^T loaded serves CB columns. */
template <class T, int CB, int NV>
inline __attribute__((always_inline)) void linear_block(const T *__restrict x, int64_t in,
                                                        const T *__restrict wt, const T *__restrict b,
                                                        int64_t out, T *__restrict y, int64_t o0) {
  using V = typename Vec<T>::type;
  constexpr int N = Vec<T>::lanes;
  V acc[CB][NV];
  for (int v = 0; v < NV; ++v) {
    const V init = b != nullptr ? vload(b + o0 + v * N) : V{};
    for (int k = 0; k < CB; ++k) acc[k][v] = init;
  }
  for (int64_t i = 0; i < in; ++i) {
    V w[NV];
    for (int v = 0; v < NV; ++v) w[v] = vload(wt + i * out + o0 + v * N);
    for (int k = 0; k < CB; ++k) {
      const T xv = x[k * in + i];
      for (int v = 0; v < NV; ++v) acc[k][v] += w[v] * xv;
    }
  }
  for (int k = 0; k < CB; ++k)
    for (int v = 0; v < NV; ++v) vstore(y + k * out + o0 + v * N, acc[k][v]);
}

/** One group of CB columns: vector blocks over the outputs, scalar loop for the rest. */
template <class T, int CB>
inline __attribute__((always_inline)) void linear_columns(const T *__restrict x, int64_t in,
                                                          const T *__restrict wt, const T *__restrict b,
                                                          int64_t out, T *__restrict y) {
  constexpr int N = Vec<T>::lanes;
  int64_t o0 = 0;
  for (; o0 + 2 * N <= out; o0 += 2 * N) linear_block<T, CB, 2>(x, in, wt, b, out, y, o0);
  for (; o0 + N <= out; o0 += N) linear_block<T, CB, 1>(x, in, wt, b, out, y, o0);
  for (int k = 0; k < CB; ++k) {
    for (int64_t o = o0; o < out; ++o) {
      T sum = b != nullptr ? b[o] : T(0);
      for (int64_t i = 0; i < in; ++i) sum += x[k * in + i] * wt[i * out + o];
      y[k * out + o] = sum;
    }
  }
}

/** y(c, :) = b + x(c, :) W^T for c < ncol; wt is W^T (in, out). Every output is summed as
 *  b + x_0 w_0 + x_1 w_1 + ... in this order, whichever path computes it. */
template <class T>
inline __attribute__((always_inline)) void linear_loops(const T *__restrict x, int64_t ncol, int64_t in,
                                                        const T *__restrict wt, const T *__restrict b,
                                                        int64_t out, T *__restrict y) {
  int64_t c = 0;
  for (; c + 4 <= ncol; c += 4) linear_columns<T, 4>(x + c * in, in, wt, b, out, y + c * out);
  for (; c < ncol; ++c) linear_columns<T, 1>(x + c * in, in, wt, b, out, y + c * out);
}

template <class T>
inline __attribute__((always_inline)) void standardise(const T *__restrict x, int64_t ncol, int64_t n,
                                                       const T *__restrict mean, const T *__restrict sd,
                                                       T *__restrict y) {
  for (int64_t c = 0; c < ncol; ++c)
    for (int64_t f = 0; f < n; ++f) y[c * n + f] = (x[c * n + f] - mean[f]) / sd[f];
}

template <class T>
inline __attribute__((always_inline)) void destandardise(T *__restrict y, int64_t ncol, int64_t n,
                                                         const T *__restrict mean, const T *__restrict sd) {
  for (int64_t c = 0; c < ncol; ++c)
    for (int64_t f = 0; f < n; ++f) y[c * n + f] = y[c * n + f] * sd[f] + mean[f];
}

// ---- narrow networks: all layers fused, columns in blocks ------------------------------
//
// When every width is small (at most kNarrow, e.g. a 2-4-2 network per ocean interface)
// the column-major loops above are mostly scalar tails, and each layer is a pass over
// memory. Such networks run instead one block of kBlock columns at a time, transposed
// into registers/L1 (features x columns): standardise, every layer and activation, and
// destandardise, with the inner loops over the block's columns vectorised. Each output is
// still summed as b + x_0 w_0 + x_1 w_1 + ..., so both paths give the same numbers.

constexpr int kNarrow = 16;
constexpr int kBlock = 64;
constexpr int kNarrowLayers = 8;

/** The parameters of a narrow network as plain pointers (read-only after load). */
template <class T>
struct NarrowPlan {
  int nlayers = 0;
  int64_t n_in = 0, n_out = 0;
  const T *in_mean = nullptr, *in_std = nullptr, *out_mean = nullptr, *out_std = nullptr;
  const NativeOp *pre = nullptr;
  int npre = 0;
  const int64_t *in = nullptr, *out = nullptr;
  const T *const *wt = nullptr;
  const T *const *bias = nullptr;
  const NativeOp *const *acts = nullptr;
  const int *nacts = nullptr;
};

/** h(f, b) = x(b, f) for b < nb: columns of K features to a features x kBlock block. With K
 *  known at compile time the interleaved loads vectorise (the general case is scalar). */
template <class T, int K>
inline __attribute__((always_inline)) void load_k(const T *__restrict x, int nb, T *__restrict h) {
  for (int b = 0; b < nb; ++b)
#pragma GCC unroll 4
    for (int f = 0; f < K; ++f) h[f * kBlock + b] = x[b * K + f];
}

template <class T>
inline __attribute__((always_inline)) void load_transposed(const T *__restrict x, int64_t k, int nb,
                                                           T *__restrict h) {
  switch (k) {
    case 1: load_k<T, 1>(x, nb, h); break;
    case 2: load_k<T, 2>(x, nb, h); break;
    case 3: load_k<T, 3>(x, nb, h); break;
    case 4: load_k<T, 4>(x, nb, h); break;
    default:
      for (int b = 0; b < nb; ++b)
        for (int64_t f = 0; f < k; ++f) h[f * kBlock + b] = x[b * k + f];
  }
}

/** y(b, f) = h(f, b) for b < nb (the inverse of load_transposed). */
template <class T, int K>
inline __attribute__((always_inline)) void store_k(const T *__restrict h, int nb, T *__restrict y) {
  for (int b = 0; b < nb; ++b)
#pragma GCC unroll 4
    for (int f = 0; f < K; ++f) y[b * K + f] = h[f * kBlock + b];
}

template <class T>
inline __attribute__((always_inline)) void store_transposed(const T *__restrict h, int64_t k, int nb,
                                                            T *__restrict y) {
  switch (k) {
    case 1: store_k<T, 1>(h, nb, y); break;
    case 2: store_k<T, 2>(h, nb, y); break;
    case 3: store_k<T, 3>(h, nb, y); break;
    case 4: store_k<T, 4>(h, nb, y); break;
    default:
      for (int b = 0; b < nb; ++b)
        for (int64_t f = 0; f < k; ++f) y[b * k + f] = h[f * kBlock + b];
  }
}

template <class T>
inline __attribute__((always_inline)) void narrow_loops(const NarrowPlan<T> &P, const T *__restrict x,
                                                        T *__restrict y, int64_t ncol) {
  using V = typename Vec<T>::type;
  constexpr int N = Vec<T>::lanes;
  constexpr int NV = kBlock / N;
  alignas(64) T buf[2][kNarrow * kBlock];
  const int64_t nin = P.n_in, nout = P.n_out;
  for (int64_t c0 = 0; c0 < ncol; c0 += kBlock) {
    const int nb = ncol - c0 < kBlock ? int(ncol - c0) : kBlock;
    T *h = buf[0];
    // load transposed (features x columns; padding columns of the last block are zeros)
    if (nb < kBlock) std::memset(h, 0, sizeof(T) * size_t(nin) * kBlock);
    load_transposed(x + c0 * nin, nin, nb, h);
    if (P.in_mean != nullptr) {
      for (int64_t f = 0; f < nin; ++f) {
        const V m = V{} + P.in_mean[f], sd = V{} + P.in_std[f];
        for (int v = 0; v < NV; ++v) vstore(h + f * kBlock + v * N, (vload(h + f * kBlock + v * N) - m) / sd);
      }
    }
    for (int a = 0; a < P.npre; ++a) apply_op(P.pre[a], h, nin * kBlock);
    int cur = 0;
    for (int l = 0; l < P.nlayers; ++l) {
      const int64_t in = P.in[l], out = P.out[l];
      const T *__restrict wt = P.wt[l];
      const T *__restrict bias = P.bias[l];
      const T *__restrict hin = buf[cur];
      T *__restrict hout = buf[1 - cur];
      for (int64_t o = 0; o < out; ++o) {
        V acc[NV];
        const V b0 = V{} + (bias != nullptr ? bias[o] : T(0));
        for (int v = 0; v < NV; ++v) acc[v] = b0;
        for (int64_t i = 0; i < in; ++i) {
          const V w = V{} + wt[i * out + o];
          for (int v = 0; v < NV; ++v) acc[v] += vload(hin + i * kBlock + v * N) * w;
        }
        for (int v = 0; v < NV; ++v) vstore(hout + o * kBlock + v * N, acc[v]);
      }
      for (int a = 0; a < P.nacts[l]; ++a) apply_op(P.acts[l][a], hout, out * kBlock);
      cur = 1 - cur;
    }
    // destandardise, store transposed
    T *hy = buf[cur];
    if (P.out_mean != nullptr) {
      for (int64_t o = 0; o < nout; ++o) {
        const V m = V{} + P.out_mean[o], sd = V{} + P.out_std[o];
        for (int v = 0; v < NV; ++v) vstore(hy + o * kBlock + v * N, vload(hy + o * kBlock + v * N) * sd + m);
      }
    }
    store_transposed(hy, nout, nb, y + c0 * nout);
  }
}

// Non-template entry points, cloned for AVX2 (selected at load time of the library, so one
// binary stays portable). A clone for arch=haswell (AVX2 with FMA contraction) was tried:
// on the AMD EPYC of the test machine it ran 30-200x SLOWER than this one, for reasons not
// understood yet, so it is not used.
#define CL_CLONES __attribute__((target_clones("avx2", "default")))

CL_CLONES void op_f32(NativeOp op, float *v, int64_t n) { apply_op(op, v, n); }
CL_CLONES void op_f64(NativeOp op, double *v, int64_t n) { apply_op(op, v, n); }
CL_CLONES void linear_f32(const float *x, int64_t ncol, int64_t in, const float *wt, const float *b,
                          int64_t out, float *y) {
  linear_loops(x, ncol, in, wt, b, out, y);
}
CL_CLONES void linear_f64(const double *x, int64_t ncol, int64_t in, const double *wt, const double *b,
                          int64_t out, double *y) {
  linear_loops(x, ncol, in, wt, b, out, y);
}
CL_CLONES void std_f32(const float *x, int64_t ncol, int64_t n, const float *m, const float *s, float *y) {
  standardise(x, ncol, n, m, s, y);
}
CL_CLONES void std_f64(const double *x, int64_t ncol, int64_t n, const double *m, const double *s, double *y) {
  standardise(x, ncol, n, m, s, y);
}
CL_CLONES void destd_f32(float *y, int64_t ncol, int64_t n, const float *m, const float *s) {
  destandardise(y, ncol, n, m, s);
}
CL_CLONES void destd_f64(double *y, int64_t ncol, int64_t n, const double *m, const double *s) {
  destandardise(y, ncol, n, m, s);
}

CL_CLONES void narrow_f32(const NarrowPlan<float> &p, const float *x, float *y, int64_t ncol) {
  narrow_loops(p, x, y, ncol);
}
CL_CLONES void narrow_f64(const NarrowPlan<double> &p, const double *x, double *y, int64_t ncol) {
  narrow_loops(p, x, y, ncol);
}
inline void narrow(const NarrowPlan<float> &p, const float *x, float *y, int64_t n) { narrow_f32(p, x, y, n); }
inline void narrow(const NarrowPlan<double> &p, const double *x, double *y, int64_t n) {
  narrow_f64(p, x, y, n);
}

inline void op(NativeOp o, float *v, int64_t n) { op_f32(o, v, n); }
inline void op(NativeOp o, double *v, int64_t n) { op_f64(o, v, n); }
inline void linear(const float *x, int64_t c, int64_t i, const float *w, const float *b, int64_t o, float *y) {
  linear_f32(x, c, i, w, b, o, y);
}
inline void linear(const double *x, int64_t c, int64_t i, const double *w, const double *b, int64_t o,
                   double *y) {
  linear_f64(x, c, i, w, b, o, y);
}
inline void stdz(const float *x, int64_t c, int64_t n, const float *m, const float *s, float *y) {
  std_f32(x, c, n, m, s, y);
}
inline void stdz(const double *x, int64_t c, int64_t n, const double *m, const double *s, double *y) {
  std_f64(x, c, n, m, s, y);
}
inline void destdz(float *y, int64_t c, int64_t n, const float *m, const float *s) { destd_f32(y, c, n, m, s); }
inline void destdz(double *y, int64_t c, int64_t n, const double *m, const double *s) {
  destd_f64(y, c, n, m, s);
}

// ---- work buffers --------------------------------------------------------------------

/** Work buffer `which` (0 or 1) of the calling thread, at least `count` elements. */
template <class T>
T *scratch(int which, size_t count) {
  thread_local std::vector<T> buffers[2];
  std::vector<T> &b = buffers[which];
  if (b.size() < count) b.resize(count);
  return b.data();
}

template <class T>
const T *ptr(const torch::Tensor &t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

template <class T>
void run(const NativeNet &net, const T *x, T *y, int64_t ncol) {
  if (net.narrow) {
    NarrowPlan<T> p;
    int64_t in[kNarrowLayers], out[kNarrowLayers];
    const T *wt[kNarrowLayers], *bias[kNarrowLayers];
    const NativeOp *acts[kNarrowLayers];
    int nacts[kNarrowLayers];
    p.nlayers = int(net.layers.size());
    for (int l = 0; l < p.nlayers; ++l) {
      const NativeLayer &L = net.layers[size_t(l)];
      in[l] = L.in;
      out[l] = L.out;
      wt[l] = ptr<T>(L.wt);
      bias[l] = ptr<T>(L.bias);
      acts[l] = L.acts.data();
      nacts[l] = int(L.acts.size());
    }
    p.n_in = net.n_in;
    p.n_out = net.n_out;
    p.in_mean = ptr<T>(net.in_mean);
    p.in_std = ptr<T>(net.in_std);
    p.out_mean = ptr<T>(net.out_mean);
    p.out_std = ptr<T>(net.out_std);
    p.pre = net.pre_acts.data();
    p.npre = int(net.pre_acts.size());
    p.in = in;
    p.out = out;
    p.wt = wt;
    p.bias = bias;
    p.acts = acts;
    p.nacts = nacts;
    narrow(p, x, y, ncol);
    return;
  }
  const size_t width = static_cast<size_t>(ncol);
  const T *cur = x;
  int next = 0;
  if (net.in_mean.defined() || !net.pre_acts.empty()) {
    T *s = scratch<T>(next, width * static_cast<size_t>(net.n_in));
    if (net.in_mean.defined()) {
      stdz(x, ncol, net.n_in, ptr<T>(net.in_mean), ptr<T>(net.in_std), s);
    } else {
      std::memcpy(s, x, sizeof(T) * width * static_cast<size_t>(net.n_in));
    }
    for (NativeOp o : net.pre_acts) op(o, s, ncol * net.n_in);
    cur = s;
    next = 1;
  }
  for (size_t l = 0; l < net.layers.size(); ++l) {
    const NativeLayer &L = net.layers[l];
    const bool last = l + 1 == net.layers.size();
    T *dest = last ? y : scratch<T>(next, width * static_cast<size_t>(L.out));
    linear(cur, ncol, L.in, ptr<T>(L.wt), ptr<T>(L.bias), L.out, dest);
    for (NativeOp o : L.acts) op(o, dest, ncol * L.out);
    cur = dest;
    next = 1 - next;
  }
  if (net.out_mean.defined()) destdz(y, ncol, net.n_out, ptr<T>(net.out_mean), ptr<T>(net.out_std));
}

// ---- building from the card ----------------------------------------------------------

/** Thrown (and caught in build_native) when a model does not qualify; what() says why. */
struct NotNative : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const std::map<std::string, NativeOp> &op_names() {
  static const std::map<std::string, NativeOp> names{
      {"relu", NativeOp::relu}, {"tanh", NativeOp::tanh},     {"gelu", NativeOp::gelu},
      {"gelu_tanh", NativeOp::gelu_tanh}, {"silu", NativeOp::silu}, {"sigmoid", NativeOp::sigmoid},
      {"exp", NativeOp::exp}};
  return names;
}

const json &field(const json &j, const char *key, const std::string &where) {
  auto it = j.find(key);
  if (it == j.end()) throw NotNative("native description: " + where + " lacks '" + key + "'");
  return *it;
}

torch::Tensor named_tensor(const std::map<std::string, torch::Tensor> &state, const json &name,
                           c10::ScalarType dtype, const std::string &where) {
  if (!name.is_string()) throw NotNative("native description: " + where + " is not a tensor name");
  const std::string n = name.get<std::string>();
  auto it = state.find(n);
  if (it == state.end()) throw NotNative("native description names tensor '" + n + "' (" + where +
                                         "), which the model does not hold");
  const torch::Tensor &t = it->second;
  if (t.scalar_type() != dtype) {
    throw NotNative("tensor '" + n + "' is " + dtype_label(t.scalar_type()) + ", the model's inputs are " +
                    dtype_label(dtype));
  }
  if (!t.device().is_cpu()) throw NotNative("tensor '" + n + "' is not on the CPU");
  return t.detach().clone().contiguous();
}

/** mean/std of a normalisation, expanded to n features. */
torch::Tensor feature_vector(const std::map<std::string, torch::Tensor> &state, const json &name,
                             c10::ScalarType dtype, int64_t n, const std::string &where) {
  torch::Tensor t = named_tensor(state, name, dtype, where).reshape({-1});
  if (t.numel() == 1) return t.expand({n}).contiguous();
  if (t.numel() != n) {
    throw NotNative(where + " has " + std::to_string(t.numel()) + " values for " + std::to_string(n) +
                    " features");
  }
  return t;
}

void read_norm(const std::map<std::string, torch::Tensor> &state, const json &j, c10::ScalarType dtype,
               int64_t n, const char *what, torch::Tensor &mean, torch::Tensor &sd) {
  if (j.is_null()) return;
  if (!j.is_object()) throw NotNative(std::string("native description: ") + what + " is not an object");
  mean = feature_vector(state, field(j, "mean", what), dtype, n, std::string(what) + ".mean");
  sd = feature_vector(state, field(j, "std", what), dtype, n, std::string(what) + ".std");
}

std::shared_ptr<NativeNet> build(const cl_model &m) {
  if (!m.meta.present) throw NotNative("model has no climlearn metadata");
  const json card = json::parse(m.meta.card);
  auto it = card.find("native");
  if (it == card.end() || it->is_null()) {
    throw NotNative("model has no native description (not an MLP-shaped climlearn export)");
  }
  const json &d = *it;
  if (!d.is_object()) throw NotNative("native description is not an object");
  const json &version = field(d, "version", "native");
  if (!version.is_number_integer() || version.get<int64_t>() != 1) {
    throw NotNative("native description version " + version.dump() + " is not supported (this library reads 1)");
  }
  if (m.meta.inputs.size() != 1 || m.meta.outputs.size() != 1) {
    throw NotNative("the native kernel takes one input and one output");
  }
  const TensorSpec &in = m.meta.inputs[0], &out = m.meta.outputs[0];
  if (in.shape.size() != 2 || out.shape.size() != 2 || in.batch_dim != 0 || out.batch_dim != 0 ||
      in.shape[1] < 0 || out.shape[1] < 0) {
    throw NotNative("the native kernel takes (batch, features) arrays of rank 2");
  }
  if (in.dtype != out.dtype) throw NotNative("input and output dtypes differ");

  auto net = std::make_shared<NativeNet>();
  net->dtype = in.dtype;
  net->n_in = in.shape[1];
  net->n_out = out.shape[1];
  const c10::ScalarType dtype = in.dtype == CL_FLOAT64 ? torch::kFloat64 : torch::kFloat32;

  const std::map<std::string, torch::Tensor> state = model_tensors(m);

  const json &layers = field(d, "layers", "native");
  if (!layers.is_array()) throw NotNative("native description: 'layers' is not an array");
  int64_t width = net->n_in;
  for (size_t k = 0; k < layers.size(); ++k) {
    const json &e = layers[k];
    const std::string where = "layers[" + std::to_string(k) + "]";
    if (!e.is_object()) throw NotNative("native description: " + where + " is not an object");
    const json &opj = field(e, "op", where);
    const std::string opname = opj.is_string() ? opj.get<std::string>() : opj.dump();
    if (opname == "linear") {
      NativeLayer L;
      torch::Tensor w = named_tensor(state, field(e, "weight", where), dtype, where + ".weight");
      if (w.dim() != 2 || w.size(1) != width) {
        throw NotNative(where + ": weight of shape " + fortran_shape(w.sizes()) + " (Fortran order) does not take " +
                        std::to_string(width) + " features");
      }
      L.in = width;
      L.out = w.size(0);
      L.wt = w.t().contiguous();
      auto bj = e.find("bias");
      if (bj != e.end() && !bj->is_null()) {
        L.bias = named_tensor(state, *bj, dtype, where + ".bias");
        if (L.bias.dim() != 1 || L.bias.size(0) != L.out) throw NotNative(where + ": bias does not match the weight");
      }
      width = L.out;
      net->layers.push_back(std::move(L));
    } else if (opname == "identity") {
      continue;
    } else {
      auto o = op_names().find(opname);
      if (o == op_names().end()) throw NotNative("native description: unsupported op '" + opname + "'");
      (net->layers.empty() ? net->pre_acts : net->layers.back().acts).push_back(o->second);
    }
  }
  if (net->layers.empty()) throw NotNative("native description has no linear layer");
  if (width != net->n_out) {
    throw NotNative("the last layer gives " + std::to_string(width) + " features, the output has " +
                    std::to_string(net->n_out));
  }
  read_norm(state, d.contains("norm_in") ? d["norm_in"] : json(), dtype, net->n_in, "norm_in", net->in_mean,
            net->in_std);
  read_norm(state, d.contains("norm_out") ? d["norm_out"] : json(), dtype, net->n_out, "norm_out",
            net->out_mean, net->out_std);
  net->narrow = net->n_in <= kNarrow && net->layers.size() <= size_t(kNarrowLayers);
  for (const NativeLayer &L : net->layers) net->narrow = net->narrow && L.out <= kNarrow;
  return net;
}

}  // namespace

std::shared_ptr<const NativeNet> build_native(const cl_model &m, std::string &why) {
  try {
    return build(m);
  } catch (const NotNative &e) {
    why = e.what();
  } catch (...) {
    why = current_exception_message();
  }
  return nullptr;
}

int64_t native_outputs(const NativeNet &net) { return net.n_out; }

void native_forward(const NativeNet &net, const cl_array &in, cl_array &out) {
  const int64_t ncol = in.shape[1];
  if (ncol == 0) return;
  if (net.dtype == CL_FLOAT64) {
    run(net, static_cast<const double *>(in.data), static_cast<double *>(out.data), ncol);
  } else {
    run(net, static_cast<const float *>(in.data), static_cast<float *>(out.data), ncol);
  }
}

}  // namespace climlearn
