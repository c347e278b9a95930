"""PyTorch peer of run_experiment: trains an mlpbench experiment file the way Keras would.

    pytorch_mlp.py EXPERIMENT.json [--threads N] [--epochs N] [--batch-size N] [--seed N]
                   [--train-limit N] [--test-limit N] [--data-dir DIR] [--out PATH] [--force]
                   [--blas auto|openblas-pthread|openblas-openmp|system] [--quiet]
    pytorch_mlp.py --probe-blas [--blas ...] [--threads N]

What is replicated (Keras 2 / TF 2 semantics):
  * model: Flatten (784 inputs) -> Dense per the experiment's "model" list; kernels Glorot-uniform
    (limit sqrt(6 / (fan_in + fan_out))) in Keras layout [in, out], zero biases; hidden layers
    relu or linear; the last layer softmax, trained with cross-entropy on its logits (which is
    what Keras does for a softmax output; sparse and one-hot labels are the same maths);
  * Adam in the Keras form, written out with in-place torch ops under no_grad:
        m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        lr_t = lr sqrt(1 - b2^t) / (1 - b1^t);  p -= lr_t m / (sqrt(v) + eps)
    (torch.optim.Adam instead adds eps to sqrt(v_hat), i.e. eps / sqrt(1 - b2^t) here: not used);
  * SGD: v = momentum v - lr g; p += v (nesterov: p += momentum v - lr g); plain p -= lr g
    without momentum;
  * per-epoch seeded shuffle, the last partial batch kept (1875 steps of 32 for 60000 samples);
    inputs uint8 / 255 as float32;
  * train loss / accuracy: sample-weighted running means over the epoch's batches (Keras's
    progress-bar numbers); test loss / accuracy on the whole test set after every epoch;
  * target_accuracy (on test_accuracy): epochs_to_target and the seconds to it in the summary.

Refused rather than trained otherwise (exit 2, `FILE: /json/path: message`, before anything is
written): a validation_split and callbacks (as the C++ peers refuse them), a learning-rate
schedule (the C++ peers have it), and any experiment key or optimizer field this peer does not
know. `shards` is ignored: it only fixes the engine's summation order.

BLAS. Debian's python3-torch calls sgemm_ from whatever libblas.so.3 the dynamic linker finds;
the system default may well be the netlib reference BLAS (about 5 GFLOP/s here), which would make
the peer a straw man. With --blas auto (the default) the script therefore loads Debian's OpenBLAS
(package libopenblas0-pthread, else libopenblas0-openmp) by full path, RTLD_GLOBAL, before
torch and numpy are imported, so their libblas.so.3 dependency resolves to it. The BLAS actually
in use, its kernel (openblas_get_corename) and the OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE /
OMP_WAIT_POLICY in force are recorded in the log's "build".

The log follows docs/run-log.md (schema mlpbench.run/1), rewritten atomically after
every epoch; an error after it was created ends it "failed" with the "error". Exit status: 0
done, 2 bad command line (also an --out that is an input, a link or a special file) or
experiment file, 3 dataset missing or corrupt, 4 diverged (NaN/Inf loss), 130/143 interrupted,
1 anything else.
"""

import argparse
import ctypes
import datetime
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

from mlpbench import REPO_ROOT
from mlpbench import files as mlpbench_files  # how outputs are written
from mlpbench import inputs as mlpbench_inputs  # experiment files via the engine; IDX files
from mlpbench.tracking.host import caches, cpu_id, cpuinfo  # the host facts, read once for every tool
INPUT_FEATURES = 784
NUM_CLASSES = 10
LIBDIR = "/usr/lib/x86_64-linux-gnu"
OPENBLAS_DIRS = {
    "openblas-pthread": os.path.join(LIBDIR, "openblas-pthread"),
    "openblas-openmp": os.path.join(LIBDIR, "openblas-openmp"),
}
ENV_KEYS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY", "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "GOMP_SPINCOUNT")

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DATA, EXIT_DIVERGED = 0, 1, 2, 3, 4


class UsageError(Exception):
    """Bad command line or experiment file: exit 2."""


