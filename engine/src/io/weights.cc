#include "mlpbench/weights.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "mlpbench/errors.h"
#include "io/input_file.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/run_log.h"

namespace mlpbench {
namespace {

// A bound on what a hostile file can make a reader load; real files are far smaller.
constexpr uint64_t kMaxSafetensorsBytes = uint64_t{64} << 30;

// dense_<layer>.kernel / dense_<layer>.bias, as Keras names them.
std::string tensor_name(size_t layer, const char* what) {
  return "dense_" + std::to_string(layer) + "." + what;
}

size_t dtype_size(const std::string& dtype) { return dtype == "F32" || dtype == "U32" ? 4 : 0; }

size_t element_count(const std::vector<size_t>& shape) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<size_t>& shape) {
  return json_text(shape);
}

}  // namespace

std::string encode_safetensors(const std::vector<TensorView>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& t : tensors) {
    const size_t bytes = element_count(t.shape) * dtype_size(t.dtype);
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string json = json_text_exact(header);
  json.append((8 - json.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::string out(8, '\0');
  uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  out += json;
  for (const auto& t : tensors) {
    out.append(static_cast<const char*>(t.data), element_count(t.shape) * dtype_size(t.dtype));
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  try {
    return parse_safetensors(read_input_file(path, kMaxSafetensorsBytes, "a safetensors file"), path);
  } catch (const InputFileError& e) {
    throw std::runtime_error(e.what());
  }
}

SafetensorsFile parse_safetensors(std::string bytes, const std::string& path) {
  SafetensorsFile f;
  f.bytes = std::move(bytes);
  auto fail = [&](const std::string& why) { throw std::runtime_error(path + ": not a valid safetensors file: " + why); };
  if (f.bytes.size() < 8) fail("shorter than its 8-byte header length");
  uint64_t header_len = 0;
  std::memcpy(&header_len, f.bytes.data(), 8);
  if (header_len > f.bytes.size() - 8) fail("header length exceeds the file");
  nlohmann::json header;
  try {
    // Strict (json_errors.h): a tensor named twice is refused, not silently the last one.
    header = JsonChecker{"header"}.parse(f.bytes.substr(8, header_len), 64, "a JSON object");
  } catch (const ConfigError& e) {
    fail(e.what());
  }
  if (!header.is_object()) fail("header is not a JSON object");
  const size_t data_start = 8 + header_len, data_size = f.bytes.size() - data_start;
  try {
    for (const auto& [name, value] : header.items()) {
      if (name == "__metadata__") {
        for (const auto& [k, v] : value.items()) f.metadata[k] = v.get<std::string>();
        continue;
      }
      TensorView t;
      t.name = name;
      t.dtype = value.at("dtype").get<std::string>();
      t.shape = value.at("shape").get<std::vector<size_t>>();
      const auto offsets = value.at("data_offsets").get<std::vector<size_t>>();
      if (dtype_size(t.dtype) == 0) fail(name + ": unsupported dtype " + t.dtype);
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size) {
        fail(name + ": data offsets outside the file");
      }
      size_t count = 1;
      for (size_t d : t.shape) {
        if (d != 0 && count > SIZE_MAX / 8 / d) fail(name + ": shape too large");
        count *= d;
      }
      if (offsets[1] - offsets[0] != count * dtype_size(t.dtype)) {
        fail(name + ": data size does not match shape " + shape_string(t.shape));
      }
      t.data = f.bytes.data() + data_start + offsets[0];
      f.tensors[name] = t;
    }
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("malformed header: ") + e.what());
  }
  return f;
}

std::vector<float> SafetensorsFile::floats(const std::string& name,
                                           const std::vector<size_t>& shape) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw std::runtime_error("missing tensor " + name);
  if (it->second.dtype != "F32" || it->second.shape != shape) {
    throw std::runtime_error("tensor " + name + " is " + it->second.dtype +
                             shape_string(it->second.shape) + ", expected F32" + shape_string(shape));
  }
  std::vector<float> out(element_count(shape));
  std::memcpy(out.data(), it->second.data, out.size() * sizeof(float));
  return out;
}

std::vector<TensorView> model_tensors(const Mlp& model, std::vector<std::vector<float>>& storage) {
  std::vector<TensorView> out;
  storage.clear();
  storage.reserve(model.layers().size());
  for (size_t l = 0; l < model.layers().size(); ++l) {
    const DenseLayer& layer = model.layers()[l];
    storage.push_back(model.weight_rows(l));
    out.push_back({tensor_name(l, "kernel"), "F32", {layer.in, layer.out}, storage.back().data()});
    out.push_back({tensor_name(l, "bias"), "F32", {layer.out}, model.bias(l)});
  }
  return out;
}

void save_weights(const std::string& path, const Mlp& model,
                  const std::map<std::string, std::string>& metadata, bool replace) {
  std::vector<std::vector<float>> storage;
  write_output(path, encode_safetensors(model_tensors(model, storage), metadata),
               replace ? WriteMode::kReplace : WriteMode::kCreate);
}

void load_weights(const SafetensorsFile& file, Mlp& model) {
  for (size_t l = 0; l < model.layers().size(); ++l) {
    const DenseLayer& layer = model.layers()[l];
    const std::vector<float> weights = file.floats(tensor_name(l, "kernel"), {layer.in, layer.out});
    const std::vector<float> bias = file.floats(tensor_name(l, "bias"), {layer.out});
    model.set_weight_rows(l, weights.data());
    std::memcpy(model.bias(l), bias.data(), bias.size() * sizeof(float));
  }
}

}  // namespace mlpbench
