// forward.cpp -- cl_model_forward: argument checks against the metadata, zero-copy
// wrapping of the caller's arrays, the optional NaN/Inf check, the call, and the copy of the
// results into caller-owned memory.
#include "internal.hpp"

#include <c10/util/SmallVector.h>

#include <algorithm>
#include <limits>

namespace climlearn {

namespace {

c10::ScalarType scalar_type(int dtype) { return dtype == CL_FLOAT64 ? torch::kFloat64 : torch::kFloat32; }

size_t element_size(int dtype) { return dtype == CL_FLOAT64 ? 8 : 4; }

/** Torch (row-major) shape of a Fortran array: its dimensions reversed. */
std::vector<int64_t> torch_shape(const cl_array &a) {
  std::vector<int64_t> s(static_cast<size_t>(a.rank));
  for (int k = 0; k < a.rank; ++k) s[static_cast<size_t>(a.rank - 1 - k)] = a.shape[k];
  return s;
}

std::string given_shape(const cl_array &a) {
  std::string out = "(";
  for (int k = 0; k < a.rank; ++k) out += (k ? ", " : "") + std::to_string(a.shape[k]);
  return out + ")";
}

std::string names_of(const std::vector<TensorSpec> &specs) {
  std::string out;
  for (const auto &s : specs) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

/** Validate one array descriptor on its own; returns its number of elements. */
int64_t check_descriptor(const cl_model &m, Direction dir, int i, const cl_array &a) {
  auto label = [&] { return io_label(m, dir, i); };  // built only for a message
  if (a.dtype != CL_FLOAT32 && a.dtype != CL_FLOAT64) {
    throw Error(CL_ERR_DTYPE, label() + ": invalid dtype code " + std::to_string(a.dtype) +
                                  " (expected CL_FLOAT32=1 or CL_FLOAT64=2)");
  }
  if (a.rank < 0 || a.rank > CL_MAX_RANK) {
    throw Error(CL_ERR_ARGUMENT, label() + ": invalid rank " + std::to_string(a.rank) + " (must be 0.." +
                                     std::to_string(CL_MAX_RANK) + ")");
  }
  const int64_t limit = std::numeric_limits<int64_t>::max() / static_cast<int64_t>(element_size(a.dtype));
  int64_t numel = 1;
  for (int k = 0; k < a.rank; ++k) {
    const int64_t d = a.shape[k];
    if (d < 0) {
      throw Error(CL_ERR_ARGUMENT, label() + ": negative extent " + std::to_string(d) + " in dimension " +
                                       std::to_string(k + 1) + " of Fortran shape " + given_shape(a));
    }
    if (d != 0 && numel > limit / d) {
      throw Error(CL_ERR_ARGUMENT, label() + ": Fortran shape " + given_shape(a) + " is too large");
    }
    numel *= d;
  }
  if (a.data == nullptr && numel > 0) throw Error(CL_ERR_ARGUMENT, label() + ": data pointer is NULL");
  return numel;
}

/** Check dtype, rank and the fixed (non-batch) extents against the declared spec. */
void check_against_spec(const cl_model &m, Direction dir, int i, const cl_array &a, const TensorSpec &s) {
  auto label = [&] { return io_label(m, dir, i); };  // built only for a message
  if (a.dtype != s.dtype) {
    throw Error(CL_ERR_DTYPE, label() + ": wrong dtype: expected " + dtype_label(s.dtype) + ", given " +
                                  dtype_label(a.dtype));
  }
  const int rank = static_cast<int>(s.shape.size());
  if (a.rank != rank) {
    throw Error(CL_ERR_SHAPE, label() + ": wrong rank: expected " + std::to_string(rank) + " (Fortran shape " +
                                  fortran_shape(s) + "), given " + std::to_string(a.rank) +
                                  " (Fortran shape " + given_shape(a) + ")");
  }
  for (int k = 0; k < rank; ++k) {  // k: Fortran dimension (0-based)
    const int64_t expected = s.shape[static_cast<size_t>(rank - 1 - k)];
    if (expected >= 0 && a.shape[k] != expected) {
      throw Error(CL_ERR_SHAPE, label() + ": wrong shape: expected Fortran shape " + fortran_shape(s) +
                                    ", given " + given_shape(a) + " (dimension " + std::to_string(k + 1) +
                                    " is " + std::to_string(a.shape[k]) + ", expected " +
                                    std::to_string(expected) + ")");
    }
  }
}

void check_count(const cl_model &m, Direction dir, int given) {
  const bool in = dir == Direction::input;
  const char *what = in ? "inputs" : "outputs";
  if (m.meta.present) {
    const auto &specs = in ? m.meta.inputs : m.meta.outputs;
    const int n = static_cast<int>(specs.size());
    if (given != n) {
      throw Error(CL_ERR_SHAPE, std::string("wrong number of ") + what + ": model '" + m.path + "' expects " +
                                    std::to_string(n) + " (" + names_of(specs) + "), given " +
                                    std::to_string(given));
    }
  } else if (in && m.max_inputs >= 0 && (given < m.min_inputs || given > m.max_inputs)) {
    std::string names;
    for (const auto &a : m.arg_names) names += (names.empty() ? "" : ", ") + a;
    const std::string expected = m.min_inputs == m.max_inputs
                                     ? std::to_string(m.max_inputs)
                                     : std::to_string(m.min_inputs) + " to " + std::to_string(m.max_inputs);
    throw Error(CL_ERR_SHAPE, "wrong number of inputs: forward() of model '" + m.path + "' takes " + expected +
                                  " (" + names + "), given " + std::to_string(given));
  }
}

/** Fail with CL_ERR_NONFINITE if the (CPU) input holds NaN or Inf. */
void check_finite(const cl_model &m, int i, const cl_array &a, const torch::Tensor &t) {
  if (t.numel() == 0 || torch::isfinite(t).all().item<bool>()) return;
  const torch::Tensor bad = torch::isfinite(t).logical_not().reshape({-1});
  const int64_t count = bad.sum().item<int64_t>();
  int64_t linear = bad.to(torch::kUInt8).argmax().item<int64_t>();  // first non-finite, memory order
  std::string index = "(";
  for (int k = 0; k < a.rank; ++k) {  // memory order is Fortran order: first index fastest
    index += (k ? ", " : "") + std::to_string(linear % a.shape[k] + 1);
    linear /= a.shape[k];
  }
  index += ")";
  throw Error(CL_ERR_NONFINITE, io_label(m, Direction::input, i) + " contains " + std::to_string(count) +
                                    " non-finite value" + (count == 1 ? "" : "s") +
                                    " (NaN or Inf); first at Fortran index " + index);
}

/** Wrap caller memory without copying (an empty tensor for zero-size arrays). */
torch::Tensor wrap(const cl_array &a, int64_t numel) {
  const auto options = torch::TensorOptions().dtype(scalar_type(a.dtype)).device(torch::kCPU);
  if (numel == 0) return torch::empty(torch_shape(a), options);
  return torch::from_blob(a.data, torch_shape(a), options);
}

/** "a dict", "an int", ... : what a model returned, in TorchScript (Python) words. */
std::string kind_of(const c10::IValue &v) {
  if (v.isGenericDict()) return "a dict";
  if (v.isList()) return "a list";
  if (v.isTuple()) return "a tuple";
  if (v.isInt()) return "an int";
  if (v.isDouble()) return "a float";
  if (v.isBool()) return "a bool";
  if (v.isString()) return "a str";
  if (v.isNone()) return "None";
  return std::string("a ") + v.tagKind();
}

std::vector<torch::Tensor> unpack_result(const cl_model &m, const c10::IValue &r) {
  std::vector<torch::Tensor> out;
  auto add = [&](const c10::IValue &v, size_t k) {
    if (!v.isTensor()) {
      throw Error(CL_ERR_RUNTIME, "model '" + m.path + "' returned " + kind_of(v) + " as element " +
                                      std::to_string(k + 1) + "; expected tensors only");
    }
    out.push_back(v.toTensor());
  };
  if (r.isTensor()) {
    out.push_back(r.toTensor());
  } else if (r.isTuple()) {
    const auto &elems = r.toTupleRef().elements();
    for (size_t k = 0; k < elems.size(); ++k) add(elems[k], k);
  } else if (r.isList()) {
    const auto list = r.toListRef();
    for (size_t k = 0; k < list.size(); ++k) add(list[k], k);
  } else {
    throw Error(CL_ERR_RUNTIME, "model '" + m.path + "' returned " + kind_of(r) +
                                    "; expected a Tensor or a tuple/list of Tensors");
  }
  return out;
}

/** The native backend, after the shared checks (one input, one output, both matching the
 *  metadata): the NaN check, the batch of the output, then the kernel writes the output. */
int forward_native(const cl_model &m, const cl_array &in, cl_array &out, int64_t in_numel) {
  if (m.check_finite.load(std::memory_order_relaxed)) check_finite(m, 0, in, wrap(in, in_numel));
  const int64_t ncol = in.shape[1];
  if (out.shape[1] != ncol) {
    const int64_t nout = native_outputs(*m.native);
    throw Error(CL_ERR_SHAPE, io_label(m, Direction::output, 0) + ": wrong shape: the model returned Fortran shape (" +
                                  std::to_string(nout) + ", " + std::to_string(ncol) + "), given " +
                                  given_shape(out));
  }
  try {
    native_forward(*m.native, in, out);
  } catch (const Error &) {
    throw;
  } catch (...) {
    throw Error(CL_ERR_RUNTIME, "model '" + m.path + "' (native backend) raised an error: " +
                                    current_exception_message());
  }
  return CL_OK;
}

/** AOTInductor code accepts the batch sizes it was compiled for (aot.batch_range). */
void check_batch_range(const cl_model &m, int n_inputs, const cl_array *inputs) {
  if (m.batch_max < 0 || !m.meta.present) return;
  for (int i = 0; i < n_inputs; ++i) {
    const TensorSpec &s = m.meta.inputs[static_cast<size_t>(i)];
    if (s.batch_dim < 0) continue;
    const int64_t n = inputs[i].shape[static_cast<int>(s.shape.size()) - 1 - s.batch_dim];
    if (n < m.batch_min || n > m.batch_max) {
      throw Error(CL_ERR_SHAPE, io_label(m, Direction::input, i) + ": batch of " + std::to_string(n) +
                                    " columns is outside the range " + std::to_string(m.batch_min) + ".." +
                                    std::to_string(m.batch_max) +
                                    " the AOTInductor package was compiled for (export it again with a "
                                    "wider batch_range, or load it with backend 'native' if it qualifies)");
    }
  }
}

int forward(cl_model *model, int n_inputs, const cl_array *inputs, int n_outputs, cl_array *outputs) {
  cl_model &m = *live_model(model);
  if (n_inputs < 0) throw Error(CL_ERR_ARGUMENT, "n_inputs is negative (" + std::to_string(n_inputs) + ")");
  if (n_outputs < 0) throw Error(CL_ERR_ARGUMENT, "n_outputs is negative (" + std::to_string(n_outputs) + ")");
  if (n_inputs > 0 && inputs == nullptr) throw Error(CL_ERR_ARGUMENT, "inputs is NULL but n_inputs > 0");
  if (n_outputs > 0 && outputs == nullptr) throw Error(CL_ERR_ARGUMENT, "outputs is NULL but n_outputs > 0");
  check_count(m, Direction::input, n_inputs);
  check_count(m, Direction::output, n_outputs);

  // Everything about the arguments is checked before the model runs.
  c10::SmallVector<int64_t, 8> in_numel(static_cast<size_t>(n_inputs)), out_numel(static_cast<size_t>(n_outputs));
  for (int i = 0; i < n_inputs; ++i) {
    in_numel[static_cast<size_t>(i)] = check_descriptor(m, Direction::input, i, inputs[i]);
    if (m.meta.present) check_against_spec(m, Direction::input, i, inputs[i], m.meta.inputs[static_cast<size_t>(i)]);
  }
  for (int i = 0; i < n_outputs; ++i) {
    out_numel[static_cast<size_t>(i)] = check_descriptor(m, Direction::output, i, outputs[i]);
    if (m.meta.present) check_against_spec(m, Direction::output, i, outputs[i], m.meta.outputs[static_cast<size_t>(i)]);
  }
  ensure_threads_configured();
  if (m.native) return forward_native(m, inputs[0], outputs[0], in_numel[0]);
  if (m.aoti) {
    // Compiled code takes batches in its range only; an empty call (0 columns in, 0 out)
    // has nothing to compute.
    const auto empty = [](int64_t n) { return n == 0; };
    if (n_inputs > 0 && std::all_of(in_numel.begin(), in_numel.end(), empty) &&
        std::all_of(out_numel.begin(), out_numel.end(), empty)) {
      return CL_OK;
    }
    check_batch_range(m, n_inputs, inputs);
  }

  c10::InferenceMode inference_mode;
  std::vector<torch::Tensor> args;
  args.reserve(static_cast<size_t>(n_inputs));
  const bool on_cpu = m.device.is_cpu();
  for (int i = 0; i < n_inputs; ++i) {
    torch::Tensor t = wrap(inputs[i], in_numel[static_cast<size_t>(i)]);
    if (m.check_finite.load(std::memory_order_relaxed)) check_finite(m, i, inputs[i], t);
    args.push_back(on_cpu ? t : t.to(m.device));
  }

  std::vector<torch::Tensor> results;
  if (m.aoti) {
    results = aot_run(m, args);
  } else {
    c10::IValue result;
    try {
      result = m.module.forward(std::vector<c10::IValue>(args.begin(), args.end()));
    } catch (const c10::OutOfMemoryError &) {
      throw Error(CL_ERR_RUNTIME, "model '" + m.path + "' ran out of memory: " + current_exception_message());
    } catch (...) {
      throw Error(CL_ERR_RUNTIME, "model '" + m.path + "' raised an error: " + current_exception_message());
    }
    results = unpack_result(m, result);
  }

  if (static_cast<int>(results.size()) != n_outputs) {
    throw Error(CL_ERR_SHAPE, "wrong number of outputs: model '" + m.path + "' returned " +
                                  std::to_string(results.size()) + " tensor" + (results.size() == 1 ? "" : "s") +
                                  ", given " + std::to_string(n_outputs) + " output array" +
                                  (n_outputs == 1 ? "" : "s"));
  }
  for (int i = 0; i < n_outputs; ++i) {  // check all before writing any
    const torch::Tensor &r = results[static_cast<size_t>(i)];
    const cl_array &o = outputs[i];
    const std::string label = io_label(m, Direction::output, i);
    if (r.scalar_type() != scalar_type(o.dtype)) {
      throw Error(CL_ERR_DTYPE, label + ": wrong dtype: the model returned " + dtype_label(r.scalar_type()) +
                                    ", given " + dtype_label(o.dtype));
    }
    if (r.sizes() != c10::IntArrayRef(torch_shape(o))) {
      throw Error(CL_ERR_SHAPE, label + ": wrong shape: the model returned Fortran shape " +
                                    fortran_shape(r.sizes()) + ", given " + given_shape(o));
    }
  }
  for (int i = 0; i < n_outputs; ++i) {
    if (out_numel[static_cast<size_t>(i)] == 0) continue;
    wrap(outputs[i], out_numel[static_cast<size_t>(i)]).copy_(results[static_cast<size_t>(i)]);
  }
  return CL_OK;
}

}  // namespace

}  // namespace climlearn

extern "C" {

CL_API int cl_model_forward(cl_model *model, int n_inputs, const cl_array *inputs, int n_outputs,
                            cl_array *outputs) {
  return climlearn::guarded([&] { return climlearn::forward(model, n_inputs, inputs, n_outputs, outputs); });
}

}  // extern "C"
