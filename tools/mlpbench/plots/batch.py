"""Plot a batch-size study: run logs of run_experiment --sweep-batch-size (any --lr-scaling).

Four panels against batch size, one line per learning-rate rule (run.lr_scaling.rule):
samples per second; training GFLOP/s with this machine's FMA peak as a line (the roofline view
of where small batches lose: --peak-gflops, or the BM_FmaPeak median of an mlp_bench JSON given
with --bench); epochs to the experiment's target_accuracy; and training seconds to it (the
summary's time_to_target_seconds). The figure states the batch size that reaches the target
soonest on this machine, and by how much against the smallest batch of the same rule.
Throughput is the median over a run's epochs. With several thread counts in the logs, the
largest is plotted (or --threads N).
"""

import statistics
import sys

from mlpbench import cli
from mlpbench import logs as ml
from mlpbench import plotting

PROG = "plot_batch.py"


def parse_args(argv):
    p = cli.arg_parser(
        PROG, __doc__,
        "A directory argument stands for every *.json log directly inside it.\n"
               "Exit status: 0 success, 2 bad command line or unreadable/unsuitable logs.\n"
               "Example: tools/plot_batch.py results/runs/batch/* --bench "
               "results/amd-f25m17-2cpu/bench/mlp_bench_t2.json -o batch.png")
    p.add_argument("logs", nargs="+", metavar="LOG", help="run logs (or folders of them)")
    p.add_argument("-o", "--output", default="batch.png", metavar="PATH",
                   help="output figure, .png or .svg (default batch.png)")
    p.add_argument("--peak-gflops", type=float, metavar="X", help="the FMA peak to draw")
    p.add_argument("--bench", metavar="JSON", help="mlp_bench JSON with BM_FmaPeak (the peak)")
    p.add_argument("--threads", type=int, help="plot runs of this thread count")
    p.add_argument("--title", help="figure title (default: the experiment's name)")
    return p.parse_args(argv)


def bench_peak(path):
    """The BM_FmaPeak GFLOPS of an mlp_bench JSON (its median when repeated), and its threads."""
    bench = ml.load_bench(path)
    peaks = [b for b in bench.benchmarks if b["name"].startswith("BM_FmaPeak")
             and ml.is_number(b.get("GFLOPS"))]
    medians = [b for b in peaks if b.get("aggregate_name") == "median"]
    plain = [b for b in peaks if b.get("run_type") != "aggregate"]
    chosen = medians or plain
    if not chosen:
        raise ml.ToolError(f"{path}: no BM_FmaPeak result with GFLOPS (run build/bench/mlp_bench "
                           f"--benchmark_filter=FmaPeak --benchmark_out=FILE)")
    return float(chosen[0]["GFLOPS"]), bench.context.get("mlpbench_threads")


def collect(logs, threads):
    """{rule: {batch: row}} for completed runs of one thread count."""
    counts = sorted({log.data["run"]["threads"] for log in logs})
    chosen = threads if threads is not None else counts[-1]
    if chosen not in counts:
        raise ml.ToolError(f"no run with {chosen} threads (the logs have {counts})")
    table = {}
    for log in logs:
        d = log.data
        if d["status"] != "completed" or d["run"]["threads"] != chosen or not d["epochs"]:
            continue
        rule = d["run"].get("lr_scaling", {}).get("rule", "none")
        batch = d["experiment"]["batch_size"]
        s = d.get("summary", {})
        if batch in table.setdefault(rule, {}):
            raise ml.ToolError(f"{log.path}: a second run of batch {batch} with lr rule {rule} "
                               f"and {chosen} threads (plot one study at a time)")
        gflops = [e["gflops"] for e in d["epochs"] if ml.is_number(e.get("gflops"))]
        table[rule][batch] = {
            "samples_per_second": statistics.median(e["samples_per_second"] for e in d["epochs"]),
            "gflops": statistics.median(gflops) if gflops else None,  # null in every epoch
            "epochs_to_target": s.get("epochs_to_target"),
            "time_to_target": s.get("time_to_target_seconds"),
            "target": s.get("target_accuracy"), "metric": s.get("target_metric"),
            "name": d["experiment"]["name"], "dataset": d["experiment"].get("dataset", "mnist"),
            "epochs": d["experiment"]["epochs"],
        }
    if not table:
        raise ml.ToolError(f"no completed runs with {chosen} threads")
    return table, chosen


