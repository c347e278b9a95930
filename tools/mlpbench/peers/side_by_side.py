"""Engine against its PyTorch peers on one experiment, interleaved, for several peer configurations.

    side_by_side.py EXPERIMENT.json [--engine PATH] [--libtorch-peer PATH] [--onednn-peer PATH]
                    [--threads N] [--rounds R] [--epochs N] [--batch-size N] [--train-limit N]
                    [--test-limit N] [--data-dir DIR] [--peer-config NAME ...] [--python PYTHON]
                    [--match-threads] [--timeout S] [--out-dir DIR] [--json-out PATH]

Three peers: Debian's Python PyTorch (pytorch_mlp.py), the libtorch C++ peer (libtorch_mlp,
built beside the engine when libtorch-dev is installed) and the oneDNN C++ peer (onednn_mlp,
built when libdnnl-dev is installed). The libtorch and onednn configurations run the C++ peers;
the rest run the Python one.

Each round runs, for every peer configuration in turn, the C++ engine and then the peer
(engine, peer, engine, peer, ...): both see the same machine conditions, so drifting background
load hits both sides alike. The order of the configurations rotates from round to round. The
engine always runs with the environment as it is and --threads N (with --match-threads: the
configuration's peer thread count); only the peer is varied.

Per configuration the report gives the median epoch time (the median over rounds of each run's
median epoch train_seconds) of engine and peer, their ratio peer/engine (> 1: the engine is
faster), and names the peer's best configuration. Everything is written under --out-dir
(default results/runs/<name>/side_by_side-<UTC stamp>/, ignored by git): every run's log,
stdout and stderr, summary.json (or --json-out) and summary.md; the Markdown table also goes to
stdout.

Exit status: 0 every run succeeded, 1 a run failed (the others are still reported), 2 bad
command line, experiment file or output (--json-out, a summary or a run's stdout or stderr that
is an input of this tool or of its runs, such as a dataset file, a link or a special file:
refused before the first run), 130 interrupted (what was measured is written).

Peer configurations (combine with '+', e.g. 1thread+passive, openmp+passive):
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

from mlpbench import REPO_ROOT
from mlpbench import cli as mlpbench_cli
from mlpbench import files as mlpbench_files
from mlpbench import inputs as mlpbench_inputs
from mlpbench import run_inputs
from mlpbench.peers import pytorch_mlp  # experiment parsing only; it imports torch lazily

PEER = os.path.join(REPO_ROOT, "bench", "peers", "pytorch_mlp.py")  # the peer's command
DEFAULT_ENGINE = mlpbench_inputs.DEFAULT_ENGINE
DEFAULT_CONFIGS = ("default", "1thread", "passive", "avx512", "libtorch", "onednn",
                   "onednn-1thread")

# name -> what it changes for the peer subprocess (never for the engine).
CONFIGS = {
    "default": {"doc": "the environment as it is; torch and BLAS threads = --threads; Debian "
                       "OpenBLAS (pthreads build) if installed"},
    "1thread": {"doc": "torch and BLAS on 1 thread (the engine keeps --threads): on 2 shared "
                       "cores a 1-thread peer can beat a 2-thread one", "threads": 1},
    "passive": {"doc": "OMP_WAIT_POLICY=PASSIVE: OpenMP threads sleep instead of spinning "
                       "between parallel regions", "set": {"OMP_WAIT_POLICY": "PASSIVE"}},
    "avx512": {"doc": "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed for the peer only, so "
                      "OpenBLAS picks its kernels for this CPU (AVX-512 on this machine)",
               "unset": ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]},
    "haswell": {"doc": "OPENBLAS_CORETYPE=Haswell: OpenBLAS pinned to its AVX2 kernels, as an "
                       "environment that sets the variable does", "set": {"OPENBLAS_CORETYPE":
                                                                         "Haswell"}},
    "openmp": {"doc": "Debian's OpenMP build of OpenBLAS (libopenblas0-openmp): BLAS shares "
                      "torch's OpenMP thread pool", "args": ["--blas", "openblas-openmp"]},
    "system-blas": {"doc": "whatever libblas.so.3 the system points to (possibly the slow "
                           "netlib reference BLAS)", "args": ["--blas", "system"]},
    # The libtorch C++ peer. Its best configuration: torch's intra-op pool on 1 thread (the
    # layers are small: an OpenMP team's fork, join and spin cost more than they share out) and
    # OpenBLAS on --threads pthreads for the GEMMs, with OpenBLAS free to pick this CPU's own
    # kernels (OPENBLAS_CORETYPE, and the L2 size pinned with it, removed for the peer only).
    "libtorch": {"doc": "the libtorch C++ peer, best configuration: 1 torch intra-op thread, "
                        "OpenBLAS on --threads threads, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE "
                        "unset", "peer": "libtorch", "torch_threads": 1,
                 "unset": ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]},
    "libtorch-threads": {"doc": "the libtorch C++ peer with torch and OpenBLAS both on "
                                "--threads threads, the environment as it is",
                         "peer": "libtorch"},
    # The oneDNN C++ peer: weights in oneDNN's formats, OpenMP's default (spinning) wait policy.
    # Which thread count is best depends on the model (bench/peers/README.md), so both run by
    # default; combine with passive for OMP_WAIT_POLICY=PASSIVE.
    "onednn": {"doc": "the oneDNN C++ peer on --threads OpenMP threads, weights in the formats "
                      "oneDNN picks", "peer": "onednn"},
    "onednn-1thread": {"doc": "the oneDNN C++ peer on 1 thread", "peer": "onednn", "threads": 1},
    "onednn-plain": {"doc": "the oneDNN C++ peer with plain weights ([in][out], Keras layout)",
                     "peer": "onednn", "peer_args": ["--weight-format", "io"]},
}
PEER_NAMES = {"python": "PyTorch (Python)", "libtorch": "libtorch (C++)", "onednn": "oneDNN (C++)"}
__doc__ += "".join(f"  {k:12s} {v['doc']}\n" for k, v in CONFIGS.items())


class UsageError(Exception):
    pass


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def resolve_config(name):
    """'a+b' -> merged changes; raises UsageError for unknown parts."""
    merged = {"name": name, "peer": "python", "threads": None, "torch_threads": None,
              "set": {}, "unset": [], "args": [], "peer_args": [], "doc": []}
    for part in name.split("+"):
        if part not in CONFIGS:
            raise UsageError(f"--peer-config: unknown configuration {part!r} (known: "
                             f"{', '.join(CONFIGS)}; combine with '+')")
        c = CONFIGS[part]
        for key in ("threads", "torch_threads"):
            if c.get(key) is not None:
                merged[key] = c[key]
        if c.get("peer"):
            merged["peer"] = c["peer"]
        merged["set"].update(c.get("set", {}))
        merged["unset"] += c.get("unset", [])
        merged["args"] += c.get("args", [])
        merged["peer_args"] += c.get("peer_args", [])
        merged["doc"].append(c["doc"])
    merged["doc"] = "; ".join(merged["doc"])
    if merged["peer"] == "libtorch" and (merged["args"] or merged["threads"] is not None):
        raise UsageError(f"--peer-config {name}: combines the libtorch peer with a Python-peer "
                         "option (BLAS choice or thread count)")
    if merged["peer"] == "onednn" and merged["args"]:
        raise UsageError(f"--peer-config {name}: combines the oneDNN peer with a Python-peer BLAS "
                         "choice")
    return merged


def peer_env(cfg):
    env = dict(os.environ)
    for k in cfg["unset"]:
        env.pop(k, None)
    env.update(cfg["set"])
    return env


def env_fingerprint(env):
    keys = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY", "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "GOMP_SPINCOUNT", "MLPBENCH_PEER_BLAS")
    return tuple((k, env.get(k)) for k in keys)


def run_logged(cmd, env, out_base, timeout):
    """Runs cmd; its stdout (after the command line) and stderr are written to out_base.stdout
    and .stderr by the tools' rules (whole, never through a link). Returns (returncode,
    seconds, stdout, the end of stderr)."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, stdin=subprocess.DEVNULL,
                              timeout=timeout)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "timeout", e.stdout or b"", e.stderr or b""
    seconds = time.perf_counter() - t0
    mlpbench_files.write_atomic(out_base + ".stdout", ("$ " + " ".join(cmd) + "\n").encode() + out)
    mlpbench_files.write_atomic(out_base + ".stderr", err)
    return rc, seconds, out.decode(errors="replace"), err.decode(errors="replace")[-2000:]


