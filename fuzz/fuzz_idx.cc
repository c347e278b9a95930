// Fuzz target: IDX dataset files, raw and gzip-compressed, and the Dataset built from them.
//
// Each input is used three ways:
//   1. the whole input as a raw IDX file (parse_idx);
//   2. the whole input as gzip data (gunzip, then parse_idx on what it yields);
//   3. an images/labels pair: the first two bytes (big-endian) give where the rest splits into
//      an images part and a labels part, each raw or gzip; when both parse, make_dataset().
// DataError is the expected way to reject input; anything else is a finding: another exception
// type, a crash, a sanitizer report, a hang, or a result that breaks one of the checks below.
// Small inputs are also gzip-compressed here (one member, then two members) and must come back
// from gunzip() byte for byte, with max_output honoured exactly.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "mlpbench/dataset.h"
#include "mlpbench/errors.h"

namespace {

constexpr const char* kTarget = "fuzz_idx";
// Generous for a fuzz input (libFuzzer's inputs are a few KB) yet small enough to stay fast.
constexpr size_t kMaxOutput = size_t{1} << 24;
// Inputs up to this size are also compressed and decompressed again (check_gzip_round_trip).
constexpr size_t kMaxRoundTripBytes = 1 << 14;

using mlpbench_fuzz::finding;

void expect(bool ok, const char* stage, const char* what) {
  if (!ok) finding(kTarget, stage, what);
}

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool is_gzip(const uint8_t* bytes, size_t size) {
  return size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// What parse_idx() accepted must be exactly what the bytes say: header dims, then the data.
void check_parsed(const mlpbench::IdxArray& a, const uint8_t* bytes, size_t size) {
  const char* stage = "parse_idx";
  expect(a.dims.size() >= 1 && a.dims.size() <= 4, stage, "accepted a dimension count outside 1..4");
  expect(size >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08, stage,
         "accepted a bad magic");
  expect(bytes[3] == a.dims.size(), stage, "dims.size() differs from the header's count");
  const size_t header = 4 + 4 * a.dims.size();
  expect(size >= header, stage, "accepted a truncated header");
  size_t product = 1;
  for (size_t i = 0; i < a.dims.size(); ++i) {
    expect(a.dims[i] == load_be32(bytes + 4 + 4 * i), stage, "dims differ from the header");
    expect(a.dims[i] != 0, stage, "accepted a zero dimension");
    product *= a.dims[i];  // cannot overflow: the data is in memory
  }
  expect(product == a.data.size(), stage, "data size differs from the product of the dims");
  expect(size - header == a.data.size(), stage, "accepted a truncated file or trailing bytes");
  expect(std::equal(a.data.begin(), a.data.end(), bytes + header), stage,
         "data differs from the file's bytes");
}

std::optional<mlpbench::IdxArray> try_parse(const uint8_t* bytes, size_t size,
                                            const std::string& source) {
  try {
    mlpbench::IdxArray a = mlpbench::parse_idx(bytes, size, source);
    check_parsed(a, bytes, size);
    return a;
  } catch (const mlpbench::DataError&) {
    return std::nullopt;
  }
}

std::optional<std::vector<uint8_t>> try_gunzip(const uint8_t* bytes, size_t size,
                                               const std::string& source, size_t max_output) {
  try {
    std::vector<uint8_t> out = mlpbench::gunzip(bytes, size, source, max_output);
    expect(out.size() <= max_output, "gunzip", "output larger than max_output");
    return out;
  } catch (const mlpbench::DataError&) {
    return std::nullopt;
  }
}

// Like read_idx_file() on a buffer: gzip if it starts with the gzip magic, else raw.
std::optional<mlpbench::IdxArray> try_decode(const uint8_t* bytes, size_t size,
                                             const std::string& source) {
  if (!is_gzip(bytes, size)) return try_parse(bytes, size, source);
  const auto raw = try_gunzip(bytes, size, source, kMaxOutput);
  if (!raw) return std::nullopt;
  return try_parse(raw->data(), raw->size(), source + " (after gunzip)");
}

// gzip (RFC 1952) of `size` bytes, compressed with zlib itself.
std::vector<uint8_t> gzip(const uint8_t* bytes, size_t size) {
  z_stream zs{};
  // 15 + 16: full window, gzip wrapper.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    finding(kTarget, "harness", "deflateInit2 failed");
  }
  std::vector<uint8_t> out(deflateBound(&zs, static_cast<uLong>(size)) + 64);
  zs.next_in = const_cast<Bytef*>(bytes);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) finding(kTarget, "harness", "deflate did not finish");
  return out;
}

