"""Fit a latency-bandwidth (alpha-beta) model of the distributed reduction and predict scaling.

Input: reduction_bench JSON outputs (`mpirun -n R build/bench/reduction_bench
--benchmark_out=F --benchmark_out_format=json`, one per rank count R >= 2; the folder of
tools/scaling_study.py holds them as reduction-rR.json). The fixed tree (BM_TreeAllreduce) is
a reduce-scatter by recursive halving and an allgather by recursive doubling: log2 R steps each,
sending n/2, n/4, ..., n/R of the n-byte buffer, so

    T(n, R) = 2 log2(R) alpha + 2 (R - 1)/R n beta

(alpha: the latency of one message, beta: seconds per byte, the additions folded in). alpha and
beta are fitted by least squares over the `sweep/floats:N` points of every rank count (the
median time of each), separately for MPI_Allreduce (BM_MpiAllreduce) as a baseline. From a
study folder, rank counts launched with --oversubscribe are not fitted (ranks taking turns on a
core measure the scheduler) unless --include-oversubscribed or nothing else was measured.

Prediction: a training step at R nodes (one rank per node) costs

    strong scaling (global batch B fixed):  C / R + O / R + T(n, R)
    weak scaling (B / rank fixed):          C     + O / R + T(n, R)

with C and O the compute (forward, loss, backward) and optimizer time per step of one rank
(--compute-us and --optimizer-us, or from a 1-rank log of the study: its distributed epochs'
median compute and optimizer) and n the model's parameter buffer in bytes. Efficiency is
T_step(1) / (R T_step(R)) for strong scaling and T_step(1) / T_step(R) for weak. The
networks are the user's: --network NAME=ALPHA_US,GBITS (e.g. '25GbE=10,25', the default pair
being 25 Gb/s Ethernet, alpha 10 us, and 200 Gb/s InfiniBand HDR, alpha 1.5 us; beta =
8 / (GBITS 1e9) s per byte); `measured` adds the fitted alpha and beta of the machine the
benchmark ran on. The model assumes a flat network, one rank per node, no overlap of
communication with compute, and compute that divides perfectly among ranks; strong scaling is
predicted only while every rank has a row of the global batch. The figure labels every
predicted line as a prediction.
"""

import json
import math
import os
import re
import statistics
import sys

from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import logs as ml
from mlpbench import plotting

PROG = "alpha_beta.py"
DEFAULT_NETWORKS = ("25GbE=10,25", "200Gb-IB-HDR=1.5,200")
KINDS = ("BM_TreeAllreduce", "BM_MpiAllreduce")
TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_args(argv):
    p = cli.arg_parser(
        PROG, __doc__,
        "Exit status: 0 success; 2 bad command line or input, or too few points to fit.\n"
               "Example: tools/alpha_beta.py --study results/studies/ranks_mlp512 "
               "-o results/figures/alpha_beta_mlp512.png")
    p.add_argument("bench", nargs="*", help="reduction_bench JSON outputs (one per rank count)")
    p.add_argument("--study", metavar="DIR",
                   help="a tools/scaling_study.py folder: its reduction-r*.json, and its 1-rank "
                        "strong log for C, O and the model's buffer")
    p.add_argument("--floats", type=int, help="the model's parameter buffer in floats "
                   "(default: the study's model, from the benchmark of its layers)")
    p.add_argument("--compute-us", type=float, help="compute per step at 1 rank (us)")
    p.add_argument("--optimizer-us", type=float, help="optimizer per step at 1 rank (us)")
    p.add_argument("--global-batch", type=int, help="strong scaling's global batch (default: the study's)")
    p.add_argument("--network", action="append", metavar="NAME=ALPHA_US,GBITS",
                   help="a network to predict for (repeatable); 'measured' for the fitted one "
                        f"(default: {' and '.join(DEFAULT_NETWORKS)} and measured)")
    p.add_argument("--max-nodes", type=int, default=1024, help="predict for 2, 4, ... up to this (default 1024)")
    p.add_argument("--include-oversubscribed", action="store_true",
                   help="with --study: also fit the rank counts launched with --oversubscribe (left "
                        "out by default: ranks taking turns on a core measure the scheduler, not the "
                        "network)")
    p.add_argument("-o", "--output", default="alpha_beta.png", metavar="PATH", help="figure, .png or .svg")
    p.add_argument("--json", metavar="PATH", help="also write the fit and the predictions as JSON")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- fit

