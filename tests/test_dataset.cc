// The dataset layer: IDX parsing (raw and gzip), validation of every corrupt shape a file can
// take, MNIST / Fashion-MNIST loading, and (when fetched) the real MNIST files.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "mlpbench/dataset.h"
#include "mlpbench/errors.h"
#include "mlpbench/kernels.h"
#include "test_support.h"

namespace test_dataset {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using mlpbench::DataError;
using mlpbench::IdxArray;
using test_support::gzip;
using test_support::make_idx;
using test_support::temp_dir;
using test_support::write_file;

namespace {

// Runs `f`, which must throw DataError; returns its message (empty, with a failure, otherwise).
std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("expected DataError, got another exception: " << e.what());
  } catch (...) {
    FAIL("expected DataError, got a non-std exception");
  }
  FAIL("expected DataError, nothing was thrown");
  return {};
}

// Writes `bytes` to a fresh file and returns the DataError message read_idx_file gives for it.
std::string read_error(const std::vector<uint8_t>& bytes, const std::string& name,
                       std::string* path_out = nullptr) {
  const std::string path = temp_dir() + "/" + name;
  write_file(path, bytes);
  if (path_out) *path_out = path;
  const std::string msg = data_error([&] { mlpbench::read_idx_file(path); });
  CHECK_THAT(msg, Contains(path));
  return msg;
}

std::vector<uint8_t> pattern_bytes(size_t n, uint32_t seed = 7) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    v[i] = static_cast<uint8_t>(x >> 24);
  }
  if (n > 0) v[0] = 0;
  if (n > 1) v[1] = 255;
  return v;
}

std::vector<uint8_t> label_bytes(size_t n, size_t classes = 10) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 7 + 3) % classes);
  return v;
}

std::vector<uint8_t> header_only(uint8_t type, uint8_t ndims, const std::vector<uint32_t>& dims) {
  std::vector<uint8_t> out = {0, 0, type, ndims};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  }
  return out;
}

void check_round_trip(const mlpbench::Dataset& ds, const std::vector<uint8_t>& pixels,
                      const std::vector<uint8_t>& labels, size_t n, size_t rows, size_t cols) {
  REQUIRE(ds.size() == n);
  REQUIRE(ds.height == rows);
  REQUIRE(ds.width == cols);
  REQUIRE(ds.features() == rows * cols);
  REQUIRE(ds.pixels.size() == n * rows * cols);
  CHECK(reinterpret_cast<uintptr_t>(ds.pixels.data()) % 64 == 0);
  // The first n images of `pixels` (all of them, or the first `limit`).
  REQUIRE(std::equal(ds.pixels.begin(), ds.pixels.end(), pixels.begin()));
  for (size_t i = 0; i < n; ++i) REQUIRE(ds.labels[i] == labels[i]);
  CHECK(ds.image(1) == ds.pixels.data() + rows * cols);

  // A batch of every row, last first: the floats the model sees are the bytes / 255.
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(n - 1 - i);
  std::vector<float> batch(n * ds.features());
  mlpbench::kernels::gather_pixels(ds.pixels.data(), ds.features(), order.data(), n, batch.data(), {});
  for (size_t i = 0; i < n; ++i) {
    for (size_t f = 0; f < ds.features(); ++f) {
      const uint8_t byte = pixels[order[i] * ds.features() + f];
      if (batch[i * ds.features() + f] != static_cast<float>(byte) / 255.0f) {
        FAIL("row " << i << " pixel " << f << " is " << batch[i * ds.features() + f] << ", expected "
                    << int(byte) << "/255");
      }
    }
  }
}

}  // namespace

TEST_CASE("parse_idx decodes dims and data of a valid in-memory file", "[dataset]") {
  const auto data = pattern_bytes(2 * 3 * 4 * 5);
  const auto bytes = make_idx({2, 3, 4, 5}, data);
  const IdxArray a = mlpbench::parse_idx(bytes.data(), bytes.size(), "mem");
  CHECK(a.dims == std::vector<uint32_t>{2, 3, 4, 5});
  CHECK(a.data == data);

  const auto one = make_idx({1}, {42});
  const IdxArray b = mlpbench::parse_idx(one.data(), one.size(), "mem");
  CHECK(b.dims == std::vector<uint32_t>{1});
  CHECK(b.data == std::vector<uint8_t>{42});
}

