#pragma once
// safetensors files: 8-byte little-endian header length, a JSON header, raw little-endian data.
// The trained model is stored Keras-style: dense_<i>.kernel [in, out] and dense_<i>.bias [out].
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/model.h"

namespace mlpbench {

struct TensorView {
  std::string name;
  std::string dtype;  // "F32" or "U32"
  std::vector<size_t> shape;
  const void* data = nullptr;
};

// Serialises tensors (in the given order) with string metadata.
std::string encode_safetensors(const std::vector<TensorView>& tensors,
                               const std::map<std::string, std::string>& metadata);

// A parsed safetensors file; tensor data views point into `bytes`.
struct SafetensorsFile {
  std::string bytes;
  std::map<std::string, std::string> metadata;
  std::map<std::string, TensorView> tensors;
  // The tensor `name` as floats, checked to have `shape`. Throws std::runtime_error.
  std::vector<float> floats(const std::string& name, const std::vector<size_t>& shape) const;
};
// Reads and validates a file (header bounds, offsets inside the data, dtype sizes). Throws
// std::runtime_error naming the path.
SafetensorsFile read_safetensors(const std::string& path);
// The same for a file's bytes held in memory; `path` names it in messages.
SafetensorsFile parse_safetensors(std::string bytes, const std::string& path);

// The model's tensors in layer order, Keras layout: weight matrices copied into `storage`
// (which must outlive the views), biases viewed in place.
std::vector<TensorView> model_tensors(const Mlp& model, std::vector<std::vector<float>>& storage);
// `replace`: an existing regular file at `path` is replaced; else the file is created
// exclusively (OutputExists if the path is taken).
void save_weights(const std::string& path, const Mlp& model,
                  const std::map<std::string, std::string>& metadata, bool replace = true);
// Loads dense_<i>.kernel / dense_<i>.bias into a model of the same shape.
void load_weights(const SafetensorsFile& file, Mlp& model);

}  // namespace mlpbench
