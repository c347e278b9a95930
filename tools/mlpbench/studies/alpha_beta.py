"""Fit a latency-bandwidth (alpha-beta) model of the distributed reduction and predict scaling.

Input: reduction_bench JSON outputs (`mpirun -n R build/bench/reduction_bench
--benchmark_out=F --benchmark_out_format=json`, one per rank count R >= 2; the folder of
tools/scaling_study.py holds them as reduction-rR.json). The fixed tree (BM_TreeAllreduce) is
a reduce-scatter by recursive halving and an allgather by recursive doubling: log2 R steps each,
sending n/2, n/4, ..., n/R of the n-byte buffer, so

    T(n, R) = 2 log2(R) alpha + 2 (R - 1)/R n beta

(alpha: the latency of one message, beta: seconds per byte, the additions folded in). beta may
differ per regime of buffer sizes (n beta: the sum over the regimes of the buffer's part in each
times its beta), fitted over the `sweep/floats:N` points of every rank count (the median time of
each) with the fewest regimes (up to MAX_REGIMES) that come within TOLERANCE of every point,
minimising the worst relative residual; separately for MPI_Allreduce (BM_MpiAllreduce) as a
baseline. The output, the figure and --json show every point's residual, whether the fit is
within TOLERANCE (said, not an error, when it is not) and the transport it was fitted on. From a
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
8 / (GBITS 1e9) s per byte); `measured` adds the fitted alpha and the regimes' beta over the
model's buffer, labelled with the transport they were measured on. The model assumes a flat network, one rank per node, no overlap of
communication with compute, and compute that divides perfectly among ranks; strong scaling is
predicted only while every rank has a row of the global batch. The figure labels every
predicted line as a prediction.
"""

import itertools
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
TOLERANCE = 0.20  # the fit must describe every measured point within this relative error
MAX_REGIMES = 4
LAWSON_ROUNDS = 60


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
    p.add_argument("--transport", metavar="TEXT",
                   help="the transport the benchmark's ranks used, for the labels (default: from the "
                        "study: shared memory when no hostfile was given; without a study: not recorded)")
    p.add_argument("-o", "--output", default="alpha_beta.png", metavar="PATH",
                   help="the figure, .png or .svg, always written (default alpha_beta.png in the "
                        "current folder)")
    p.add_argument("--json", metavar="PATH", help="also write the fit and the predictions as JSON "
                   "(besides the figure)")
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


def segment_features(ranks, nbytes, starts):
    """[x1, x2 per regime]: the latency term and, per regime k, the part of the buffer between
    its start and the next regime's start, scaled like the model's bandwidth term."""
    bounds = [*starts, math.inf]
    scale = 2 * (ranks - 1) / ranks
    return [2 * math.log2(ranks)] + [scale * max(0.0, min(nbytes, hi) - lo) for lo, hi in zip(bounds, bounds[1:])]


def nonnegative_least_squares(a, b, weights):
    """x >= 0 minimising sum weights * (a x - b)^2: the best of the unconstrained solutions on
    each subset of free coefficients (there are few coefficients, so enumerating is exact)."""
    import numpy as np
    root = np.sqrt(weights)[:, None]
    best = None
    width = a.shape[1]
    # All coefficients free first: if that minimum is non-negative it is the constrained one.
    for free in itertools.chain.from_iterable(itertools.combinations(range(width), k) for k in range(width, 0, -1)):
        sub, *_ = np.linalg.lstsq(root * a[:, free], root[:, 0] * b, rcond=None)
        if (sub < 0).any():
            continue
        x = np.zeros(width)
        x[list(free)] = sub
        cost = float((weights * (a @ x - b) ** 2).sum())
        if len(free) == width:
            return x
        if best is None or cost < best[0]:
            best = (cost, x)
    return best[1]


def minimax_relative_fit(rows, targets):
    """Non-negative coefficients whose worst relative residual over the rows is smallest, by
    Lawson's reweighting of least squares (each round weights the rows by their residuals),
    so that no size is given up for a better average."""
    import numpy as np
    a = np.array([[v / t for v in row] for row, t in zip(rows, targets)])
    b = np.ones(len(targets))
    weights = np.full(len(targets), 1.0 / len(targets))
    best = None
    for _ in range(LAWSON_ROUNDS):
        x = nonnegative_least_squares(a, b, weights)
        miss = np.abs(a @ x - b)
        if best is None or miss.max() < best[0]:
            best = (miss.max(), x)
        weights = weights * miss
        if miss.max() < 1e-9 or weights.sum() < 1e-300:  # exact already: nothing left to reweight
            break
        weights = weights / weights.sum()
    return [float(v) for v in best[1]]


