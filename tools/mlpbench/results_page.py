"""One self-contained HTML page of one machine's committed results: the machine, build and host;
the reference runs against the Keras reference; the peers side by side; every study (threads,
SIMD targets, batch sizes, ranks); the tracker's benchmark history with its change points.

Reads a machine's results folder laid out as results/<machine>/ is (results/README.md):
machine.json (the CPU and its measured FMA peak: the page's title), runs/reference/*.json (run
logs, nothing else), peers/*/summary.json (bench/peers/side_by_side.py), studies/*/ (run logs
of a study, in subfolders too; other JSON files there are left out), and a history folder of
benchmark records (--history, default <results>/demo-history). A part that is missing is said
so on the page.

Exit status: 0 written, 2 bad command line or a malformed input (one line naming the file).
Example: tools/results_page.py results/amd-f25m17-2cpu -o results/runs/results.html
"""

import glob
import os
import statistics
import sys

from mlpbench import cli
from mlpbench import logs as ml
from mlpbench import machine
from mlpbench import plotting
from mlpbench.report import Page
from mlpbench.tracking import stats as ts

PROG = "results_page.py"


def parse_args(argv):
    doc, _, epilog = __doc__.partition("\nExit status")
    p = cli.arg_parser(PROG, doc, "Exit status" + epilog)
    p.add_argument("results", metavar="RESULTS", help="a results folder (results/)")
    p.add_argument("-o", "--output", required=True, metavar="PAGE.html", help="the page to write")
    p.add_argument("--history", metavar="DIR",
                   help="benchmark records of the tracker (default RESULTS/demo-history)")
    p.add_argument("--title", help="the page's title (default: mlpbench results of the "
                                   "folder's machine)")
    return p.parse_args(argv)


def median_epoch_seconds(log):
    times = [e["train_seconds"] for e in log.epochs if ml.is_number(e.get("train_seconds"))]
    return statistics.median(times) if times else None


def final_accuracy(log):
    accs = [e["test_accuracy"] for e in log.epochs if ml.is_number(e.get("test_accuracy"))]
    return accs[-1] if accs else None


def percent(value):
    return f"{value * 100:.2f} %" if ml.is_number(value) else "-"


def peaks_text(facts):
    """ "FMA peak 117.2 GFLOP/s on 1 thread, 227.8 on 2 (AVX3)" of machine.json, or ""."""
    peaks = list((facts or {}).get("fma_peak_gflops", {}).items())
    if not peaks:
        return ""
    first = f"FMA peak {peaks[0][1]['gflops']:.1f} GFLOP/s on {peaks[0][0]} " \
            f"thread{'s' * (peaks[0][0] != '1')}"
    return first + "".join(f", {p['gflops']:.1f} on {t}" for t, p in peaks[1:]) + \
        f" ({peaks[-1][1]['simd_target']})"


def machine_section(page, facts, logs):
    s = page.section("Machine, build and host", "where every timing on this page was taken")
    if facts:
        s.facts({"machine folder": facts["name"], "CPU": facts["model_name"],
                 "CPUID": f"{facts['vendor']} family {facts['cpu_family']} model "
                          f"{facts['cpu_model']}",
                 "logical CPUs": facts["logical_cpus"], "measured": peaks_text(facts) or "-"})
    if not logs:
        s.text("No reference run log: the build is unknown.")
        return
    # the build is the engine's, not a peer's
    log = next((g for g in logs if g.engine.startswith("mlpbench")), logs[0])
    host, build = log.host, log.data["build"]
    cpu = {} if facts else {"CPU": host.get("cpu_model", "-"), "CPUID": host.get("cpu_id", "-"),
                            "logical CPUs": host.get("logical_cpus", "-")}
    s.facts({**cpu, "caches": ", ".join(f"{k} {v // 1024} KiB" for k, v in
                                        (host.get("caches") or {}).items() if isinstance(v, int)),
             "engine": log.engine, "commit": build.get("git_commit", "-"),
             "SIMD": f"{log.simd_target} (compiled: {build.get('simd_config', '-')})",
             "flags": build.get("cxx_flags", "-")})


def reference_section(page, logs, plt):
    s = page.section("Reference runs against Keras",
                     "final test accuracy of each reference run and the Keras notebook's")
    if not logs:
        s.text("No reference run logs (runs/reference/).")
        return
    s.table(["log", "trained by", "threads", "epochs", "final test accuracy", "Keras reference",
             "median s / epoch"],
            [[os.path.basename(g.path), g.engine, g.threads, len(g.epochs),
              percent(final_accuracy(g)), percent(g.reference_accuracy),
              median_epoch_seconds(g) or "-"] for g in logs])
    fig, ax = plt.subplots(figsize=(8, 4))
    for g in logs:
        ax.plot([e["epoch"] for e in g.epochs], [e["test_accuracy"] for e in g.epochs],
                marker=".", label=os.path.basename(g.path))
    for ref in sorted({g.reference_accuracy for g in logs if g.reference_accuracy}):
        ax.axhline(ref, linestyle=":", color="#555")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=7)
    s.figure(fig, "test accuracy per epoch; dotted: the Keras reference")


