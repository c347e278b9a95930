#include "mlpbench/run_info.h"

#include <cmath>

namespace mlpbench {

const char* lr_rule_name(LrRule rule) {
  return rule == LrRule::kLinear ? "linear" : rule == LrRule::kSqrt ? "sqrt" : "none";
}

namespace {
constexpr LrRule kRules[] = {LrRule::kNone, LrRule::kLinear, LrRule::kSqrt};
}  // namespace

std::vector<std::string> lr_rule_names() {
  std::vector<std::string> names;
  for (LrRule r : kRules) names.push_back(lr_rule_name(r));
  return names;
}

std::string lr_rule_choices() {
  const std::vector<std::string> names = lr_rule_names();
  std::string text;
  for (size_t i = 0; i < names.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return text;
}

std::optional<LrRule> parse_lr_rule(const std::string& name) {
  for (LrRule r : kRules) {
    if (name == lr_rule_name(r)) return r;
  }
  return std::nullopt;
}

double lr_factor(LrRule rule, int batch, int base) {
  const double ratio = static_cast<double>(batch) / base;
  return rule == LrRule::kLinear ? ratio : rule == LrRule::kSqrt ? std::sqrt(ratio) : 1.0;
}

nlohmann::json lr_scaling_json(const LrScaling& l) {
  nlohmann::json j = {{"rule", lr_rule_name(l.rule)}, {"base_batch_size", l.base_batch_size}};
  if (l.base_learning_rate) j["base_learning_rate"] = *l.base_learning_rate;
  if (l.warmup_epochs > 0) j["warmup_epochs"] = l.warmup_epochs;
  return j;
}

nlohmann::json run_info_json(const RunInfo& info) {
  nlohmann::json j = {{"train_limit", info.train_limit},
                      {"test_limit", info.test_limit},
                      {"reference_applies", info.reference_applies},
                      {"run_id", info.run_id},
                      {"simd_target", info.simd_target}};
  if (info.lr_scaling) j["lr_scaling"] = lr_scaling_json(*info.lr_scaling);
  if (info.batch_size_per_rank) j["batch_size_per_rank"] = *info.batch_size_per_rank;
  if (!info.log.empty()) j["log"] = info.log;
  if (!info.started_utc.empty()) j["started_utc"] = info.started_utc;
  if (info.identity) j["identity"] = *info.identity;
  return j;
}

RunInfo run_info_from_json(const nlohmann::json& j) {
  RunInfo info;
  info.train_limit = j.at("train_limit").get<size_t>();
  info.test_limit = j.at("test_limit").get<size_t>();
  info.reference_applies = j.value("reference_applies", false);
  info.run_id = j.value("run_id", std::string());
  info.simd_target = j.value("simd_target", std::string());
  info.log = j.value("log", std::string());
  info.started_utc = j.value("started_utc", std::string());
  if (j.contains("identity")) info.identity = j.at("identity");
  if (j.contains("batch_size_per_rank")) info.batch_size_per_rank = j.at("batch_size_per_rank").get<int>();
  if (j.contains("lr_scaling")) {
    const nlohmann::json& l = j.at("lr_scaling");
    LrScaling s;
    s.rule = parse_lr_rule(l.at("rule").get<std::string>()).value_or(LrRule::kNone);
    s.base_batch_size = l.at("base_batch_size").get<int>();
    if (l.contains("base_learning_rate")) s.base_learning_rate = l.at("base_learning_rate").get<double>();
    s.warmup_epochs = l.value("warmup_epochs", 0);
    info.lr_scaling = s;
  }
  return info;
}

}  // namespace mlpbench