def fit_with_starts(samples, starts):
    alpha, *betas = minimax_relative_fit([segment_features(r, n, starts) for r, n, _ in samples],
                                              [t for _, _, t in samples])
    return {"alpha_s": alpha, "regimes": [{"from_bytes": lo, "beta_s_per_byte": b} for lo, b in zip(starts, betas)]}


def model_time(alpha, beta, ranks, nbytes):
    if ranks < 2:
        return 0.0
    x1, x2 = features(ranks, nbytes)
    return alpha * x1 + beta * x2


def mean_beta(fitted, nbytes):
    """Seconds per byte over a whole buffer of nbytes: the regimes' costs of its parts."""
    starts = [g["from_bytes"] for g in fitted["regimes"]]
    parts = segment_features(2, nbytes, starts)[1:]  # R = 2: the bandwidth term's scale is 1
    return sum(p * g["beta_s_per_byte"] for p, g in zip(parts, fitted["regimes"])) / nbytes


def fitted_time(fitted, ranks, nbytes):
    return model_time(fitted["alpha_s"], mean_beta(fitted, nbytes), ranks, nbytes)


def residuals(fitted, samples):
    """[(ranks, bytes, measured s, fitted s, relative residual)], by buffer then ranks."""
    out = []
    for r, n, t in sorted(samples, key=lambda p: (p[1], p[0])):
        if r >= 2 and t > 0:
            f = fitted_time(fitted, r, n)
            out.append((r, n, t, f, f / t - 1))
    return out


def fit(samples):
    """alpha and the seconds per byte of each buffer regime (1 to MAX_REGIMES, breaks among
    the measured sizes, each regime holding at least 2): the fewest regimes whose fit is within
    TOLERANCE of every measured point, else the closest fit found. The cost is continuous in
    the buffer size, the cost per byte changing at each break: a shared-memory transport slows
    down per byte as the buffer outgrows a cache level, which one line cannot follow."""
    usable = [(r, n, t) for r, n, t in samples if r >= 2 and t > 0]
    if len({(r, n) for r, n, _ in usable}) < 2:
        raise ml.ToolError("too few sweep points to fit (need at least 2 sizes or rank counts, R >= 2)")
    sizes = sorted({n for _, n, _ in usable})
    best = None
    for count in range(1, MAX_REGIMES + 1):
        for breaks in itertools.combinations(sizes[1:-1], count - 1):
            bounds = [0, *breaks, math.inf]
            if count > 1 and any(len([n for n in sizes if lo <= n <= hi]) < 2
                                 for lo, hi in zip(bounds, bounds[1:])):
                continue
            fitted = fit_with_starts(usable, [0, *breaks])
            miss = max(abs(p[4]) for p in residuals(fitted, usable))
            if best is None or miss < best[0]:
                best = (miss, fitted)
        if best[0] <= TOLERANCE:
            break
    return best[1]


def transport(bench_paths, study_runs, named):
    """What the fitted points measured: the transport between the benchmark's ranks."""
    if named:
        return named
    hosts = ", ".join(sorted({str(ml.load_bench(p).context.get("host_name", "?")) for p in bench_paths}))
    if study_runs is None:
        return f"not recorded (benchmark run on {hosts}; --transport names it)"
    if any("--hostfile" in (r.get("command") or []) for r in study_runs):
        return f"the network between the hosts of the study's hostfile (launched on {hosts})"
    return f"shared memory, all ranks on one node ({hosts})"


# ----------------------------------------------------------------------------- inputs

