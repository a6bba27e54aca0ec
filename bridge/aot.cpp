// aot.cpp -- the AOTInductor backend: packages (.pt2) written by climlearn.export.to_aot,
// run through torch::inductor::AOTIModelPackageLoader instead of the TorchScript
// interpreter.
//
// The package metadata (a string map stored next to the compiled library) carries the
// model card under "climlearn/meta.json" and AOTInductor's own description of the target:
// AOTI_DEVICE_KEY ("cpu"), AOTI_PLATFORM ("linux"), AOTI_MACHINE ("x86_64") and
// AOTI_CPU_ISA ("AVX2", "AVX512", ...: the library is built with -march=native). All of it
// is read and checked BEFORE the library is loaded, so a package built for another machine
// gives a message instead of a crash on an illegal instruction.
#include "internal.hpp"

#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/headeronly/version.h>

#include <nlohmann/json.hpp>
#include <sys/utsname.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace climlearn {

namespace {

const char *const meta_key = "climlearn/meta.json";
const char *const model_name = "model";

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

std::string value_or(const std::unordered_map<std::string, std::string> &m, const char *key,
                     const std::string &fallback) {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

/** Whether this CPU runs code compiled for AOTInductor's vector ISA `isa`; `what` gets the
 *  missing instruction set. */
bool cpu_supports(const std::string &isa, std::string &what) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (isa.empty() || isa == "INVALID_VEC_ISA") return true;  // scalar code
  if (isa == "AVX2") {
    what = "AVX2/FMA";
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  if (isa == "AVX512") {
    what = "AVX-512 (F, BW, VL, DQ)";
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  }
  what = isa;
  return false;  // an ISA of another architecture
#else
  what = isa;
  return true;  // the machine check already compared architectures
#endif
}

/** Throw unless the compiled code of the package suits this machine and device. */
void check_target(const std::string &path, const std::unordered_map<std::string, std::string> &meta,
                  torch::Device device) {
  const std::string device_key = value_or(meta, "AOTI_DEVICE_KEY", "cpu");
  if (device_key != "cpu") {
    throw Error(CL_ERR_DEVICE, "'" + path + "' was compiled for device '" + device_key +
                                   "'; this libclimlearn runs AOTInductor packages on the CPU");
  }
  if (!device.is_cpu()) {
    throw Error(CL_ERR_DEVICE, "'" + path + "' was compiled for the CPU, device '" + device.str() +
                                   "' requested: export it for that device, or load the TorchScript file");
  }
  struct utsname u {};
  const std::string machine = ::uname(&u) == 0 ? u.machine : "";
  const std::string platform =
#if defined(__linux__)
      "linux";
#elif defined(__APPLE__)
      "darwin";
#else
      "";
#endif
  const std::string want_platform = value_or(meta, "AOTI_PLATFORM", platform);
  const std::string want_machine = value_or(meta, "AOTI_MACHINE", machine);
  const std::string isa = value_or(meta, "AOTI_CPU_ISA", "");
  const std::string advice =
      ": export the model again on this machine (climlearn.export.to_aot), or use its TorchScript file";
  if (!platform.empty() && want_platform != platform) {
    throw Error(CL_ERR_FORMAT, "'" + path + "' was compiled for platform '" + want_platform + "', this is '" +
                                   platform + "'" + advice);
  }
  if (!machine.empty() && want_machine != machine) {
    throw Error(CL_ERR_FORMAT, "'" + path + "' was compiled for architecture '" + want_machine +
                                   "', this machine is '" + machine + "'" + advice);
  }
  std::string missing;
  if (!cpu_supports(isa, missing)) {
    throw Error(CL_ERR_FORMAT, "'" + path + "' was compiled for CPUs with " + missing +
                                   " vector instructions (AOTI_CPU_ISA " + isa + "), which this CPU lacks" +
                                   advice);
  }
}

/** The "aot" entry of the card: the batch range the code accepts. */
void read_batch_range(cl_model &m) {
  const nlohmann::json card = nlohmann::json::parse(m.meta.card);
  auto it = card.find("aot");
  if (it == card.end() || !it->is_object()) return;
  auto r = it->find("batch_range");
  if (r == it->end() || !r->is_array() || r->size() != 2 || !(*r)[0].is_number_integer() ||
      !(*r)[1].is_number_integer()) {
    throw Error(CL_ERR_FORMAT, "invalid metadata (climlearn/meta.json) in '" + m.path +
                                   "': aot.batch_range must be a pair of integers");
  }
  m.batch_min = (*r)[0].get<int64_t>();
  m.batch_max = (*r)[1].get<int64_t>();
}

/** AOTIModelPackageLoader unpacks a package into a new folder under TMPDIR and removes it
 *  only in its destructor: a host that ends without cl_model_free (or is killed) would
 *  leave one folder per rank and run. While one exists, the loader is pointed at a
 *  private folder (TMPDIR set for the duration of the constructor, under a lock shared by
 *  every load of this library), and the folder is removed as soon as the model is
 *  loaded: the compiled library stays mapped and the package is not read again. */
class ScratchTmpdir {
 public:
  ScratchTmpdir() {
    const char *base = std::getenv("TMPDIR");
    if (base != nullptr) {
      had_ = true;
      saved_ = base;
    }
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/climlearn_aot_XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) {
      throw Error(CL_ERR_IO, "cannot create a scratch folder to unpack the AOTInductor package (" + pattern +
                                 "): " + std::strerror(errno) + "; set TMPDIR to a writable folder");
    }
    dir_ = buf.data();
    setenv("TMPDIR", dir_.c_str(), 1);
  }
  ~ScratchTmpdir() {
    if (had_) {
      setenv("TMPDIR", saved_.c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchTmpdir(const ScratchTmpdir &) = delete;
  ScratchTmpdir &operator=(const ScratchTmpdir &) = delete;

 private:
  std::string dir_, saved_;
  bool had_ = false;
};

std::mutex &load_mutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

std::unique_ptr<cl_model> load_aot(const std::string &path, torch::Device device) {
  std::unordered_map<std::string, std::string> meta;
  try {
    meta = torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(path, model_name);
  } catch (...) {
    std::string why = summarise_torch_message(current_exception_message());
    const bool zip_damage = why.find("zip") != std::string::npos || why.find("central directory") != std::string::npos;
    throw Error(CL_ERR_FORMAT, "cannot read the AOTInductor package '" + path + "'" +
                                   (zip_damage ? " (truncated or corrupt file?)" : "") + ": " + why);
  }
  auto card = meta.find(meta_key);
  if (card == meta.end()) {
    throw Error(CL_ERR_FORMAT, "AOTInductor package '" + path + "' has no climlearn model card (" + meta_key +
                                   " in the package metadata): export it with climlearn.export.to_aot, "
                                   "which records names, units, shapes and dtypes");
  }
  auto m = std::make_unique<cl_model>();
  m->path = path;
  m->device = device;
  m->meta = parse_metadata(card->second, path);
  read_batch_range(*m);
  check_target(path, meta, device);
  try {
    std::lock_guard<std::mutex> lock(load_mutex());
    ScratchTmpdir scratch;
    m->aoti = std::make_shared<torch::inductor::AOTIModelPackageLoader>(path, model_name,
                                                                        /*run_single_threaded=*/false,
                                                                        /*num_runners=*/1,
                                                                        /*device_index=*/-1);
  } catch (const Error &) {
    throw;
  } catch (...) {
    std::string why = summarise_torch_message(current_exception_message());
    std::string versions;
    try {
      const auto j = nlohmann::json::parse(m->meta.card);
      const std::string made = j.value("torch_version", std::string("?"));
      if (made.rfind(torch_version(), 0) != 0) {
        versions = " (the package was made with torch " + made + ", this libclimlearn uses libtorch " +
                   torch_version() + ")";
      }
    } catch (...) {
    }
    const bool zip_damage = why.find("zip") != std::string::npos;
    throw Error(CL_ERR_FORMAT, "cannot load the AOTInductor package '" + path + "'" +
                                   (zip_damage ? " (truncated or corrupt file?)" : "") + versions + ": " + why);
  }
  m->min_inputs = m->max_inputs = static_cast<int>(m->meta.inputs.size());
  for (const auto &s : m->meta.inputs) m->arg_names.push_back(s.name);
  return m;
}

std::map<std::string, torch::Tensor> aot_tensors(const cl_model &m) {
  torch::inductor::AOTIModelContainerRunner *runner = m.aoti->get_runner();
  const auto fqns = runner->getConstantNamesToOriginalFQNs();
  std::map<std::string, torch::Tensor> out;
  for (const auto &kv : runner->extract_constants_map(/*use_inactive=*/false)) {
    auto it = fqns.find(kv.first);
    out[it != fqns.end() && !it->second.empty() ? it->second : kv.first] = kv.second;
  }
  return out;
}

std::vector<torch::Tensor> aot_run(const cl_model &m, const std::vector<torch::Tensor> &inputs) {
  try {
    return m.aoti->run(inputs);
  } catch (...) {
    throw Error(CL_ERR_RUNTIME, "model '" + m.path + "' (AOTInductor package) raised an error: " +
                                    summarise_torch_message(current_exception_message()));
  }
}

}  // namespace climlearn
