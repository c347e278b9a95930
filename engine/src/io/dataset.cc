// IDX reader and MNIST / Fashion-MNIST loader. Every number a file states is checked against
// the file's real length before anything is allocated from it.
#include "mlpbench/dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "mlpbench/errors.h"
#include "io/input_file.h"

namespace mlpbench {
namespace {

// The largest IDX payload (and the largest gunzip output) accepted: 1 GiB. MNIST's largest file
// is 47 MB; anything near this limit is a corrupt or hostile header, not a dataset.
constexpr uint64_t kMaxIdxDataBytes = uint64_t{1} << 30;
constexpr size_t kMaxIdxDims = 4;
constexpr size_t kMaxIdxHeaderBytes = 4 + 4 * kMaxIdxDims;
// A file on disk larger than this cannot be a valid IDX file, raw or gzipped.
constexpr uint64_t kMaxIdxFileBytes = kMaxIdxDataBytes + kMaxIdxHeaderBytes;
constexpr uint8_t kIdxTypeUbyte = 0x08;
constexpr uint32_t kImageSide = 28;  // MNIST and Fashion-MNIST

[[noreturn]] void bad_data(const std::string& source, const std::string& what) {
  throw DataError(source + ": " + what);
}

std::string hex_byte(uint8_t b) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  s += digits[b >> 4];
  s += digits[b & 15];
  return s;
}

const char* idx_type_name(uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

std::string join_dims(const std::vector<uint32_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

struct IdxLayout {
  std::vector<uint32_t> dims;
  size_t header_bytes = 0;
  size_t data_bytes = 0;
};

// Validates an IDX header against the file's real size (`size`; `bytes` holds at least its
// first min(size, kMaxIdxHeaderBytes) bytes); allocates nothing from the header's numbers beyond
// the (at most 4-entry) dims vector.
IdxLayout check_idx(const uint8_t* bytes, uint64_t size, const std::string& source) {
  if (size < 4) {
    bad_data(source, "truncated header: " + std::to_string(size) +
                     " bytes, an IDX file starts with a 4-byte magic number");
  }
  if (bytes[0] != 0 || bytes[1] != 0) {
    bad_data(source, "bad magic " + hex_byte(bytes[0]) + " " + hex_byte(bytes[1]) + " " +
                     hex_byte(bytes[2]) + " " + hex_byte(bytes[3]) +
                     ": not an IDX file (expected 0x00 0x00 <type> <ndims>)");
  }
  const uint8_t type = bytes[2];
  if (type != kIdxTypeUbyte) {
    bad_data(source, "unsupported IDX element type " + hex_byte(type) + " (" + idx_type_name(type) +
                     "); only 0x08 (unsigned byte) is supported");
  }
  const size_t ndims = bytes[3];
  if (ndims < 1 || ndims > kMaxIdxDims) {
    bad_data(source, "bad IDX dimension count " + std::to_string(ndims) + " (must be 1 to " +
                     std::to_string(kMaxIdxDims) + ")");
  }
  IdxLayout layout;
  layout.header_bytes = 4 + 4 * ndims;
  if (size < layout.header_bytes) {
    bad_data(source, "truncated header: a header with " + std::to_string(ndims) +
                     " dimension(s) is " + std::to_string(layout.header_bytes) +
                     " bytes, file has " + std::to_string(size) + " bytes");
  }
  layout.dims.resize(ndims);
  uint64_t product = 1;
  for (size_t i = 0; i < ndims; ++i) {
    const uint32_t d = load_be32(bytes + 4 + 4 * i);
    layout.dims[i] = d;
    if (d == 0) bad_data(source, "dimension " + std::to_string(i) + " is 0");
  }
  for (size_t i = 0; i < ndims; ++i) {
    // product <= kMaxIdxDataBytes (2^30) and d < 2^32, so this never overflows 64 bits.
    product *= layout.dims[i];
    if (product > kMaxIdxDataBytes) {
      bad_data(source, "header claims " + join_dims(layout.dims) + " elements, more than the " +
                       std::to_string(kMaxIdxDataBytes) + "-byte limit (corrupt header?)");
    }
  }
  layout.data_bytes = static_cast<size_t>(product);
  const uint64_t have = size - layout.header_bytes;
  if (have != layout.data_bytes) {
    const std::string product_text =
        layout.dims.size() > 1 ? " = " + std::to_string(layout.data_bytes) : "";
    bad_data(source, std::string(have < layout.data_bytes ? "truncated" : "trailing bytes") +
                     ": header says " + join_dims(layout.dims) + product_text +
                     " bytes of data, file has " +
                     std::to_string(have) + " bytes after the " +
                     std::to_string(layout.header_bytes) + "-byte header");
  }
  return layout;
}

// Parses an IDX image that the caller hands over, reusing its storage for the data.
IdxArray parse_idx_owned(std::vector<uint8_t>&& buffer, const std::string& source) {
  IdxLayout layout = check_idx(buffer.data(), buffer.size(), source);
  IdxArray out;
  out.dims = std::move(layout.dims);
  std::memmove(buffer.data(), buffer.data() + layout.header_bytes, layout.data_bytes);
  buffer.resize(layout.data_bytes);
  out.data = std::move(buffer);
  return out;
}


bool is_gzip(const uint8_t* bytes, size_t size) {
  return size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// Reads a whole regular file into memory with one allocation of its real size. FIFOs, sockets,
// devices and folders are refused before anything can block (open_input_file).
std::vector<uint8_t> read_whole_file(const std::string& path) {
  int fd = -1;
  try {
    fd = open_input_file(path, "an IDX file");
  } catch (const InputFileError& e) {
    throw DataError(e.what());
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) bad_data(path, "cannot stat: " + std::string(std::strerror(errno)));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size > kMaxIdxFileBytes) {
    bad_data(path, "file is " + std::to_string(file_size) + " bytes, larger than any IDX file " +
                   "this reader accepts (" + std::to_string(kMaxIdxFileBytes) + " bytes)");
  }
  // A raw IDX file's header is checked against the file's size before the file is read: a
  // wrong magic or size costs 20 bytes, not a gigabyte.
  uint8_t head[kMaxIdxHeaderBytes];
  const size_t head_bytes = static_cast<size_t>(std::min<uint64_t>(file_size, sizeof head));
  if (::pread(fd, head, head_bytes, 0) == static_cast<ssize_t>(head_bytes) && !is_gzip(head, head_bytes)) {
    check_idx(head, file_size, path);
  }
  std::vector<uint8_t> buffer(static_cast<size_t>(file_size));
  size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      bad_data(path, "read error: " + std::string(std::strerror(errno)));
    }
    if (n == 0) {
      bad_data(path, "file shrank while being read (" + std::to_string(done) + " of " +
                     std::to_string(buffer.size()) + " bytes)");
    }
    done += static_cast<size_t>(n);
  }
  return buffer;
}

// True unless the path certainly does not exist: a path that cannot be checked (a folder on it
// without search permission) counts as there, so that opening it reports the real reason.
bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

}  // namespace

IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& source) {
  IdxLayout layout = check_idx(bytes, size, source);
  IdxArray out;
  out.dims = std::move(layout.dims);
  out.data.assign(bytes + layout.header_bytes, bytes + layout.header_bytes + layout.data_bytes);
  return out;
}

std::vector<uint8_t> gunzip(const uint8_t* bytes, size_t size, const std::string& source,
                            size_t max_output) {
  if (!is_gzip(bytes, size)) bad_data(source, "not gzip data (missing 1f 8b magic)");
  if (size < 18) {
    bad_data(source, "truncated gzip stream: " + std::to_string(size) +
                     " bytes, shorter than a gzip header and trailer");
  }
  // The trailer's ISIZE (uncompressed size mod 2^32, of the last member) is only a hint for the
  // first allocation, capped at 16 times the input (MNIST's files inflate 2-5x): a forged ISIZE
  // must not buy a gigabyte before a byte is inflated. Past the hint the buffer grows with what
  // the stream really produces.
  const uint8_t* trailer = bytes + size - 4;
  const uint64_t isize = uint64_t{trailer[0]} | (uint64_t{trailer[1]} << 8) |
                         (uint64_t{trailer[2]} << 16) | (uint64_t{trailer[3]} << 24);
  const uint64_t hint = std::min<uint64_t>({isize ? isize : static_cast<uint64_t>(size) * 4,
                                            static_cast<uint64_t>(size) * 16 + 1024, static_cast<uint64_t>(max_output)});

  z_stream zs{};
  // 15 + 32: a full window, and detect the zlib or gzip wrapper automatically.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) bad_data(source, "zlib inflateInit2 failed");
  struct Ender {
    z_stream* zs;
    ~Ender() { inflateEnd(zs); }
  } ender{&zs};

  std::vector<uint8_t> out(static_cast<size_t>(hint));
  size_t produced = 0;
  size_t consumed = 0;
  uint8_t probe[64];
  for (;;) {
    if (consumed < size && zs.avail_in == 0) {
      const size_t chunk = std::min<size_t>(size - consumed, std::numeric_limits<uInt>::max());
      zs.next_in = const_cast<Bytef*>(bytes + consumed);
      zs.avail_in = static_cast<uInt>(chunk);
      consumed += chunk;
    }
    bool probing = false;
    if (produced == out.size()) {
      if (out.size() >= max_output) {
        // Full at the limit: any further output means the stream is too large.
        probing = true;
        zs.next_out = probe;
        zs.avail_out = sizeof(probe);
      } else {
        const size_t grown = std::min<size_t>(std::max<size_t>(out.size() * 2, 1 << 16), max_output);
        out.resize(grown);
      }
    }
    if (!probing) {
      const size_t room = std::min<size_t>(out.size() - produced, std::numeric_limits<uInt>::max());
      zs.next_out = out.data() + produced;
      zs.avail_out = static_cast<uInt>(room);
    }
    const uInt avail_out_before = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t wrote = avail_out_before - zs.avail_out;
    if (probing && wrote > 0) {
      bad_data(source, "gzip data decompresses to more than " + std::to_string(max_output) +
                       " bytes; refusing it");
    }
    if (!probing) produced += wrote;
    if (rc == Z_STREAM_END) {
      const size_t left = zs.avail_in + (size - consumed);
      if (left == 0) break;
      const uint8_t* rest = zs.next_in;
      if (zs.avail_in >= 2 && is_gzip(rest, zs.avail_in)) {
        // Another gzip member follows (as `cat a.gz b.gz` makes): keep going.
        if (inflateReset(&zs) != Z_OK) bad_data(source, "zlib inflateReset failed");
        continue;
      }
      bad_data(source, "corrupt gzip stream: " + std::to_string(left) +
                       " bytes of trailing garbage after the compressed data");
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      // No progress possible: either more output room is needed or the input ran out.
      if (zs.avail_out == 0) continue;
      if (zs.avail_in == 0 && consumed == size) {
        bad_data(source, "truncated gzip stream: compressed data ends after " +
                         std::to_string(produced) + " decompressed bytes");
      }
      continue;
    }
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    bad_data(source, std::string("corrupt gzip stream: ") + (zs.msg ? zs.msg : "inflate error " +
                                                                                std::to_string(rc)));
  }
  out.resize(produced);
  return out;
}

