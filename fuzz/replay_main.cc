// Replays inputs through a fuzz target without libFuzzer, so any compiler can build the targets
// and CI can run their corpora and regression inputs as ordinary tests.
//
//   fuzz_<target>_replay PATH...
//
// Each PATH is a file or a folder (searched recursively, in sorted order; hidden files and
// README.md are skipped). Every file is passed to LLVMFuzzerTestOneInput once. A finding aborts
// inside the target, naming the input on stderr first; a missing PATH, an unreadable file or no
// input at all exits with status 2.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool skipped(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.empty() || name[0] == '.' || name == "README.md";
}

bool collect(const fs::path& path, std::vector<fs::path>& files) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    std::fprintf(stderr, "replay: %s: no such file or folder\n", path.c_str());
    return false;
  }
  if (fs::is_regular_file(st)) {
    files.push_back(path);
    return true;
  }
  if (!fs::is_directory(st)) {
    std::fprintf(stderr, "replay: %s: not a file or folder\n", path.c_str());
    return false;
  }
  std::vector<fs::path> found;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (skipped(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) found.push_back(it->path());
  }
  if (ec) {
    std::fprintf(stderr, "replay: %s: %s\n", path.c_str(), ec.message().c_str());
    return false;
  }
  std::sort(found.begin(), found.end());
  files.insert(files.end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> files;
  bool ok = true;
  for (int i = 1; i < argc; ++i) ok = collect(argv[i], files) && ok;
  if (!ok) return 2;
  if (files.empty()) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 2;
  }
  for (const fs::path& file : files) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    // A buffer of exactly the input's size, so AddressSanitizer sees reads past its end.
    std::vector<uint8_t> data(ec ? 0 : static_cast<size_t>(size));
    std::ifstream in(file, std::ios::binary);
    const bool read_all =
        !ec && in.read(reinterpret_cast<char*>(data.data()),
                       static_cast<std::streamsize>(data.size())) &&
        in.peek() == std::ifstream::traits_type::eof();
    if (!read_all) {
      std::fprintf(stderr, "replay: %s: cannot read\n", file.c_str());
      return 2;
    }
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), data.size());
    // An empty input still gets a valid pointer, as under libFuzzer.
    static uint8_t empty_input = 0;
    LLVMFuzzerTestOneInput(data.empty() ? &empty_input : data.data(), data.size());
  }
  std::fprintf(stderr, "replay: %zu input(s), no findings\n", files.size());
  return 0;
}
