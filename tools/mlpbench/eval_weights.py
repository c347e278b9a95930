"""Evaluate a safetensors weights file written by run_experiment --save-weights, independently
of the engine: numpy alone, in float64.

Reads dense_<i>.kernel [in, out] and dense_<i>.bias [out] (Keras layout), runs the test split
through Flatten -> Dense(relu ... ) -> softmax (every layer but the last with the activation the
experiment gave it: pass the run log with --log to take them from there; default relu), and
prints the mean cross-entropy loss and the accuracy. With --log, also compares them (and the
confusion matrix, when the log has one) with the log's final evaluation (else its last epoch)
and exits 1 if they differ by more than --tolerance (for the matrix: a fraction of the samples).
"""
import json
import math
import re
import struct
import sys

from mlpbench import cli
from mlpbench import inputs as mlpbench_inputs
from mlpbench import logs as ml

PROG = "eval_weights.py"
INPUT_FEATURES = mlpbench_inputs.IMAGE_SIDE ** 2  # the engine's images, flattened


EPILOG = """Exit status: 0 evaluated (with --log: the numbers reproduce the log's); 1 with --log,
the weights do not reproduce the log's numbers; 2 bad command line or input: a weights file
that is not a complete safetensors file of dense layers (truncated, bad header, wrong shapes
or dtype, NaN or infinite values, missing tensors, a folder or special file), an invalid log
or a missing or corrupt test set (one line naming the file and what is wrong)."""
EXIT_OK, EXIT_DIFFERENT = 0, 1


def read_safetensors(path):
    """({name: float32 array} of the dense layers' tensors, __metadata__) of a safetensors
    file; ToolError naming the file and what is wrong with it otherwise."""
    import numpy as np
    raw = ml.read_bytes(path)
    if not raw:
        raise ml.ToolError(f"{path}: empty file, expected safetensors")
    if len(raw) < 8:
        raise ml.ToolError(f"{path}: truncated: {len(raw)} bytes, too short for a safetensors "
                           "header")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ml.ToolError(f"{path}: truncated or not safetensors: the header length {n} "
                           f"exceeds the file's {len(raw) - 8} bytes after it")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ml.ToolError(f"{path}: bad header: not JSON ({e})") from None
    except RecursionError:
        raise ml.ToolError(f"{path}: bad header: nested too deeply to be a safetensors header") from None
    if not isinstance(header, dict):
        raise ml.ToolError(f"{path}: bad header: expected a JSON object, got "
                           f"{ml.describe_value(header)}")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict):
        raise ml.ToolError(f"{path}: bad header: __metadata__ is {ml.describe_value(meta)}, "
                           "expected an object")
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end, shape = tensor_entry(path, name, info, len(data))
        if not DENSE.fullmatch(name):
            continue  # not a dense layer's (e.g. a checkpoint's optimizer state): unused
        if info["dtype"] != "F32":
            raise ml.ToolError(f"{path}: {name}: dtype {ml.describe_value(info['dtype'])}, "
                               "expected F32")
        count = math.prod(shape)  # exact: numpy's int64 product would wrap around
        if end - begin != 4 * count:
            raise ml.ToolError(f"{path}: {name}: data_offsets [{begin}, {end}] hold "
                               f"{end - begin} bytes, shape {list(shape)} needs {4 * count}")
        values = np.frombuffer(data[begin:end], dtype="<f4").reshape(shape)
        if not np.isfinite(values).all():
            raise ml.ToolError(f"{path}: {name}: {int((~np.isfinite(values)).sum())} NaN or "
                               "infinite value(s)")
        tensors[name] = values
    return tensors, meta


DENSE = re.compile(r"dense_(\d+)\.(kernel|bias)")


