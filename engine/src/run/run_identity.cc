#include "run/run_identity.h"

#include <cstdio>
#include <optional>
#include <stdexcept>
#include <utility>

#include "mlpbench/errors.h"
#include "mlpbench/float_mode.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/kernels.h"
#include "mlpbench/option_table.h"

namespace mlpbench {
namespace {

std::string hex(uint64_t v) {
  char b[12];
  std::snprintf(b, sizeof b, "%08llx", static_cast<unsigned long long>(v));
  return b;
}

template <typename T>
std::optional<std::string> text(const std::optional<T>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

std::optional<std::string> text(const std::string& v) {
  return v.empty() ? std::nullopt : std::optional<std::string>(v);
}

std::string text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : json_text(v); }

// What the checkpoint's run used and what the command line says (nothing: not given) for one
// option of the table that must equal the checkpoint's run.
std::pair<std::string, std::optional<std::string>> resumed_values(std::string_view option,
                                                                  const Checkpoint& c,
                                                                  const RunOptions& o) {
  const Experiment& e = c.experiment;
  const nlohmann::json& id = *c.run_info.identity;
  if (option == "--batch-size") return {std::to_string(e.batch_size), text(o.batch_size)};
  if (option == "--seed") return {std::to_string(e.seed), text(o.seed)};
  if (option == "--shards") return {std::to_string(e.shards), text(o.shards)};
  if (option == "--train-limit") return {std::to_string(c.run_info.train_limit), text(o.train_limit)};
  if (option == "--test-limit") return {std::to_string(c.run_info.test_limit), text(o.test_limit)};
  if (option == "--simd-target") return {text(id.at("simd_target")), text(o.simd_target)};
  if (option == "--reduction") return {text(id.at("reduction")), text(o.reduction)};
  throw std::logic_error("option " + std::string(option) + " must equal the checkpoint's run "
                         "(engine/include/mlpbench/option_table.h), but run_identity.cc does not compare it");
}

}  // namespace

nlohmann::json data_digests(const Dataset& train, const Dataset& test) {
  auto images = [](const Dataset& d) { return crc32_of(d.pixels.data(), d.size() * d.features()); };
  auto labels = [](const Dataset& d) { return crc32_of(d.labels.data(), d.labels.size()); };
  return {{"train_images", images(train)}, {"train_labels", labels(train)},
          {"test_images", images(test)}, {"test_labels", labels(test)}};
}

nlohmann::json run_identity(const nlohmann::json& data, const std::string& reduction, int ranks) {
  nlohmann::json id = {{"data_crc32", data},
                       {"simd_target", kernels::active_target()},
                       {"flush_denormals", can_flush_denormals()},
                       {"reduction", reduction}};
  if (reduction == "mpi") id["ranks"] = ranks;  // MPI_Allreduce's sums depend on the rank count
  return id;
}

void check_resumed_options(const Checkpoint& c, const RunOptions& o) {
  if (!c.run_info.identity) {
    throw ConfigError(c.path + ": the checkpoint records no run/identity (the data, SIMD target and "
                      "reduction its run used), so a resumed run could not be "
                      "checked to be the run it continues; start the run anew");
  }
  for (const cli::OptionRule& rule : cli::kRunExperimentOptions) {
    if (rule.on_resume != cli::kSameAsCheckpoint) continue;
    const auto [theirs, ours] = resumed_values(rule.name, c, o);
    if (ours && *ours != theirs) {
      throw ConfigError(std::string(rule.name) + ": the checkpoint's run used " + theirs +
                        ", this command line says " + *ours);
    }
  }
}

void check_resumed_data(const Checkpoint& c, const nlohmann::json& digests, const Dataset& train, const Dataset& test) {
  const nlohmann::json& saved = *c.run_info.identity;
  const std::pair<const char*, const std::string*> files[] = {
      {"train_images", &train.images_path}, {"train_labels", &train.labels_path},
      {"test_images", &test.images_path}, {"test_labels", &test.labels_path}};
  for (const auto& [key, path] : files) {
    const uint64_t theirs = saved.at("data_crc32").at(key).get<uint64_t>();
    const uint64_t ours = digests.at(key).get<uint64_t>();
    if (theirs != ours) {
      throw ConfigError("--data-dir: " + *path + ": not the samples the checkpoint's run used (crc32 of "
                        "the samples used: " + hex(ours) + ", the checkpoint's run " + hex(theirs) + ")");
    }
  }
}

void check_resumed_identity(const Checkpoint& c, const nlohmann::json& identity, const Dataset& train,
                            const Dataset& test) {
  const nlohmann::json& saved = *c.run_info.identity;
  check_resumed_data(c, identity.at("data_crc32"), train, test);
  if (saved.at("simd_target") != identity.at("simd_target")) {
    throw ConfigError("--simd-target: the checkpoint's run used " + text(saved.at("simd_target")) +
                      ", this run " + text(identity.at("simd_target")));
  }
  if (saved.at("flush_denormals") != identity.at("flush_denormals")) {
    auto says = [](const nlohmann::json& v) { return v.get<bool>() ? std::string("flushed") : std::string("kept"); };
    throw ConfigError(c.path + ": the checkpoint's run " + says(saved.at("flush_denormals")) +
                      " denormal numbers, this machine " + says(identity.at("flush_denormals")) +
                      " them: the numbers would differ");
  }
  auto reduction = [](const nlohmann::json& id) {
    return id.at("reduction").get<std::string>() +
           (id.contains("ranks") ? " over " + json_text(id.at("ranks")) + " ranks" : std::string());
  };
  if (reduction(saved) != reduction(identity)) {
    throw ConfigError("--reduction: the checkpoint's run combined gradients by " + reduction(saved) +
                      ", this run by " + reduction(identity));
  }
}

}  // namespace mlpbench
