#include "mlpbench/step.h"

namespace mlpbench {

void train_step(Mlp& model, Workspace& ws, Batch batch, size_t rows, Optimizer& optimizer,
                uint64_t t, const Team& team, const StepHooks& hooks) {
  const Layers first{0, 1}, above{1, model.layers().size()};
  const kernels::Part part = team.part();
  auto at = [&hooks](StepPoint point) {
    if (hooks.at) hooks.at(point);
  };

  forward_layers(model, ws, batch.input, rows, first, team);
  at(StepPoint::kForwardDone);

  if (team.leader()) {  // the upper layers, alone
    const Team alone(kernels::Part{0, 1});
    transpose_weights(model, ws, alone);
    forward_layers(model, ws, batch.input, rows, above, alone);
    loss_and_delta(model, ws, batch.labels, rows, /*with_grad=*/true, alone);
    if (hooks.after_loss) hooks.after_loss();
    backward_and_update_layers(model, ws, batch.input, rows, above, optimizer, t, alone);
  }
  if (hooks.prepare_next && (part.count == 1 || !team.leader())) {
    hooks.prepare_next(part.count == 1 ? part : kernels::Part{part.index - 1, part.count - 1});
  }
  at(StepPoint::kOwnWorkDone);
  team.sync();
  at(StepPoint::kBarrierPassed);

  backward_and_update_layers(model, ws, batch.input, rows, first, optimizer, t, team);
  at(StepPoint::kUpdateDone);
}

}  // namespace mlpbench
