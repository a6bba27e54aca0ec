// metadata.cpp -- parsing climlearn/meta.json, shape/dtype formatting for messages, and the
// metadata getters of the C API (cl_model_num_inputs ... cl_model_card).
#include "internal.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace climlearn {

namespace {

using nlohmann::json;

constexpr int supported_schema_version = 1;

[[noreturn]] void bad_meta(const std::string &path, const std::string &what) {
  throw Error(CL_ERR_FORMAT, "invalid metadata (climlearn/meta.json) in '" + path + "': " + what);
}

/** "an array", "a string", ... */
std::string json_type(const json &j) {
  const std::string t = j.type_name();
  return (t == "array" || t == "object" ? "an " : "a ") + t;
}

/** Parse one entry of "inputs"/"outputs". where = "inputs[0]". */
TensorSpec parse_spec(const json &e, const std::string &where, const std::string &path) {
  if (!e.is_object()) bad_meta(path, where + " is " + json_type(e) + ", expected an object");
  TensorSpec s;

  auto it = e.find("name");
  if (it == e.end()) bad_meta(path, where + ": missing required field 'name'");
  if (!it->is_string() || it->get<std::string>().empty())
    bad_meta(path, where + ": 'name' must be a non-empty string");
  s.name = it->get<std::string>();
  const std::string label = where + " '" + s.name + "'";

  it = e.find("units");
  if (it != e.end() && !it->is_null()) {
    if (!it->is_string()) bad_meta(path, label + ": 'units' must be a string");
    s.units = it->get<std::string>();
  }

  it = e.find("shape");
  if (it == e.end()) bad_meta(path, label + ": missing required field 'shape'");
  if (!it->is_array()) bad_meta(path, label + ": 'shape' must be an array (null marks the batch dimension)");
  if (it->size() > static_cast<size_t>(CL_MAX_RANK))
    bad_meta(path, label + ": rank " + std::to_string(it->size()) + " exceeds CL_MAX_RANK (" +
                       std::to_string(CL_MAX_RANK) + ")");
  for (const json &d : *it) {
    if (d.is_null()) {
      s.shape.push_back(-1);
    } else if (d.is_number_integer() && d.get<int64_t>() >= 0) {
      s.shape.push_back(d.get<int64_t>());
    } else {
      bad_meta(path, label + ": 'shape' entries must be non-negative integers or null, found " + d.dump());
    }
  }
  const int rank = static_cast<int>(s.shape.size());

  it = e.find("batch_dim");
  if (it != e.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() >= rank)
      bad_meta(path, label + ": 'batch_dim' " + it->dump() + " is not a dimension of shape of rank " +
                         std::to_string(rank));
    s.batch_dim = static_cast<int>(it->get<int64_t>());
    s.shape[s.batch_dim] = -1;  // the batch extent is free even if an example size was written
  } else {
    auto null_dim = std::find(s.shape.begin(), s.shape.end(), int64_t{-1});
    if (null_dim != s.shape.end()) s.batch_dim = static_cast<int>(null_dim - s.shape.begin());
  }

  it = e.find("dtype");
  if (it == e.end()) bad_meta(path, label + ": missing required field 'dtype'");
  const std::string dt = it->is_string() ? it->get<std::string>() : it->dump();
  if (dt == "float32" || dt == "torch.float32") {
    s.dtype = CL_FLOAT32;
  } else if (dt == "float64" || dt == "torch.float64") {
    s.dtype = CL_FLOAT64;
  } else {
    bad_meta(path, label + ": unsupported dtype '" + dt + "' (expected 'float32' or 'float64')");
  }
  return s;
}

std::vector<TensorSpec> parse_specs(const json &j, const char *key, const std::string &path) {
  auto it = j.find(key);
  if (it == j.end()) bad_meta(path, std::string("missing required field '") + key + "'");
  if (!it->is_array()) bad_meta(path, std::string("'") + key + "' must be an array, found " + json_type(*it));
  if (it->empty()) bad_meta(path, std::string("'") + key + "' is empty");
  std::vector<TensorSpec> specs;
  for (size_t i = 0; i < it->size(); ++i)
    specs.push_back(parse_spec((*it)[i], std::string(key) + "[" + std::to_string(i) + "]", path));
  return specs;
}