def run_outputs(out_dir, configs, rounds):
    """Every file the probes and rounds write in out_dir: each run's log, stdout and stderr."""
    for cfg in configs:
        yield from (os.path.join(out_dir, f"probe-{cfg['name']}{ext}")
                    for ext in (".stdout", ".stderr"))
        for rnd in range(1, rounds + 1):
            for side in ("engine", "peer"):
                yield from (os.path.join(out_dir, f"{side}-{cfg['name']}-r{rnd}{ext}")
                            for ext in (".json", ".stdout", ".stderr"))


def read_run(path):
    """Per-run numbers from an mlpbench.run/1 log (engine or peer)."""
    try:
        log = json.loads(mlpbench_files.read_bytes(path))
    except mlpbench_files.ToolError as e:
        raise ValueError(str(e)) from None
    if not isinstance(log, dict) or log.get("schema") != "mlpbench.run/1":
        raise ValueError(f"{path}: not an mlpbench.run/1 log")
    epochs = log.get("epochs") or []
    secs = [e["train_seconds"] for e in epochs if isinstance(e.get("train_seconds"), (int, float))]
    if not secs:
        raise ValueError(f"{path}: no finished epoch")
    # The engine times its team's barrier before each epoch: 0.3 us and more marks a run in one
    # of a shared host's slow periods (threads placed far apart). The peer has no such field.
    barriers = [e["barrier_us"] for e in epochs if isinstance(e.get("barrier_us"), (int, float))]
    # run.host_noisy (docs/run-log.md); older engine logs: a barrier above 1 us in an epoch
    run = log.get("run") or {}
    noise = list(run.get("host_noise_reasons") or ["run.host_noisy"]) \
        if run.get("host_noisy") is True else []
    if "host_noisy" not in run and barriers and max(barriers) > 1.0:
        noise = [f"team barrier {max(barriers):.2f} us in an epoch (quiet: below 1 us)"]
    return {
        "host_noise": noise,
        "median_barrier_us": statistics.median(barriers) if barriers else None,
        "status": log.get("status"),
        "epochs": len(epochs),
        "epoch_seconds": secs,
        "median_epoch_seconds": statistics.median(secs),
        "final_test_accuracy": epochs[-1].get("test_accuracy"),
        "samples_per_second": statistics.median(e.get("samples_per_second") or 0 for e in epochs),
        "gflops": statistics.median(e.get("gflops") or 0 for e in epochs),
        "blas": (log.get("build") or {}).get("blas"),
        "peer_label": (log.get("build") or {}).get("compiler"),
        "peer_config": (log.get("build") or {}).get("peer_config"),
        "simd_target": (log.get("run") or {}).get("simd_target"),
    }