class DataError(Exception):
    """Dataset missing or corrupt: exit 3."""


class Interrupted(Exception):
    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# --------------------------------------------------------------------------- experiment file

def load_experiment(path, overrides=(), engine=None):
    """The resolved experiment (defaults filled in, `overrides` such as ["--epochs", "2"]
    applied) as the engine's `run_experiment --dry-run` prints it: the engine is the one
    validator of experiment files. Raises UsageError with its message."""
    try:
        return mlpbench_inputs.resolve_experiment(path, engine, overrides)
    except mlpbench_inputs.ExperimentError as e:
        raise UsageError(str(e)) from None


# The keys of a resolved experiment this peer trains as they say. `shards` is among them: it only
# fixes the engine's summation order (the C++ peers ignore it too).
HONOURED_KEYS = {"$schema", "name", "description", "dataset", "model", "loss", "optimizer",
                 "epochs", "batch_size", "shuffle", "seed", "threads", "shards", "reference",
                 "target_accuracy", "target_metric"}
OPTIMIZER_FIELDS = {"adam": {"name", "learning_rate", "beta_1", "beta_2", "epsilon"},
                    "sgd": {"name", "learning_rate", "momentum", "nesterov"}}


def refuse_unsupported(exp, path):
    """Raises UsageError `path: /json/path: why` for what this peer would otherwise train
    differently from the experiment (the C++ peers refuse the same, bench/peers/peer_run.h)."""
    def refuse(where, why):
        raise UsageError(f"{path}: {where}: the PyTorch peer {why}")

    if exp.get("validation_split", 0) > 0:
        refuse("/validation_split", "trains on all training samples; use run_experiment for "
               "validation splits")
    if exp.get("callbacks"):
        refuse("/callbacks", "implements no callbacks; use run_experiment for them")
    for key in sorted(set(exp) - HONOURED_KEYS - {"validation_split", "callbacks"}):
        refuse(f"/{key}", "does not implement this key; use run_experiment")
    opt = exp["optimizer"]
    if opt.get("name") not in OPTIMIZER_FIELDS:
        refuse("/optimizer/name", f"implements adam and sgd, not {opt.get('name')!r}")
    for key in sorted(set(opt) - OPTIMIZER_FIELDS[opt["name"]]):
        refuse(f"/optimizer/{key}", f"does not implement this {opt['name']} field")
    rate = opt.get("learning_rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        refuse("/optimizer/learning_rate", "takes a constant learning rate only; use "
               "run_experiment or build/bench/libtorch_mlp for schedules")
    model = exp["model"]
    for i, layer in enumerate(model):
        wanted = ("softmax",) if i == len(model) - 1 else ("relu", "linear")
        if layer.get("activation") not in wanted:
            refuse(f"/model/{i}/activation", f"takes {' or '.join(wanted)} here, not "
                   f"{layer.get('activation')!r}")
    if model[-1].get("units") != NUM_CLASSES:
        refuse(f"/model/{len(model) - 1}/units", f"needs {NUM_CLASSES} output units")


# --------------------------------------------------------------------------- BLAS selection

def _loaded_libraries():
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and ".so" in parts[-1] and parts[-1] not in libs:
                    libs.append(parts[-1])
    except OSError:
        pass
    return libs


def preload_blas(choice):
    """Loads the chosen BLAS before torch/numpy (RTLD_GLOBAL). Returns a note or raises."""
    if choice == "system":
        return "system libblas.so.3"
    candidates = list(OPENBLAS_DIRS) if choice == "auto" else [choice]
    for name in candidates:
        path = os.path.join(OPENBLAS_DIRS[name], "libblas.so.3")
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError as e:
                raise UsageError(f"--blas {choice}: cannot load {path}: {e}") from None
            return path
    if choice != "auto":
        pkg = "libopenblas0-pthread" if choice == "openblas-pthread" else "libopenblas0-openmp"
        raise UsageError(f"--blas {choice}: {OPENBLAS_DIRS[choice]}/libblas.so.3 not found "
                         f"(apt-get install {pkg})")
    return "system libblas.so.3 (no Debian OpenBLAS found)"