const TensorSpec &spec_at(const cl_model &m, Direction dir, int i) {
  const char *what = dir == Direction::input ? "input" : "output";
  if (!m.meta.present) {
    throw Error(CL_ERR_ARGUMENT, "model '" + m.path +
                                     "' has no climlearn metadata (no climlearn/meta.json in the "
                                     "archive): " + what + " names, units, shapes and dtypes are unknown");
  }
  const auto &specs = dir == Direction::input ? m.meta.inputs : m.meta.outputs;
  const int n = static_cast<int>(specs.size());
  if (i < 0 || i >= n) {
    throw Error(CL_ERR_ARGUMENT, std::string(what) + " index " + std::to_string(i) +
                                     " out of range: model has " + std::to_string(n) + " " + what +
                                     (n == 1 ? "" : "s") + " (valid 0.." + std::to_string(n - 1) + ")");
  }
  return specs[static_cast<size_t>(i)];
}

template <class Getter>
int with_spec(const cl_model *model, Direction dir, int i, Getter &&get) {
  return guarded([&] {
    const cl_model *m = live_model(model);
    return get(spec_at(*m, dir, i));
  });
}

int num_specs(const cl_model *model, Direction dir, int *n) {
  return guarded([&] {
    const cl_model *m = live_model(model);
    if (n == nullptr) throw Error(CL_ERR_ARGUMENT, "output argument n is NULL");
    const auto &specs = dir == Direction::input ? m->meta.inputs : m->meta.outputs;
    *n = m->meta.present ? static_cast<int>(specs.size()) : -1;
    return CL_OK;
  });
}

int spec_shape(const cl_model *model, Direction dir, int i, int *rank, int64_t *shape, int maxrank) {
  return guarded([&] {
    const cl_model *m = live_model(model);
    if (rank == nullptr) throw Error(CL_ERR_ARGUMENT, "output argument rank is NULL");
    const TensorSpec &s = spec_at(*m, dir, i);
    const int r = static_cast<int>(s.shape.size());
    *rank = r;
    if (shape == nullptr && maxrank == 0) return CL_OK;  // rank query
    if (shape == nullptr) throw Error(CL_ERR_ARGUMENT, "output argument shape is NULL");
    if (maxrank < r) {
      throw Error(CL_ERR_ARGUMENT, "shape buffer too small: " + io_label(*m, dir, i) + " has rank " +
                                       std::to_string(r) + ", maxrank is " + std::to_string(maxrank));
    }
    for (int k = 0; k < r; ++k) shape[k] = s.shape[static_cast<size_t>(r - 1 - k)];  // Fortran order
    return CL_OK;
  });
}

}  // namespace

Metadata parse_metadata(const std::string &text, const std::string &path) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception &e) {
    std::string msg = e.what();
    if (!msg.empty() && msg[0] == '[') {  // drop "[json.exception.parse_error.101] "
      const size_t close = msg.find("] ");
      if (close != std::string::npos) msg = msg.substr(close + 2);
    }
    bad_meta(path, "corrupt JSON: " + msg);
  }
  if (!j.is_object()) bad_meta(path, "expected a JSON object, found " + json_type(j));

  auto it = j.find("schema_version");
  if (it != j.end()) {
    if (!it->is_number_integer()) bad_meta(path, "'schema_version' must be an integer");
    if (it->get<int64_t>() > supported_schema_version) {
      bad_meta(path, "schema_version " + it->dump() + " is newer than this libclimlearn supports (" +
                         std::to_string(supported_schema_version) + "); update climlearn");
    }
  }

  Metadata meta;
  meta.present = true;
  meta.card = text;
  meta.inputs = parse_specs(j, "inputs", path);
  meta.outputs = parse_specs(j, "outputs", path);
  return meta;
}

std::string dtype_label(int dtype) {
  switch (dtype) {
    case CL_FLOAT32: return "float32 (real32)";
    case CL_FLOAT64: return "float64 (real64)";
    default: return "invalid dtype code " + std::to_string(dtype);
  }
}