def probe_peer(python, cfg, threads, out_base):
    cmd = [python, PEER, "--probe-blas", "--threads", str(cfg["threads"] or threads)] + cfg["args"]
    rc, _, text, tail = run_logged(cmd, peer_env(cfg), out_base, timeout=300)
    if rc != 0:
        raise UsageError(f"peer configuration {cfg['name']}: BLAS probe failed (exit {rc}): "
                         f"{tail.strip()[-500:]}")
    try:
        probe = json.loads(text)
        if isinstance(probe, dict) and "blas" in probe:
            return probe
    except ValueError:
        pass
    raise UsageError(f"peer configuration {cfg['name']}: the BLAS probe printed no JSON with "
                     f"\"blas\" ({out_base}.stdout)")


def fmt_s(v):
    return "n/a" if v is None else f"{v:.3f}"


def fmt_acc(v):
    return "n/a" if v is None else f"{v:.4f}"


def spread(values):
    return f" ({min(values):.3f}–{max(values):.3f})" if len(values) > 1 else ""


def barrier_cell(runs):
    """The engine's barrier round trip per round, in round order ('-' where not recorded)."""
    values = [r.get("median_barrier_us") for r in runs if r.get("ok")]
    if not any(v is not None for v in values):
        return "n/a"
    return " / ".join("-" if v is None else f"{v:.2f}" for v in values)