class BlasInfo:
    """What BLAS torch ended up with, read after torch is imported."""

    def __init__(self):
        libs = _loaded_libraries()
        self.openblas_path = next((p for p in libs if "libopenblas" in os.path.basename(p)), None)
        self.blas_paths = [p for p in libs if os.path.basename(p).startswith(("libblas.so",
                                                                              "libopenblas"))]
        self.handle = None
        self.version = self.corename = self.config = self.threading = None
        if self.openblas_path:
            try:
                h = ctypes.CDLL(self.openblas_path)  # already loaded: same object
                h.openblas_get_config.restype = ctypes.c_char_p
                h.openblas_get_corename.restype = ctypes.c_char_p
                self.config = h.openblas_get_config().decode()
                self.corename = h.openblas_get_corename().decode()
                self.handle = h
                words = self.config.split()
                self.version = words[1] if len(words) > 1 else "?"
                self.threading = ("openmp" if "USE_OPENMP" in self.config else
                                  "pthreads" if h.openblas_get_parallel() == 1 else "serial")
            except (OSError, AttributeError):
                self.handle = None
        # Two different BLAS libraries mapped: which one sgemm_ binds to is not certain.
        dirs = {os.path.dirname(p) for p in self.blas_paths}
        self.ambiguous = len(dirs) > 1

    @property
    def is_openblas(self):
        return self.handle is not None

    def set_threads(self, n):
        if self.handle is not None:
            self.handle.openblas_set_num_threads(ctypes.c_int(n))

    def num_threads(self):
        return int(self.handle.openblas_get_num_threads()) if self.handle is not None else 1

    def describe(self):
        if self.is_openblas:
            text = f"OpenBLAS {self.version} ({self.threading}, kernel {self.corename})"
        else:
            ref = next((p for p in self.blas_paths), None)
            text = ("reference BLAS (netlib, single-threaded): " + (ref or "libblas.so.3 not mapped")
                    if ref is None or "/blas/" in ref else f"BLAS {ref}")
        ct = os.environ.get("OPENBLAS_CORETYPE")
        if ct is not None:
            text += f" + OPENBLAS_CORETYPE={ct}"
        l2 = os.environ.get("OPENBLAS_L2_SIZE")
        if l2 is not None:
            text += f" + OPENBLAS_L2_SIZE={l2}"
        return text

    def to_json(self):
        return {"library": self.openblas_path or (self.blas_paths[0] if self.blas_paths else None),
                "openblas_config": self.config, "openblas_corename": self.corename,
                "threading": self.threading, "ambiguous": self.ambiguous}


def threadpoolctl_info():
    try:
        import threadpoolctl
    except ImportError:
        return None
    try:
        return [{k: v for k, v in d.items() if k in ("internal_api", "version", "architecture",
                                                     "threading_layer", "num_threads",
                                                     "filepath")}
                for d in threadpoolctl.threadpool_info()]
    except Exception:  # noqa: BLE001 - a diagnostic only
        return None


# --------------------------------------------------------------------------- dataset

def load_split(data_dir, dataset, split, limit, np):
    """(x [n, 784] float32 in [0, 1], y [n] int64), read by mlpbench.inputs."""
    try:
        images, labels = mlpbench_inputs.load_split(data_dir, dataset, split, limit)
    except mlpbench_inputs.DataError as e:
        hint = ""
        if dataset == "fashion-mnist" and os.path.isdir("/usr/share/datasets/fashion-mnist"):
            hint = (" (Debian's dataset-fashion-mnist has it in "
                    "/usr/share/datasets/fashion-mnist: link it there)")
        raise DataError(f"{e}{hint}") from None
    if images.shape[1] * images.shape[2] != INPUT_FEATURES:
        raise DataError(f"{dataset} {split}: expected images of 28x28 = {INPUT_FEATURES} "
                        f"pixels, got {images.shape[1]}x{images.shape[2]}")
    n = images.shape[0]
    x = images.reshape(n, INPUT_FEATURES).astype(np.float32) / np.float32(255.0)
    return x, labels.astype(np.int64)


