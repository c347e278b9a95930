// The training step's schedule (step.h): same numbers as the plain phases, hooks run where and
// as often as promised.
#include <catch2/catch.hpp>

#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <vector>

#include "mlpbench/optimizer.h"
#include "mlpbench/step.h"
#include "test_support.h"

namespace test_step {

using namespace mlpbench;
using enum Activation;

namespace {

constexpr size_t kInputs = 30, kRows = 13;
// 70 units: three panels in layer 0, the last partial; two small upper layers, run by the leader.
const std::vector<LayerSpec> kSpecs = {{70, kRelu}, {17, kRelu}, {10, kSoftmax}};

void fill_batch(Workspace& ws, uint32_t seed) {
  std::mt19937 gen(seed);
  for (size_t i = 0; i < kRows * kInputs; ++i) ws.input[i] = (gen() % 256) / 255.0f;
  for (size_t r = 0; r < kRows; ++r) ws.labels[r] = static_cast<uint8_t>(gen() % 10);
}

}  // namespace

TEST_CASE("train_step computes bitwise what the plain phases compute, for any team",
          "[step][optimizer]") {
  // Three layers (the leader runs two upper layers), two (model A's shape: one) and one (the
  // leader only takes the loss).
  const std::vector<std::vector<LayerSpec>> models = {
      kSpecs, {{70, kRelu}, {10, kSoftmax}}, {{10, kSoftmax}}};
  for (const auto& specs : models) {
    for (const OptimizerKind kind : {OptimizerKind::kAdam, OptimizerKind::kSgd}) {
      OptimizerSpec spec;
      spec.kind = kind;
      spec.momentum = 0.9;
      Mlp want(kInputs, specs);
      want.init_glorot(4);
      Optimizer want_opt(spec, want.params().size());
      Workspace want_ws(want, kRows);
      fill_batch(want_ws, 2);
      const Team alone({0, 1});
      std::vector<float> want_losses;
      for (uint64_t t = 1; t <= 3; ++t) {
        reference_step(want, want_ws, kRows, &want_opt, t, alone);
        want_losses.insert(want_losses.end(), want_ws.losses.begin(), want_ws.losses.end());
      }

      for (int threads : {1, 2, 3}) {
        if (!test_support::team_of(threads)) continue;
        Mlp model(kInputs, specs);
        model.init_glorot(4);
        Optimizer opt(spec, model.params().size());
        Workspace ws(model, kRows);
        fill_batch(ws, 2);
        std::vector<float> losses;
        StepHooks hooks;
        hooks.after_loss = [&] { losses.insert(losses.end(), ws.losses.begin(), ws.losses.end()); };
        run_team(threads, [&](Team& team) {
          for (uint64_t t = 1; t <= 3; ++t) {
            train_step(model, ws, ws.batch(0), kRows, opt, t, team, hooks);
          }
        });
        INFO(specs.size() << " layer(s), " << optimizer_name(kind) << ", " << threads << " thread(s)");
        REQUIRE(std::memcmp(model.params().data(), want.params().data(),
                            model.params().size() * sizeof(float)) == 0);
        REQUIRE(losses == want_losses);
      }
    }
  }
}

TEST_CASE("train_step runs after_loss on the leader once a step, prepare_next on every other "
          "thread with its own share, and at on every thread at each point", "[step]") {
  Mlp model(kInputs, kSpecs);
  model.init_glorot(1);
  Optimizer opt(OptimizerSpec{}, model.params().size());
  Workspace ws(model, kRows, /*double_buffered=*/true);
  fill_batch(ws, 3);
  for (int threads : {1, 2, 3}) {
    if (!test_support::team_of(threads)) continue;
    std::mutex mutex;
    int after_loss_calls = 0;
    bool after_loss_off_leader = false;
    std::vector<std::pair<int, kernels::Part>> prepared;  // (thread, share)
    std::vector<std::vector<StepPoint>> points;            // per thread
    run_team(threads, [&](Team& team) {
      StepHooks hooks;
      hooks.after_loss = [&] {
        std::lock_guard<std::mutex> lock(mutex);
        ++after_loss_calls;
        after_loss_off_leader |= !team.leader();
      };
      hooks.prepare_next = [&](kernels::Part part) {
        std::lock_guard<std::mutex> lock(mutex);
        prepared.push_back({team.part().index, part});
      };
      std::vector<StepPoint> mine;
      hooks.at = [&](StepPoint point) { mine.push_back(point); };
      train_step(model, ws, ws.batch(0), kRows, opt, 1, team, hooks);
      std::lock_guard<std::mutex> lock(mutex);
      points.push_back(mine);
    });
    REQUIRE(points.size() == static_cast<size_t>(threads));
    for (const auto& seen : points) {  // every thread, every point, in order
      REQUIRE(seen == std::vector<StepPoint>{StepPoint::kForwardDone, StepPoint::kOwnWorkDone,
                                             StepPoint::kBarrierPassed, StepPoint::kUpdateDone});
    }
    INFO(threads << " thread(s)");
    REQUIRE(after_loss_calls == 1);
    REQUIRE_FALSE(after_loss_off_leader);
    const int sharers = threads == 1 ? 1 : threads - 1;
    REQUIRE(prepared.size() == static_cast<size_t>(sharers));
    std::set<int> shares;
    for (const auto& [thread, part] : prepared) {
      REQUIRE(part.count == sharers);
      if (threads > 1) REQUIRE(thread != 0);  // the leader is busy with the upper layers
      shares.insert(part.index);
    }
    REQUIRE(shares.size() == static_cast<size_t>(sharers));
    REQUIRE(*shares.begin() == 0);
    REQUIRE(*shares.rbegin() == sharers - 1);
  }
}

TEST_CASE("a double-buffered workspace alternates two batches by slot", "[step]") {
  Mlp model(kInputs, kSpecs);
  Workspace single(model, kRows), twice(model, kRows, /*double_buffered=*/true);
  REQUIRE(single.batch(1).input == single.input.data());
  REQUIRE(twice.batch(0).input == twice.input.data());
  REQUIRE(twice.batch(0).labels == twice.labels.data());
  REQUIRE(twice.batch(1).input == twice.next_input.data());
  REQUIRE(twice.batch(1).labels == twice.next_labels.data());
  REQUIRE(twice.batch(2).input == twice.input.data());
  REQUIRE(twice.next_input.size() == twice.input.size());
}

}  // namespace test_step
