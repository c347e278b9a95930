#!/usr/bin/python3
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
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import mlpbench_logs as ml  # noqa: E402
import mlpbench_inputs  # noqa: E402

PROG = "eval_weights.py"


def read_safetensors(path):
    import numpy as np
    raw = ml.read_bytes(path)
    if len(raw) < 8:
        raise ml.ToolError(f"{path}: too short for a safetensors header")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ml.ToolError(f"{path}: header length {n} exceeds the file")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError as e:
        raise ml.ToolError(f"{path}: header is not JSON ({e})") from None
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info.get("dtype") != "F32":
            raise ml.ToolError(f"{path}: {name}: dtype {info.get('dtype')}, expected F32")
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        data = raw[8 + n + begin: 8 + n + end]
        if len(data) != 4 * int(np.prod(shape)):
            raise ml.ToolError(f"{path}: {name}: data does not match shape {list(shape)}")
        tensors[name] = np.frombuffer(data, dtype="<f4").reshape(shape)
    return tensors, header.get("__metadata__", {})


def main(argv=None):
    p = ml.arg_parser(PROG, __doc__, None)
    p.add_argument("weights", help="safetensors file from run_experiment --save-weights")
    p.add_argument("--log", help="the run's log: activations, dataset and the numbers to compare")
    ml.add_test_set_args(p, "default: the log's, else mnist")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest accepted difference from the log's loss and accuracy")
    args = p.parse_args(argv)
    import numpy as np
    log = ml.load_run_log(args.log).data if args.log else None
    ev = evaluate(args.weights, log, args.data_dir, args.dataset, args.test_limit)
    loss, accuracy, labels = ev["loss"], ev["accuracy"], ev["labels"]
    print(f"{args.weights}: {len(labels)} {ev['dataset']} test samples: loss {loss:.6f}, "
          f"accuracy {accuracy:.4f} (experiment {ev['meta'].get('experiment', '?')})")
    if log:
        # The weights a run ends with: its final evaluation (after early stopping restored the
        # best epoch's weights), else its last epoch.
        final = log.get("evaluation") or log["epochs"][-1]
        d_loss, d_acc = abs(loss - final["test_loss"]), abs(accuracy - final["test_accuracy"])
        print(f"log {args.log}: loss {final['test_loss']:.6f}, accuracy {final['test_accuracy']:.4f}"
              f" -> differences {d_loss:.2e}, {d_acc:.2e}")
        bad = d_loss > args.tolerance or d_acc > args.tolerance
        if "confusion_matrix" in final:
            moved = int(abs(confusion(ev) - np.array(final["confusion_matrix"])).sum()) // 2
            print(f"confusion matrix: {moved} of {len(labels)} samples in another cell than the log's")
            bad = bad or moved > args.tolerance * len(labels)
        if bad:
            print(f"{PROG}: the weights do not reproduce the log's numbers", file=sys.stderr)
            return 1
    return 0


def evaluate(weights, log=None, data_dir=None, dataset=None, test_limit=0):
    """The test split through the weights, in float64: a dict with loss, accuracy, probs
    [n, classes], predicted, labels, images [n, 28, 28] (bytes), dataset and the file's meta."""
    import numpy as np

    tensors, meta = read_safetensors(weights)
    layers = []
    while f"dense_{len(layers)}.kernel" in tensors:
        i = len(layers)
        if f"dense_{i}.bias" not in tensors:
            raise ml.ToolError(f"{weights}: dense_{i}.bias missing")
        layers.append((tensors[f"dense_{i}.kernel"].astype(np.float64),
                       tensors[f"dense_{i}.bias"].astype(np.float64)))
    if not layers:
        raise ml.ToolError(f"{weights}: no dense_<i>.kernel tensors")

    activations = ["relu"] * (len(layers) - 1)
    if log:
        exp = log["experiment"]
        activations = [layer["activation"] for layer in exp["model"][:-1]]
        dataset = dataset or exp.get("dataset", "mnist")
        test_limit = test_limit or log["run"].get("test_samples", 0)
    dataset = dataset or "mnist"
    data_dir = data_dir or mlpbench_inputs.default_data_dir()
    images, labels = mlpbench_inputs.load_split(data_dir, dataset, "test", test_limit)

    x = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)
    x = x.astype(np.float64)
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
    sys.exit(ml.main_guard(PROG, main))