TEST_CASE("raw IDX files round-trip exactly: pixels /255, labels", "[dataset]") {
  const size_t n = 5, rows = 3, cols = 4;
  const auto pixels = pattern_bytes(n * rows * cols);
  const auto labels = label_bytes(n);
  const std::string dir = temp_dir();
  write_file(dir + "/img", make_idx({n, rows, cols}, pixels));
  write_file(dir + "/lab", make_idx({n}, labels));
  const IdxArray img = mlpbench::read_idx_file(dir + "/img");
  const IdxArray lab = mlpbench::read_idx_file(dir + "/lab");
  CHECK(img.dims == std::vector<uint32_t>{n, rows, cols});
  CHECK(img.data == pixels);
  CHECK(lab.data == labels);
  const auto ds = mlpbench::make_dataset(img, lab, "mnist", "train", 10, 0, dir + "/img",
                                         dir + "/lab");
  CHECK(ds.name == "mnist");
  CHECK(ds.split == "train");
  CHECK(ds.num_classes == 10);
  check_round_trip(ds, pixels, labels, n, rows, cols);
  CHECK(ds.pixels[0] == 0);
  CHECK(ds.pixels[1] == 255);
}

TEST_CASE("gzip IDX files round-trip exactly, whatever their name", "[dataset]") {
  const size_t n = 7, rows = 6, cols = 5;
  const auto pixels = pattern_bytes(n * rows * cols, 99);
  const auto labels = label_bytes(n);
  const std::string dir = temp_dir();
  // Detection is by magic bytes: one file is called .gz, the other is not.
  write_file(dir + "/img.gz", gzip(make_idx({n, rows, cols}, pixels)));
  write_file(dir + "/lab", gzip(make_idx({n}, labels)));
  const IdxArray img = mlpbench::read_idx_file(dir + "/img.gz");
  const IdxArray lab = mlpbench::read_idx_file(dir + "/lab");
  CHECK(img.data == pixels);
  CHECK(lab.data == labels);
  const auto ds = mlpbench::make_dataset(img, lab, "fashion-mnist", "test", 10, 0,
                                         dir + "/img.gz", dir + "/lab");
  check_round_trip(ds, pixels, labels, n, rows, cols);
}

TEST_CASE("gzip: concatenated members decode as one stream; a large file decodes", "[dataset]") {
  const auto raw = make_idx({300, 28, 28}, pattern_bytes(300 * 28 * 28, 3));
  const size_t cut = raw.size() / 3;
  auto two = gzip(std::vector<uint8_t>(raw.begin(), raw.begin() + cut));
  const auto second = gzip(std::vector<uint8_t>(raw.begin() + cut, raw.end()));
  two.insert(two.end(), second.begin(), second.end());
  const std::string dir = temp_dir();
  write_file(dir + "/two.gz", two);
  CHECK(mlpbench::read_idx_file(dir + "/two.gz").data ==
        std::vector<uint8_t>(raw.begin() + 16, raw.end()));

  // Highly compressible data: output far larger than the input, grown past the size hint.
  const auto zeros = make_idx({4000, 28, 28}, std::vector<uint8_t>(4000 * 28 * 28, 0));
  auto z = gzip(zeros);
  write_file(dir + "/zeros.gz", z);
  CHECK(mlpbench::read_idx_file(dir + "/zeros.gz").data.size() == 4000u * 28 * 28);
  // A lying ISIZE trailer only changes the first allocation; the CRC and length checks are
  // zlib's, so it is rejected as corrupt rather than trusted.
  z[z.size() - 1] ^= 0x40;
  write_file(dir + "/lying.gz", z);
  const std::string msg = data_error([&] { mlpbench::read_idx_file(dir + "/lying.gz"); });
  CHECK_THAT(msg, Contains(dir + "/lying.gz") && Contains("gzip"));
}