def peers_section(page, folder, plt):
    s = page.section("Peers side by side",
                     "median epoch seconds of engine and PyTorch peer per configuration, "
                     "measured in turns (bench/peers/side_by_side.py)")
    summaries = sorted(glob.glob(os.path.join(folder, "*", "summary.json")))
    if not summaries:
        s.text("No side-by-side summaries (peers/*/summary.json).")
        return
    rows, labels, ratios = [], [], []
    for path in summaries:
        data = ml.load_json(path)
        name = os.path.basename(os.path.dirname(path))
        configs = data.get("configs") if isinstance(data, dict) else None
        if not isinstance(configs, dict):
            raise ml.ToolError(f"{path}: /configs: expected an object, got "
                               f"{ml.describe_value(configs)}")
        for config, c in configs.items():
            ratio = c.get("ratio_peer_over_engine") if isinstance(c, dict) else None
            rows.append([name, config, c.get("engine_median_epoch_seconds") or "-",
                         c.get("peer_median_epoch_seconds") or "-",
                         ratio if ml.is_number(ratio) else "skipped"])
            if ml.is_number(ratio):
                labels.append(f"{name}\n{config}")
                ratios.append(ratio)
    s.table(["comparison", "peer configuration", "engine s / epoch", "peer s / epoch",
             "peer / engine"], rows)
    if ratios:
        fig, ax = plt.subplots(figsize=(max(6, len(ratios) * 0.8), 4))
        ax.bar(range(len(ratios)), ratios, color="#1f77b4")
        ax.set_xticks(range(len(ratios)), labels, fontsize=6)
        ax.axhline(1, color="#555", linestyle=":")
        ax.set_ylabel("peer / engine epoch time")
        s.figure(fig, "how many times longer the peer takes an epoch (> 1: the engine is faster)")


def study_section(page, folder, plt):
    name = os.path.basename(folder.rstrip(os.sep))
    s = page.section(f"Study {name}", "every run of the study: its settings, epoch time and "
                                      "final accuracy")
    logs = ml.run_logs_under(folder)
    if not logs:
        s.text("No run logs in this study.")
        return
    rows = []
    for g in logs:
        rows.append([os.path.relpath(g.path, folder), g.threads, g.simd_target,
                     g.experiment.get("batch_size", "-"),
                     (g.data.get("distributed") or {}).get("ranks", 1),
                     median_epoch_seconds(g) or "-", percent(final_accuracy(g))])
    s.table(["log", "threads", "SIMD", "batch", "ranks", "median s / epoch",
             "final test accuracy"], rows)
    timed = [(r[0], r[5]) for r in rows if ml.is_number(r[5])]
    if timed:
        fig, ax = plt.subplots(figsize=(max(6, len(timed) * 0.6), 4))
        ax.bar(range(len(timed)), [t for _, t in timed], color="#2ca02c")
        ax.set_xticks(range(len(timed)), [n for n, _ in timed], rotation=60, ha="right",
                      fontsize=6)
        ax.set_ylabel("median s / epoch")
        fig.tight_layout()
        s.figure(fig, f"{name}: median epoch time of each run")


def history_section(page, folder, plt):
    s = page.section("Benchmark history", "the median real time of each benchmark over the "
                                          "tracker's records, in record order, with the change "
                                          "points E-divisive finds (docs/tracking.md)")
    paths = sorted(glob.glob(os.path.join(folder, "*.json"))) if folder else []
    if not paths:
        s.text("No benchmark records.")
        return
    series = {}
    for i, path in enumerate(paths):
        bench = ml.load_bench(path)
        for name in bench.iterations():
            times = bench.times_ns(name, "real_time")
            if times:
                series.setdefault(name, []).append((i, statistics.median(times)))
    rows = []
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, points in sorted(series.items()):
        values = [v for _, v in points]
        cuts = ts.e_divisive(values) if len(values) >= 6 else []
        rows.append([name, len(values), ml.format_time_ns(values[0]),
                     ml.format_time_ns(values[-1]),
                     ", ".join(os.path.basename(paths[points[c][0]]) for c in cuts) or "none"])
        ax.plot([i for i, _ in points], [v / values[0] for v in values], marker=".", label=name)
        for c in cuts:
            ax.axvline(points[c][0] - 0.5, color="#d62728", linestyle="--")
    s.table(["benchmark", "records", "first median", "last median", "change points at"], rows)
    s.facts({f"record {i}": os.path.basename(p) for i, p in enumerate(paths)})
    ax.set_xlabel("record")
    ax.set_ylabel("median real time / the first record's")
    ax.legend(fontsize=6)
    s.figure(fig, "benchmark medians relative to the first record; dashed: change points")


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isdir(args.results):
        raise ml.ToolError(f"{args.results}: not a folder")
    if not args.output.lower().endswith(".html"):
        raise ml.ToolError(f"{args.output}: expected an .html file name")
    plt = plotting.pyplot()
    reference = ml.run_logs_under(os.path.join(args.results, "runs", "reference"), only_logs=True)
    facts = machine.load(args.results)
    name = facts["name"] if facts else os.path.basename(os.path.abspath(args.results))
    page = Page(args.title or f"mlpbench results: {name}",
                "; ".join(filter(None, [peaks_text(facts),
                                        f"from {os.path.abspath(args.results)}"])))
    machine_section(page, facts, reference)
    reference_section(page, reference, plt)
    peers_section(page, os.path.join(args.results, "peers"), plt)
    for folder in sorted(glob.glob(os.path.join(args.results, "studies", "*", ""))):
        study_section(page, folder, plt)
    history = args.history or os.path.join(args.results, "demo-history")
    history_section(page, history if os.path.isdir(history) else None, plt)
    page.write(args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