IdxArray read_idx_file(const std::string& path) {
  std::vector<uint8_t> raw = read_whole_file(path);
  if (is_gzip(raw.data(), raw.size())) {
    std::vector<uint8_t> inflated =
        gunzip(raw.data(), raw.size(), path, static_cast<size_t>(kMaxIdxFileBytes));
    raw = std::vector<uint8_t>();  // release the compressed bytes before parsing
    return parse_idx_owned(std::move(inflated), path + " (after gunzip)");
  }
  return parse_idx_owned(std::move(raw), path);
}

Dataset make_dataset(const IdxArray& images, const IdxArray& labels, const std::string& name,
                     const std::string& split, size_t num_classes, size_t limit,
                     const std::string& images_source, const std::string& labels_source) {
  if (num_classes < 1 || num_classes > 256) {
    bad_data(labels_source, "num_classes must be 1 to 256 for byte labels, got " +
                            std::to_string(num_classes));
  }
  if (images.dims.size() != 3) {
    bad_data(images_source, "an images file must be idx3 (count x height x width), this one has " +
                            std::to_string(images.dims.size()) + " dimension(s): " +
                            join_dims(images.dims));
  }
  if (labels.dims.size() != 1) {
    bad_data(labels_source, "a labels file must be idx1 (count), this one has " +
                            std::to_string(labels.dims.size()) + " dimensions: " +
                            join_dims(labels.dims));
  }
  const size_t n = images.dims[0];
  const size_t height = images.dims[1], width = images.dims[2];
  const size_t features = height * width;  // both < 2^32 and the product was capped by parse_idx
  if (images.data.size() != n * features) {
    bad_data(images_source, "holds " + std::to_string(images.data.size()) +
                            " bytes, its dimensions " + join_dims(images.dims) + " need " +
                            std::to_string(n * features));
  }
  if (labels.dims[0] != n || labels.data.size() != n) {
    bad_data(images_source, "has " + std::to_string(n) + " images but " + labels_source + " has " +
                            std::to_string(labels.dims[0]) + " labels; the counts must agree");
  }
  for (size_t i = 0; i < n; ++i) {
    if (labels.data[i] >= num_classes) {
      bad_data(labels_source, "label at index " + std::to_string(i) + " is " +
                              std::to_string(labels.data[i]) + ", must be < " +
                              std::to_string(num_classes) + " (num_classes)");
    }
  }
  const size_t keep = (limit == 0 || limit > n) ? n : limit;

  Dataset ds;
  ds.name = name;
  ds.split = split;
  ds.height = height;
  ds.width = width;
  ds.num_classes = num_classes;
  ds.labels.assign(labels.data.begin(), labels.data.begin() + static_cast<ptrdiff_t>(keep));
  const size_t count = keep * features;
  ds.pixels.resize(count);
  if (count) std::memcpy(ds.pixels.data(), images.data.data(), count);
  return ds;
}

