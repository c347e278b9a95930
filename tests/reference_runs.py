#!/usr/bin/python3
"""Reference runs of run_experiment: what a change to the control plane must leave unchanged.

    tests/reference_runs.py record OUT.json [--run-experiment BIN]
    tests/reference_runs.py compare REFERENCE.json [--run-experiment BIN]

Runs the two reference experiments (experiments/mlp512_5ep.json --epochs 1 and
experiments/mlp64_32_100ep.json --epochs 2, all data), and with small --train-limit a 2-rank
distributed run (weak scaling, a scaled and warmed-up rate), a sweep (batch sizes x threads), an
interrupted and resumed run and a --dry-run. From every log it keeps each value except what
depends on time, the host or the process (timings, pids, stamps, host load), and the set of its
field paths (list items folded into "[]"). `record` writes them; `compare` runs the same again
and reports every value that is not bitwise the same (the JSON text of each number) and every
field path added or missing.

Exit status: 0 same, 1 different, 2 bad usage or a run that failed, 77 the data or the SIMD
target of the reference are not on this machine (nothing to compare).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(HERE)
SKIP = 77
TIMEOUT = 1800  # seconds for one run on a busy 2-core machine

# Leaves whose values depend on time, the host or the process; their paths are still compared.
VOLATILE = re.compile(
    r"^/(build|host|writer)/"
    r"|^/run/(started_utc|run_id|host_noisy|host_noise_reasons|threads)$"
    r"|^/run/placement/"
    r"|^/epochs/\[\]/(train_seconds|eval_seconds|samples_per_second|gflops|barrier_us)$"
    r"|^/epochs/\[\]/phases/threads/"
    r"|^/summary/(wall_seconds|total_train_seconds|mean_epoch_seconds|median_epoch_seconds"
    r"|time_to_target_seconds|eval_seconds_to_target)$"
    r"|^/distributed/(mpi_library|rank_hosts/)"
    r"|^/distributed/epochs/\[\]/ranks/\[\]/(compute|reduction|optimizer|allgather|wait)/")
# Paths whose presence depends on the host's load during the run, or on where its threads ran.
VOLATILE_PATHS = re.compile(r"^/run/host_noise_reasons/|^/run/placement/(warnings|env)/")


def fail(msg, status=2):
    print(f"reference_runs: {msg}", file=sys.stderr)
    sys.exit(status)


def folded(path):
    return re.sub(r"/\d+(?=/|$)", "/[]", path)


def flatten(value, path=""):
    """(path with indices, leaf) pairs of a JSON document."""
    if isinstance(value, dict):
        if not value:
            yield path, {}
        for k, v in value.items():
            yield from flatten(v, f"{path}/{k}")
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for i, v in enumerate(value):
            yield from flatten(v, f"{path}/{i}")
    else:
        yield path, value


def describe_log(doc, tmp):
    """The log's values (as JSON text, temp paths replaced) and its set of field paths."""
    values, paths = {}, set()
    for path, leaf in flatten(doc):
        f = folded(path)
        if not VOLATILE_PATHS.match(f):
            paths.add(f)
        if not VOLATILE.match(f):
            values[path] = json.dumps(leaf, sort_keys=True).replace(tmp, "$TMP")
    return {"values": values, "paths": sorted(paths)}


class Runs:
    def __init__(self, binary, data, tmp):
        self.binary, self.data, self.tmp = binary, data, tmp
        self.env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                        OMPI_MCA_rmaps_base_oversubscribe="1")
        self.env.pop("MLPBENCH_FAULT_SIGNAL", None)

    def run(self, args, expect=0, env=None, launcher=()):
        cmd = list(launcher) + [self.binary, "--quiet", "--data-dir", self.data] + args
        try:
            r = subprocess.run(cmd, env=dict(self.env, **(env or {})), capture_output=True, text=True,
                               timeout=TIMEOUT, cwd=self.tmp)
        except subprocess.TimeoutExpired:
            fail(f"{' '.join(cmd)}: no end after {TIMEOUT} s")
        if r.returncode != expect:
            fail(f"{' '.join(cmd)}: exit {r.returncode}, expected {expect}\n{r.stderr}")
        return r.stdout.replace(self.tmp, "$TMP")

    def log(self, name):
        with open(os.path.join(self.tmp, name)) as f:
            return describe_log(json.load(f), self.tmp)

    def path(self, name):
        return os.path.join(self.tmp, name)


def experiment(name):
    return os.path.join(ROOT, "experiments", name)


