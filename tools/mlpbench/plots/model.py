"""Draw an experiment's model as a diagram, like Keras' plot_model(show_shapes=True).

Boxes top to bottom: the input (28x28 images), Flatten (to 784), then one Dense layer per
entry of the experiment's "model" list with its activation, input and output shapes and its
parameter count (in * out weights + out biases), and the total parameter count.
The argument is an experiment file (experiments/*.json), which the engine validates and
resolves (`run_experiment --dry-run`: the engine must be built, or $MLPBENCH_ENGINE set), or a
run log, whose resolved experiment is drawn.
Exit status: 0 success, 2 bad command line or unreadable/invalid file.
"""

import argparse
import sys

from mlpbench import cli
from mlpbench import inputs as mlpbench_inputs
from mlpbench import logs as ml
from mlpbench import plotting

PROG = "plot_model.py"
IMAGE_SHAPES = {"mnist": (28, 28), "fashion-mnist": (28, 28)}


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", metavar="EXPERIMENT.json",
                   help="experiment file (or a run log of one)")
    p.add_argument("-o", "--output", default="model.png", metavar="PATH",
                   help="output figure, .png or .svg (default: model.png)")
    return p.parse_args(argv)


def load_experiment(path):
    data = ml.load_json(path)
    pointer = ""
    if isinstance(data, dict) and "schema" in data:
        log = ml.validate_run_log(path, data)
        data, pointer = log.experiment, "/experiment"
    else:
        data = mlpbench_inputs.resolve_experiment(path)
    c = ml.Checker(path)
    if not isinstance(data, dict):
        c.fail("", f"expected an experiment object, got {ml.describe_value(data)}")
    name = c.string(data, "name", pointer)
    dataset = c.string(data, "dataset", pointer)
    if dataset not in IMAGE_SHAPES:
        c.fail(f"{pointer}/dataset", f"expected \"mnist\" or \"fashion-mnist\", got "
                                     f"{ml.describe_value(dataset)}")
    if "model" not in data:
        c.fail(pointer, "missing key \"model\"")
    model = data["model"]
    if not isinstance(model, list) or not model:
        c.fail(f"{pointer}/model", f"expected a non-empty list of layers, got "
                                   f"{ml.describe_value(model)}")
    layers = []
    for i, layer in enumerate(model):
        ptr = f"{pointer}/model/{i}"
        if not isinstance(layer, dict):
            c.fail(ptr, f"expected an object, got {ml.describe_value(layer)}")
        units = c.integer(layer, "units", ptr, minimum=1)
        activation = c.string(layer, "activation", ptr)
        layers.append((units, activation))
    return {"name": name, "dataset": dataset, "layers": layers, "loss": data.get("loss"),
            "optimizer": data.get("optimizer"), "batch_size": data.get("batch_size"),
            "epochs": data.get("epochs")}


def boxes_for(exp):
    """[(title, subtitle, input shape, output shape, params)] top to bottom."""
    h, w = IMAGE_SHAPES[exp["dataset"]]
    image = f"(None, {h}, {w})"
    flat = h * w
    out = [("input_1 (InputLayer)", f"{exp['dataset']} images", f"[{image}]", f"[{image}]", 0),
           ("flatten (Flatten)", "", image, f"(None, {flat})", 0)]
    fan_in = flat
    for i, (units, activation) in enumerate(exp["layers"]):
        params = fan_in * units + units
        out.append((f"dense_{i} (Dense)", f"activation: {activation}", f"(None, {fan_in})",
                    f"(None, {units})", params))
        fan_in = units
    return out


def describe_training(exp):
    parts = []
    opt = exp.get("optimizer")
    if isinstance(opt, dict) and opt.get("name"):
        lr = opt.get("learning_rate")
        parts.append(f"{opt['name']}" + (f"(lr={lr:g})" if ml.is_number(lr) else ""))
    if isinstance(exp.get("loss"), str):
        parts.append(exp["loss"])
    if ml.is_number(exp.get("batch_size")):
        parts.append(f"batch {exp['batch_size']}")
    if ml.is_number(exp.get("epochs")):
        parts.append(f"{exp['epochs']} epochs")
    return ", ".join(parts)


def plot(exp, output):
    plt = plotting.pyplot()
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    boxes = boxes_for(exp)
    total = sum(b[4] for b in boxes)
    box_h, gap = 1.0, 0.55
    height = len(boxes) * (box_h + gap) + 1.6
    fig = plt.figure(figsize=(7.6, height * 0.72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(-height + 0.2, 0.2)
    ax.axis("off")

    ax.text(5, -0.25, exp["name"], ha="center", va="center", fontsize=13, weight="bold")
    training = describe_training(exp)
    if training:
        ax.text(5, -0.62, training, ha="center", va="center", fontsize=9, color="#444444")
    left, right, split, label_x = 0.7, 9.3, 5.1, 6.35
    y = -1.0
    prev_bottom = None
    for title, sub, shape_in, shape_out, params in boxes:
        top, bottom = y, y - box_h
        colour = "#e8f0fe" if "Dense" in title else "#f3f3f3"
        ax.add_patch(FancyBboxPatch((left, bottom), right - left, box_h,
                                    boxstyle="round,pad=0,rounding_size=0.08",
                                    facecolor=colour, edgecolor="#333333", linewidth=1.1))
        ax.plot([split, split], [bottom, top], color="#333333", linewidth=0.8)
        ax.plot([label_x, label_x], [bottom, top], color="#333333", linewidth=0.8)
        ax.plot([split, right], [bottom + box_h / 2] * 2, color="#333333", linewidth=0.8)
        mid = bottom + box_h / 2
        ax.text((left + split) / 2, mid + (0.2 if sub or params else 0), title, ha="center",
                va="center", fontsize=10, weight="bold")
        details = [s for s in (sub, f"params: {params:,}" if params else "") if s]
        if details:
            ax.text((left + split) / 2, mid - 0.2, "   ".join(details), ha="center",
                    va="center", fontsize=8.5, color="#333333")
        for row, (key, shape) in enumerate((("input:", shape_in), ("output:", shape_out))):
            ty = top - box_h / 4 - row * box_h / 2
            ax.text((split + label_x) / 2, ty, key, ha="center", va="center", fontsize=9)
            ax.text((label_x + right) / 2, ty, shape, ha="center", va="center", fontsize=9,
                    family="monospace")
        if prev_bottom is not None:
            ax.add_patch(FancyArrowPatch((5, prev_bottom), (5, top), arrowstyle="-|>",
                                         mutation_scale=12, color="#333333", linewidth=1.1))
        prev_bottom = bottom
        y = bottom - gap
    mib = total * 4 / 2 ** 20
    ax.text(5, y + gap - 0.45, f"Total params: {total:,}  ({mib:.2f} MiB as float32)",
            ha="center", va="center", fontsize=10.5, weight="bold")
    ax.text(5, y + gap - 0.8, f"Trainable params: {total:,}   Non-trainable params: 0",
            ha="center", va="center", fontsize=9, color="#444444")
    plotting.save_figure(fig, output)
    plt.close(fig)
    return total


def main(argv=None):
    args = parse_args(argv)
    plotting.check_output_path(args.output)
    exp = load_experiment(args.experiment)
    for title, _, _, shape_out, params in boxes_for(exp):
        print(f"{title:<24} {shape_out:<18} {params:>12,}")
    total = plot(exp, args.output)
    print(f"Total params: {total:,}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
