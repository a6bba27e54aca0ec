// model.cpp -- model lifetime: device parsing, file-format detection and backend dispatch,
// the TorchScript backend, the registry of live handles, and cl_model_load/free/...
#include "internal.hpp"

#include <caffe2/serialize/inline_container.h>
#include <torch/cuda.h>

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace climlearn {

namespace {

const char *const meta_key = "climlearn/meta.json";

// ---- live handles --------------------------------------------------------------------
// Every handle returned by cl_model_load is registered until cl_model_free, so a freed or
// never-loaded handle is reported as CL_ERR_STATE instead of being dereferenced.

std::mutex registry_mutex;
std::unordered_set<const cl_model *> registry;

void register_model(const cl_model *m) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry.insert(m);
}

bool unregister_model(const cl_model *m) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  return registry.erase(m) == 1;
}

// ---- device ----------------------------------------------------------------------------

torch::Device parse_device(const char *device) {
  std::string given = device == nullptr ? "" : device;
  std::string s;
  for (char c : given) {
    if (!std::isspace(static_cast<unsigned char>(c))) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (s.empty() || s == "cpu") return torch::Device(torch::kCPU);

  long index = -1;
  if (s == "cuda") {
    index = 0;
  } else if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() <= 9 &&
             s.find_first_not_of("0123456789", 5) == std::string::npos) {
    index = std::stol(s.substr(5));
  }
  if (index < 0) {
    throw Error(CL_ERR_DEVICE, "invalid device '" + given + "': expected 'cpu', 'cuda' or 'cuda:N'");
  }
  if (!torch::cuda::is_available()) {
    throw Error(CL_ERR_DEVICE, "device '" + given +
                                   "' requested but CUDA is not available in this libtorch "
                                   "(CPU-only build or no GPU)");
  }
  const long count = static_cast<long>(torch::cuda::device_count());
  if (index >= count) {
    throw Error(CL_ERR_DEVICE, "device '" + given + "' requested but only " + std::to_string(count) +
                                   " CUDA device" + (count == 1 ? " is" : "s are") +
                                   " visible (valid cuda:0..cuda:" + std::to_string(count - 1) + ")");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

// ---- format detection ------------------------------------------------------------------

enum class Format { torchscript, aot };

/** What the first bytes of a non-zip file look like, for the error message. */
std::string describe_magic(const unsigned char *b, size_t n) {
  if (n == 0) return "an empty file";
  auto starts = [&](const char *m, size_t len) { return n >= len && std::memcmp(b, m, len) == 0; };
  if (starts("\x89HDF\r\n\x1a\n", 8)) return "an HDF5/netCDF-4 file";
  if (starts("CDF\x01", 4) || starts("CDF\x02", 4) || starts("CDF\x05", 4)) return "a netCDF-3 file";
  if (starts("\x7f" "ELF", 4)) return "an ELF binary";
  if (b[0] == 0x80 && n >= 2 && b[1] <= 5) return "a Python pickle (legacy torch.save format?)";
  bool text = true;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isprint(b[i]) && !std::isspace(b[i])) text = false;
  }
  if (text) {
    std::string t;
    for (size_t i = 0; i < n && i < 16; ++i) t += std::isspace(b[i]) ? ' ' : static_cast<char>(b[i]);
    return "text \"" + t + (n > 16 ? "...\"" : "\"");
  }
  static const char hex[] = "0123456789abcdef";
  std::string h = "bytes";
  for (size_t i = 0; i < n && i < 4; ++i) {
    h += ' ';
    h += hex[b[i] >> 4];
    h += hex[b[i] & 15];
  }
  return h;
}