TEST_CASE("bad magic is a DataError naming the file", "[dataset]") {
  auto bytes = make_idx({2}, {1, 2});
  bytes[0] = 0x12;
  CHECK_THAT(read_error(bytes, "magic0"), Contains("magic"));
  bytes = make_idx({2}, {1, 2});
  bytes[1] = 0x01;
  CHECK_THAT(read_error(bytes, "magic1"), Contains("magic"));
  // A text file is not an IDX file either.
  const std::string text = "hello, world\n";
  CHECK_THAT(read_error(std::vector<uint8_t>(text.begin(), text.end()), "text"),
             Contains("magic"));
}

TEST_CASE("a type code other than ubyte is a DataError", "[dataset]") {
  for (uint8_t type : {uint8_t{0x09}, uint8_t{0x0B}, uint8_t{0x0C}, uint8_t{0x0D}, uint8_t{0x0E},
                       uint8_t{0x00}, uint8_t{0xFF}}) {
    auto bytes = make_idx({2}, {1, 2});
    bytes[2] = type;
    const std::string msg = read_error(bytes, "type");
    CHECK_THAT(msg, Contains("type"));
  }
}

TEST_CASE("ndims 0 and 5 are DataErrors", "[dataset]") {
  CHECK_THAT(read_error(header_only(0x08, 0, {}), "nd0"), Contains("dimension count 0"));
  auto five = header_only(0x08, 5, {1, 1, 1, 1, 1});
  five.push_back(9);
  CHECK_THAT(read_error(five, "nd5"), Contains("dimension count 5"));
  CHECK_THAT(read_error(header_only(0x08, 255, {}), "nd255"), Contains("dimension count 255"));
}

TEST_CASE("a zero dimension is a DataError", "[dataset]") {
  CHECK_THAT(read_error(header_only(0x08, 1, {0}), "zero1"), Contains("dimension 0 is 0"));
  CHECK_THAT(read_error(header_only(0x08, 3, {10, 28, 0}), "zero3"),
             Contains("dimension 2 is 0"));
}

TEST_CASE("absurd header sizes on a tiny file are rejected without allocating", "[dataset]") {
  // 4e9 x 4e9 (x 4e9 x 4e9) bytes: would overflow 64 bits, or allocate exabytes, if trusted.
  auto bytes = header_only(0x08, 2, {4000000000u, 4000000000u});
  bytes.insert(bytes.end(), {1, 2, 3});
  CHECK_THAT(read_error(bytes, "absurd2"), Contains("limit"));
  bytes = header_only(0x08, 4, {4000000000u, 4000000000u, 4000000000u, 4000000000u});
  CHECK_THAT(read_error(bytes, "absurd4"), Contains("limit"));
  bytes = header_only(0x08, 3, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu});
  CHECK_THAT(read_error(bytes, "absurd3"), Contains("limit"));
  // Plausible-looking but far larger than the file: truncated, not allocated.
  bytes = header_only(0x08, 3, {60000, 28, 28});
  bytes.resize(bytes.size() + 1000, 7);
  CHECK_THAT(read_error(bytes, "mnist-claim"),
             Contains("truncated") && Contains("60000x28x28 = 47040000") && Contains("1000"));
  // The same for in-memory parsing, and for gzip: the claim is checked after decompression.
  const auto mem = header_only(0x08, 2, {4000000000u, 4000000000u});
  CHECK_THAT(data_error([&] { mlpbench::parse_idx(mem.data(), mem.size(), "in-memory"); }),
             Contains("in-memory"));
  CHECK_THAT(read_error(gzip(header_only(0x08, 2, {4000000000u, 4000000000u})), "absurd.gz"),
             Contains("limit"));
}

TEST_CASE("truncated data is a DataError", "[dataset]") {
  auto bytes = make_idx({4, 3, 3}, pattern_bytes(36));
  bytes.pop_back();
  CHECK_THAT(read_error(bytes, "trunc1"),
             Contains("truncated") && Contains("4x3x3 = 36") && Contains("35"));
  bytes.resize(16);  // header only
  CHECK_THAT(read_error(bytes, "trunc-all"), Contains("truncated"));
  CHECK_THAT(read_error(gzip(make_idx({4, 3, 3}, pattern_bytes(30))), "trunc.gz"),
             Contains("truncated") && Contains("after gunzip"));
}