def points(paths):
    """{kind: [(ranks, bytes, median seconds)]} of the sweep, and {name: (ranks, floats)}."""
    out, named = {k: [] for k in KINDS}, {}
    for path in paths:
        bench = ml.load_bench(path)
        for name, entries in bench.iterations().items():
            first = entries[0]
            if not (ml.is_number(first.get("ranks")) and ml.is_number(first.get("floats"))):
                raise ml.ToolError(f"{path}: {name}: no ranks and floats counters "
                                   f"(not a reduction_bench output)")
            ranks, floats = int(first["ranks"]), int(first["floats"])
            seconds = statistics.median(float(e["real_time"]) * TIME_UNITS[e.get("time_unit", "ns")]
                                        for e in entries)
            named[name] = (ranks, floats)
            kind = name.split("/")[0]
            if kind in out and "/sweep/" in name:
                out[kind].append((ranks, 4 * floats, seconds))
    return out, named


def features(ranks, nbytes):
    return 2 * math.log2(ranks), 2 * (ranks - 1) / ranks * nbytes


def fit(samples):
    """Least-squares (alpha, beta) of T = a x1 + b x2, both kept non-negative, with the
    relative residuals weighted equally (small messages count as much as large ones)."""
    rows = [(features(r, n), t) for r, n, t in samples if r >= 2 and t > 0]
    if len({(r, n) for r, n, _ in samples if r >= 2}) < 2:
        raise ml.ToolError("too few sweep points to fit (need at least 2 sizes or rank counts, R >= 2)")
    # Weighted normal equations: minimise sum ((a x1 + b x2 - t) / t)^2.
    s11 = sum((x1 / t) ** 2 for (x1, _), t in rows)
    s22 = sum((x2 / t) ** 2 for (_, x2), t in rows)
    s12 = sum(x1 * x2 / t ** 2 for (x1, x2), t in rows)
    s1 = sum(x1 / t for (x1, _), t in rows)
    s2 = sum(x2 / t for (_, x2), t in rows)
    det = s11 * s22 - s12 * s12
    alpha = (s1 * s22 - s2 * s12) / det if det else 0.0
    beta = (s2 * s11 - s1 * s12) / det if det else 0.0
    if alpha < 0:  # clamp one and refit the other
        alpha, beta = 0.0, s2 / s22
    if beta < 0:
        alpha, beta = s1 / s11, 0.0
    return alpha, beta


def model_time(alpha, beta, ranks, nbytes):
    if ranks < 2:
        return 0.0
    x1, x2 = features(ranks, nbytes)
    return alpha * x1 + beta * x2


# ----------------------------------------------------------------------------- inputs

def parse_network(text, measured):
    if text == "measured":
        return ("measured (this machine)", measured[0], measured[1])
    m = re.fullmatch(r"([^=]+)=([0-9.eE+-]+),([0-9.eE+-]+)", text)
    try:
        if not m:
            raise ValueError
        alpha_us, gbits = float(m.group(2)), float(m.group(3))
        if not (alpha_us >= 0 and gbits > 0):
            raise ValueError
    except ValueError:
        raise ml.ToolError(f"--network: expected NAME=ALPHA_US,GBITS with ALPHA_US >= 0 and "
                           f"GBITS > 0, e.g. 25GbE=10,25; got {text!r}") from None
    return (f"{m.group(1)} (assumed alpha {alpha_us:g} us, {gbits:g} Gb/s)", alpha_us * 1e-6, 8 / (gbits * 1e9))


def study_inputs(folder, include_oversubscribed):
    """(bench paths, 1-rank strong log or None) of a scaling_study.py folder; rank counts that
    were oversubscribed are left out unless asked for or nothing else is there (and said so)."""
    ok = [r for r in ml.load_study(folder) if r.get("exit") == 0]
    benches = [r for r in ok if r.get("kind") == "bench"]
    alone = [r for r in benches if "--oversubscribe" not in (r.get("command") or [])]
    if alone and len(alone) < len(benches) and not include_oversubscribed:
        left = ", ".join(r["output"] for r in benches if r not in alone)
        print(f"{PROG}: not fitted, launched with --oversubscribe (--include-oversubscribed to fit "
              f"them): {left}", file=sys.stderr)
        benches = alone
    bench = [os.path.join(folder, r["output"]) for r in benches]
    log = next((os.path.join(folder, r["output"]) for r in ok if r.get("output") == "strong-r1.json"), None)
    return bench, (ml.load_run_log(log) if log else None)


def phases_of(log):
    """(compute us, optimizer us, global batch, layers name) of a 1-rank distributed log."""
    d = log.data.get("distributed") or {}
    compute, optimizer = [], []
    for epoch in d.get("epochs") or []:
        for entry in epoch.get("ranks") or []:
            compute.append(float(entry["compute"]["median_us"]))
            optimizer.append(float(entry["optimizer"]["median_us"]))
    if not compute:
        raise ml.ToolError(f"{log.path}: no distributed phase timings (an epoch must have finished)")
    units = [str(layer.get("units")) for layer in log.experiment.get("model", [])]
    return statistics.median(compute), statistics.median(optimizer), d.get("global_batch"), "-".join(["784"] + units)