/** Classify a zip archive by its records (names relative to the archive's top folder). */
Format classify_zip(const std::string &path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (...) {
    // miniz messages go on with generic advice after the first sentence; keep the diagnosis.
    std::string why = current_exception_message();
    const size_t advice = why.find(". This is an internal miniz error");
    if (advice != std::string::npos) why.resize(advice);
    const bool zip_damage = why.find("zip archive") != std::string::npos;
    throw Error(CL_ERR_FORMAT, "cannot read '" + path + "' as a TorchScript archive or AOTInductor package" +
                                   (zip_damage ? " (truncated or corrupt file?)" : "") + ": " + why);
  }
  if (reader->hasRecord("archive_format")) {
    std::string kind;
    try {
      auto rec = reader->getRecord("archive_format");
      kind.assign(static_cast<const char *>(std::get<0>(rec).get()), std::get<1>(rec));
    } catch (...) {
      kind = "?";
    }
    while (!kind.empty() && std::isspace(static_cast<unsigned char>(kind.back()))) kind.pop_back();
    if (kind == "pt2") {
      bool has_aoti = false;
      for (const std::string &r : reader->getAllRecords()) {
        if (r.rfind("data/aotinductor/", 0) == 0) has_aoti = true;
      }
      if (has_aoti) return Format::aot;
      throw Error(CL_ERR_FORMAT, "'" + path +
                                     "' is a torch.export .pt2 archive without compiled AOTInductor code "
                                     "(saved by torch.export.save?): export it with climlearn.export.to_aot "
                                     "or climlearn.export.to_torchscript");
    }
    throw Error(CL_ERR_FORMAT, "'" + path + "' is a zip archive of unknown format '" + kind +
                                   "' (expected a TorchScript archive or an AOTInductor .pt2 package)");
  }
  bool has_code = false;
  for (const std::string &r : reader->getAllRecords()) {
    if (r.rfind("code/", 0) == 0) has_code = true;
  }
  if (has_code || reader->hasRecord("constants.pkl")) return Format::torchscript;
  if (reader->hasRecord("data.pkl")) {
    throw Error(CL_ERR_FORMAT, "'" + path +
                                   "' is a torch.save checkpoint (a state_dict or pickled module), not a "
                                   "TorchScript archive: export the model with torch.jit.script + torch.jit.save");
  }
  throw Error(CL_ERR_FORMAT, "'" + path + "' is a zip file but not a TorchScript archive (no code/ inside)");
}

/** Detect the model format from the file content (throws CL_ERR_IO / CL_ERR_FORMAT). */
Format detect_format(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw Error(CL_ERR_IO, "cannot open model file '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    throw Error(CL_ERR_IO, "cannot open model file '" + path + "': " + std::strerror(EISDIR));
  }
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw Error(CL_ERR_IO, "cannot open model file '" + path + "': " + std::strerror(errno));
  }
  unsigned char magic[32];
  const size_t n = std::fread(magic, 1, sizeof magic, f);
  const bool read_error = std::ferror(f) != 0;
  const int read_errno = errno;
  std::fclose(f);
  if (read_error) {
    throw Error(CL_ERR_IO, "cannot read model file '" + path + "': " + std::strerror(read_errno));
  }
  if (n >= 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) return classify_zip(path);
  throw Error(CL_ERR_FORMAT, "'" + path +
                                 "' is not a TorchScript archive or AOTInductor package (expected a zip file "
                                 "starting with PK, found " +
                                 describe_magic(magic, n) + ")");
}

// ---- TorchScript backend ---------------------------------------------------------------

void read_forward_schema(cl_model &m) {
  auto method = m.module.find_method("forward");
  if (!method) {
    throw Error(CL_ERR_FORMAT, "TorchScript module in '" + m.path + "' has no forward() method");
  }
  const c10::FunctionSchema &schema = method->function().getSchema();
  const auto &args = schema.arguments();
  m.min_inputs = 0;
  for (size_t i = 1; i < args.size(); ++i) {  // args[0] is self
    m.arg_names.push_back(args[i].name());
    if (!args[i].default_value().has_value()) m.min_inputs = static_cast<int>(i);
  }
  m.max_inputs = schema.is_vararg() ? -1 : static_cast<int>(m.arg_names.size());
}

void check_metadata_against_schema(const cl_model &m) {
  if (!m.meta.present || m.max_inputs < 0) return;
  const int n = static_cast<int>(m.meta.inputs.size());
  if (n < m.min_inputs || n > m.max_inputs) {
    std::string names;
    for (const auto &a : m.arg_names) names += (names.empty() ? "" : ", ") + a;
    throw Error(CL_ERR_FORMAT, "metadata of '" + m.path + "' declares " + std::to_string(n) +
                                   " inputs but its forward() takes " + std::to_string(m.max_inputs) + " (" +
                                   names + ")");
  }
}