TEST_CASE("trailing bytes after the data are a DataError", "[dataset]") {
  auto bytes = make_idx({4, 3, 3}, pattern_bytes(36));
  bytes.push_back(0);
  CHECK_THAT(read_error(bytes, "trail1"), Contains("trailing") && Contains("37"));
  bytes.resize(bytes.size() + 1000, 0xAB);
  CHECK_THAT(read_error(bytes, "trail1000"), Contains("trailing"));
  CHECK_THAT(read_error(make_idx({3}, {1, 2, 3, 4}), "trail-idx1"), Contains("trailing"));
}

TEST_CASE("a truncated header is a DataError", "[dataset]") {
  const auto full = make_idx({2, 2, 2}, pattern_bytes(8));
  for (size_t len : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{15}}) {
    const std::vector<uint8_t> bytes(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
    const std::string msg = read_error(bytes, "hdr" + std::to_string(len));
    CHECK_THAT(msg, Contains("truncated header"));
  }
}

TEST_CASE("a corrupt gzip stream is a DataError naming the file", "[dataset]") {
  const auto good = gzip(make_idx({50, 10, 10}, pattern_bytes(5000)));
  REQUIRE(good.size() > 40);
  SECTION("garbage in the deflate data") {
    auto bad = good;
    for (size_t i = 12; i < 30; ++i) bad[i] = static_cast<uint8_t>(bad[i] ^ 0x5A);
    CHECK_THAT(read_error(bad, "corrupt.gz"), Contains("gzip"));
  }
  SECTION("wrong CRC in the trailer") {
    auto bad = good;
    bad[bad.size() - 6] ^= 0xFF;
    CHECK_THAT(read_error(bad, "crc.gz"), Contains("corrupt gzip"));
  }
  SECTION("unknown compression method in the header") {
    auto bad = good;
    bad[2] = 7;
    CHECK_THAT(read_error(bad, "method.gz"), Contains("corrupt gzip"));
  }
  SECTION("garbage after the stream") {
    auto bad = good;
    bad.insert(bad.end(), {0xDE, 0xAD, 0xBE, 0xEF});
    CHECK_THAT(read_error(bad, "trailing.gz"), Contains("trailing garbage"));
  }
  SECTION("gzip magic followed by nothing sensible") {
    std::vector<uint8_t> bad = {0x1f, 0x8b};
    bad.resize(64, 0xFF);
    CHECK_THAT(read_error(bad, "junk.gz"), Contains("gzip"));
  }
}

TEST_CASE("a truncated gzip stream is a DataError", "[dataset]") {
  const auto good = gzip(make_idx({50, 10, 10}, pattern_bytes(5000)));
  for (size_t len : {size_t{2}, size_t{3}, size_t{10}, size_t{17}, size_t{18}, good.size() / 2,
                     good.size() - 8, good.size() - 4, good.size() - 1}) {
    const std::vector<uint8_t> bad(good.begin(), good.begin() + static_cast<ptrdiff_t>(len));
    const std::string msg = read_error(bad, "cut" + std::to_string(len) + ".gz");
    CHECK_THAT(msg, Contains("truncated gzip") || Contains("corrupt gzip"));
  }
}

TEST_CASE("gunzip refuses to grow past its output limit", "[dataset]") {
  const std::vector<uint8_t> raw(100000, 1);
  const auto gz = gzip(raw);
  CHECK(mlpbench::gunzip(gz.data(), gz.size(), "src", raw.size()) == raw);
  CHECK_THAT(data_error([&] { mlpbench::gunzip(gz.data(), gz.size(), "src", raw.size() - 1); }),
             Contains("src") && Contains("more than 99999 bytes"));
  CHECK_THAT(data_error([&] { mlpbench::gunzip(gz.data(), gz.size(), "src", 1000); }),
             Contains("more than 1000 bytes"));
  const std::vector<uint8_t> plain = {0, 0, 8, 1};
  CHECK_THAT(data_error([&] { mlpbench::gunzip(plain.data(), plain.size(), "src", 100); }),
             Contains("src") && Contains("not gzip"));
}

