"""Distributed-training checks run by CTest through FindMPI's launcher (tests/CMakeLists.txt).

Each check launches run_experiment under MPI and compares with a one-process run of the same
experiment and shard count: per-epoch numbers and saved weights must be bitwise equal.
Exits 77 (CTest: skipped) when real MNIST is not available.
"""
import argparse
import fcntl
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
EPOCH_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "steps")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("check", choices=["equal", "weak", "resume", "sigterm", "failed", "targets", "refuse"])
    p.add_argument("--mpiexec", required=True)
    p.add_argument("--np-flag", default="-n")
    p.add_argument("--preflags", default="")
    p.add_argument("--run-experiment", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--experiment", default="experiments/mlp512_5ep.json")
    p.add_argument("--ranks", default="2,4")
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--train-limit", type=int, default=1000)
    p.add_argument("--test-limit", type=int, default=500)
    p.add_argument("--epochs", type=int, default=2)
    return p.parse_args()


def data_dir(source):
    d = os.environ.get("MLPBENCH_DATA") or os.path.join(source, "data")
    return d if os.path.exists(os.path.join(d, "mnist", "train-images-idx3-ubyte")) else None


class Runner:
    def __init__(self, a, data, tmp):
        self.a, self.data, self.tmp = a, data, tmp
        # OpenMPI refuses root without these; oversubscription lets 4 ranks share 2 cores.
        self.env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                        OMPI_MCA_rmaps_base_oversubscribe="1")

    def common(self, extra):
        a = self.a
        return [a.run_experiment, "--quiet", "--data-dir", self.data, "--train-limit", str(a.train_limit),
                "--test-limit", str(a.test_limit), "--threads", "1"] + extra

    def launch(self, ranks, args):
        a = self.a
        return ([a.mpiexec, a.np_flag, str(ranks)] + shlex.split(a.preflags) + ["--oversubscribe"] +
                self.common(args + ["--distributed"]))

    def run(self, cmd, expect=0, timeout=600):
        r = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if r.returncode != expect:
            sys.exit(f"FAIL: {' '.join(cmd)}\nexit {r.returncode}, expected {expect}\n{r.stdout}\n{r.stderr}")
        return r

    def path(self, name):
        return os.path.join(self.tmp, name)


def load(path):
    with open(path) as f:
        return json.load(f)


def same_numbers(want_log, got_log, what):
    a, b = load(want_log), load(got_log)
    if len(a["epochs"]) != len(b["epochs"]) or not a["epochs"]:
        sys.exit(f"FAIL {what}: {len(a['epochs'])} epochs against {len(b['epochs'])}")
    for ea, eb in zip(a["epochs"], b["epochs"]):
        for k in EPOCH_KEYS:
            if ea[k] != eb[k]:
                sys.exit(f"FAIL {what}: epoch {ea['epoch']} {k}: {ea[k]!r} against {eb[k]!r}")


def same_file(a, b, what):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        if fa.read() != fb.read():
            sys.exit(f"FAIL {what}: {a} and {b} differ")


def check_equal(r, a):
    exp = os.path.join(a.source, a.experiment)
    base = ["--shards", str(a.shards), "--epochs", str(a.epochs), exp]
    one_log, one_w = r.path("one.json"), r.path("one.safetensors")
    r.run(r.common(base + ["--out", one_log, "--save-weights", one_w]))
    for ranks in [int(x) for x in a.ranks.split(",")]:
        log, w = r.path(f"r{ranks}.json"), r.path(f"r{ranks}.safetensors")
        r.run(r.launch(ranks, base + ["--out", log, "--save-weights", w]))
        same_numbers(one_log, log, f"{ranks} ranks against one process")
        same_file(one_w, w, f"weights of {ranks} ranks against one process")
        d = load(log)["distributed"]
        assert d["ranks"] == ranks and d["shards"] == a.shards, d
        assert len(d["epochs"]) == a.epochs and len(d["epochs"][0]["ranks"]) == ranks, d["epochs"]
        print(f"{ranks} ranks: bitwise equal to one process ({a.shards} shards)")


