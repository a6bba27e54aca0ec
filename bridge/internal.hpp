// internal.hpp -- declarations shared by the C++ files of libclimlearn (never installed).
//
// Error model: internal code throws climlearn::Error(status, message); every extern "C"
// entry point runs its body through climlearn::guarded(), which turns any exception into a
// status code plus the thread-local last-error message. No exception crosses the C ABI.
#ifndef CLIMLEARN_INTERNAL_HPP
#define CLIMLEARN_INTERNAL_HPP

#include "climlearn.h"

#include <torch/script.h>

#include <atomic>
#include <map>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef CL_VERSION_STRING
#define CL_VERSION_STRING "0.1.0"
#endif

namespace torch::inductor {
class AOTIModelPackageLoader;
}

namespace climlearn {

// ---- errors (errors.cpp) -------------------------------------------------------------

/** Exception carrying a cl_status and a message meant for the user. */
class Error : public std::runtime_error {
 public:
  Error(int status, const std::string &message) : std::runtime_error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/** Record msg as the calling thread's last error (never throws). */
void set_error(const std::string &msg) noexcept;

/** Keep the informative part of a (long, multi-line) torch message. */
std::string summarise_torch_message(const std::string &what);

/** Message of any exception in flight (call inside a catch block). */
std::string current_exception_message();

/** Copy s into (buf, buflen) with the NUL-terminated, truncating convention of climlearn.h. */
int copy_string(const std::string &s, char *buf, size_t buflen, size_t *needed);

/** Run body (returning an int status) so that no exception escapes. Torch warnings raised
 *  meanwhile are swallowed instead of printed (the host program owns stderr). */
int guarded_impl(int (*body)(void *), void *ctx) noexcept;

template <class F>
int guarded(F &&f) noexcept {
  return guarded_impl([](void *ctx) -> int { return (*static_cast<F *>(ctx))(); },
                      static_cast<void *>(&f));
}

// ---- threads (threads.cpp) -----------------------------------------------------------

/** Apply the default thread count (1, or CLIMLEARN_NUM_THREADS) once, unless the user
 *  already called cl_set_num_threads. */
void ensure_threads_configured();

// ---- metadata (metadata.cpp) ---------------------------------------------------------

enum class Direction { input, output };

/** One declared input or output. shape is in torch (row-major) order; -1 marks a free
 *  dimension (null in meta.json); batch_dim is the torch index of the batch, -1 if none. */
struct TensorSpec {
  std::string name;
  std::string units;
  std::vector<int64_t> shape;
  int batch_dim = -1;
  int dtype = CL_FLOAT32;  // enum cl_dtype
};

struct Metadata {
  bool present = false;  // false: the archive carries no climlearn/meta.json
  std::string card = "{}";
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

/** Parse meta.json (throws Error(CL_ERR_FORMAT) naming what is wrong). */
Metadata parse_metadata(const std::string &json, const std::string &path);

/** "float32" / "float64" for a cl_dtype, with the Fortran kind: "float32 (real32)". */
std::string dtype_label(int dtype);
/** Same for a torch dtype ("int64" for anything that is not float32/float64). */
std::string dtype_label(c10::ScalarType t);

/** "(8, ncol)": a torch-order spec shape shown in Fortran order. */
std::string fortran_shape(const TensorSpec &spec);
/** "(8, 10)": torch-order extents shown in Fortran order. */
std::string fortran_shape(c10::IntArrayRef torch_shape);

// ---- native backend (native.cpp) -----------------------------------------------------

/** A packed MLP run by the native kernel (read-only after load; shared by threads). */
struct NativeNet;

}  // namespace climlearn

struct cl_model;

namespace climlearn {

/** The native kernel of a loaded model, from the "native" entry of its card and the
 *  tensors of its module; nullptr, with the reason in `why`, when it does not qualify. */
std::shared_ptr<const NativeNet> build_native(const cl_model &m, std::string &why);

/** Number of output features of a native net. */
int64_t native_outputs(const NativeNet &net);

/** Run a native net on one (nfeat, ncol) input into one (nout, ncol) output, both already
 *  checked against the metadata (dtype, rank, shape, batch). Thread-safe. */
void native_forward(const NativeNet &net, const cl_array &in, cl_array &out);

// ---- model (model.cpp) ---------------------------------------------------------------

}  // namespace climlearn

/** The opaque handle of climlearn.h. Exactly one of `module` (TorchScript) and `aoti`
 *  (AOTInductor package) holds the model; `native`, when set, runs it instead. */
struct cl_model {
  std::string path;
  torch::jit::Module module;
  // Set for an AOTInductor package (.pt2); then module is empty.
  std::shared_ptr<torch::inductor::AOTIModelPackageLoader> aoti;
  // Batch sizes the AOTInductor code accepts (from the card's "aot" entry); 0/-1: any.
  int64_t batch_min = 0;
  int64_t batch_max = -1;
  torch::Device device{torch::kCPU};
  std::atomic<bool> check_finite{false};
  climlearn::Metadata meta;
  // From the forward() schema (self excluded): argument names, and how many inputs it takes.
  std::vector<std::string> arg_names;
  int min_inputs = 0;
  int max_inputs = -1;  // -1: unknown (varargs)
  // Set when the native backend runs this model (then forward() never calls module).
  std::shared_ptr<const climlearn::NativeNet> native;
};

namespace climlearn {

/** The handle if it is live (loaded and not freed), else throw Error(CL_ERR_STATE). */
cl_model *live_model(const cl_model *model);

/** The model's named tensors (parameters and buffers of a TorchScript module, constants of
 *  an AOTInductor package), by qualified name ("core.net.0.weight"). */
std::map<std::string, torch::Tensor> model_tensors(const cl_model &m);

// ---- AOTInductor backend (aot.cpp) ---------------------------------------------------

/** Load an AOTInductor package (.pt2) written by climlearn.export.to_aot: the model card
 *  from the package metadata, checks that the compiled code suits this machine, then the
 *  loader (throws CL_ERR_FORMAT / CL_ERR_DEVICE naming the problem). */
std::unique_ptr<cl_model> load_aot(const std::string &path, torch::Device device);

/** The constants (weights, buffers) of a loaded package, by original qualified name. */
std::map<std::string, torch::Tensor> aot_tensors(const cl_model &m);

/** Run a loaded package on CPU tensors (throws CL_ERR_RUNTIME with the model's message). */
std::vector<torch::Tensor> aot_run(const cl_model &m, const std::vector<torch::Tensor> &inputs);

/** "native", "aot" or "torchscript": what runs the model. */
const char *backend_name(const cl_model &m);

/** "input 'x' (number 1)", or "input number 1" when the model has no metadata. */
std::string io_label(const cl_model &m, Direction dir, int index0);

}  // namespace climlearn

#endif  // CLIMLEARN_INTERNAL_HPP