TEST_CASE("make_dataset: a label out of range names its index and value", "[dataset]") {
  auto labels = label_bytes(6);
  labels[4] = 10;
  const IdxArray img{{6, 2, 2}, pattern_bytes(24)};
  const IdxArray lab{{6}, labels};
  CHECK_THAT(data_error([&] {
               mlpbench::make_dataset(img, lab, "mnist", "train", 10, 0, "imgs.idx", "labs.idx");
             }),
             Contains("labs.idx") && Contains("index 4") && Contains("is 10"));
  // Checked even past `limit`: a corrupt file is corrupt.
  labels[4] = 255;
  const IdxArray lab2{{6}, labels};
  CHECK_THAT(data_error([&] {
               mlpbench::make_dataset(img, lab2, "mnist", "train", 10, 2, "imgs.idx", "labs.idx");
             }),
             Contains("index 4") && Contains("is 255"));
  // Through the files too.
  const std::string dir = temp_dir();
  write_file(dir + "/mnist/train-images-idx3-ubyte", make_idx({6, 28, 28}, pattern_bytes(6 * 784)));
  labels[4] = 11;
  write_file(dir + "/mnist/train-labels-idx1-ubyte", make_idx({6}, labels));
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(dir, "mnist", "train", 0); }),
             Contains(dir + "/mnist/train-labels-idx1-ubyte") && Contains("index 4") &&
                 Contains("is 11"));
}

TEST_CASE("make_dataset: image and label counts must agree", "[dataset]") {
  const IdxArray img{{6, 2, 2}, pattern_bytes(24)};
  const IdxArray lab{{5}, label_bytes(5)};
  const std::string msg = data_error(
      [&] { mlpbench::make_dataset(img, lab, "mnist", "train", 10, 0, "imgs.idx", "labs.idx"); });
  CHECK_THAT(msg, Contains("imgs.idx") && Contains("labs.idx") && Contains("6") &&
                      Contains("5"));
}

TEST_CASE("make_dataset: images must be idx3, labels idx1", "[dataset]") {
  const IdxArray idx1{{6}, label_bytes(6)};
  const IdxArray idx3{{6, 2, 2}, pattern_bytes(24)};
  const IdxArray idx2{{6, 4}, pattern_bytes(24)};
  CHECK_THAT(data_error([&] {
               mlpbench::make_dataset(idx1, idx1, "mnist", "train", 10, 0, "a.idx", "b.idx");
             }),
             Contains("a.idx") && Contains("idx3"));
  CHECK_THAT(data_error([&] {
               mlpbench::make_dataset(idx2, idx1, "mnist", "train", 10, 0, "a.idx", "b.idx");
             }),
             Contains("a.idx") && Contains("idx3"));
  CHECK_THAT(data_error([&] {
               mlpbench::make_dataset(idx3, idx3, "mnist", "train", 10, 0, "a.idx", "b.idx");
             }),
             Contains("b.idx") && Contains("idx1"));
  // Files swapped on disk: the labels file given where images belong.
  const std::string dir = temp_dir();
  write_file(dir + "/mnist/t10k-images-idx3-ubyte", make_idx({6}, label_bytes(6)));
  write_file(dir + "/mnist/t10k-labels-idx1-ubyte", make_idx({6}, label_bytes(6)));
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(dir, "mnist", "test", 0); }),
             Contains(dir + "/mnist/t10k-images-idx3-ubyte") && Contains("idx3"));
}

TEST_CASE("a missing file is a DataError naming it and saying how to fetch it", "[dataset]") {
  const std::string dir = temp_dir();
  CHECK_THAT(data_error([&] { mlpbench::read_idx_file(dir + "/nope"); }),
             Contains(dir + "/nope") && Contains("not found"));
  CHECK_THAT(data_error([&] { mlpbench::read_idx_file(dir); }),
             Contains(dir) && Contains("is a folder"));
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(dir, "mnist", "train", 0); }),
             Contains(dir + "/mnist/train-") && Contains("tools/fetch_data.sh"));
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(dir, "fashion-mnist", "test", 0); }),
             Contains(dir + "/fashion-mnist/t10k-") && Contains("tools/fetch_data.sh"));
  // Images present, labels missing: the labels file is the one named.
  test_support::write_tiny_mnist(dir, 10, 10);
  fs::remove(dir + "/mnist/train-labels-idx1-ubyte");
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(dir, "mnist", "train", 0); }),
             Contains(dir + "/mnist/train-labels-idx1-ubyte") && Contains("tools/setup.sh"));
}