def tensor_entry(path, name, info, data_bytes):
    """(begin, end, shape) of one header entry, checked against the data's length."""
    where = f"{path}: bad header: {name}"
    if not isinstance(info, dict):
        raise ml.ToolError(f"{where}: expected an object, got {ml.describe_value(info)}")
    for key in ("dtype", "shape", "data_offsets"):
        if key not in info:
            raise ml.ToolError(f"{where}: missing \"{key}\"")
    shape, offsets = info["shape"], info["data_offsets"]
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        raise ml.ToolError(f"{where}: shape {ml.describe_value(shape)}, expected a list of "
                           "sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(type(o) is int and o >= 0 for o in offsets) and offsets[0] <= offsets[1]):
        raise ml.ToolError(f"{where}: data_offsets {ml.describe_value(offsets)}, expected "
                           "[begin, end] with 0 <= begin <= end")
    if offsets[1] > data_bytes:
        raise ml.ToolError(f"{path}: truncated: {name}'s data ends at byte {offsets[1]}, the "
                           f"file has {data_bytes} bytes of data")
    return offsets[0], offsets[1], tuple(shape)


def dense_layers(path, tensors, inputs, classes):
    """[(kernel, bias)] in float64, checked to chain from `inputs` features to `classes`."""
    import numpy as np
    count = 1 + max((int(DENSE.fullmatch(n).group(1)) for n in tensors), default=-1)
    if not count:
        raise ml.ToolError(f"{path}: no dense_<i>.kernel tensors (not a --save-weights file)")
    layers, width = [], inputs
    for i in range(count):
        for part in ("kernel", "bias"):
            if f"dense_{i}.{part}" not in tensors:
                raise ml.ToolError(f"{path}: missing tensor dense_{i}.{part} (the file has "
                                   f"dense layers up to dense_{count - 1})")
        kernel, bias = tensors[f"dense_{i}.kernel"], tensors[f"dense_{i}.bias"]
        if kernel.ndim != 2 or kernel.shape[0] != width:
            raise ml.ToolError(f"{path}: dense_{i}.kernel has shape {list(kernel.shape)}, "
                               f"expected [{width}, units]")
        if bias.shape != (kernel.shape[1],):
            raise ml.ToolError(f"{path}: dense_{i}.bias has shape {list(bias.shape)}, "
                               f"expected [{kernel.shape[1]}] (dense_{i}.kernel's units)")
        width = kernel.shape[1]
        layers.append((kernel.astype(np.float64), bias.astype(np.float64)))
    if width != classes:
        raise ml.ToolError(f"{path}: the last layer dense_{count - 1} has {width} units, "
                           f"expected {classes} (one per class)")
    return layers


def logged_numbers(path, log):
    """The log's final evaluation (else its last epoch), checked: what the weights must give."""
    evaluation = log.get("evaluation")
    if evaluation is not None and not isinstance(evaluation, dict):
        raise ml.ToolError(f"{path}: /evaluation: expected an object, got {ml.describe_value(evaluation)}")
    final = evaluation or (log["epochs"][-1] if log["epochs"] else None)
    if not isinstance(final, dict):
        raise ml.ToolError(f"{path}: no evaluation and no epoch to compare the weights with")
    c = ml.Checker(path)
    where = "/evaluation" if log.get("evaluation") else f"/epochs/{len(log['epochs']) - 1}"
    c.number(final, "test_loss", where)
    c.number(final, "test_accuracy", where)
    matrix = final.get("confusion_matrix")
    if matrix is not None and not (
            isinstance(matrix, list) and len(matrix) == mlpbench_inputs.NUM_CLASSES
            and all(isinstance(row, list) and len(row) == mlpbench_inputs.NUM_CLASSES
                    and all(type(v) is int for v in row) for row in matrix)):
        c.fail(f"{where}/confusion_matrix", "expected 10 lists of 10 integers")
    return final


def log_activations(path, log, count):
    """The activations of the log's experiment's first `count` - 1 layers."""
    model = log["experiment"].get("model")
    if not (isinstance(model, list) and len(model) == count
            and all(isinstance(layer, dict) for layer in model)):
        raise ml.ToolError(f"{path}: /experiment/model: expected {count} layers (the weights "
                           f"file's), got {ml.describe_value(model)}"
                           + (f" of {len(model)}" if isinstance(model, list) else ""))
    activations = [layer.get("activation", "relu") for layer in model[:-1]]
    for i, name in enumerate(activations):
        if name not in HIDDEN_ACTIVATIONS:  # any other would be computed as linear: a false verdict
            raise ml.ToolError(f"{path}: /experiment/model/{i}/activation: expected one of "
                               f"{', '.join(HIDDEN_ACTIVATIONS)}, got {ml.describe_value(name)}")
    return activations


# The hidden layers' activations the engine trains (engine/src/io/experiment.cc).
HIDDEN_ACTIVATIONS = ("relu", "linear")


def main(argv=None):
    p = cli.arg_parser(PROG, __doc__, EPILOG)
    p.add_argument("weights", help="safetensors file from run_experiment --save-weights")
    p.add_argument("--log", help="the run's log: activations, dataset and the numbers to compare")
    cli.add_test_set_args(p, "default: the log's, else mnist")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest accepted difference from the log's loss and accuracy")
    args = p.parse_args(argv)
    import numpy as np
    if not args.tolerance >= 0:
        raise ml.ToolError(f"--tolerance: expected a number >= 0, got {args.tolerance}")
    if args.test_limit < 0:
        raise ml.ToolError(f"--test-limit: expected a count >= 0, got {args.test_limit}")
    log = ml.load_run_log(args.log).data if args.log else None
    # The weights a run ends with: its final evaluation (after early stopping restored the
    # best epoch's weights), else its last epoch.
    final = logged_numbers(args.log, log) if log else None
    ev = evaluate(args.weights, log, args.data_dir, args.dataset, args.test_limit, args.log)
    loss, accuracy, labels = ev["loss"], ev["accuracy"], ev["labels"]
    print(f"{args.weights}: {len(labels)} {ev['dataset']} test samples: loss {loss:.6f}, "
          f"accuracy {accuracy:.4f} (experiment {ev['meta'].get('experiment', '?')})")
    if log:
        d_loss, d_acc = abs(loss - final["test_loss"]), abs(accuracy - final["test_accuracy"])
        print(f"log {args.log}: loss {final['test_loss']:.6f}, accuracy {final['test_accuracy']:.4f}"
              f" -> differences {d_loss:.2e}, {d_acc:.2e}")
        bad = not (d_loss <= args.tolerance and d_acc <= args.tolerance)  # NaN: different
        if final.get("confusion_matrix") is not None:
            moved = int(abs(confusion(ev) - np.array(final["confusion_matrix"])).sum()) // 2
            print(f"confusion matrix: {moved} of {len(labels)} samples in another cell than the log's")
            bad = bad or moved > args.tolerance * len(labels)
        if bad:
            print(f"{PROG}: the weights do not reproduce the log's numbers", file=sys.stderr)
            return EXIT_DIFFERENT
    return EXIT_OK


def evaluate(weights, log=None, data_dir=None, dataset=None, test_limit=0, log_path="log"):
    """The test split through the weights, in float64: a dict with loss, accuracy, probs
    [n, classes], predicted, labels, images [n, 28, 28] (bytes), dataset and the file's meta.
    `log` is the parsed run log (`log_path` names it in messages)."""
    import numpy as np

    tensors, meta = read_safetensors(weights)
    layers = dense_layers(weights, tensors, INPUT_FEATURES, mlpbench_inputs.NUM_CLASSES)
    activations = (log_activations(log_path, log, len(layers)) if log
                   else ["relu"] * (len(layers) - 1))
    if log:
        exp = log["experiment"]
        dataset = dataset or exp.get("dataset", "mnist")
        test_limit = test_limit or log["run"].get("test_samples", 0)
        if type(test_limit) is not int or test_limit < 0:
            raise ml.ToolError(f"{log_path}: /run/test_samples: expected a count, got "
                               f"{ml.describe_value(test_limit)}")
        if dataset not in ("mnist", "fashion-mnist"):
            raise ml.ToolError(f"{log_path}: /experiment/dataset: expected mnist or "
                               f"fashion-mnist, got {ml.describe_value(dataset)}")
    dataset = dataset or "mnist"
    data_dir = data_dir or mlpbench_inputs.default_data_dir()
    images, labels = mlpbench_inputs.load_split(data_dir, dataset, "test", test_limit)

    x = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)
    x = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # huge weights: a NaN loss, said as such
        for i, (kernel, bias) in enumerate(layers):
            x = x @ kernel + bias
            if i < len(layers) - 1 and activations[i] == "relu":
                x = np.maximum(x, 0)
        z = x - x.max(axis=1, keepdims=True)
        log_softmax = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    labels = np.asarray(labels, dtype=np.int64)
    return {"loss": float(-log_softmax[np.arange(len(labels)), labels].mean()),
            "accuracy": float((x.argmax(axis=1) == labels).mean()),
            "probs": np.exp(log_softmax), "predicted": x.argmax(axis=1), "labels": labels,
            "images": images, "dataset": dataset, "meta": meta}


def confusion(ev, classes=10):
    """[true class, predicted class] counts of an evaluate() result."""
    import numpy as np
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (ev["labels"], ev["predicted"]), 1)
    return m


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