# ----------------------------------------------------------------------------- prediction

def predict(networks, nbytes, compute_s, optimizer_s, global_batch, max_nodes):
    nodes = [2 ** k for k in range(1, int(math.log2(max_nodes)) + 1)]
    one = compute_s + optimizer_s
    out = []
    for label, alpha, beta in networks:
        rows = []
        for r in nodes:
            comm = model_time(alpha, beta, r, nbytes)
            weak = compute_s + optimizer_s / r + comm
            row = {"nodes": r, "comm_s": comm, "weak_step_s": weak, "weak_efficiency": one / weak}
            if global_batch is None or r <= global_batch:
                strong = compute_s / r + optimizer_s / r + comm
                row.update(strong_step_s=strong, strong_efficiency=one / (r * strong))
            rows.append(row)
        out.append({"network": label, "alpha_s": alpha, "beta_s_per_byte": beta, "rows": rows})
    return out


def plot(samples, fits, predictions, measured_steps, title, output):
    plt = plotting.pyplot()
    fig, (ax_fit, ax_step, ax_eff) = plt.subplots(1, 3, figsize=(19, 5.8))
    cmap = plt.get_cmap("tab10")
    for i, kind in enumerate(KINDS):
        pts = samples.get(kind) or []
        if not pts or kind not in fits:
            continue
        alpha, beta = fits[kind]
        for j, r in enumerate(sorted({p[0] for p in pts})):
            xs = sorted(n for q, n, _ in pts if q == r)
            ys = [t for q, n, t in sorted(pts, key=lambda p: p[1]) if q == r]
            marker = "o" if kind == KINDS[0] else "s"
            ax_fit.loglog(xs, [1e6 * y for y in ys], marker, color=cmap(2 * j + i), markersize=4,
                          label=f"measured {kind[3:]} R={r}")
            ax_fit.loglog(xs, [1e6 * model_time(alpha, beta, r, n) for n in xs], "-",
                          color=cmap(2 * j + i), linewidth=1, label=f"fit, R={r}")
    ax_fit.set_xlabel("buffer (bytes)")
    ax_fit.set_ylabel("microseconds per reduction")
    ax_fit.set_title("alpha-beta fit to reduction_bench's sweep")
    ax_fit.legend(fontsize=6, ncol=2)
    ax_fit.grid(True, which="both", alpha=0.3)

    for i, p in enumerate(predictions):
        rows = p["rows"]
        xs = [r["nodes"] for r in rows]
        c = cmap(i)
        ax_step.loglog(xs, [1e6 * r["weak_step_s"] for r in rows], "--", color=c,
                       label=f"PREDICTION weak: {p['network']}")
        strong = [r for r in rows if "strong_step_s" in r]
        if strong:
            ax_step.loglog([r["nodes"] for r in strong], [1e6 * r["strong_step_s"] for r in strong], ":",
                           color=c, label=f"PREDICTION strong: {p['network']}")
            ax_eff.semilogx([r["nodes"] for r in strong], [100 * r["strong_efficiency"] for r in strong], ":",
                            color=c, label=f"PREDICTION strong: {p['network']}")
        ax_eff.semilogx(xs, [100 * r["weak_efficiency"] for r in rows], "--", color=c,
                        label=f"PREDICTION weak: {p['network']}")
    for mode, pts in measured_steps.items():
        if not pts:
            continue
        marker = "k" + ("o" if mode == "strong" else "^")
        ax_step.loglog([r for r, _ in pts], [1e6 * t for _, t in pts], marker, label=f"measured {mode}, this machine")
        one = dict(pts).get(1)
        if one:  # the same efficiency definitions as the prediction, against the measured 1 rank
            eff = [(r, 100 * one / ((r if mode == "strong" else 1) * t)) for r, t in pts if r > 1]
            ax_eff.semilogx([r for r, _ in eff], [e for _, e in eff], marker, label=f"measured {mode}, this machine")
    for ax in (ax_step, ax_eff):
        ax.set_xlabel("nodes (one rank each)")
        ax.set_xscale("log", base=2)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    ax_step.set_ylabel("microseconds per training step")
    ax_step.set_title("PREDICTED step time (alpha-beta model)")
    ax_eff.set_ylabel("parallel efficiency (%)")
    ax_eff.set_ylim(0, 105)
    ax_eff.set_title("PREDICTED efficiency (alpha-beta model)")
    fig.suptitle(title, fontsize=12)
    fig.text(0.5, 0.01, "Dashed and dotted lines are predictions of the model T = 2 log2(R) alpha + "
             "2 (R-1)/R n beta, not measurements; markers are measured on this machine.",
             ha="center", fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 1, 0.94))
    plotting.save_figure(fig, output)
    plt.close(fig)