std::string dtype_label(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Float: return dtype_label(CL_FLOAT32);
    case c10::ScalarType::Double: return dtype_label(CL_FLOAT64);
    case c10::ScalarType::Half: return "float16";
    case c10::ScalarType::BFloat16: return "bfloat16";
    case c10::ScalarType::Long: return "int64";
    case c10::ScalarType::Int: return "int32";
    case c10::ScalarType::Bool: return "bool";
    default: return c10::toString(t);
  }
}

std::string fortran_shape(const TensorSpec &spec) {
  std::string out = "(";
  for (size_t k = spec.shape.size(); k-- > 0;) {
    const int64_t d = spec.shape[k];
    if (d >= 0) {
      out += std::to_string(d);
    } else {
      out += static_cast<int>(k) == spec.batch_dim ? "ncol" : ":";
    }
    if (k > 0) out += ", ";
  }
  return out + ")";
}

std::string fortran_shape(c10::IntArrayRef torch_shape) {
  std::string out = "(";
  for (size_t k = torch_shape.size(); k-- > 0;) {
    out += std::to_string(torch_shape[k]);
    if (k > 0) out += ", ";
  }
  return out + ")";
}

}  // namespace climlearn

using climlearn::Direction;
using climlearn::TensorSpec;

extern "C" {

CL_API int cl_model_num_inputs(const cl_model *model, int *n) {
  return climlearn::num_specs(model, Direction::input, n);
}

CL_API int cl_model_num_outputs(const cl_model *model, int *n) {
  return climlearn::num_specs(model, Direction::output, n);
}

CL_API int cl_model_input_name(const cl_model *model, int i, char *buf, size_t buflen, size_t *needed) {
  return climlearn::with_spec(model, Direction::input, i, [&](const TensorSpec &s) {
    return climlearn::copy_string(s.name, buf, buflen, needed);
  });
}

CL_API int cl_model_output_name(const cl_model *model, int i, char *buf, size_t buflen, size_t *needed) {
  return climlearn::with_spec(model, Direction::output, i, [&](const TensorSpec &s) {
    return climlearn::copy_string(s.name, buf, buflen, needed);
  });
}

CL_API int cl_model_input_units(const cl_model *model, int i, char *buf, size_t buflen, size_t *needed) {
  return climlearn::with_spec(model, Direction::input, i, [&](const TensorSpec &s) {
    return climlearn::copy_string(s.units, buf, buflen, needed);
  });
}

CL_API int cl_model_output_units(const cl_model *model, int i, char *buf, size_t buflen, size_t *needed) {
  return climlearn::with_spec(model, Direction::output, i, [&](const TensorSpec &s) {
    return climlearn::copy_string(s.units, buf, buflen, needed);
  });
}

CL_API int cl_model_input_shape(const cl_model *model, int i, int *rank, int64_t *shape, int maxrank) {
  return climlearn::spec_shape(model, Direction::input, i, rank, shape, maxrank);
}

CL_API int cl_model_output_shape(const cl_model *model, int i, int *rank, int64_t *shape, int maxrank) {
  return climlearn::spec_shape(model, Direction::output, i, rank, shape, maxrank);
}

CL_API int cl_model_input_dtype(const cl_model *model, int i, int *dtype) {
  return climlearn::with_spec(model, Direction::input, i, [&](const TensorSpec &s) {
    if (dtype == nullptr) throw climlearn::Error(CL_ERR_ARGUMENT, "output argument dtype is NULL");
    *dtype = s.dtype;
    return CL_OK;
  });
}

CL_API int cl_model_output_dtype(const cl_model *model, int i, int *dtype) {
  return climlearn::with_spec(model, Direction::output, i, [&](const TensorSpec &s) {
    if (dtype == nullptr) throw climlearn::Error(CL_ERR_ARGUMENT, "output argument dtype is NULL");
    *dtype = s.dtype;
    return CL_OK;
  });
}

CL_API int cl_model_card(const cl_model *model, char *buf, size_t buflen, size_t *needed) {
  return climlearn::guarded([&] {
    const cl_model *m = climlearn::live_model(model);
    return climlearn::copy_string(m->meta.card, buf, buflen, needed);
  });
}

}  // extern "C"
