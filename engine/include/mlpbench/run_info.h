#pragma once
// What a checkpoint carries of its run besides the experiment and the training state (the
// checkpoint's "run" object, docs/formats.md): the data limits, the learning-rate rule, the
// log it continues and the run's identity. Serialised to and from JSON here only.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlpbench {

// How the learning rate follows a batch size B other than the experiment file's B0.
enum class LrRule { kNone, kLinear, kSqrt };
const char* lr_rule_name(LrRule rule);
// Every rule's name, in --help's order ("none", "linear", "sqrt"), and them in words for
// messages ("none, linear or sqrt").
std::vector<std::string> lr_rule_names();
std::string lr_rule_choices();
// A name of lr_rule_names(); nullopt otherwise.
std::optional<LrRule> parse_lr_rule(const std::string& name);
// The factor on the rate for batch size `batch` against `base`: 1, B/B0 or sqrt(B/B0).
double lr_factor(LrRule rule, int batch, int base);

struct LrScaling {
  LrRule rule = LrRule::kNone;
  int base_batch_size = 0;
  std::optional<double> base_learning_rate;  // absent in checkpoints that predate it
  int warmup_epochs = 0;                     // 0: no warmup
};

// {"rule", "base_batch_size", "base_learning_rate", "warmup_epochs"} as checkpoints and the
// log's run.lr_scaling have them.
nlohmann::json lr_scaling_json(const LrScaling& l);

struct RunInfo {
  size_t train_limit = 0, test_limit = 0;  // 0 = all
  std::optional<LrScaling> lr_scaling;     // given when a rule was asked for or a batch sweep runs
  std::optional<int> batch_size_per_rank;  // distributed weak scaling
  bool reference_applies = false;          // the experiment's reference figure applies
  std::string run_id;
  std::string simd_target;
  std::string log;          // absolute path of the run's log (empty until it is created)
  std::string started_utc;  // empty until the run starts
  std::optional<nlohmann::json> identity;  // run_identity.h
};

nlohmann::json run_info_json(const RunInfo& info);
// `j` as checked by parse_checkpoint (checkpoint.cc).
RunInfo run_info_from_json(const nlohmann::json& j);

}  // namespace mlpbench