# --------------------------------------------------------------------------- log

def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def git_commit():
    try:
        out = subprocess.run(["git", "-C", REPO_ROOT, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode != 0 or not out.stdout.strip():
            return "unknown"
        commit = out.stdout.strip()
        # "-dirty": sources differ from the commit (results and prose don't count)
        dirty = subprocess.run(["git", "-C", REPO_ROOT, "status", "--porcelain",
                                "--untracked-files=no", "--", ".", ":(exclude)results",
                                ":(exclude)*.md"], capture_output=True, text=True, timeout=10)
        return commit + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model(info):
    return info.get("model name") or "unknown"


def _finite_or_none(v):
    return v if v is not None and math.isfinite(v) else None


def write_json_atomic(path, data):
    """`data` as the whole of `path`, by mlpbench_files' rules (never over an input, a link or
    a special file; a reader sees the old file or the new one)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with mlpbench_files.atomic_output(path) as f:
        json.dump(data, f, indent=2, allow_nan=False)
        f.write("\n")


def make_summary(epochs, wall_seconds, exp):
    accs = [e["test_accuracy"] for e in epochs if e["test_accuracy"] is not None]
    secs = [e["train_seconds"] for e in epochs]
    summary = {
        "final_test_accuracy": epochs[-1]["test_accuracy"] if epochs else None,
        "best_test_accuracy": max(accs) if accs else None,
        "total_train_seconds": sum(secs) if secs else 0.0,
        "mean_epoch_seconds": statistics.fmean(secs) if secs else None,
        "median_epoch_seconds": statistics.median(secs) if secs else None,
        "wall_seconds": wall_seconds,
    }
    if epochs:  # no callbacks here: the run ends with the last epoch's weights (docs/run-log.md)
        last = epochs[-1]
        summary.update(weights_epoch=last["epoch"], restored_epoch=None,
                       final_test_loss=last["test_loss"], last_epoch=last["epoch"],
                       last_epoch_test_accuracy=last["test_accuracy"],
                       last_epoch_test_loss=last["test_loss"])
    if "target_accuracy" in exp:  # as the engine's log: the first epoch at or above the target
        summary.update(target_accuracy=exp["target_accuracy"], target_metric=exp["target_metric"],
                       epochs_to_target=None, time_to_target_seconds=None,
                       eval_seconds_to_target=None)
        train = evaluation = 0.0
        for e in epochs:
            train += e["train_seconds"]
            evaluation += e["eval_seconds"]
            reached = e.get(exp["target_metric"])
            if reached is not None and reached >= exp["target_accuracy"]:
                summary.update(epochs_to_target=e["epoch"], time_to_target_seconds=train,
                               eval_seconds_to_target=evaluation)
                break
    return summary


# --------------------------------------------------------------------------- training

def flops_per_sample(exp):
    """2 x (forward + weight-gradient + input-gradient multiply-adds); no input gradient for
    the first layer."""
    ins = [INPUT_FEATURES] + [l["units"] for l in exp["model"][:-1]]
    outs = [l["units"] for l in exp["model"]]
    macs = sum(i * o for i, o in zip(ins, outs))
    return 2 * macs * 3 - 2 * ins[0] * outs[0]


class Mlp:
    """Dense layers in Keras layout: W [in, out], b [out]; y = x W + b."""

    def __init__(self, exp, seed, torch):
        self.torch = torch
        g = torch.Generator().manual_seed(seed)
        self.acts = [l["activation"] for l in exp["model"]]
        self.params = []
        fan_in = INPUT_FEATURES
        for layer in exp["model"]:
            fan_out = layer["units"]
            limit = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform
            w = torch.rand(fan_in, fan_out, generator=g, dtype=torch.float64)
            w = ((w * 2.0 - 1.0) * limit).to(torch.float32)
            b = torch.zeros(fan_out, dtype=torch.float32)
            self.params += [w.requires_grad_(), b.requires_grad_()]
            fan_in = fan_out

    def logits(self, x):
        h = x
        for i, act in enumerate(self.acts):
            h = self.torch.addmm(self.params[2 * i + 1], h, self.params[2 * i])
            if act == "relu":
                h = h.relu_()
            # the last layer's softmax lives in the loss (cross-entropy on logits)
        return h


class KerasAdam:
    def __init__(self, params, opt, torch):
        self.torch = torch
        self.params = params
        self.lr, self.b1, self.b2, self.eps = (opt["learning_rate"], opt["beta_1"],
                                               opt["beta_2"], opt["epsilon"])
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0
        self.foreach = hasattr(torch, "_foreach_addcdiv_")

    def step(self, grads):
        t = self.torch
        self.t += 1
        lr_t = self.lr * math.sqrt(1.0 - self.b2 ** self.t) / (1.0 - self.b1 ** self.t)
        with t.no_grad():
            if self.foreach:
                t._foreach_mul_(self.m, self.b1)
                t._foreach_add_(self.m, grads, alpha=1.0 - self.b1)
                t._foreach_mul_(self.v, self.b2)
                t._foreach_addcmul_(self.v, grads, grads, value=1.0 - self.b2)
                denom = t._foreach_sqrt(self.v)
                t._foreach_add_(denom, self.eps)
                t._foreach_addcdiv_(self.params, self.m, denom, value=-lr_t)
            else:
                for p, g, m, v in zip(self.params, grads, self.m, self.v):
                    m.mul_(self.b1).add_(g, alpha=1.0 - self.b1)
                    v.mul_(self.b2).addcmul_(g, g, value=1.0 - self.b2)
                    p.addcdiv_(m, v.sqrt().add_(self.eps), value=-lr_t)


class KerasSgd:
    def __init__(self, params, opt, torch):
        self.torch = torch
        self.params = params
        self.lr, self.mom, self.nesterov = opt["learning_rate"], opt["momentum"], opt["nesterov"]
        self.vel = [torch.zeros_like(p) for p in params] if self.mom > 0 else None

    def step(self, grads):
        with self.torch.no_grad():
            if self.vel is None:
                for p, g in zip(self.params, grads):
                    p.add_(g, alpha=-self.lr)
                return
            for p, g, v in zip(self.params, grads, self.vel):
                v.mul_(self.mom).add_(g, alpha=-self.lr)       # v = momentum v - lr g
                if self.nesterov:
                    p.add_(v, alpha=self.mom).add_(g, alpha=-self.lr)
                else:
                    p.add_(v)


def evaluate(model, x, y, batch, torch, F):
    n = x.shape[0]
    loss_sum, correct = 0.0, 0
    with torch.inference_mode():
        for s in range(0, n, batch):
            xb, yb = x[s:s + batch], y[s:s + batch]
            logits = model.logits(xb)
            loss_sum += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(dim=1) == yb).sum())
    return loss_sum / n, correct / n


def _fmt_secs(s):
    return f"{s:.1f}s" if s < 100 else f"{s:.0f}s"


# --------------------------------------------------------------------------- main

def build_parser():
    p = argparse.ArgumentParser(
        prog="pytorch_mlp.py",
        description="Train an mlpbench experiment with PyTorch (Keras semantics) and write an "
                    "mlpbench.run/1 log.")
    p.add_argument("experiment", nargs="?", help="experiment JSON file")
    p.add_argument("--threads", type=int, help="torch / BLAS threads (default: the experiment's "
                   "threads, 0 or absent meaning all cores)")
    p.add_argument("--epochs", type=int, help="override the experiment's epochs")
    p.add_argument("--batch-size", type=int, help="override the experiment's batch_size")
    p.add_argument("--seed", type=int, help="override the experiment's seed")
    p.add_argument("--train-limit", type=int, default=0, help="use only the first N training "
                   "samples (0: all)")
    p.add_argument("--test-limit", type=int, default=0, help="use only the first N test samples "
                   "(0: all)")
    p.add_argument("--data-dir", help="dataset folder (default $MLPBENCH_DATA or <repo>/data)")
    p.add_argument("--out", help="log path (default results/runs/<name>/<UTC stamp>-pytorch-"
                   "t<threads>.json under the repo)")
    p.add_argument("--force", action="store_true", help="overwrite an existing log at --out")
    p.add_argument("--eval-batch-size", type=int, default=1000,
                   help="batch size of the test-set evaluation (default 1000)")
    p.add_argument("--blas", choices=("auto", "openblas-pthread", "openblas-openmp", "system"),
                   default=os.environ.get("MLPBENCH_PEER_BLAS", "auto"),
                   help="BLAS for torch's GEMMs: auto (Debian OpenBLAS, pthreads build first, "
                   "if installed; else the system libblas.so.3), a named OpenBLAS build, or "
                   "system (whatever libblas.so.3 points to). Default $MLPBENCH_PEER_BLAS or auto")
    p.add_argument("--config-name", default="default",
                   help="label recorded as build.peer_config.name (side_by_side.py sets it)")
    p.add_argument("--probe-blas", action="store_true",
                   help="print the BLAS that torch uses (JSON) and exit")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def main(argv):
    t_wall = time.perf_counter()
    args = build_parser().parse_args(argv)
    for opt in ("threads", "train_limit", "test_limit"):
        v = getattr(args, opt)
        if v is not None and v < 0:
            raise UsageError(f"--{opt.replace('_', '-')}: expected an integer >= 0, got {v}")
    for opt in ("epochs", "batch_size", "eval_batch_size"):
        v = getattr(args, opt)
        if v is not None and v < 1:
            raise UsageError(f"--{opt.replace('_', '-')}: expected a positive integer, got {v}")
    if args.seed is not None and not (0 <= args.seed < 1 << 63):
        raise UsageError(f"--seed: expected an integer in [0, 2^63), got {args.seed}")
    for opt in ("experiment", "data_dir", "out", "config_name"):  # "" would mean "not given"
        if getattr(args, opt) == "":
            raise UsageError(f"--{opt.replace('_', '-')}: an empty value" if opt != "experiment"
                             else "experiment: an empty value")

    exp = None
    if not args.probe_blas:
        if not args.experiment:
            raise UsageError("an EXPERIMENT.json argument is required")
        overrides = []
        for key in ("epochs", "batch_size", "seed"):
            if getattr(args, key) is not None:
                overrides += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
        exp = load_experiment(args.experiment, overrides)
        refuse_unsupported(exp, args.experiment)

    # BLAS first, then the libraries that link it.
    preload_blas(args.blas)
    import numpy as np
    import torch
    import torch.nn.functional as F

    blas = BlasInfo()
    n_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = args.threads if args.threads is not None else (exp or {}).get("threads", 0)
    if not threads:
        threads = n_cores or 1
    # Denormals flushed to zero, as TensorFlow (the Keras reference) and the engine run. Set
    # before any worker thread starts: new threads inherit the creating thread's mode.
    flush_denormals = bool(torch.set_flush_denormal(True))
    torch.set_num_threads(threads)
    blas.set_threads(threads)

    if args.probe_blas:
        print(json.dumps({"blas": blas.describe(), "is_openblas": blas.is_openblas,
                          "corename": blas.corename, "details": blas.to_json(),
                          "torch_threads": torch.get_num_threads(),
                          "blas_threads": blas.num_threads(),
                          "threadpoolctl": threadpoolctl_info(),
                          "env": {k: os.environ.get(k, "unset") for k in ENV_KEYS}}, indent=2))
        return EXIT_OK

    exp["threads"] = threads
    if not blas.is_openblas and not args.quiet:
        print(f"pytorch_mlp: warning: torch is not using OpenBLAS ({blas.describe()}); "
              "apt-get install libopenblas0-pthread for a fair peer", file=sys.stderr)
    if blas.ambiguous:
        print("pytorch_mlp: warning: several BLAS libraries are mapped "
              f"({', '.join(blas.blas_paths)}): which one torch calls is uncertain",
              file=sys.stderr)

    data_dir = args.data_dir or os.environ.get("MLPBENCH_DATA") or os.path.join(REPO_ROOT, "data")
    x_train, y_train = load_split(data_dir, exp["dataset"], "train", args.train_limit, np)
    x_test, y_test = load_split(data_dir, exp["dataset"], "test", args.test_limit, np)
    x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
    x_test, y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
    n_train, n_test = x_train.shape[0], x_test.shape[0]

    started = utc_now()
    out = args.out or os.path.join(REPO_ROOT, "results", "runs", exp["name"],
                                   f"{started.strftime('%Y%m%dT%H%M%SZ')}-pytorch-t{threads}.json")
    if os.path.lexists(out) and not args.force:
        raise UsageError(f"{out}: log exists (use --force to overwrite)")
    try:
        mlpbench_files.check_output(out, inputs=(args.experiment,))
    except mlpbench_files.ToolError as e:
        raise UsageError(str(e)) from None

    tv = torch.__version__
    info = cpuinfo()
    log = {
        "schema": "mlpbench.run/1",
        "status": "running",
        "experiment": exp,
        "build": {
            "version": tv, "git_commit": git_commit(), "compiler": f"PyTorch {tv}",
            "build_type": "python", "cxx_flags": "", "simd_config": "peer",
            "simd_targets_compiled": [], "openmp": True, "blas": blas.describe(),
            "peer_config": {
                "name": args.config_name, "threads": threads,
                "torch_threads": torch.get_num_threads(), "blas_threads": blas.num_threads(),
                "blas_choice": args.blas, "blas_library": blas.to_json()["library"],
                "openblas_corename": blas.corename,
                **{k: os.environ.get(k, "unset") for k in ENV_KEYS},
                "python": sys.version.split()[0], "numpy": np.__version__,
            },
        },
        "host": {"cpu_model": cpu_model(info), "cpu_id": cpu_id(), "caches": dict(caches()),
                 "logical_cpus": os.cpu_count(),
                 "simd_targets_supported": [], "hostname": socket.gethostname()},
        "run": {"threads": threads, "simd_target": "OpenBLAS" if blas.is_openblas else "BLAS",
                "flush_denormals": flush_denormals,
                "seed": exp["seed"], "started_utc": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "train_samples": n_train, "test_samples": n_test},
        "epochs": [],
        "summary": make_summary([], time.perf_counter() - t_wall, exp),
    }
    write_json_atomic(out, log)

    def on_signal(signum, _frame):
        raise Interrupted(signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    # From here on every failure ends the log with a final status (docs/run-log.md), never
    # "running".
    status, code = "completed", EXIT_OK
    try:
        torch.manual_seed(exp["seed"])
        # Separate streams for init and shuffling, both from the seed alone.
        model = Mlp(exp, exp["seed"], torch)
        opt_cls = KerasAdam if exp["optimizer"]["name"] == "adam" else KerasSgd
        optimizer = opt_cls(model.params, exp["optimizer"], torch)
        shuffle_gen = torch.Generator().manual_seed(exp["seed"] ^ 0x5DEECE66D)
        fps = flops_per_sample(exp)
        batch = exp["batch_size"]
        steps = (n_train + batch - 1) // batch
        quiet = args.quiet
        tty = sys.stderr.isatty() and not quiet
        if not quiet:
            dims = "-".join(str(d) for d in [INPUT_FEATURES] + [l["units"] for l in exp["model"]])
            print(f"pytorch_mlp: {exp['name']}: {dims} {exp['optimizer']['name']}, "
                  f"{exp['dataset']} {n_train}/{n_test}, batch {batch}, torch {tv}, {blas.describe()}, "
                  f"{threads} thread(s)", file=sys.stderr)

        for epoch in range(1, exp["epochs"] + 1):
            if not quiet:
                print(f"Epoch {epoch}/{exp['epochs']}", file=sys.stderr)
            t0 = time.perf_counter()
            order = (torch.randperm(n_train, generator=shuffle_gen) if exp["shuffle"] else None)
            loss_sum, correct, seen, done = 0.0, 0, 0, 0
            diverged = False
            next_tick = t0 + 0.25
            for s in range(0, n_train, batch):
                if order is not None:
                    idx = order[s:s + batch]
                    xb, yb = x_train.index_select(0, idx), y_train.index_select(0, idx)
                else:
                    xb, yb = x_train[s:s + batch], y_train[s:s + batch]
                logits = model.logits(xb)
                loss = F.cross_entropy(logits, yb)
                grads = torch.autograd.grad(loss, model.params)
                optimizer.step(grads)
                lv = loss.item()
                nb = yb.shape[0]
                loss_sum += lv * nb
                correct += int((logits.detach().argmax(dim=1) == yb).sum())
                seen += nb
                done += 1
                if not math.isfinite(lv):
                    diverged = True
                    break
                if tty and time.perf_counter() >= next_tick:
                    next_tick += 0.25
                    print(f"\r{done}/{steps} - loss: {loss_sum / seen:.4f} - accuracy: "
                          f"{correct / seen:.4f}", end="", file=sys.stderr, flush=True)
            train_s = time.perf_counter() - t0
            if tty:
                print("\r\033[K", end="", file=sys.stderr)
            rec = {"epoch": epoch,
                   "train_loss": _finite_or_none(loss_sum / seen),
                   "train_accuracy": correct / seen,
                   "test_loss": None, "test_accuracy": None,
                   "train_seconds": train_s, "eval_seconds": 0.0,
                   "samples_per_second": seen / train_s,
                   "gflops": fps * seen / train_s / 1e9,
                   "steps": done}
            if diverged:
                log["epochs"].append(rec)
                status, code = "diverged", EXIT_DIVERGED
                print(f"pytorch_mlp: training diverged at epoch {epoch}, step {done} "
                      f"(loss {lv})", file=sys.stderr)
                break
            t1 = time.perf_counter()
            test_loss, test_acc = evaluate(model, x_test, y_test, args.eval_batch_size, torch, F)
            rec["eval_seconds"] = time.perf_counter() - t1
            rec["test_loss"], rec["test_accuracy"] = _finite_or_none(test_loss), test_acc
            log["epochs"].append(rec)
            log["summary"] = make_summary(log["epochs"], time.perf_counter() - t_wall, exp)
            write_json_atomic(out, log)
            if not quiet:
                print(f"{done}/{steps} - {_fmt_secs(train_s)} - loss: {rec['train_loss']:.4f} - "
                      f"accuracy: {rec['train_accuracy']:.4f} - test_loss: {test_loss:.4f} - "
                      f"test_accuracy: {test_acc:.4f} (eval {rec['eval_seconds']:.2f}s, "
                      f"{rec['samples_per_second']:.0f} samples/s, {rec['gflops']:.1f} GFLOP/s)",
                      file=sys.stderr)
            if rec["test_loss"] is None:
                status, code = "diverged", EXIT_DIVERGED
                print(f"pytorch_mlp: test loss not finite after epoch {epoch}", file=sys.stderr)
                break
    except Interrupted as e:
        status = "interrupted"
        code = 128 + e.signum
        print(f"\npytorch_mlp: interrupted by {e}", file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - any error: the log says "failed" and why
        status, code = "failed", EXIT_OTHER
        log["error"] = f"{type(e).__name__}: {e}"
        print(f"pytorch_mlp: {out}: run failed: {log['error']}", file=sys.stderr)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    log["status"] = status
    log["summary"] = make_summary(log["epochs"], time.perf_counter() - t_wall, exp)
    write_json_atomic(out, log)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    print(out)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        print(f"pytorch_mlp: {e}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except DataError as e:
        print(f"pytorch_mlp: {e}", file=sys.stderr)
        sys.exit(EXIT_DATA)
    except mlpbench_files.ToolError as e:  # the log could not be written
        print(f"pytorch_mlp: {e}", file=sys.stderr)
        sys.exit(EXIT_OTHER)
    except Interrupted as e:
        print(f"pytorch_mlp: interrupted by {e}", file=sys.stderr)
        sys.exit(128 + e.signum)
    except KeyboardInterrupt:
        sys.exit(130)
