#include "mlpbench/run_plan.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string_view>

#include "mlpbench/errors.h"

namespace mlpbench {
namespace {

// A constant rate, or a schedule's rates, times `factor`.
void scale_learning_rate(OptimizerSpec& o, double factor) {
  if (factor == 1.0) return;
  o.learning_rate *= factor;
  if (o.schedule) {
    o.schedule->initial_learning_rate *= factor;
    for (double& v : o.schedule->values) v *= factor;
    if (o.schedule->warmup_target) *o.schedule->warmup_target *= factor;
  }
}

// The command line's overrides on `e`, its rate scaled to its batch size (a resumed run's rate
// was scaled when it started: the checkpoint holds the result), validated.
Experiment with_overrides(const RunOptions& o, const Experiment& loaded, LrRule rule, bool resumed,
                          const std::string& source) {
  Experiment e = loaded;
  if (o.epochs) e.epochs = *o.epochs;
  if (o.batch_size) e.batch_size = *o.batch_size;
  if (!resumed) scale_learning_rate(e.optimizer, lr_factor(rule, e.batch_size, loaded.batch_size));
  if (o.seed) e.seed = *o.seed;
  if (o.threads) e.threads = *o.threads;
  if (o.shards) e.shards = *o.shards;
  validate_experiment(e, source);
  return e;
}

template <typename T>
bool given_before(const std::vector<T>& items, size_t i) {
  return std::find(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(i), items[i]) !=
         items.begin() + static_cast<std::ptrdiff_t>(i);
}

void check_sweep(const SweepPlan& s) {
  for (size_t i = 0; i < s.threads.size(); ++i) {
    const int t = s.threads[i];
    if (t < 1 || t > 1024) throw ConfigError("--sweep-threads: expected counts from 1 to 1024, got " + std::to_string(t));
    if (given_before(s.threads, i)) {
      throw ConfigError("--sweep-threads: " + std::to_string(t) + " is given twice (each count is one run and one log)");
    }
  }
  std::vector<std::string> targets = s.targets;  // names match in any case: avx2 is AVX2
  for (std::string& t : targets) {
    for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  for (size_t i = 0; i < targets.size() && !s.all_targets(); ++i) {
    if (given_before(targets, i)) throw ConfigError("--sweep-simd: " + s.targets[i] + " is given twice");
  }
  for (size_t i = 0; i < s.batch_sizes.size(); ++i) {
    const int b = s.batch_sizes[i];
    if (b < 1 || b > 65536) throw ConfigError("--sweep-batch-size: expected sizes from 1 to 65536, got " + std::to_string(b));
    if (given_before(s.batch_sizes, i)) {
      throw ConfigError("--sweep-batch-size: " + std::to_string(b) + " is given twice (each size is one run and one log)");
    }
  }
  if (s.repeats < 0 || s.repeats > 100) {
    throw ConfigError("--sweep-repeats: expected 1 to 100, got " + std::to_string(s.repeats));
  }
}

Reduction reduction_of(const std::string& name, const char* what) {
  const std::optional<Reduction> r = parse_reduction(name);
  if (!r) throw ConfigError(std::string(what) + ": expected tree or mpi, got \"" + name + "\"");
  return *r;
}

// What checkpoints carry; a resumed run keeps what its first part decided.
RunInfo run_info_for(const RunOptions& o, const RunPlan& p, const Checkpoint* checkpoint) {
  const Experiment& e = p.experiment;
  const RunInfo* saved = checkpoint ? &checkpoint->run_info : nullptr;
  RunInfo info;
  // Limits the command line leaves out are the checkpoint's (the same when given: check_resumed_options).
  info.train_limit = o.train_limit.value_or(saved ? saved->train_limit : 0);
  info.test_limit = o.test_limit.value_or(saved ? saved->test_limit : 0);
  if (p.lr_rule != LrRule::kNone || !p.sweep.batch_sizes.empty()) {
    info.lr_scaling = LrScaling{p.lr_rule, p.as_written.batch_size, p.as_written.optimizer.learning_rate, o.warmup_epochs};
  }
  info.batch_size_per_rank = o.batch_size_per_rank;
  if (saved && saved->lr_scaling) info.lr_scaling = saved->lr_scaling;  // its rule and warmup
  if (saved && saved->batch_size_per_rank) info.batch_size_per_rank = saved->batch_size_per_rank;
  info.reference_applies = saved ? saved->reference_applies
                                 : e.epochs == p.as_written.epochs && e.batch_size == p.as_written.batch_size &&
                                       info.train_limit == 0 && info.test_limit == 0;
  if (saved) info.run_id = saved->run_id;
  return info;
}

// A target as the machine spells it (file names say "AVX2" for --sweep-simd avx2).
std::string target_name(const RunFacts& f, const std::string& given) {
  const auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const std::string& t : f.supported_targets) {
    if (lower(t) == lower(given)) return t;
  }
  return given;
}

// The run's threads: the experiment's (overrides applied), else every logical CPU.
int run_threads(const RunPlan& p) { return p.experiment.threads > 0 ? p.experiment.threads : p.facts.available_cpus; }

// One run's log: --out, a resumed run's own, or a generated name; its checkpoint: --checkpoint,
// the one resumed, or beside the log.
PlannedRun single_run(const RunOptions& o, const RunPlan& p, const Checkpoint* checkpoint) {
  PlannedRun r;
  r.threads = run_threads(p);
  r.simd_target = p.simd_target;
  r.log = !o.out.empty() ? o.out : checkpoint ? checkpoint->run_info.log : "";
  r.log_is_default = o.out.empty() && !checkpoint;
  r.checkpoint = !o.checkpoint.empty() ? o.checkpoint : checkpoint ? checkpoint->path : "";
  r.checkpoint_is_default = r.checkpoint.empty();
  return nth_attempt(p, r, 1);
}

// A sweep's runs, round by round (--sweep-repeats), and within a round batch size outermost,
// then target, then threads, so that repeats of a configuration meet the machine at different
// times. Each run's log is <folder>/<name>[-b<batch>]-t<threads>-<target>[-r<round>].json.
std::vector<PlannedRun> sweep_runs(const RunPlan& p) {
  const SweepPlan& s = p.sweep;
  const std::vector<int> thread_counts = s.threads.empty() ? std::vector<int>{run_threads(p)} : s.threads;
  std::vector<std::string> targets = s.all_targets() ? p.facts.supported_targets : s.targets;
  if (targets.empty()) targets.push_back(p.simd_target.empty() ? p.facts.active_target : p.simd_target);
  const bool batch_sweep = !s.batch_sizes.empty();
  const std::vector<int> batch_sizes = batch_sweep ? s.batch_sizes : std::vector<int>{p.experiment.batch_size};
  const bool repeated = s.rounds() > 1;
  std::vector<PlannedRun> runs;
  for (int round = 1; round <= s.rounds(); ++round) {
    for (int batch : batch_sizes) {
      for (const std::string& target : targets) {
        for (int threads : thread_counts) {
          PlannedRun r;
          r.threads = threads;
          r.simd_target = target;
          r.batch_size = batch_sweep ? batch : 0;
          r.round = repeated ? round : 0;
          r.log = p.sweep_folder + "/" + p.experiment.name + (batch_sweep ? "-b" + std::to_string(batch) : "") +
                  "-t" + std::to_string(threads) + "-" + target_name(p.facts, target) +
                  (repeated ? "-r" + std::to_string(round) : "") + ".json";
          r.checkpoint_is_default = true;
          runs.push_back(nth_attempt(p, r, 1));
        }
      }
    }
  }
  return runs;
}

// A sweep's folder: --out, or <runs>/<name>/sweep-<stamp>-s<seed>-p<pid>.
std::string sweep_folder(const RunOptions& o, const RunPlan& p) {
  if (!o.out.empty()) {
    const std::string_view out(o.out);
    if (out.size() > 5 && out.substr(out.size() - 5) == ".json") {
      throw ConfigError("--out: a sweep writes a folder of logs, one per run; " + o.out +
                        " names a file (give a folder, e.g. " + o.out.substr(0, o.out.size() - 5) + ")");
    }
    return o.out;
  }
  return p.facts.runs_dir + "/" + p.experiment.name + "/sweep-" + p.facts.utc_stamp + "-s" +
         std::to_string(p.experiment.seed) + "-p" + std::to_string(p.facts.pid);
}

}  // namespace

PlannedRun nth_attempt(const RunPlan& p, const PlannedRun& run, int attempt) {
  PlannedRun r = run;
  if (r.log_is_default) {
    // <runs>/<name>/<stamp>-s<seed>-t<threads>-p<pid>[-<attempt>].json: unique for a loop over
    // seeds, parallel runs and runs in the same second.
    const Experiment& e = p.experiment;
    r.log = p.facts.runs_dir + "/" + e.name + "/" + p.facts.utc_stamp + "-s" + std::to_string(e.seed) + "-t" +
            std::to_string(r.threads) + "-p" + std::to_string(p.facts.pid) +
            (attempt > 1 ? "-" + std::to_string(attempt) : "") + ".json";
  }
  if (r.checkpoint_is_default) r.checkpoint = std::filesystem::path(r.log).replace_extension(".ckpt").string();
  return r;
}

RunPlan resolve_run(const RunOptions& o, const Experiment& loaded, const std::string& source,
                    const Checkpoint* checkpoint, const RunFacts& facts) {
  RunPlan p;
  p.source = source;
  p.facts = facts;
  p.as_written = loaded;
  const std::optional<LrRule> rule = parse_lr_rule(o.lr_scaling);
  if (!rule) throw ConfigError("--lr-scaling: expected " + lr_rule_choices() + ", got \"" + o.lr_scaling + "\"");
  p.lr_rule = *rule;
  // Which options combine with which is the option table's (option_table.h), checked with the
  // command line; what is left here is about values.
  if (o.warmup_epochs > 0 && p.lr_rule == LrRule::kNone) {
    throw ConfigError("--warmup-epochs: needs --lr-scaling linear or sqrt (the warmup ramps from the "
                      "experiment's rate to the scaled one; with none the rate is not scaled)");
  }
  p.experiment = with_overrides(o, loaded, p.lr_rule, checkpoint != nullptr, source);
  if (o.checkpoint_every < 0) throw ConfigError("--checkpoint-every: expected a positive number");
  if (o.warmup_epochs > p.experiment.epochs) {
    throw ConfigError("--warmup-epochs: " + std::to_string(o.warmup_epochs) + " epochs of warmup in a run of " +
                      std::to_string(p.experiment.epochs) + "; give at most the run's epochs");
  }
  p.sweep = {o.sweep_threads, o.sweep_simd, o.sweep_batch_size, o.sweep_repeats};
  check_sweep(p.sweep);
  // A resumed run computes with the target and reduction it started with.
  const nlohmann::json* identity =
      checkpoint && checkpoint->run_info.identity ? &*checkpoint->run_info.identity : nullptr;
  p.simd_target = identity ? identity->at("simd_target").get<std::string>() : o.simd_target;
  p.distributed = o.distributed;
  p.batch_size_per_rank = o.batch_size_per_rank;
  if (o.distributed) {
    p.reduction = !o.reduction.empty() ? reduction_of(o.reduction, "--reduction")
                  : identity           ? reduction_of(identity->at("reduction").get<std::string>(), "--resume")
                                       : Reduction::kTree;
  }
  p.info = run_info_for(o, p, checkpoint);
  if (p.sweep.any()) {
    p.sweep_folder = sweep_folder(o, p);
    for (int batch : p.sweep.batch_sizes) {  // each as a single run at that size would be
      try {
        validate_experiment(at_batch_size(p, batch), source);
      } catch (const ConfigError& e) {
        throw ConfigError("--sweep-batch-size " + std::to_string(batch) + ": " + e.what());
      }
    }
    p.runs = sweep_runs(p);
  } else {
    p.runs = {single_run(o, p, checkpoint)};
  }
  return p;
}

void apply_rank_count(RunPlan& p, int ranks) {
  Experiment& e = p.experiment;
  const std::string why = check_rank_count(ranks, e.shards);
  if (!why.empty()) throw ConfigError("--distributed: " + why);
  if (!p.batch_size_per_rank) return;  // strong scaling, or a resumed run's batch as it was
  const int per_rank = *p.batch_size_per_rank;
  const int64_t global = int64_t{per_rank} * ranks;
  const std::string what = "--batch-size-per-rank: " + std::to_string(per_rank) + " rows x " +
                           std::to_string(ranks) + " ranks = a global batch of " + std::to_string(global);
  if (global > 65536) throw ConfigError(what + ", above the largest batch size 65536");
  if (global < e.shards) throw ConfigError(what + ", fewer rows than the " + std::to_string(e.shards) + " shards");
  e = at_batch_size(p, static_cast<int>(global));
  validate_experiment(e, p.source);
}

Experiment at_batch_size(const RunPlan& p, int batch_size) {
  Experiment e = p.experiment;
  e.batch_size = batch_size;
  e.optimizer = p.as_written.optimizer;
  scale_learning_rate(e.optimizer, lr_factor(p.lr_rule, batch_size, p.as_written.batch_size));
  return e;
}

}  // namespace mlpbench