def summarize(report):
    best = None
    for name, c in report["configs"].items():
        e = [r["median_epoch_seconds"] for r in c["engine_runs"] if r.get("ok")]
        p = [r["median_epoch_seconds"] for r in c["peer_runs"] if r.get("ok")]
        c["engine_median_epoch_seconds"] = statistics.median(e) if e else None
        c["peer_median_epoch_seconds"] = statistics.median(p) if p else None
        c["ratio_peer_over_engine"] = (c["peer_median_epoch_seconds"] /
                                       c["engine_median_epoch_seconds"] if e and p else None)
        pa = [r["final_test_accuracy"] for r in c["peer_runs"] if r.get("ok")]
        ea = [r["final_test_accuracy"] for r in c["engine_runs"] if r.get("ok")]
        c["peer_final_test_accuracy"] = pa[-1] if pa else None
        c["engine_final_test_accuracy"] = ea[-1] if ea else None
        if p and (best is None or c["peer_median_epoch_seconds"] <
                  report["configs"][best]["peer_median_epoch_seconds"]):
            best = name
    all_e = [r["median_epoch_seconds"] for c in report["configs"].values()
             for r in c["engine_runs"] if r.get("ok")]
    report["engine_median_epoch_seconds"] = statistics.median(all_e) if all_e else None
    report["best_peer_config"] = best
    by_peer = {}
    for name, c in report["configs"].items():
        v = c.get("peer_median_epoch_seconds")
        peer = c.get("peer", "python")
        if v is not None and (peer not in by_peer or
                              v < report["configs"][by_peer[peer]]["peer_median_epoch_seconds"]):
            by_peer[peer] = name
    report["best_by_peer"] = by_peer
    if best:
        b = report["configs"][best]
        report["best_peer_median_epoch_seconds"] = b["peer_median_epoch_seconds"]
        report["best_ratio_peer_over_engine"] = b["ratio_peer_over_engine"]


def onednn_text(c):
    """What a oneDNN run was, from its log: 'oneDNN 2.6.3, 2 thread(s), weights AB16b64a
    (brgemm:avx512_core), OMP_WAIT_POLICY unset'."""
    pc = c["peer_config"]
    first = (pc.get("layers") or [{}])[0]
    return (f"{c.get('peer_label')}, {pc.get('threads')} thread(s), weights "
            f"{first.get('weights_format')} ({first.get('forward')}), OMP_WAIT_POLICY "
            f"{pc.get('OMP_WAIT_POLICY', 'unset')}")


def libtorch_text(c):
    """What a libtorch run was, from its log: 'libtorch 1.13.1, 1 torch thread(s) + 2 OpenBLAS
    thread(s), OPENBLAS_CORETYPE unset, kernel Zen'."""
    pc = c["peer_config"]
    coretype = pc.get("OPENBLAS_CORETYPE", "unset")
    return (f"{c.get('peer_label')}, {pc.get('torch_threads')} torch thread(s) + "
            f"{pc.get('blas_threads')} OpenBLAS thread(s), OPENBLAS_CORETYPE "
            f"{'unset' if coretype == 'unset' else '= ' + coretype}, OpenBLAS kernel "
            f"{pc.get('openblas_corename') or 'unknown'}")