// gunzip(gzip(x)) == x, also for two concatenated members; a max_output of exactly the size
// suffices and one byte less is refused.
void check_gzip_round_trip(const uint8_t* bytes, size_t size) {
  const char* stage = "gunzip round trip";
  const std::vector<uint8_t> original(bytes, bytes + size);
  const std::vector<uint8_t> z = gzip(bytes, size);

  const auto whole = try_gunzip(z.data(), z.size(), "fuzz.idx.gz", kMaxOutput);
  expect(whole.has_value(), stage, "rejected zlib's own gzip output");
  expect(*whole == original, stage, "output differs from the compressed input");

  const auto exact = try_gunzip(z.data(), z.size(), "fuzz.idx.gz", size);
  expect(exact.has_value() && *exact == original, stage,
         "rejected (or changed) data exactly max_output bytes long");
  if (size > 0) {
    const auto over = try_gunzip(z.data(), z.size(), "fuzz.idx.gz", size - 1);
    expect(!over.has_value(), stage, "returned more than max_output bytes");
  }

  // Two members, as `cat a.gz b.gz` makes; the split point comes from the data.
  const size_t cut = size == 0 ? 0 : bytes[0] % (size + 1);
  std::vector<uint8_t> two = gzip(bytes, cut);
  const std::vector<uint8_t> second = gzip(bytes + cut, size - cut);
  two.insert(two.end(), second.begin(), second.end());
  const auto joined = try_gunzip(two.data(), two.size(), "fuzz.idx.gz", kMaxOutput);
  expect(joined.has_value() && *joined == original, stage,
         "two gzip members do not decompress to their concatenation");
}

// A Dataset must hold exactly the first `keep` samples, pixels as the file's bytes.
void check_dataset(const mlpbench::Dataset& ds, const mlpbench::IdxArray& images,
                   const mlpbench::IdxArray& labels, size_t limit) {
  const char* stage = "make_dataset";
  const size_t n = images.dims[0];
  const size_t keep = (limit == 0 || limit > n) ? n : limit;
  expect(ds.size() == keep, stage, "wrong sample count");
  expect(ds.height == images.dims[1] && ds.width == images.dims[2], stage, "wrong height/width");
  expect(ds.pixels.size() == keep * ds.features(), stage, "wrong image buffer size");
  for (size_t i = 0; i < keep; ++i) {
    expect(ds.labels[i] == labels.data[i] && ds.labels[i] < ds.num_classes, stage, "bad label");
  }
  for (size_t i = 0; i < ds.pixels.size(); ++i) {
    expect(ds.pixels[i] == images.data[i], stage, "bad pixel value");
  }
}

void check_pair(const uint8_t* data, size_t size) {
  if (size < 2) return;
  const size_t rest = size - 2;
  const size_t split = std::min<size_t>((size_t{data[0]} << 8) | data[1], rest);
  const uint8_t* images_bytes = data + 2;
  const uint8_t* labels_bytes = images_bytes + split;
  const auto images = try_decode(images_bytes, split, "fuzz-images-idx3-ubyte");
  if (!images) return;
  const auto labels = try_decode(labels_bytes, rest - split, "fuzz-labels-idx1-ubyte");
  if (!labels) return;
  for (const size_t limit : {size_t{0}, size_t{1}}) {
    try {
      const mlpbench::Dataset ds =
          mlpbench::make_dataset(*images, *labels, "mnist", "train", 10, limit,
                                 "fuzz-images-idx3-ubyte", "fuzz-labels-idx1-ubyte");
      check_dataset(ds, *images, *labels, limit);
    } catch (const mlpbench::DataError&) {
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mlpbench_fuzz::guarded(kTarget, [&] {
    try_parse(data, size, "fuzz.idx");
    if (const auto raw = try_gunzip(data, size, "fuzz.idx.gz", kMaxOutput)) {
      try_parse(raw->data(), raw->size(), "fuzz.idx.gz (after gunzip)");
    }
    check_pair(data, size);
    if (size <= kMaxRoundTripBytes) check_gzip_round_trip(data, size);
  });
  return 0;
}