std::unique_ptr<cl_model> load_torchscript(const std::string &path, torch::Device device) {
  auto m = std::make_unique<cl_model>();
  m->path = path;
  m->device = device;
  torch::jit::ExtraFilesMap extra{{meta_key, ""}};
  try {
    m->module = torch::jit::load(path, device, extra);
  } catch (const c10::OutOfMemoryError &) {
    throw Error(CL_ERR_DEVICE, "out of memory loading '" + path + "' onto " + device.str() + ": " +
                                   current_exception_message());
  } catch (...) {
    throw Error(CL_ERR_FORMAT, "cannot load TorchScript archive '" + path + "': " + current_exception_message());
  }
  m->module.eval();
  read_forward_schema(*m);
  const std::string &json = extra[meta_key];
  if (!json.empty()) m->meta = parse_metadata(json, path);
  check_metadata_against_schema(*m);
  return m;
}

// ---- backend selection ------------------------------------------------------------------

enum class Backend { automatic, torchscript, aot, native };

const char *const backend_names = "auto, torchscript, aot, native";

/** NULL, "" and "auto" (any case, blanks ignored) mean automatic. */
Backend parse_backend(const char *backend) {
  const std::string given = backend == nullptr ? "" : backend;
  std::string s;
  for (char c : given) {
    if (!std::isspace(static_cast<unsigned char>(c))) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (s.empty() || s == "auto") return Backend::automatic;
  if (s == "torchscript") return Backend::torchscript;
  if (s == "native") return Backend::native;
  if (s == "aot") return Backend::aot;
  throw Error(CL_ERR_ARGUMENT, "unknown backend '" + given + "': valid names are " + backend_names);
}

/** Attach the native kernel when the backend asks for it and the model qualifies. */
void select_backend(cl_model &m, Backend backend) {
  if (backend == Backend::torchscript || backend == Backend::aot) return;
  if (!m.device.is_cpu()) {
    if (backend == Backend::native) {
      throw Error(CL_ERR_DEVICE, "the native backend runs on the CPU only, device '" + m.device.str() +
                                     "' requested (use backend 'auto' or 'torchscript')");
    }
    return;
  }
  std::string why;
  m.native = build_native(m, why);
  if (!m.native && backend == Backend::native) {
    if (m.aoti) {
      why += " (an AOTInductor package folds its weights into compiled code: load the TorchScript "
             "export of the model for the native kernel)";
    }
    throw Error(CL_ERR_FORMAT, "cannot run '" + m.path + "' with the native backend: " + why);
  }
}

/** The one place that chooses a backend from the file content: "auto" takes the native
 *  kernel when the model qualifies, else the file's own format. */
std::unique_ptr<cl_model> load_model(const std::string &path, torch::Device device, Backend backend) {
  switch (detect_format(path)) {
    case Format::torchscript: {
      if (backend == Backend::aot) {
        throw Error(CL_ERR_FORMAT, "'" + path +
                                       "' is a TorchScript archive; backend 'aot' runs AOTInductor packages "
                                       "(.pt2, written by climlearn.export.to_aot): use backend 'auto', "
                                       "'torchscript' or 'native'");
      }
      std::unique_ptr<cl_model> m = load_torchscript(path, device);
      select_backend(*m, backend);
      return m;
    }
    case Format::aot: {
      if (backend == Backend::torchscript) {
        throw Error(CL_ERR_FORMAT, "'" + path +
                                       "' is an AOTInductor package (.pt2); backend 'torchscript' runs "
                                       "TorchScript archives: use backend 'auto', 'aot' or 'native'");
      }
      std::unique_ptr<cl_model> m = load_aot(path, device);
      select_backend(*m, backend);
      return m;
    }
  }
  throw Error(CL_ERR_FORMAT, "'" + path + "': unsupported model format");
}

}  // namespace