TEST_CASE("an unknown split or dataset is a DataError", "[dataset]") {
  const std::string dir = temp_dir();
  test_support::write_tiny_mnist(dir, 10, 10);
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(dir, "mnist", "valid", 0); }),
             Contains("valid") && Contains("train or test"));
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(dir, "mnist", "", 0); }),
             Contains("split"));
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(dir, "cifar10", "train", 0); }),
             Contains("cifar10") && Contains("mnist") && Contains("fashion-mnist"));
  CHECK(mlpbench::is_known_dataset("mnist"));
  CHECK(mlpbench::is_known_dataset("fashion-mnist"));
  CHECK_FALSE(mlpbench::is_known_dataset("MNIST"));
  CHECK_FALSE(mlpbench::is_known_dataset(""));
  CHECK(mlpbench::known_datasets() == std::vector<std::string>{"mnist", "fashion-mnist"});
}

TEST_CASE("limit keeps the first N samples; 0 or more than N keeps all", "[dataset]") {
  const size_t n = 9;
  const auto pixels = pattern_bytes(n * 4, 5);
  const auto labels = label_bytes(n);
  const IdxArray img{{n, 2, 2}, pixels};
  const IdxArray lab{{n}, labels};
  for (size_t limit : {size_t{1}, size_t{4}, size_t{8}}) {
    const auto ds = mlpbench::make_dataset(img, lab, "mnist", "train", 10, limit, "i", "l");
    check_round_trip(ds, pixels, labels, limit, 2, 2);
  }
  for (size_t limit : {size_t{0}, n, n + 1, size_t{1000000}}) {
    const auto ds = mlpbench::make_dataset(img, lab, "mnist", "train", 10, limit, "i", "l");
    check_round_trip(ds, pixels, labels, n, 2, 2);
  }
}

TEST_CASE("load_dataset reads a tiny MNIST made by write_tiny_mnist", "[dataset]") {
  const std::string dir = temp_dir();
  test_support::write_tiny_mnist(dir, 50, 20);
  const auto train = mlpbench::load_dataset(dir, "mnist", "train", 0);
  CHECK(train.name == "mnist");
  CHECK(train.split == "train");
  CHECK(train.size() == 50);
  CHECK(train.height == 28);
  CHECK(train.width == 28);
  CHECK(train.num_classes == 10);
  for (size_t i = 0; i < train.size(); ++i) REQUIRE(train.labels[i] == i % 10);
  // Same bytes as the file.
  const IdxArray raw = mlpbench::read_idx_file(dir + "/mnist/train-images-idx3-ubyte");
  REQUIRE(raw.data.size() == train.pixels.size());
  CHECK(std::equal(raw.data.begin(), raw.data.end(), train.pixels.begin()));
  const auto test = mlpbench::load_dataset(dir, "mnist", "test", 0);
  CHECK(test.split == "test");
  CHECK(test.size() == 20);
  CHECK(mlpbench::load_dataset(dir, "mnist", "train", 7).size() == 7);
  CHECK(mlpbench::load_dataset(dir, "mnist", "test", 500).size() == 20);
  // Another side length is refused: both datasets are 28x28 images.
  const std::string small = temp_dir();
  test_support::write_tiny_mnist(small, 10, 10, 8);
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(small, "mnist", "test", 0); }),
             Contains(small + "/mnist/t10k-images-idx3-ubyte") && Contains("8x8") &&
                 Contains("28x28"));
}