std::vector<std::string> known_datasets() { return {"mnist", "fashion-mnist"}; }

bool is_known_dataset(const std::string& name) {
  const auto known = known_datasets();
  return std::find(known.begin(), known.end(), name) != known.end();
}

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ", ";
    s += names[i];
  }
  return s;
}

// Picks the first existing candidate; none → DataError naming where the file was expected.
std::string locate(const std::string& base, bool prefer_gz) {
  const std::string gz = base + ".gz";
  const std::string first = prefer_gz ? gz : base, second = prefer_gz ? base : gz;
  if (file_exists(first)) return first;
  if (file_exists(second)) return second;
  bad_data(first, "file not found (nor " + second +
                  "); run tools/fetch_data.sh (or tools/setup.sh) to fetch the datasets");
}

}  // namespace

Dataset split_off_tail(Dataset& data, size_t first) {
  const size_t n = data.size(), f = data.features();
  if (first > n) throw std::invalid_argument("split_off_tail: first is past the end");
  Dataset tail;
  tail.name = data.name;
  tail.split = "validation";
  tail.height = data.height;
  tail.width = data.width;
  tail.num_classes = data.num_classes;
  tail.pixels.resize((n - first) * f);
  std::copy(data.pixels.data() + first * f, data.pixels.data() + n * f, tail.pixels.data());
  tail.labels.assign(data.labels.begin() + static_cast<std::ptrdiff_t>(first), data.labels.end());
  AlignedBuffer<uint8_t> head(first * f);
  std::copy(data.pixels.data(), data.pixels.data() + first * f, head.data());
  data.pixels = std::move(head);
  data.labels.resize(first);
  return tail;
}

Dataset load_dataset(const std::string& data_dir, const std::string& name,
                     const std::string& split, size_t limit) {
  if (!is_known_dataset(name)) {
    throw DataError("unknown dataset '" + name + "' (known: " + join_names(known_datasets()) +
                    "; data dir " + data_dir + ")");
  }
  if (split != "train" && split != "test") {
    throw DataError("unknown split '" + split + "' for dataset " + name + " in " + data_dir +
                    " (must be train or test)");
  }
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string dir = data_dir + "/" + name + "/";
  // Debian ships Fashion-MNIST gzipped; the MNIST fetch stores raw files.
  const bool prefer_gz = name == "fashion-mnist";
  const std::string images_path = locate(dir + prefix + "-images-idx3-ubyte", prefer_gz);
  const std::string labels_path = locate(dir + prefix + "-labels-idx1-ubyte", prefer_gz);
  const size_t num_classes = 10;
  const IdxArray labels = read_idx_file(labels_path);
  const IdxArray images = read_idx_file(images_path);
  // Both datasets are 28x28 images; any other shape would train a model of the wrong width
  // (or, for the test set, read past its rows).
  if (images.dims.size() == 3 && (images.dims[1] != kImageSide || images.dims[2] != kImageSide)) {
    bad_data(images_path, "images are " + std::to_string(images.dims[1]) + "x" +
                          std::to_string(images.dims[2]) + ", " + name + " images are " +
                          std::to_string(kImageSide) + "x" + std::to_string(kImageSide));
  }
  Dataset ds = make_dataset(images, labels, name, split, num_classes, limit, images_path,
                            labels_path);
  ds.images_path = images_path;
  ds.labels_path = labels_path;
  return ds;
}

void check_same_shape(const Dataset& train, const Dataset& test) {
  if (train.height == test.height && train.width == test.width) return;
  auto shape = [](const Dataset& d) { return std::to_string(d.height) + "x" + std::to_string(d.width); };
  bad_data(test.images_path.empty() ? test.name + " " + test.split : test.images_path,
       "test images are " + shape(test) + " but the training images" +
           (train.images_path.empty() ? std::string() : " (" + train.images_path + ")") + " are " +
           shape(train) + "; both splits must have the same shape");
}

}  // namespace mlpbench