def markdown(report):
    r = report
    lines = [f"### {r['experiment']['name']}: engine vs PyTorch peers",
             "",
             f"{r['rounds_done']}/{r['rounds']} rounds, threads {r['threads']}"
             f"{' (engine matched to the peer)' if r.get('match_threads') else ''}, batch "
             f"{r['experiment']['batch_size']}, {r['epochs'] or r['experiment']['epochs']} "
             f"epoch(s), train samples {r['train_limit'] or 'all'}; epoch time = train_seconds, "
             "median over a run's epochs, then median over rounds (min–max of the rounds in "
             "brackets).",
             "",
             "| peer config | peer | peer BLAS | threads engine/peer | engine s/epoch | "
             "peer s/epoch | peer/engine | engine test acc | peer test acc | engine barrier us |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, c in r["configs"].items():
        peer = PEER_NAMES[c.get("peer", "python")]
        if c.get("skipped"):
            lines.append(f"| {name} | {peer} | {c.get('blas', '')} | | | | skipped: "
                         f"{c['skipped']} | | | |")
            continue
        e = [x["median_epoch_seconds"] for x in c["engine_runs"] if x.get("ok")]
        p = [x["median_epoch_seconds"] for x in c["peer_runs"] if x.get("ok")]
        fails = sum(1 for x in c["engine_runs"] + c["peer_runs"] if not x.get("ok"))
        ratio = c.get("ratio_peer_over_engine")
        peer_threads = (f"{c['torch_threads']}+{c['blas_threads']}" if "torch_threads" in c
                        else str(c["peer_threads"]))
        lines.append(
            f"| {name} | {peer} | {c.get('blas', '')} | {c['engine_threads']}/{peer_threads} | "
            f"{fmt_s(c.get('engine_median_epoch_seconds'))}{spread(e)} | "
            f"{fmt_s(c.get('peer_median_epoch_seconds'))}{spread(p)} | "
            f"{'n/a' if ratio is None else f'{ratio:.2f}'}{f' ({fails} failed)' if fails else ''}"
            f" | {fmt_acc(c.get('engine_final_test_accuracy'))} | "
            f"{fmt_acc(c.get('peer_final_test_accuracy'))} | {barrier_cell(c['engine_runs'])} |")
    lines.append("")
    for name, c in r["configs"].items():
        for side in ("engine", "peer"):
            for k, x in enumerate(c.get(f"{side}_runs", [])):
                if x.get("host_noise"):
                    lines.append(f"Noisy host: {name}, {side} round {k + 1}: "
                                 f"{'; '.join(x['host_noise'])} (its time may be the host's).")
    for name, c in r["configs"].items():
        if c.get("peer_config") and "torch_threads" in c:
            lines.append(f"Configuration {name}: {libtorch_text(c)}.")
        elif c.get("peer_config") and c.get("peer") == "onednn":
            lines.append(f"Configuration {name}: {onednn_text(c)}.")
    if r.get("best_peer_config"):
        ratio = r.get("best_ratio_peer_over_engine")
        lines.append(f"Best peer configuration: **{r['best_peer_config']}** "
                     f"({fmt_s(r['best_peer_median_epoch_seconds'])} s/epoch"
                     + ("" if ratio is None else f", peer/engine {ratio:.2f}") + ").")
        for peer, best in (r.get("best_by_peer") or {}).items():
            c = r["configs"][best]
            lines.append(f"Fastest {PEER_NAMES[peer]} configuration: {best} "
                         f"({fmt_s(c['peer_median_epoch_seconds'])} s/epoch).")
    else:
        lines.append("No peer run succeeded.")
    env = r["environment"]
    lines.append(f"Environment: OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, OPENBLAS_L2_SIZE="
                 f"{env['OPENBLAS_L2_SIZE']}, OMP_WAIT_POLICY={env['OMP_WAIT_POLICY']}; "
                 f"load average at start {r['load_average_start']}.")
    return "\n".join(lines) + "\n"


def write_json_atomic(path, data):
    pytorch_mlp.write_json_atomic(path, data)


def build_parser():
    paragraphs = __doc__.split("\n\n")
    p = argparse.ArgumentParser(prog="side_by_side.py", description=paragraphs[0],
                                epilog="\n\n".join(paragraphs[2:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", help="experiment JSON file")
    p.add_argument("--engine", default=DEFAULT_ENGINE,
                   help="run_experiment binary (default build/engine/run_experiment)")
    p.add_argument("--libtorch-peer", help="libtorch_mlp binary for the libtorch configurations "
                   "(default: bench/libtorch_mlp in the engine's build folder)")
    p.add_argument("--onednn-peer", help="onednn_mlp binary for the oneDNN configurations "
                   "(default: bench/onednn_mlp in the engine's build folder)")
    p.add_argument("--threads", type=int, help="threads for both (default: the experiment's "
                   "threads, else all cores)")
    p.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    p.add_argument("--epochs", type=int, help="override the experiment's epochs (both sides)")
    p.add_argument("--batch-size", type=int, help="override the experiment's batch size")
    p.add_argument("--train-limit", type=int, help="first N training samples only")
    p.add_argument("--test-limit", type=int, help="first N test samples only")
    p.add_argument("--data-dir", help="dataset folder, passed to both")
    p.add_argument("--peer-config", nargs="+", metavar="NAME", default=list(DEFAULT_CONFIGS),
                   help=f"peer configurations (default: {' '.join(DEFAULT_CONFIGS)})")
    p.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                   else sys.executable, help="interpreter for the peer (default /usr/bin/python3)")
    p.add_argument("--match-threads", action="store_true",
                   help="run the engine with each configuration's peer thread count (e.g. 1 "
                        "for 1thread) instead of always --threads")
    p.add_argument("--timeout", type=float, help="seconds after which one run is killed")
    p.add_argument("--out-dir", help="output folder (default results/runs/<name>/side_by_side-"
                   "<UTC stamp>/, which git ignores)")
    p.add_argument("--json-out", help="summary JSON (default <out-dir>/summary.json)")
    return p


def main(argv):
    args = build_parser().parse_args(argv)
    if args.rounds < 1:
        raise UsageError(f"--rounds: expected a positive integer, got {args.rounds}")
    for opt in ("threads", "epochs", "batch_size", "train_limit", "test_limit"):
        v = getattr(args, opt)
        if v is not None and v < 1:
            raise UsageError(f"--{opt.replace('_', '-')}: expected a positive integer, got {v}")
    engine = os.path.abspath(args.engine)
    if not os.path.isfile(engine) or not os.access(engine, os.X_OK):
        raise UsageError(f"engine binary not found or not executable: {engine} (build it first: "
                         "cmake --preset release && cmake --build --preset release, or pass "
                         "--engine PATH)")
    libtorch = os.path.abspath(args.libtorch_peer or os.path.join(
        os.path.dirname(os.path.dirname(engine)), "bench", "libtorch_mlp"))
    if args.libtorch_peer and not os.access(libtorch, os.X_OK):
        raise UsageError(f"--libtorch-peer: not found or not executable: {libtorch}")
    onednn = os.path.abspath(args.onednn_peer or os.path.join(
        os.path.dirname(os.path.dirname(engine)), "bench", "onednn_mlp"))
    if args.onednn_peer and not os.access(onednn, os.X_OK):
        raise UsageError(f"--onednn-peer: not found or not executable: {onednn}")
    overrides = []
    for opt in ("epochs", "batch_size"):
        if getattr(args, opt) is not None:
            overrides += [f"--{opt.replace('_', '-')}", str(getattr(args, opt))]
    exp = pytorch_mlp.load_experiment(args.experiment, overrides, engine)
    configs = []
    for name in args.peer_config:
        cfg = resolve_config(name)
        if any(c["name"] == name for c in configs):
            raise UsageError(f"--peer-config: {name} given twice")
        configs.append(cfg)
    cores = len(os.sched_getaffinity(0))
    threads = args.threads or exp["threads"] or cores
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    out_dir = args.out_dir or os.path.join(REPO_ROOT, "results", "runs", exp["name"],
                                           "side_by_side-" + stamp)
    json_out = args.json_out or os.path.join(out_dir, "summary.json")
    common = [os.path.abspath(args.experiment)]
    for opt in ("epochs", "batch_size", "train_limit", "test_limit", "data_dir"):
        v = getattr(args, opt)
        if v is not None:
            common += [f"--{opt.replace('_', '-')}", str(v)]
    # Every output is checked before the first run, against what the runs read too.
    run_inputs.note(args.experiment, common)
    try:
        os.makedirs(out_dir, exist_ok=True)
        for path in [json_out, os.path.join(out_dir, "summary.md"),
                     *run_outputs(out_dir, configs, args.rounds)]:
            mlpbench_files.check_output(path, inputs=(args.experiment, engine))
    except OSError as e:
        raise UsageError(f"--out-dir {out_dir}: {e.strerror or e}") from None
    except mlpbench_files.ToolError as e:
        raise UsageError(str(e)) from None

    report = {
        "schema": "mlpbench.side_by_side/1",
        "started_utc": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "experiment": exp, "experiment_file": args.experiment,
        "engine": engine, "peer": PEER, "libtorch_peer": libtorch, "onednn_peer": onednn,
        "python": args.python,
        "threads": threads, "match_threads": args.match_threads,
        "rounds": args.rounds, "rounds_done": 0, "epochs": args.epochs,
        "train_limit": args.train_limit, "test_limit": args.test_limit,
        "environment": {k: os.environ.get(k, "unset") for k in
                        ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY",
                         "OMP_NUM_THREADS", "MLPBENCH_PEER_BLAS")},
        "load_average_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "host": {"cpu_model": pytorch_mlp.cpu_model(pytorch_mlp.cpuinfo()),
                 "logical_cpus": os.cpu_count()},
        "epoch_seconds_definition": "median over rounds of each run's median epoch "
                                    "train_seconds",
        "configs": {},
    }

    try:
        ev = subprocess.run([engine, "--version"], capture_output=True, text=True, timeout=30)
        report["engine_version"] = (ev.stdout or ev.stderr).strip()[:200]
    except (OSError, subprocess.SubprocessError) as e:
        report["engine_version"] = f"unknown ({e})"

    # Probe every configuration's BLAS once; skip a configuration whose peer would run in
    # exactly the same environment with the same arguments as an earlier one.
    seen = {}
    active = []
    for cfg in configs:
        peer_threads = cfg["threads"] or threads
        entry = {"doc": cfg["doc"], "peer": cfg["peer"], "peer_threads": peer_threads,
                 "engine_threads": peer_threads if args.match_threads else threads,
                 "set": cfg["set"],
                 "unset": cfg["unset"], "args": cfg["args"], "engine_runs": [], "peer_runs": []}
        report["configs"][cfg["name"]] = entry
        if cfg["peer"] == "libtorch":
            # torch's intra-op threads and OpenBLAS's, set apart (libtorch_mlp.cc)
            entry["torch_threads"] = cfg["torch_threads"] or threads
            entry["blas_threads"] = threads
            entry["peer_threads"] = max(entry["torch_threads"], entry["blas_threads"])
            if not args.match_threads:
                entry["engine_threads"] = threads
            key = ("libtorch", env_fingerprint(peer_env(cfg)), entry["torch_threads"],
                   entry["blas_threads"])
            entry["blas"] = "(from its log)"
            if not os.access(libtorch, os.X_OK):
                entry["skipped"] = (f"{libtorch} is not built (it needs Debian's libtorch-dev; "
                                    "see bench/peers/README.md)")
                continue
        elif cfg["peer"] == "onednn":
            key = ("onednn", env_fingerprint(peer_env(cfg)), tuple(cfg["peer_args"]), peer_threads)
            entry["blas"] = "(from its log)"
            if not os.access(onednn, os.X_OK):
                entry["skipped"] = (f"{onednn} is not built (it needs Debian's libdnnl-dev; see "
                                    "bench/peers/README.md)")
                continue
        else:
            key = (env_fingerprint(peer_env(cfg)), tuple(cfg["args"]), peer_threads)
            probe = probe_peer(args.python, cfg, threads,
                               os.path.join(out_dir, f"probe-{cfg['name']}"))
            entry["blas"] = probe["blas"]
            entry["blas_probe"] = probe
        if key in seen:
            entry["skipped"] = (f"identical to {seen[key]} (e.g. OPENBLAS_CORETYPE is not set "
                                "here)")
            continue
        seen[key] = cfg["name"]
        active.append(cfg)
    print(f"side_by_side: {exp['name']}: engine {engine} vs peer; threads {threads}; "
          f"configs {', '.join(c['name'] for c in active)}; {args.rounds} round(s); "
          f"output {out_dir}", file=sys.stderr)
    for name, c in report["configs"].items():
        print(f"  {name}: {c['blas']}" + (f" [skipped: {c['skipped']}]" if c.get("skipped")
                                          else ""), file=sys.stderr)

    failures = 0
    interrupted = False
    try:
        for rnd in range(1, args.rounds + 1):
            k = (rnd - 1) % len(active)
            for cfg in active[k:] + active[:k]:
                name = cfg["name"]
                entry = report["configs"][name]
                for side in ("engine", "peer"):
                    base = os.path.join(out_dir, f"{side}-{name}-r{rnd}")
                    log_path = base + ".json"
                    if side == "engine":
                        cmd = ([engine] + common + ["--threads", str(entry["engine_threads"]),
                                                    "--quiet",
                                                    "--out", log_path, "--force"])
                        env = dict(os.environ)
                    elif cfg["peer"] == "libtorch":
                        cmd = ([libtorch] + common +
                               ["--torch-threads", str(entry["torch_threads"]),
                                "--blas-threads", str(entry["blas_threads"]), "--quiet", "--out",
                                log_path, "--force", "--config-name", name])
                        env = peer_env(cfg)
                    elif cfg["peer"] == "onednn":
                        cmd = ([onednn] + common + ["--threads", str(entry["peer_threads"]),
                                                    "--quiet", "--out", log_path, "--force",
                                                    "--config-name", name] + cfg["peer_args"])
                        env = peer_env(cfg)
                    else:
                        cmd = ([args.python, PEER] + common +
                               ["--threads", str(entry["peer_threads"]), "--quiet", "--out",
                                log_path, "--force", "--config-name", name] + cfg["args"])
                        env = peer_env(cfg)
                    rc, secs, _, tail = run_logged(cmd, env, base, args.timeout)
                    run = {"round": rnd, "log": log_path, "exit": rc, "wall_seconds": secs}
                    if rc == 0:
                        try:
                            run.update(read_run(log_path))
                            run["ok"] = True
                            if side == "peer" and cfg["peer"] in ("libtorch", "onednn"):
                                entry["blas"] = run["blas"]
                                entry["peer_label"] = run["peer_label"]
                                entry["peer_config"] = run["peer_config"]
                        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                            run["ok"] = False
                            run["error"] = str(e)
                    else:
                        run["ok"] = False
                        run["error"] = tail.strip()[-500:]
                    if not run["ok"]:
                        failures += 1
                        print(f"side_by_side: {side} {name} round {rnd} failed (exit {rc}): "
                              f"{run.get('error', '')[-300:]}", file=sys.stderr)
                    else:
                        barrier = run.get("median_barrier_us")
                        print(f"  round {rnd} {name:12s} {side:6s} "
                              f"{run['median_epoch_seconds']:.3f} s/epoch, test acc "
                              f"{fmt_acc(run['final_test_accuracy'])}"
                              + ("" if barrier is None else f", barrier {barrier:.2f} us"),
                              file=sys.stderr)
                    entry[f"{side}_runs"].append(run)
                    summarize(report)
                    write_json_atomic(json_out, report)
            report["rounds_done"] = rnd
    except KeyboardInterrupt:
        interrupted = True
        print("side_by_side: interrupted; writing what was measured", file=sys.stderr)

    report["finished_utc"] = utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")
    report["load_average_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report["failures"] = failures
    summarize(report)
    write_json_atomic(json_out, report)
    md = markdown(report)
    mlpbench_files.write_atomic(os.path.join(out_dir, "summary.md"), mlpbench_cli.encoded(md))
    sys.stdout.write(md)
    print(f"side_by_side: wrote {json_out} and {os.path.join(out_dir, 'summary.md')}",
          file=sys.stderr)
    if interrupted:
        return 130
    return 1 if failures else 0


def cli(argv):
    """main() with its errors as the exit statuses the help names."""
    try:
        return main(argv)
    except (UsageError, pytorch_mlp.UsageError, mlpbench_files.ToolError) as e:
        print(f"side_by_side: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("side_by_side: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(mlpbench_cli.main_guard("side_by_side.py", cli, sys.argv[1:]))
