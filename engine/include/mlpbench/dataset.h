#pragma once
// IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed, validated before they are trusted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mlpbench/tensor.h"

namespace mlpbench {

// One decoded IDX file of unsigned bytes (type code 0x08): dims and row-major data.
struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;
};

// Parses an IDX image held in memory (already decompressed). `source` names the file in errors.
// Throws DataError on a bad magic, a type other than ubyte, zero or absurd dimensions, or a
// length that does not match the header (truncated or trailing bytes).
IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& source);

// Reads an IDX file; gzip is detected by its magic bytes, whatever the file's name.
// Throws DataError naming the path if it is missing, unreadable, corrupt or not IDX.
IdxArray read_idx_file(const std::string& path);

// Decompresses gzip data held in memory, refusing to grow past `max_output` bytes.
std::vector<uint8_t> gunzip(const uint8_t* bytes, size_t size, const std::string& source,
                            size_t max_output);

// A labelled image set. Pixels stay bytes as the IDX file holds them; a batch is scaled to
// [0, 1] (x / 255, float32) as it is gathered (kernels::gather_pixels): the random rows of a
// batch then cost a quarter of the memory traffic of a float copy (bench/PERF.md, #19).
struct Dataset {
  std::string name;        // "mnist" or "fashion-mnist"
  std::string split;       // "train" or "test"
  size_t height = 0, width = 0;  // of one image, in pixels
  size_t num_classes = 10;
  AlignedBuffer<uint8_t> pixels;  // [size() x features()], row-major
  std::vector<uint8_t> labels;
  std::string images_path;  // the files the data came from (empty if built in memory)
  std::string labels_path;

  size_t size() const { return labels.size(); }
  size_t features() const { return height * width; }
  const uint8_t* image(size_t i) const { return pixels.data() + i * features(); }
};

// Builds a Dataset from an images file (idx3) and a labels file (idx1): counts must agree and
// every label must be < num_classes. `limit` (0 = all) keeps only the first samples.
Dataset make_dataset(const IdxArray& images, const IdxArray& labels, const std::string& name,
                     const std::string& split, size_t num_classes, size_t limit,
                     const std::string& images_source, const std::string& labels_source);

// Moves samples [first, size()) of `data` into a new dataset (split "validation"), leaving
// data with the first `first` (Keras' validation_split takes the last samples this way).
Dataset split_off_tail(Dataset& data, size_t first);

// Names of the known datasets and the folder under the data dir where each lives.
bool is_known_dataset(const std::string& name);
std::vector<std::string> known_datasets();

// Loads `split` ("train" or "test") of dataset `name` from `data_dir`. MNIST lives in
// <data_dir>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte; Fashion-MNIST in
// <data_dir>/fashion-mnist/ with the same names plus ".gz" (or without, if decompressed).
// Throws DataError (naming the file and saying how to fetch it) if missing or corrupt, not a
// regular file (never blocks on a FIFO), or if its images are not 28x28.
Dataset load_dataset(const std::string& data_dir, const std::string& name,
                     const std::string& split, size_t limit);

// Throws DataError naming the test images file and both shapes unless the splits' images have
// the same rows and columns.
void check_same_shape(const Dataset& train, const Dataset& test);

}  // namespace mlpbench