def parse_network(text, measured):
    if text == "measured":
        label, alpha, beta = measured
        return (label, alpha, beta)
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
    """(bench paths, their runs in the manifest, 1-rank strong log or None) of a
    scaling_study.py folder; rank counts that
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
    return bench, benches, (ml.load_run_log(log) if log else None)


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


def plot(samples, fits, transport_text, predictions, measured_steps, title, output):
    plt = plotting.pyplot()
    fig, (ax_fit, ax_res, ax_step, ax_eff) = plt.subplots(1, 4, figsize=(24, 5.8))
    cmap = plt.get_cmap("tab10")
    for i, kind in enumerate(KINDS):
        if kind not in fits:
            continue
        marker = "o" if kind == KINDS[0] else "s"
        points_of_fit = residuals(fits[kind], samples[kind])
        for j, r in enumerate(sorted({p[0] for p in points_of_fit})):
            pts = [p for p in points_of_fit if p[0] == r]
            xs = [p[1] for p in pts]
            color = cmap(2 * j + i)
            ax_fit.loglog(xs, [1e6 * p[2] for p in pts], marker, color=color, markersize=4,
                          label=f"measured {kind[3:]} R={r}")
            ax_fit.loglog(xs, [1e6 * p[3] for p in pts], "-", color=color, linewidth=1, label=f"fit, R={r}")
            ax_res.semilogx(xs, [100 * p[4] for p in pts], marker + "-", color=color, markersize=4,
                            linewidth=0.8, label=f"{kind[3:]} R={r}")
        for g in fits[kind]["regimes"][1:]:
            ax_fit.axvline(g["from_bytes"], color=cmap(i), linestyle=":", linewidth=0.8)
    ax_fit.set_xlabel("buffer (bytes)")
    ax_fit.set_ylabel("microseconds per reduction")
    ax_fit.set_title(f"alpha-beta fit to reduction_bench's sweep\n(transport: {transport_text})", fontsize=9)
    ax_fit.legend(fontsize=6, ncol=2)
    ax_fit.grid(True, which="both", alpha=0.3)
    for bound in (-100 * TOLERANCE, 100 * TOLERANCE):
        ax_res.axhline(bound, color="red", linestyle="--", linewidth=0.8)
    ax_res.axhline(0, color="black", linewidth=0.6)
    ax_res.set_xlabel("buffer (bytes)")
    ax_res.set_ylabel("(fit - measured) / measured (%)")
    ax_res.set_title(f"residuals per buffer size (red: +-{100 * TOLERANCE:.0f} %)")
    ax_res.legend(fontsize=6)
    ax_res.grid(True, which="both", alpha=0.3)

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
             "2 (R-1)/R n beta (alpha and beta per buffer regime, dotted verticals: the fitted break "
             f"points), not measurements; markers are measured on this machine, over {transport_text}.",
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
    bench_paths, log, bench_runs = list(args.bench), None, None
    if args.study:
        found, bench_runs, log = study_inputs(args.study, args.include_oversubscribed)
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
    transport_text = transport(bench_paths, bench_runs, args.transport)
    tree = fits[KINDS[0]]
    measured_network = (f"measured fit (transport: {transport_text})", tree["alpha_s"], mean_beta(tree, 4 * floats))
    networks = [parse_network(n, measured_network)
                for n in (args.network or list(DEFAULT_NETWORKS) + ["measured"])]
    predictions = predict(networks, 4 * floats, 1e-6 * compute_us, 1e-6 * optimizer_us, batch, args.max_nodes)

    print(f"fitted on: {transport_text}")
    fit_json = {}
    for kind, fitted in fits.items():
        print(f"{kind}: alpha {fitted['alpha_s'] * 1e6:.2f} us, {len(samples[kind])} points")
        for g in fitted["regimes"]:
            b = g["beta_s_per_byte"]
            print(f"  beta from {g['from_bytes']} bytes: {b * 1e9:.4f} ns/byte "
                  f"({8 / b / 1e9 if b > 0 else float('inf'):.1f} Gb/s)")
        res = residuals(fitted, samples[kind])
        miss = max(res, key=lambda p: abs(p[4]))
        within = abs(miss[4]) <= TOLERANCE
        print(f"  worst residual {100 * miss[4]:+.0f} % at {miss[1]} bytes, R={miss[0]}: "
              + (f"within {100 * TOLERANCE:.0f} % at every size" if within else
                 f"NOT within {100 * TOLERANCE:.0f} % at every size; predictions from it are less sure"))
        fit_json[kind] = {
            **fitted, "tolerance": TOLERANCE, "within_tolerance": within,
            "worst_residual": miss[4],
            "points": [{"ranks": r, "bytes": n, "measured_s": t, "fitted_s": f, "residual": e}
                       for r, n, t, f, e in res]}
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
    plot(samples, fits, transport_text, predictions, measured, title, args.output)
    if args.json:
        mlpbench_files.write_atomic(args.json, json.dumps(
            {"transport": transport_text, "fits": fit_json,
             "floats": floats, "compute_us": compute_us, "optimizer_us": optimizer_us,
             "global_batch": batch, "predictions": predictions}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
