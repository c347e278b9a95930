// Default locations are found at run time (default_paths.h): a copy of the tree reads its own
// data and writes its own logs, never the original's.
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace test_default_paths {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Every file under `dir` (none if it does not exist).
std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) out.insert(e.path().string());
  return out;
}

// A copy of the built tree: its experiments, engine/ and the run_experiment binary, with a
// tiny dataset of its own in data/ (120 training samples: the original's MNIST has 60,000).
struct CopiedTree {
  fs::path root = fs::path(test_support::temp_dir()) / "copy";
  fs::path binary = root / "build" / "engine" / "run_experiment";
  CopiedTree() {
    fs::create_directories(root / "build" / "engine");
    fs::copy(fs::path(test_support::source_dir()) / "experiments", root / "experiments", fs::copy_options::recursive);
    fs::copy(fs::path(test_support::source_dir()) / "engine", root / "engine", fs::copy_options::recursive);
    fs::copy_file(test_support::run_experiment_path(), binary);
    test_support::write_tiny_mnist((root / "data").string(), 120, 40);
    fs::create_directories(root / "sub" / "folder");
  }
  // Runs the copy's binary from `cwd` without the variables that choose the defaults.
  test_support::CommandResult run(const fs::path& cwd, const std::string& env = "") const {
    return test_support::run("cd " + cwd.string() + " && env -u MLPBENCH_DATA -u MLPBENCH_RUNS " + env +
                             " timeout 120 " + binary.string() + " " + (root / "experiments" / "smoke.json").string() +
                             " --quiet --epochs 1");
  }
};

}  // namespace

TEST_CASE("default paths: a copied tree reads its own data and writes its own logs", "[cli][paths]") {
  const CopiedTree tree;
  const fs::path original_runs = fs::path(test_support::source_dir()) / "results" / "runs" / "smoke";
  const std::set<std::string> before = files_under(original_runs);
  const auto r = tree.run(tree.root / "sub" / "folder");  // anywhere inside the copy
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string log = r.out.substr(0, r.out.find('\n'));
  REQUIRE(log.rfind((tree.root / "results" / "runs" / "smoke").string() + "/", 0) == 0);
  REQUIRE(test_support::parse_json(test_support::read_file(log))["run"]["train_samples"] == 120);
  REQUIRE(files_under(original_runs) == before);
}

TEST_CASE("default paths: $MLPBENCH_RUNS and $MLPBENCH_DATA, and a folder outside any checkout", "[cli][paths]") {
  const CopiedTree tree;
  const fs::path elsewhere = fs::path(test_support::temp_dir()) / "elsewhere";
  fs::create_directories(elsewhere);
  SECTION("the variables") {
    const auto r = tree.run(elsewhere, "MLPBENCH_RUNS=" + (elsewhere / "logs").string() +
                                           " MLPBENCH_DATA=" + (tree.root / "data").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.rfind((elsewhere / "logs" / "smoke").string() + "/", 0) == 0);
  }
  SECTION("no checkout: the current folder's data/ and results/runs/") {
    test_support::write_tiny_mnist((elsewhere / "data").string(), 60, 20);
    const auto r = tree.run(elsewhere);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.rfind((elsewhere / "results" / "runs" / "smoke").string() + "/", 0) == 0);
    REQUIRE(test_support::parse_json(test_support::read_file(r.out.substr(0, r.out.find('\n'))))["run"]["train_samples"] == 60);
  }
}

}  // namespace test_default_paths