def check_weak(r, a):
    """Weak scaling: R ranks of --batch-size-per-rank N compute what one process computes with
    --batch-size N x R, the same shards and learning-rate rule (linear, one epoch of warmup);
    the log's distributed object and per-epoch rates say so."""
    exp = os.path.join(a.source, a.experiment)
    e = load(exp)
    b0, lr0 = e["batch_size"], e["optimizer"]["learning_rate"]
    glob = 64
    rule = ["--lr-scaling", "linear", "--warmup-epochs", "1", "--shards", str(a.shards),
            "--epochs", str(a.epochs), exp]
    one_log, one_w = r.path("one.json"), r.path("one.safetensors")
    r.run(r.common(rule + ["--batch-size", str(glob), "--out", one_log, "--save-weights", one_w]))
    steps = -(-min(a.train_limit, 60000) // glob)
    scaled = lr0 * glob / b0
    for ranks in [int(x) for x in a.ranks.split(",")]:
        log, w = r.path(f"w{ranks}.json"), r.path(f"w{ranks}.safetensors")
        per_rank = glob // ranks
        r.run(r.launch(ranks, rule + ["--batch-size-per-rank", str(per_rank), "--out", log, "--save-weights", w]))
        same_numbers(one_log, log, f"{ranks} ranks of {per_rank} rows against one process of {glob}")
        same_file(one_w, w, f"weights of {ranks} ranks against one process")
        j = load(log)
        d = j["distributed"]
        assert (d["scaling"], d["global_batch"], d["batch_per_rank"]) == ("weak", glob, per_rank), d
        assert d["learning_rate"] == scaled == j["experiment"]["optimizer"]["learning_rate"], (d, scaled)
        assert d["lr_scaling"] == {"rule": "linear", "base_batch_size": b0, "base_learning_rate": lr0,
                                   "warmup_epochs": 1, "warmup_steps": steps}, d["lr_scaling"]
        first, second = j["epochs"][0], j["epochs"][1]
        # Update 1 runs at the unscaled rate, the last warmup update at 1/steps below the scaled
        # one, and the epoch after the warmup at the scaled rate.
        assert abs(first["learning_rate"] - lr0) <= 1e-15, first
        want_end = scaled * (b0 / glob + (1 - b0 / glob) * (steps - 1) / steps)
        assert abs(first["learning_rate_end"] - want_end) <= 1e-15, (first, want_end)
        assert second["learning_rate"] == scaled == second["learning_rate_end"], second
        print(f"{ranks} ranks x {per_rank} rows: bitwise one process with batch {glob}; "
              f"linear rule {lr0} -> {scaled} warmed up over {steps} steps")


def check_resume(r, a):
    """Interrupt-free resume across rank counts: checkpoint after epoch 1 with 2 ranks, finish
    with 4 ranks and in one process; both end bitwise where an uninterrupted run ends. Resuming
    with another reduction, or while another process holds the run's lock, is refused."""
    exp = os.path.join(a.source, a.experiment)
    base = ["--shards", str(a.shards), "--epochs", "2", exp]
    full = r.path("full.json")
    r.run(r.common(base + ["--out", full]))
    part, ckpt = r.path("part.json"), r.path("part.ckpt")
    r.run(r.launch(2, base + ["--out", part, "--checkpoint", ckpt, "--checkpoint-every", "1"]))
    for ranks, how in ((4, "4 ranks"), (0, "one process")):
        log = r.path(f"resumed{ranks}.json")
        args = ["--resume", ckpt, "--out", log, "--force"]
        r.run(r.launch(ranks, args) if ranks else r.common(args))
        same_numbers(full, log, f"resumed with {how}")
        print(f"resumed from a 2-rank checkpoint with {how}: bitwise the uninterrupted run")
    # MPI_Allreduce sums otherwise than the tree: the checkpoint's run is not continued with it.
    log = r.path("resumed-mpi.json")
    res = r.run(r.launch(2, ["--resume", ckpt, "--reduction", "mpi", "--out", log]), expect=2)
    assert "--reduction: the checkpoint's run used tree, this command line says mpi" in res.stderr, res.stderr
    assert not os.path.exists(log), log
    print("resumed with --reduction mpi: refused, naming both")
    # Another process writing this run (it holds the checkpoint's lock): rank 0 refuses and ends
    # the job instead of leaving rank 1 waiting for it.
    with open(ckpt + ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        res = subprocess.run(r.launch(2, ["--resume", ckpt, "--out", log]), env=r.env, capture_output=True,
                             text=True, timeout=300)
    if res.returncode == 0 or "is writing this run" not in res.stderr:
        sys.exit(f"FAIL: a resume of a locked checkpoint: exit {res.returncode}\n{res.stderr}")
    assert not os.path.exists(log), log
    print("resumed while another process holds the run's lock: refused, the job ended")


def check_sigterm(r, a):
    exp = os.path.join(a.source, a.experiment)
    log, ckpt = r.path("term.json"), r.path("term.ckpt")
    cmd = r.launch(2, ["--shards", str(a.shards), "--epochs", "5000", exp, "--out", log, "--checkpoint", ckpt])
    p = subprocess.Popen(cmd, env=r.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (os.path.exists(log) and load(log)["epochs"]):
        time.sleep(0.2)  # wait for training to be under way (one epoch logged)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    # The ranks exit 143; Open MPI's mpirun, itself signalled, reports its own status (1).
    if p.returncode == 0:
        sys.exit(f"FAIL: mpirun exited 0 after SIGTERM\n{out}\n{err}")
    stops = sorted(re.findall(r"rank (\d+) of 2: stopped by SIGTERM at (epoch \d+, step \d+)", err))
    if len(stops) != 2 or stops[0][1] != stops[1][1]:
        sys.exit(f"FAIL: expected both ranks to stop at the same step, got {stops}\n{err}")
    j = load(log)
    assert j["status"] == "interrupted", j["status"]
    stopped = stops[0][1]
    if f"interrupted by SIGTERM at {stopped}" not in err:
        sys.exit(f"FAIL: rank 0's message does not name {stopped}\n{err}")
    # One valid checkpoint that a single process continues from.
    r.run(r.common(["--resume", ckpt, "--epochs", str(len(j["epochs"]) + 1), "--out", r.path("after.json"), "--force"]))
    print(f"SIGTERM: both ranks stopped at {stopped}, status interrupted, checkpoint resumable")


def check_failed(r, a):
    """A rank that fails after training started ends the log "failed" and the whole job.

    Another process takes the --save-weights path while the job trains: rank 0 must refuse to
    replace it, end its log "failed" naming the file, and end every rank (MPI_Abort) instead of
    leaving rank 1 waiting forever in its next collective. A job that finishes before the path
    is taken is retried with more epochs."""
    exp = os.path.join(a.source, a.experiment)
    for epochs in (200, 2000, 20000):
        log, weights = r.path(f"failed-{epochs}.json"), r.path(f"w-{epochs}.safetensors")
        cmd = r.launch(2, ["--shards", str(a.shards), "--epochs", str(epochs), exp, "--out", log,
                           "--save-weights", weights])
        p = subprocess.Popen(cmd, env=r.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None and not os.path.exists(log):
            time.sleep(0.05)  # the log exists: training is under way
        try:
            fd = os.open(weights, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, b"theirs")
            os.close(fd)
            ours = True
        except FileExistsError:
            ours = False
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            sys.exit(f"FAIL: the job did not end within 300 s after rank 0 failed\n{out}\n{err}")
        if not ours:
            if p.returncode != 0:
                sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{out}\n{err}")
            continue  # finished before the path could be taken: more epochs
        if p.returncode == 0:
            sys.exit(f"FAIL: the job exited 0 though its weights path was taken\n{out}\n{err}")
        if weights not in err:
            sys.exit(f"FAIL: the error does not name {weights}\n{err}")
        with open(weights, "rb") as f:
            if f.read() != b"theirs":
                sys.exit("FAIL: the other process's file was replaced")
        j = load(log)
        if j["status"] != "failed" or weights not in j.get("error", ""):
            sys.exit(f"FAIL: log status {j['status']!r}, error {j.get('error')!r}")
        if len(j["epochs"]) != epochs:
            sys.exit(f"FAIL: {len(j['epochs'])} epochs logged, expected {epochs}")
        print(f"rank 0 failed after {epochs} epochs: job ended (exit {p.returncode}), log \"failed\" "
              f"naming the file, the other process's file kept")
        return 0
    sys.exit("FAIL: every job finished before its weights path could be taken")


def check_targets(r, a):
    exp = os.path.join(a.source, a.experiment)
    targets = subprocess.run([a.run_experiment, "--list-targets"], capture_output=True, text=True).stdout
    supported = [t.strip() for t in targets.splitlines()[1].split(":", 1)[1].split(",")]
    if len(supported) < 2:
        print("one SIMD target only: nothing to mismatch")
        return SKIP
    args = ["--shards", "2", "--epochs", "1", exp, "--out", r.path("t.json")]
    cmd = ([a.mpiexec, a.np_flag, "1"] + shlex.split(a.preflags) + r.common(args + ["--distributed", "--simd-target", supported[0]]) +
           [":", a.np_flag, "1"] + shlex.split(a.preflags) + r.common(args + ["--distributed", "--simd-target", supported[1]]))
    res = r.run(cmd, expect=2)
    if "SIMD target" not in res.stderr or "ranks 1" not in res.stderr:
        sys.exit(f"FAIL: the refusal does not name the target and the rank:\n{res.stderr}")
    print("mismatched SIMD targets refused:", res.stderr.strip().splitlines()[0][:200])


def check_refuse(r, a):
    """Exit 2 without an MPI launcher, for a rank count that does not divide the shards, for weak-scaling
    batches out of range, and for a sweep."""
    exp = os.path.join(a.source, a.experiment)
    res = r.run(r.common(["--epochs", "1", exp, "--distributed", "--out", r.path("x.json")]), expect=2)
    assert "MPI launcher" in res.stderr or "without MPI" in res.stderr, res.stderr
    res = r.run(r.launch(2, ["--epochs", "1", "--shards", "1", exp, "--out", r.path("y.json")]), expect=2)
    assert "cannot share 1 shards" in res.stderr, res.stderr
    res = r.run(r.launch(2, ["--epochs", "1", "--shards", "4", "--batch-size-per-rank", "1", exp,
                             "--out", r.path("z.json")]), expect=2)
    assert "1 rows x 2 ranks = a global batch of 2, fewer rows than the 4 shards" in res.stderr, res.stderr
    res = r.run(r.launch(2, ["--epochs", "1", "--shards", "2", "--batch-size-per-rank", "40000", exp,
                             "--out", r.path("z.json")]), expect=2)
    assert "above the largest batch size 65536" in res.stderr, res.stderr
    # A sweep under mpirun would be run whole by every rank: refused before any rank writes.
    folder = r.path("sweep")
    res = r.run(r.launch(2, ["--epochs", "1", "--shards", "2", exp, "--sweep-batch-size", "32,64", "--out", folder]), expect=2)
    assert "--distributed: not with a sweep (--sweep-batch-size)" in res.stderr, res.stderr
    assert not os.path.exists(folder), folder
    # A rank reading other images (one pixel changed) would train other numbers: refused, naming it.
    other = r.path("other-data")
    os.makedirs(os.path.join(other, "mnist"))
    for name in os.listdir(os.path.join(r.data, "mnist")):
        src = os.path.join(r.data, "mnist", name)
        dst = os.path.join(other, "mnist", name)
        if name == "train-images-idx3-ubyte":
            with open(src, "rb") as f:
                pixels = bytearray(f.read())
            pixels[16 + 400] ^= 0xFF  # the first image's middle: within any --train-limit
            with open(dst, "wb") as f:
                f.write(pixels)
        else:
            os.symlink(src, dst)
    args = ["--quiet", "--train-limit", str(a.train_limit), "--test-limit", str(a.test_limit), "--threads", "1",
            "--epochs", "1", "--shards", "2", exp, "--distributed", "--out", r.path("d.json")]
    cmd = ([a.mpiexec, a.np_flag, "1"] + shlex.split(a.preflags) + [a.run_experiment, "--data-dir", r.data] + args +
           [":", a.np_flag, "1"] + shlex.split(a.preflags) + [a.run_experiment, "--data-dir", other] + args)
    res = r.run(cmd, expect=2)
    assert "data train_images" in res.stderr and "ranks 1" in res.stderr, res.stderr
    print("refused: no launcher; 2 ranks for 1 shard; weak-scaling batches too small or too large; a sweep; "
          "a rank reading other images")


def main():
    a = parse_args()
    data = data_dir(a.source)
    if data is None:
        print("real MNIST is not in data/ (tools/fetch_data.sh): skipped")
        return SKIP
    with tempfile.TemporaryDirectory() as tmp:
        r = Runner(a, data, tmp)
        return {"equal": check_equal, "weak": check_weak, "resume": check_resume, "sigterm": check_sigterm,
                "failed": check_failed, "targets": check_targets, "refuse": check_refuse}[a.check](r, a) or 0


if __name__ == "__main__":
    sys.exit(main())