cl_model *live_model(const cl_model *model) {
  if (model == nullptr) {
    throw Error(CL_ERR_STATE, "model is not loaded (cl_model_load failed or was not called)");
  }
  std::lock_guard<std::mutex> lock(registry_mutex);
  if (registry.count(model) == 0) {
    throw Error(CL_ERR_STATE, "model handle is not valid (already freed by cl_model_free, or never loaded)");
  }
  return const_cast<cl_model *>(model);
}

std::map<std::string, torch::Tensor> model_tensors(const cl_model &m) {
  if (m.aoti) return aot_tensors(m);
  std::map<std::string, torch::Tensor> state;
  for (const auto &p : m.module.named_parameters(/*recurse=*/true)) state[p.name] = p.value;
  for (const auto &b : m.module.named_buffers(/*recurse=*/true)) state[b.name] = b.value;
  return state;
}

const char *backend_name(const cl_model &m) {
  if (m.native) return "native";
  return m.aoti ? "aot" : "torchscript";
}

std::string io_label(const cl_model &m, Direction dir, int index0) {
  const bool in = dir == Direction::input;
  const char *what = in ? "input" : "output";
  const std::string number = "number " + std::to_string(index0 + 1);
  const auto &specs = in ? m.meta.inputs : m.meta.outputs;
  const size_t i = static_cast<size_t>(index0);
  if (m.meta.present && index0 >= 0 && i < specs.size()) {
    return std::string(what) + " '" + specs[i].name + "' (" + number + ")";
  }
  if (in && index0 >= 0 && i < m.arg_names.size()) {
    return std::string(what) + " '" + m.arg_names[i] + "' (" + number + ")";
  }
  return std::string(what) + " " + number;
}

}  // namespace climlearn

extern "C" {

CL_API int cl_model_load_backend(const char *path, const char *device, const char *backend,
                                 cl_model **model) {
  if (model != nullptr) *model = nullptr;
  return climlearn::guarded([&] {
    using climlearn::Error;
    if (model == nullptr) throw Error(CL_ERR_ARGUMENT, "cl_model_load: model (output handle) is NULL");
    if (path == nullptr) throw Error(CL_ERR_ARGUMENT, "cl_model_load: path is NULL");
    if (*path == '\0') throw Error(CL_ERR_ARGUMENT, "cl_model_load: path is empty");
    const climlearn::Backend which = climlearn::parse_backend(backend);
    climlearn::ensure_threads_configured();
    const torch::Device dev = climlearn::parse_device(device);
    if (which == climlearn::Backend::native && !dev.is_cpu()) {
      throw Error(CL_ERR_DEVICE, "the native backend runs on the CPU only, device '" + dev.str() +
                                     "' requested (use backend 'auto' or 'torchscript')");
    }
    std::unique_ptr<cl_model> m = climlearn::load_model(path, dev, which);
    climlearn::register_model(m.get());
    *model = m.release();
    return CL_OK;
  });
}

CL_API int cl_model_load(const char *path, const char *device, cl_model **model) {
  return cl_model_load_backend(path, device, nullptr, model);
}

CL_API int cl_model_free(cl_model *model) {
  return climlearn::guarded([&] {
    if (model == nullptr) return CL_OK;
    if (!climlearn::unregister_model(model)) {
      throw climlearn::Error(CL_ERR_STATE,
                             "cl_model_free: model handle is not valid (already freed, or never loaded)");
    }
    delete model;
    return CL_OK;
  });
}

CL_API int cl_model_set_check_finite(cl_model *model, int on) {
  return climlearn::guarded([&] {
    climlearn::live_model(model)->check_finite.store(on != 0);
    return CL_OK;
  });
}

CL_API int cl_model_backend(const cl_model *model, char *buf, size_t buflen, size_t *needed) {
  return climlearn::guarded([&] {
    const cl_model *m = climlearn::live_model(model);
    return climlearn::copy_string(climlearn::backend_name(*m), buf, buflen, needed);
  });
}

CL_API int cl_model_device(const cl_model *model, char *buf, size_t buflen, size_t *needed) {
  return climlearn::guarded([&] {
    const cl_model *m = climlearn::live_model(model);
    return climlearn::copy_string(m->device.str(), buf, buflen, needed);
  });
}

}  // extern "C"