def best_batch(table):
    """(rule, batch, seconds, baseline batch, its seconds or None) of the soonest target."""
    best = None
    for rule, rows in table.items():
        for batch, r in rows.items():
            t = r["time_to_target"]
            if ml.is_number(t) and (best is None or t < best[2]):
                best = (rule, batch, t)
    if best is None:
        return None
    rule, batch, t = best
    smallest = min(table[rule])
    return rule, batch, t, smallest, table[rule][smallest]["time_to_target"]


def main(argv=None):
    args = parse_args(argv)
    plotting.check_output_path(args.output)
    logs = ml.load_run_logs(args.logs)
    table, threads = collect(logs, args.threads)
    peak, peak_threads = (args.peak_gflops, None) if args.peak_gflops else \
        bench_peak(args.bench) if args.bench else (None, None)
    rows_all = [r for rows in table.values() for r in rows.values()]
    any_row = next((r for r in rows_all if r["target"] is not None), rows_all[0])
    batches = sorted({b for rows in table.values() for b in rows})
    plt = plotting.pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    panels = [("samples_per_second", "samples / s (median epoch)", axes[0][0]),
              ("gflops", "training GFLOP/s (median epoch)", axes[0][1]),
              ("epochs_to_target", "epochs to target", axes[1][0]),
              ("time_to_target", "training seconds to target", axes[1][1])]
    for key, label, ax in panels:
        drawn = False
        for rule in sorted(table):
            rows = table[rule]
            xs = [b for b in sorted(rows) if ml.is_number(rows[b][key])]
            color = None
            if xs:
                line, = ax.plot(xs, [rows[b][key] for b in xs], marker="o", label=f"lr {rule}")
                color = line.get_color()
                drawn = True
            missed = [b for b in sorted(rows) if rows[b]["target"] is not None
                      and not ml.is_number(rows[b][key])]
            if key in ("epochs_to_target", "time_to_target") and missed:
                # At the panel's top edge: the target was not reached within the epochs run.
                ax.plot(missed, [0.97] * len(missed), marker="x", linestyle="none", markersize=9,
                        color=color or "gray", transform=ax.get_xaxis_transform(), clip_on=False,
                        label=f"lr {rule}: not reached")
        if key == "gflops" and peak:
            where = f", {peak_threads} threads" if peak_threads else ""
            ax.axhline(peak, color="black", linestyle="--", linewidth=1,
                       label=f"FMA peak {peak:.0f} GFLOP/s{where}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(batches)
        ax.set_xlim(batches[0] / 1.4, batches[-1] * 1.4)
        ax.get_xaxis().set_major_formatter(plt.matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel("batch size")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if drawn or (key == "gflops" and peak):
            ax.legend(fontsize=8, loc="best")
        elif key in ("epochs_to_target", "time_to_target"):
            what = ("not reached within the epochs run" if any_row["target"] is not None
                    else "no target_accuracy in these runs")
            ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes)
    target = any_row["target"]
    head = args.title or f"{any_row['name']} ({any_row['dataset']}), {threads} threads"
    if target is not None:
        head += f": target {any_row['metric']} >= {target:g} within {any_row['epochs']} epochs"
    best = best_batch(table)
    if best:
        rule, batch, t, smallest, t0 = best
        line = f"best batch size for time-to-accuracy on this machine: {batch} (lr {rule}), {t:.1f} s"
        if batch != smallest and ml.is_number(t0):
            line += f", {t0 / t:.2f}x sooner than batch {smallest} ({t0:.1f} s)"
        head += "\n" + line
        print(line)
    fig.suptitle(head, fontsize=10)
    fig.tight_layout()
    plotting.save_figure(fig, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
