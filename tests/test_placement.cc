// Where a run's threads ran (placement.h): the sample on this machine, and the warnings on
// synthetic placements and topologies.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "mlpbench/parallel.h"
#include "mlpbench/placement.h"
#include "test_support.h"

namespace test_placement {

using mlpbench::Placement;
using mlpbench::ThreadSeat;

namespace {

ThreadSeat seat(long tid, int cpu, const std::string& core, long migrations) {
  ThreadSeat s;
  s.tid = tid, s.cpu = cpu, s.core = core, s.migrations = migrations;
  return s;
}

Placement two_threads(ThreadSeat a0, ThreadSeat a1, ThreadSeat b0, ThreadSeat b1) {
  Placement p;
  p.start.threads = {a0, a1};
  p.end.threads = {b0, b1};
  return p;
}

}  // namespace

TEST_CASE("placement: no warning for threads on cores of their own that stayed") {
  const Placement p = two_threads(seat(10, 0, "0:0", 5), seat(11, 1, "0:1", 2),
                                  seat(10, 0, "0:0", 5), seat(11, 1, "0:1", 2));
  CHECK(mlpbench::placement_warnings(p).empty());
  const auto j = mlpbench::placement_json(p);
  CHECK(j["start"].size() == 2);
  CHECK(j["end"][1]["cpu"] == 1);
  CHECK(j["end"][1]["core"] == "0:1");
  CHECK(j["warnings"].empty());
}

TEST_CASE("placement: threads sharing a core, migrating, moving or replaced are named") {
  SECTION("two threads on one core (SMT siblings) at the start") {
    const auto w = mlpbench::placement_warnings(two_threads(
        seat(10, 0, "0:0", 0), seat(11, 1, "0:0", 0), seat(10, 0, "0:0", 0), seat(11, 2, "0:1", 0)));
    REQUIRE(w.size() == 2);
    CHECK(w[0] == "threads 0 and 1 shared core 0:0 at the start (CPUs 0 and 1)");
    CHECK(w[1] == "thread 1 moved from CPU 1 to CPU 2");
  }
  SECTION("the kernel's migration count grew") {
    const auto w = mlpbench::placement_warnings(two_threads(
        seat(10, 0, "0:0", 3), seat(11, 1, "0:1", 7), seat(10, 0, "0:0", 3), seat(11, 1, "0:1", 19)));
    REQUIRE(w.size() == 1);
    CHECK(w[0] == "thread 1 migrated 12 times (CPU 1 at the start, 1 at the end)");
  }
  SECTION("another kernel thread at the end") {
    const auto w = mlpbench::placement_warnings(two_threads(
        seat(10, 0, "0:0", 3), seat(11, 1, "0:1", 7), seat(10, 0, "0:0", 3), seat(12, 1, "0:1", 0)));
    REQUIRE(w.size() == 1);
    CHECK(w[0] == "thread 1 was another kernel thread at the end (11, then 12): its migrations are "
                  "unknown");
  }
  SECTION("an unknown core is never a shared one") {
    CHECK(mlpbench::placement_warnings(two_threads(seat(10, 0, "", -1), seat(11, 1, "", -1),
                                                   seat(10, 0, "", -1), seat(11, 1, "", -1)))
              .empty());
  }
}

TEST_CASE("placement: a CPU's core comes from the topology in sysfs") {
  const std::string root = test_support::temp_dir() + "/cpu";
  for (const auto& [cpu, package, core] : {std::tuple{0, "0", "7"}, std::tuple{1, "1", "7"}}) {
    const std::string dir = root + "/cpu" + std::to_string(cpu) + "/topology";
    std::filesystem::create_directories(dir);
    test_support::write_file(dir + "/physical_package_id", std::string(package) + "\n");
    test_support::write_file(dir + "/core_id", std::string(core) + "\n");
  }
  CHECK(mlpbench::core_of_cpu(0, root) == "0:7");
  CHECK(mlpbench::core_of_cpu(1, root) == "1:7");  // the same core number in another package
  CHECK(mlpbench::core_of_cpu(2, root).empty());
  CHECK(mlpbench::core_of_cpu(-1, root).empty());
}

TEST_CASE("placement: every thread of a team reports where it runs") {
  const int threads = test_support::granted_threads(2);
  const Placement p = mlpbench::placement_at_start(threads);
  REQUIRE(p.start.threads.size() == static_cast<size_t>(threads));
  REQUIRE_FALSE(p.allowed_cpus.empty());
  const std::set<int> allowed(p.allowed_cpus.begin(), p.allowed_cpus.end());
  std::set<long> tids;
  for (const ThreadSeat& t : p.start.threads) {
    CHECK(t.tid > 0);
    CHECK(allowed.count(t.cpu) == 1);
    tids.insert(t.tid);
  }
  CHECK(tids.size() == p.start.threads.size());
}

TEST_CASE("placement: every run's log says where its threads ran, and warns of a shared core",
          "[placement][cli]") {
  const std::string dir = test_support::temp_dir();
  test_support::write_tiny_mnist(dir + "/data", 96, 32);
  test_support::SmallExperiment{"placement", 1}.write(dir + "/exp.json");
  // More threads than CPUs: two of them must share a core.
  const int cpus = mlpbench::available_cpus();
  const int threads = test_support::granted_threads(cpus + 1);
  const auto r = test_support::run("OMP_PROC_BIND=true timeout 120 " + test_support::run_experiment_path() +
                                   " --data-dir " + dir + "/data --threads " + std::to_string(threads) +
                                   " --out " + dir + "/log.json " + dir + "/exp.json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto log = test_support::parse_json(test_support::read_file(dir + "/log.json"));
  const auto& p = log["run"]["placement"];
  CHECK(p["env"]["OMP_PROC_BIND"] == "true");
  // The main thread's mask: with OMP_PROC_BIND libgomp has bound it to its place already.
  CHECK_FALSE(p["allowed_cpus"].empty());
  CHECK(p["allowed_cpus"].size() <= static_cast<size_t>(cpus));
  REQUIRE(p["start"].size() == static_cast<size_t>(threads));
  REQUIRE(p["end"].size() == static_cast<size_t>(threads));
  for (const auto& seat : p["start"]) CHECK(seat["tid"].get<long>() > 0);
  if (threads > cpus) {
    REQUIRE_FALSE(p["warnings"].empty());
    CHECK(p["warnings"][0].get<std::string>().find("shared core") != std::string::npos);
    CHECK(r.err.find("placement: threads ") != std::string::npos);
  } else {
    WARN("OpenMP granted " << threads << " threads for " << cpus + 1 << ": no shared core to warn of");
  }
}

}  // namespace test_placement