def measured_step_times(folder):
    """{"strong"|"weak": [(ranks, median step seconds)]} of a study's logs (compute to allgather)."""
    out = {"strong": [], "weak": []}
    if not folder:
        return out
    for run in ml.load_study(folder):
        name = run["output"]
        m = re.fullmatch(r"(strong|weak-none)-r(\d+)\.json", name)
        if not m or run.get("exit") != 0:
            continue
        log = ml.load_run_log(os.path.join(folder, name))
        steps = []
        for epoch in (log.data.get("distributed") or {}).get("epochs") or []:
            ranks = epoch.get("ranks") or []
            if ranks:
                steps.append(max(sum(float(e[p]["median_us"]) for p in
                                     ("compute", "reduction", "optimizer", "allgather", "wait")) for e in ranks))
        if steps:
            out["strong" if m.group(1) == "strong" else "weak"].append((int(m.group(2)), 1e-6 * statistics.median(steps)))
    return {k: sorted(v) for k, v in out.items()}


def main(argv=None):
    args = parse_args(argv)
    plotting.check_output_path(args.output)
    bench_paths, log = list(args.bench), None
    if args.study:
        found, log = study_inputs(args.study, args.include_oversubscribed)
        bench_paths += found
    if not bench_paths:
        raise ml.ToolError("no reduction_bench output given (BENCH.json ... or --study DIR)")
    if args.max_nodes < 2 or args.max_nodes & (args.max_nodes - 1):
        raise ml.ToolError("--max-nodes: expected a power of two >= 2")
    samples, named = points(bench_paths)
    fits = {}
    for kind in KINDS:
        if samples[kind]:
            fits[kind] = fit(samples[kind])
    if KINDS[0] not in fits:
        raise ml.ToolError("no BM_TreeAllreduce/sweep points in the inputs")
    compute_us, optimizer_us, batch, layers = args.compute_us, args.optimizer_us, args.global_batch, None
    if log is not None:
        c, o, b, layers = phases_of(log)
        compute_us = c if compute_us is None else compute_us
        optimizer_us = o if optimizer_us is None else optimizer_us
        batch = b if batch is None else batch
    if compute_us is None or optimizer_us is None:
        raise ml.ToolError("--compute-us and --optimizer-us are needed without a study's 1-rank log")
    floats = args.floats
    if floats is None and layers:
        floats = next((f for name, (_, f) in named.items() if f"/{layers}/" in name), None)
    if floats is None:
        raise ml.ToolError("--floats: the model's parameter buffer is needed (no benchmark of the study's model found)")
    alpha, beta = fits[KINDS[0]]
    networks = [parse_network(n, (alpha, beta)) for n in (args.network or list(DEFAULT_NETWORKS) + ["measured"])]
    predictions = predict(networks, 4 * floats, 1e-6 * compute_us, 1e-6 * optimizer_us, batch, args.max_nodes)

    for kind, (a, b) in fits.items():
        print(f"{kind}: alpha {a * 1e6:.2f} us, beta {b * 1e9:.4f} ns/byte "
              f"({8 / b / 1e9 if b > 0 else float('inf'):.1f} Gb/s), {len(samples[kind])} points")
    print(f"model: {floats} floats ({4 * floats} bytes), compute {compute_us:.1f} us and optimizer "
          f"{optimizer_us:.1f} us per step at 1 rank, global batch {batch}")
    for p in predictions:
        print(f"PREDICTION {p['network']}:")
        for r in p["rows"]:
            if r["nodes"] in (2, 8, 64, 1024) or r["nodes"] == p["rows"][-1]["nodes"]:
                strong = (f"strong {1e6 * r['strong_step_s']:.1f} us/step, {100 * r['strong_efficiency']:.0f}%"
                          if "strong_step_s" in r else "strong: fewer rows than ranks")
                print(f"  {r['nodes']:>5} nodes: weak {1e6 * r['weak_step_s']:.1f} us/step, "
                      f"{100 * r['weak_efficiency']:.0f}%; {strong}")
    title = f"{os.path.basename(os.path.normpath(args.study)) if args.study else 'reduction'}: " \
            f"alpha-beta model of the fixed-tree reduction, {floats} floats"
    measured = measured_step_times(args.study)
    for path in (args.output, args.json or args.output):  # both refused before either is written
        mlpbench_files.check_output(path)
    if args.json and os.path.realpath(args.json) == os.path.realpath(args.output):
        raise ml.ToolError(f"--json {args.json}: the same file as -o")
    plot(samples, fits, predictions, measured, title, args.output)
    if args.json:
        mlpbench_files.write_atomic(args.json, json.dumps(
            {"fits": {k: {"alpha_s": a, "beta_s_per_byte": b} for k, (a, b) in fits.items()},
             "floats": floats, "compute_us": compute_us, "optimizer_us": optimizer_us,
             "global_batch": batch, "predictions": predictions}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
