#include "test_support.h"

#include <catch2/catch.hpp>

#include "mlpbench/parallel.h"

#include <zlib.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

std::string Catch::StringMaker<nlohmann::json>::convert(const nlohmann::json& j) {
  return test_support::dump_json(j);
}

namespace test_support {

nlohmann::json parse_json(const std::string& text) { return nlohmann::json::parse(text); }
std::string dump_json(const nlohmann::json& j, int indent) { return j.dump(indent); }

namespace {

std::vector<std::string>& dirs_to_remove() {
  static std::vector<std::string> dirs;
  return dirs;
}

void remove_temp_dirs() {
  for (const auto& d : dirs_to_remove()) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
}

}  // namespace

std::string temp_dir() {
  static std::once_flag once;
  std::call_once(once, [] {
    dirs_to_remove();  // constructed before atexit registers, so destroyed after it runs
    std::atexit(remove_temp_dirs);
  });
  std::string pattern = (fs::temp_directory_path() / "mlpbench-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  dirs_to_remove().push_back(pattern);
  return pattern;
}

void require_same_epoch_numbers(const nlohmann::json& a, const nlohmann::json& b) {
  REQUIRE(a["epochs"].size() == b["epochs"].size());
  for (size_t i = 0; i < a["epochs"].size(); ++i) {
    for (const char* key : {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}) {
      INFO("epoch " << i + 1 << " " << key);
      REQUIRE(a["epochs"][i][key].get<double>() == b["epochs"][i][key].get<double>());
    }
  }
}

void SmallExperiment::write(const std::string& path) const {
  const nlohmann::json e = {
      {"name", name},
      {"dataset", "mnist"},
      {"model", {{{"units", 24}, {"activation", hidden}}, {{"units", 10}, {"activation", "softmax"}}}},
      {"loss", "sparse_categorical_crossentropy"},
      {"optimizer", {{"name", optimizer}, {"learning_rate", learning_rate}}},
      {"epochs", epochs},
      {"batch_size", 32},
      {"seed", seed},
      {"threads", 2}};
  write_file(path, dump_json(e, 2));
}

void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file(path, std::string(bytes.begin(), bytes.end()));
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<uint8_t> make_idx(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& raw) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::vector<uint8_t> out(deflateBound(&zs, raw.size()) + 64);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(zs.total_out);
  return out;
}

void write_tiny_mnist(const std::string& dir, size_t train, size_t test, size_t side) {
  std::mt19937 gen(1234);
  auto make_split = [&](size_t n, const std::string& prefix) {
    std::vector<uint8_t> pixels(n * side * side), labels(n);
    for (size_t i = 0; i < n; ++i) {
      const uint8_t label = static_cast<uint8_t>(i % 10);
      labels[i] = label;
      for (size_t p = 0; p < side * side; ++p) {
        // A bright band whose position depends on the class, plus noise.
        const bool on = (p / side) % 10 == label;
        pixels[i * side * side + p] =
            static_cast<uint8_t>(on ? 160 + gen() % 96 : gen() % 60);
      }
    }
    const auto n32 = static_cast<uint32_t>(n), s32 = static_cast<uint32_t>(side);
    write_file(dir + "/mnist/" + prefix + "-images-idx3-ubyte", make_idx({n32, s32, s32}, pixels));
    write_file(dir + "/mnist/" + prefix + "-labels-idx1-ubyte", make_idx({n32}, labels));
  };
  make_split(train, "train");
  make_split(test, "t10k");
}

CommandResult run(const std::string& command) {
  const std::string dir = temp_dir();
  const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  const std::string full = command + " >" + out_path + " 2>" + err_path;
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

std::string run_experiment_path() { return MLPBENCH_RUN_EXPERIMENT; }
std::string source_dir() { return MLPBENCH_SOURCE_DIR; }

std::string real_data_dir() {
  const char* env = std::getenv("MLPBENCH_DATA");
  const std::string dir = env && *env ? env : source_dir() + "/data";
  return fs::exists(dir + "/mnist/train-images-idx3-ubyte") ? dir : std::string();
}

int granted_threads(int threads) {
  int granted = 0;
  mlpbench::run_team(threads, [&](mlpbench::Team& team) {
    if (team.leader()) granted = static_cast<int>(team.part().count);
  });
  return granted;
}

bool team_of(int threads) {
  const int granted = granted_threads(threads);
  if (granted == threads) return true;
  WARN("SKIPPED at " << threads << " threads: run_team granted " << granted
       << (mlpbench::have_openmp() ? "" : " (a build without OpenMP)")
       << ", so this thread count is not compared");
  return false;
}

mlpbench::FloatBuffer random_buffer(size_t n, std::mt19937& gen, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  mlpbench::FloatBuffer b(n);
  for (auto& x : b) x = dist(gen);
  return b;
}

bool fuses_multiply_add() { return mlpbench::kernels::active_target_fuses_multiply_add(); }

const TinyData& tiny_data() {
  static const TinyData data = [] {
    const std::string dir = temp_dir();
    write_tiny_mnist(dir, 530, 120);
    return TinyData{mlpbench::load_dataset(dir, "mnist", "train", 0),
                    mlpbench::load_dataset(dir, "mnist", "test", 0)};
  }();
  return data;
}

TrainOutcome train_tiny(const mlpbench::Experiment& e, int threads) {
  mlpbench::Trainer trainer(e, tiny_data().train, tiny_data().test, threads);
  REQUIRE(trainer.run({}) == mlpbench::StopReason::kCompleted);
  const auto& p = trainer.model().params();
  return {trainer.state().history, std::vector<float>(p.begin(), p.end())};
}

bool same_numbers(const TrainOutcome& a, const TrainOutcome& b) {
  if (a.history.size() != b.history.size() || a.params.size() != b.params.size()) return false;
  for (size_t i = 0; i < a.history.size(); ++i) {
    const auto &x = a.history[i], &y = b.history[i];
    if (x.train_loss != y.train_loss || x.train_accuracy != y.train_accuracy ||
        x.test_loss != y.test_loss || x.test_accuracy != y.test_accuracy) {
      return false;
    }
  }
  return std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)) == 0;
}

}  // namespace test_support