TEST_CASE("load_dataset: .gz variants for MNIST, gz or raw for Fashion-MNIST", "[dataset]") {
  const std::string dir = temp_dir();
  test_support::write_tiny_mnist(dir, 30, 10);
  const auto raw_train = mlpbench::load_dataset(dir, "mnist", "train", 0);
  // MNIST with only .gz files.
  const std::string gz = temp_dir();
  // Fashion-MNIST: gz preferred (as Debian ships them), raw accepted.
  const std::string fashion_gz = temp_dir(), fashion_raw = temp_dir();
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    const std::string bytes = test_support::read_file(dir + "/mnist/" + name);
    const auto compressed = gzip(std::vector<uint8_t>(bytes.begin(), bytes.end()));
    write_file(gz + "/mnist/" + name + ".gz", compressed);
    write_file(fashion_gz + "/fashion-mnist/" + name + ".gz", compressed);
    write_file(fashion_raw + "/fashion-mnist/" + name, bytes);
  }
  for (const auto& [root, name] : std::vector<std::pair<std::string, std::string>>{
           {gz, "mnist"}, {fashion_gz, "fashion-mnist"}, {fashion_raw, "fashion-mnist"}}) {
    const auto ds = mlpbench::load_dataset(root, name, "train", 0);
    CHECK(ds.name == name);
    REQUIRE(ds.size() == raw_train.size());
    CHECK(ds.labels == raw_train.labels);
    CHECK(std::equal(ds.pixels.begin(), ds.pixels.end(), raw_train.pixels.begin()));
    CHECK(mlpbench::load_dataset(root, name, "test", 0).size() == 10);
  }
  // MNIST prefers the raw file when both exist: a corrupt .gz beside a good raw file is unused.
  write_file(dir + "/mnist/train-images-idx3-ubyte.gz", std::string("\x1f\x8bjunk"));
  CHECK(mlpbench::load_dataset(dir, "mnist", "train", 0).size() == 30);
  // Fashion-MNIST prefers the .gz: a corrupt one is reported even though raw files exist.
  write_file(fashion_raw + "/fashion-mnist/train-images-idx3-ubyte.gz", std::string("\x1f\x8bjunk"));
  CHECK_THAT(data_error([&] { mlpbench::load_dataset(fashion_raw, "fashion-mnist", "train", 0); }),
             Contains(fashion_raw + "/fashion-mnist/train-images-idx3-ubyte.gz"));
}

TEST_CASE("real MNIST: 60000 + 10000 28x28 images, labels 0..9, mean pixel ~0.13",
          "[dataset][real]") {
  const std::string data = test_support::real_data_dir();
  if (data.empty()) {
    WARN("MNIST not fetched (run tools/fetch_data.sh); skipping the real-data check");
    return;
  }
  const auto train = mlpbench::load_dataset(data, "mnist", "train", 0);
  REQUIRE(train.size() == 60000);
  REQUIRE(train.height == 28);
  REQUIRE(train.width == 28);
  std::vector<size_t> counts(10, 0);
  for (uint8_t l : train.labels) {
    if (l >= 10) FAIL("label " << int(l) << " out of range");
    ++counts[l];
  }
  for (size_t c : counts) CHECK(c > 5000);  // every class well represented (5421..6742)
  double sum = 0;
  for (uint8_t v : train.pixels) sum += v / 255.0;
  const double mean = sum / static_cast<double>(train.pixels.size());
  CHECK(mean == Approx(0.1307).margin(0.002));
  // The famous first labels: 5 0 4 1 9 2 1 3 1 4.
  CHECK(std::vector<uint8_t>(train.labels.begin(), train.labels.begin() + 10) ==
        std::vector<uint8_t>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4});

  const auto test = mlpbench::load_dataset(data, "mnist", "test", 0);
  CHECK(test.size() == 10000);
  CHECK(test.height == 28);
  CHECK(test.labels[0] == 7);
}

TEST_CASE("real Fashion-MNIST, when present: 60000 + 10000 28x28 images", "[dataset][real]") {
  const std::string data = test_support::real_data_dir();
  if (data.empty() || !fs::exists(data + "/fashion-mnist/train-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST not fetched (run tools/fetch_data.sh); skipping the real-data check");
    return;
  }
  const auto train = mlpbench::load_dataset(data, "fashion-mnist", "train", 0);
  REQUIRE(train.size() == 60000);
  CHECK(train.height == 28);
  CHECK(train.width == 28);
  std::set<uint8_t> seen(train.labels.begin(), train.labels.end());
  CHECK(seen.size() == 10);
  double sum = 0;
  for (uint8_t v : train.pixels) sum += v / 255.0;
  CHECK(sum / static_cast<double>(train.pixels.size()) == Approx(0.2860).margin(0.003));
  CHECK(mlpbench::load_dataset(data, "fashion-mnist", "test", 0).size() == 10000);
}

}  // namespace test_dataset
