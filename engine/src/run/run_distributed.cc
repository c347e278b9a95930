#include "run_distributed.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "mlpbench/errors.h"
#include "mlpbench/float_mode.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/kernels.h"
#include "mlpbench/model.h"
#include "mlpbench/parallel.h"

namespace mlpbench {

void check_agreement(Comm& comm, const Experiment& e, Trainer& trainer, const nlohmann::json& digests) {
  // The data as run.identity records it (crc32 of the samples used from each file): a rank
  // given other images would train other numbers without a word.
  static const char* const kFiles[] = {"train_images", "train_labels", "test_images", "test_labels"};
  struct Facts {
    char target[32] = {};
    uint64_t flush = 0, experiment = 0, params = 0;
    uint64_t data[4] = {};
  };
  auto fnv = [](const void* p, size_t n, uint64_t h = 1469598103934665603ull) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
    return h;
  };
  Facts mine;
  std::snprintf(mine.target, sizeof mine.target, "%s", kernels::active_target().c_str());
  mine.flush = can_flush_denormals();
  nlohmann::json ej = e.to_json();
  ej.erase("threads");  // ranks may run different thread counts: the numbers do not depend on it
  const std::string ejs = json_text_exact(ej);
  mine.experiment = fnv(ejs.data(), ejs.size());
  mine.params = fnv(trainer.model().params().data(), trainer.model().params().size() * sizeof(float));
  for (size_t i = 0; i < 4; ++i) mine.data[i] = digests.at(kFiles[i]).get<uint64_t>();
  std::vector<Facts> all(static_cast<size_t>(comm.size()));
  comm.allgather(&mine, sizeof mine, all.data());
  std::vector<std::string> problems;
  auto compare = [&](const char* what, auto field, auto show) {
    std::string ranks;
    for (size_t r = 1; r < all.size(); ++r) {
      if (field(all[r]) != field(all[0])) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r) + " (" + show(all[r]) + ")";
    }
    if (!ranks.empty()) problems.push_back(std::string(what) + ": rank 0 has " + show(all[0]) + ", ranks " + ranks + " differ");
  };
  auto hex = [](uint64_t v) { char b[20]; std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v)); return std::string(b); };
  compare("SIMD target", [](const Facts& f) { return std::string(f.target); }, [](const Facts& f) { return std::string(f.target); });
  compare("denormal flushing", [](const Facts& f) { return f.flush; }, [](const Facts& f) { return std::string(f.flush ? "on" : "off"); });
  compare("experiment", [](const Facts& f) { return f.experiment; }, [&](const Facts& f) { return "hash " + hex(f.experiment); });
  for (size_t i = 0; i < 4; ++i) {
    compare((std::string("data ") + kFiles[i]).c_str(), [i](const Facts& f) { return f.data[i]; },
            [&, i](const Facts& f) { return "crc32 " + hex(f.data[i]).substr(8); });
  }
  compare("initial parameters", [](const Facts& f) { return f.params; }, [&](const Facts& f) { return "hash " + hex(f.params); });
  if (!problems.empty()) {
    std::string all;
    for (const std::string& p : problems) all += (all.empty() ? "" : "; ") + p;
    throw ConfigError("--distributed: the ranks disagree, so they would not compute the same numbers: " + all);
  }
}

nlohmann::json distributed_json(Comm& comm, const Experiment& e, int threads, Reduction reduction,
                                const nlohmann::json& lr_scaling, int batch_size_per_rank) {
  struct Host {
    char name[128] = {};
    int32_t cpus = 0, threads = 0;
  };
  Host mine;
  std::snprintf(mine.name, sizeof mine.name, "%s", comm.processor_name().c_str());
  mine.cpus = available_cpus();
  mine.threads = threads;
  std::vector<Host> all(static_cast<size_t>(comm.size()));
  comm.allgather(&mine, sizeof mine, all.data());
  std::map<std::string, int> per_node;
  nlohmann::json hosts = nlohmann::json::array();
  for (size_t r = 0; r < all.size(); ++r) {
    ++per_node[all[r].name];
    hosts.push_back({{"rank", r}, {"host", all[r].name}, {"cpus", all[r].cpus}, {"threads", all[r].threads}});
  }
  int most = 0;
  for (const auto& [name, n] : per_node) most = std::max(most, n);
  // Rank 0's rows of a full batch (every rank's with a global batch that R divides).
  const size_t per_rank = shard_bounds(static_cast<size_t>(e.batch_size), static_cast<size_t>(e.batch_size),
                                       static_cast<size_t>(e.shards))[static_cast<size_t>(e.shards / comm.size())];
  nlohmann::json lr = {{"rule", "none"}, {"base_learning_rate", e.optimizer.learning_rate},
                       {"warmup_epochs", 0}, {"warmup_steps", 0}};
  if (!lr_scaling.is_null()) {
    const nlohmann::json& l = lr_scaling;
    lr = {{"rule", l.at("rule")}, {"base_batch_size", l.at("base_batch_size")},
          {"base_learning_rate", l.value("base_learning_rate", e.optimizer.learning_rate)}, {"warmup_epochs", l.value("warmup_epochs", 0)},
          {"warmup_steps", l.value("warmup_steps", uint64_t{0})}};
  }
  return {{"ranks", comm.size()},
          {"nodes", per_node.size()},
          {"ranks_per_node", most},
          {"threads_per_rank", threads},
          {"global_batch", e.batch_size},
          {"batch_per_rank", per_rank},
          {"scaling", batch_size_per_rank > 0 ? "weak" : "strong"},
          {"shards", e.shards},
          {"shards_per_rank", e.shards / comm.size()},
          {"reduction", reduction_name(reduction)},
          {"mpi_library", comm.library_version()},
          {"learning_rate", e.optimizer.learning_rate},
          {"lr_scaling", lr},
          {"rank_hosts", hosts},
          {"epochs", nlohmann::json::array()}};
}

nlohmann::json rank_stats_json(int epoch, const std::vector<RankEpochStats>& stats) {
  auto phase = [](const PhaseStats& p) { return nlohmann::json{{"median_us", p.median_us}, {"p90_us", p.p90_us}}; };
  nlohmann::json ranks = nlohmann::json::array();
  for (size_t r = 0; r < stats.size(); ++r) {
    const RankEpochStats& s = stats[r];
    ranks.push_back({{"rank", r},
                     {"compute", phase(s.compute)},
                     {"reduction", phase(s.reduction)},
                     {"optimizer", phase(s.optimizer)},
                     {"allgather", phase(s.allgather)},
                     {"wait", phase(s.wait)},
                     {"bytes_sent", s.bytes_sent}});
  }
  return {{"epoch", epoch}, {"ranks", ranks}};
}

}  // namespace mlpbench