def record_all(binary, data):
    out = {}
    tmp = tempfile.mkdtemp(prefix="reference_runs-")
    try:
        r = Runs(binary, data, tmp)
        small = ["--train-limit", "1200", "--test-limit", "300"]
        smoke = experiment("smoke.json")

        r.run([experiment("mlp512_5ep.json"), "--epochs", "1", "--out", r.path("mlp512.json"),
               "--save-weights", r.path("mlp512.safetensors")])
        out["mlp512_5ep --epochs 1"] = r.log("mlp512.json")
        with open(r.path("mlp512.safetensors"), "rb") as f:
            out["mlp512_5ep --epochs 1"]["weights_sha256"] = hashlib.sha256(f.read()).hexdigest()

        r.run([experiment("mlp64_32_100ep.json"), "--epochs", "2", "--out", r.path("mlp64.json")])
        out["mlp64_32_100ep --epochs 2"] = r.log("mlp64.json")

        mpirun = shutil.which("mpirun")
        if mpirun:
            r.run([smoke, "--distributed", "--shards", "2", "--threads", "1", "--epochs", "2",
                   "--batch-size-per-rank", "24", "--lr-scaling", "linear", "--warmup-epochs", "1",
                   "--out", r.path("dist.json")] + small,
                  launcher=(mpirun, "-n", "2", "--oversubscribe"))
            out["distributed 2 ranks"] = r.log("dist.json")

        stdout = r.run([smoke, "--sweep-batch-size", "32,64", "--sweep-threads", "1,2",
                        "--lr-scaling", "sqrt", "--out", r.path("sweep")] + small)
        for name in sorted(os.listdir(r.path("sweep"))):
            if name.endswith(".json"):
                out[f"sweep {name}"] = r.log(os.path.join("sweep", name))
        out["sweep stdout"] = stdout

        r.run([smoke, "--epochs", "3", "--out", r.path("resumed.json")] + small,
              expect=130, env={"MLPBENCH_FAULT_SIGNAL": "INT@50"})
        out["resume: interrupted"] = r.log("resumed.json")
        r.run(["--resume", r.path("resumed.ckpt")])
        out["resume: resumed"] = r.log("resumed.json")

        out["dry-run stdout"] = r.run([smoke, "--dry-run", "--batch-size", "64", "--lr-scaling", "sqrt",
                                       "--seed", "7", "--shards", "2"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def active_target(binary):
    r = subprocess.run([binary, "--list-targets"], capture_output=True, text=True, timeout=60)
    m = re.search(r"^default:\s*(\S+)", r.stdout, re.M)
    if r.returncode != 0 or not m:
        fail(f"{binary} --list-targets: exit {r.returncode}")
    return m.group(1)


def compare(want, got):
    problems = []
    for case in sorted(set(want) | set(got)):
        a, b = want.get(case), got.get(case)
        if a is None or b is None:
            problems.append(f"{case}: {'missing' if b is None else 'not in the reference'}")
        elif isinstance(a, str) or isinstance(b, str) or "values" not in a:
            if a != b:
                problems.append(f"{case}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}")
        else:
            for p in sorted(set(a["paths"]) - set(b["paths"])):
                problems.append(f"{case}: field {p} is missing")
            for p in sorted(set(b["paths"]) - set(a["paths"])):
                problems.append(f"{case}: field {p} is new")
            for p in sorted(set(a["values"]) | set(b["values"])):
                va, vb = a["values"].get(p), b["values"].get(p)
                if va != vb:
                    problems.append(f"{case}: {p}: {va} before, {vb} now")
            if a.get("weights_sha256") != b.get("weights_sha256"):
                problems.append(f"{case}: saved weights differ")
    return problems


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["record", "compare"])
    p.add_argument("file")
    p.add_argument("--run-experiment", default=os.path.join(ROOT, "build", "engine", "run_experiment"))
    p.add_argument("--data-dir", default=os.environ.get("MLPBENCH_DATA") or os.path.join(ROOT, "data"))
    a = p.parse_args()
    # The runs start in a temporary folder: paths given relative to here must still name the same files.
    a.run_experiment, a.data_dir = os.path.abspath(a.run_experiment), os.path.abspath(a.data_dir)
    if not os.access(a.run_experiment, os.X_OK):
        fail(f"--run-experiment: {a.run_experiment}: not an executable")
    if not os.path.exists(os.path.join(a.data_dir, "mnist", "train-images-idx3-ubyte")):
        fail(f"--data-dir: {a.data_dir}: no MNIST (tools/fetch_data.sh)", SKIP)
    target = active_target(a.run_experiment)
    if a.action == "compare":
        try:
            with open(a.file) as f:
                reference = json.load(f)
        except (OSError, ValueError) as e:
            fail(f"{a.file}: {e}")
        if reference.get("simd_target") != target:
            fail(f"{a.file}: recorded on SIMD target {reference.get('simd_target')}, this machine runs "
                 f"{target}: nothing to compare", SKIP)
        problems = compare(reference["runs"], record_all(a.run_experiment, a.data_dir))
        for line in problems:
            print(line)
        print(f"{len(reference['runs'])} reference outputs: "
              f"{'the same' if not problems else f'{len(problems)} differences'}")
        sys.exit(1 if problems else 0)
    runs = record_all(a.run_experiment, a.data_dir)
    tmp = a.file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"simd_target": target, "runs": runs}, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, a.file)
    print(f"{a.file}: {len(runs)} reference outputs on {target}")


if __name__ == "__main__":
    main()
