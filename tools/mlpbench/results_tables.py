"""The tables of a results folder (one machine's, results/<machine>/), computed from its files,
never typed. A table is named by a KIND and its arguments, paths relative to the folder:

  headline                    README.md's table: s per epoch of the engine and the fastest
                              PyTorch peer configuration (peers/mlp512, peers/mlp64_32), the
                              mean final accuracy of runs/reference/mlp512_5ep.json and its
                              -seed<N> runs against Keras and the peer, thread scaling 1 -> 2
                              (studies/threads_mlp512)
  machine                     the CPU (machine.json), the build, the FMA peaks
  bench                       key benchmarks of bench/mlp_bench_t<T>.json, a column per T
  epochs LOG [peer=LOG] [at=1,2,5]   a run's epochs (and a peer run's test accuracy)
  threads STUDY | simd STUDY  a repeated thread or SIMD-target study: per setting the median
                              epoch seconds over runs, the speed-up, whether numbers agree
  peers DIR...                side-by-side summaries (DIR/summary.json) next to each other
  batch DIR...                batch-size studies: the soonest to the target accuracy
  shards_cost FILE...         training steps by shard count (mlp_bench JSON)
  epoch_ab FILE...            tools/epoch_ab.py results
  vendor FILE                 every GEMM of vendor_gemm JSON: the engine's GFLOP/s against the
                              fastest library's (oneDNN, OpenBLAS, BLIS) at each shape and
                              thread count, their ratio, and its median per thread count; with
                              machine.json, the FMA peak over the fastest library's GFLOP/s
                              too: the most any code could gain on it

It prints the headline table, or with --table "KIND ARGS" that one (--epochs LOG: the same
as --table "epochs LOG"). In a Markdown file a table sits between the lines
`<!-- results_tables: KIND ARGS -->` and `<!-- /results_tables -->`; --check FILE exits 1 when
one of the file's tables is not the one the files give (tools/tests/test_results_tables.py
checks README.md and every machine folder's README.md so; a file is never written over: paste
the printed table). --readme prints a README for the folder (mlpbench.results_readme): its
parts, the commands that made them and their tables, filled in.

Exit status: 0 printed or the same, 1 (--check) different, 2 bad command line or input.
Example: tools/results_tables.py results/amd-f25m17-2cpu --check README.md
"""

import glob
import math
import os
import statistics
import sys

from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import logs as ml
from mlpbench import machine
from mlpbench import results_readme
from mlpbench import simd_targets
from mlpbench.plots import batch as batch_plot

PROG = "results_tables.py"
BEGIN, END = "<!-- results_tables: ", "<!-- /results_tables -->"


def parse_args(argv):
    doc, _, epilog = __doc__.partition("\nExit status")
    p = cli.arg_parser(PROG, doc, "Exit status" + epilog)
    p.add_argument("results", metavar="RESULTS", help="a machine's results folder "
                                                      "(results/<machine>)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--table", metavar="'KIND ARGS'", help="print this table")
    what.add_argument("--epochs", metavar="LOG", help="print the table of epochs of this run log")
    what.add_argument("--check", metavar="FILE.md", help="exit 1 if one of this file's tables "
                                                           "differs")
    what.add_argument("--readme", action="store_true", help="print a README of the folder")
    return p.parse_args(argv)


def side_by_side(results, name):
    """(engine s/epoch, best peer s/epoch, its threads, its configuration) of
    peers/<name>/summary.json."""
    path = os.path.join(results, "peers", name, "summary.json")
    data = ml.load_checked("side-by-side-summary", path)
    try:
        best = data["best_peer_config"]
        return (float(data["engine_median_epoch_seconds"]),
                float(data["best_peer_median_epoch_seconds"]),
                int(data["configs"][best]["peer_threads"]), str(best))
    except (KeyError, TypeError, ValueError):
        raise ml.ToolError(f"{path}: not a side_by_side summary with a best peer "
                           f"(engine_median_epoch_seconds, best_peer_config, configs)") from None


def final_accuracy(log):
    values = [e["test_accuracy"] for e in log.epochs if ml.is_number(e["test_accuracy"])]
    if not values:
        raise ml.ToolError(f"{log.path}: no epoch with a test accuracy")
    return values[-1]


def median_epoch_seconds(log):
    if not log.epochs:
        raise ml.ToolError(f"{log.path}: /epochs: no finished epoch, nothing to time")
    return statistics.median(e["train_seconds"] for e in log.epochs)


def fixed(value, spec):
    """A number of a table, "-" for a null or NaN one (a diverged run's loss)."""
    return format(value, spec) if ml.is_number(value) and math.isfinite(value) else "-"


def percent(value):
    """An accuracy as "97.66 %", "-" for a null or NaN one."""
    text = fixed(value * 100 if ml.is_number(value) else None, ".2f")
    return text if text == "-" else text + " %"


def thread_scaling(results):
    """(speed-up 1 -> 2 threads, bitwise the same numbers) of studies/threads_mlp512."""
    folder = os.path.join(results, "studies", "threads_mlp512")
    runs = {}
    for g in ml.load_run_logs([folder]):
        runs.setdefault(g.threads, []).append(g)
    if 1 not in runs or 2 not in runs:
        raise ml.ToolError(f"{folder}: expected logs of 1 and 2 threads")
    first = result_numbers(runs[1][0])
    same = all(result_numbers(g) == first for g in runs[1] + runs[2])
    seconds = {t: statistics.median(median_epoch_seconds(g) for g in runs[t]) for t in (1, 2)}
    return seconds[1] / seconds[2], same  # medians over repeated runs, as the study's table


def headline(results):
    """The table, as Markdown lines."""
    reference = os.path.join(results, "runs", "reference")
    seeds = [ml.load_run_log(p) for p in
             [os.path.join(reference, "mlp512_5ep.json")] +
             sorted(glob.glob(os.path.join(reference, "mlp512_5ep-seed*.json")))]
    peer_run = ml.load_run_log(os.path.join(reference, "mlp512_5ep-pytorch.json"))
    keras = seeds[0].reference_accuracy
    big, small = side_by_side(results, "mlp512"), side_by_side(results, "mlp64_32")
    speedup, same = thread_scaling(results)
    mean = statistics.mean(final_accuracy(g) for g in seeds)
    keras_text = f"Keras reference {keras * 100:.2f} %" if keras is not None else \
        "no Keras reference in the log"
    return [
        "| | engine | peers: the fastest configuration side by side; PyTorch's accuracy |",
        "| --- | ---: | ---: |",
        f"| mlp512_5ep (784-512-10): s per epoch, {seeds[0].threads} threads | {big[0]:.2f} | "
        f"{big[1]:.2f} (`{big[3]}`, {big[2]} thread{'s' * (big[2] != 1)}) |",
        f"| mlp512_5ep: final test accuracy, seeds 1–{len(seeds)} | {mean * 100:.2f} % (mean; "
        f"{keras_text}) | PyTorch {final_accuracy(peer_run) * 100:.2f} % "
        f"(seed {peer_run.data['run'].get('seed', 1)}) |",
        f"| mlp64_32_100ep (784-64-32-10): s per epoch | {small[0]:.3f} | {small[1]:.3f} "
        f"(`{small[3]}`, {small[2]} thread{'s' * (small[2] != 1)}) |",
        f"| thread scaling 1 -> 2, mlp512 | {speedup:.2f}x, "
        f"{'bitwise-identical numbers' if same else 'numbers differ'} | |",
    ]


def epochs_table(results, log_path, peer=None, at=None):
    """A run log's epochs (those numbered in `at`, or all): losses, accuracies, train seconds and
    GFLOP/s, and with `peer` (a log of the same experiment) the peer's test accuracy; "-" where
    a number is null or NaN (a diverged run's loss) or missing."""
    log = ml.load_run_log(os.path.join(results, log_path))
    peer_log = ml.load_run_log(os.path.join(results, peer)) if peer else None
    peer_acc = {e["epoch"]: e["test_accuracy"] for e in peer_log.epochs} if peer_log else {}
    head = "| epoch | train loss | train acc | test loss | test acc | train s | GFLOP/s |"
    lines = [head + (" peer test acc |" if peer_log else ""),
             "|" + " ---: |" * (8 if peer_log else 7)]
    for e in log.epochs:
        if at and e["epoch"] not in at:
            continue
        row = (f"| {e['epoch']} | {fixed(e['train_loss'], '.4f')} | "
               f"{percent(e['train_accuracy'])} | {fixed(e['test_loss'], '.4f')} | "
               f"{percent(e['test_accuracy'])} | {fixed(e['train_seconds'], '.3f')} | "
               f"{fixed(e.get('gflops'), '.1f')} |")
        if peer_log:
            row += f" {percent(peer_acc.get(e['epoch']))} |"
        lines.append(row)
    return lines


def machine_table(results):
    """The machine of machine.json, the build of the first reference log, the FMA peaks."""
    facts = machine.load(results)
    if facts is None:
        raise ml.ToolError(f"{os.path.join(results, 'machine.json')}: missing (tools/machine.py "
                           f"describe {results} writes it)")
    lines = ["| | |", "| --- | --- |",
             f"| CPU | {facts['model_name']} ({facts['vendor']}, family {facts['cpu_family']} "
             f"model {facts['cpu_model']}), {facts['logical_cpus']} logical CPUs |"]
    logs = sorted(glob.glob(os.path.join(results, "runs", "reference", "*.json")))
    engine_logs = [g for g in map(ml.load_run_log, logs) if g.engine.startswith("mlpbench")]
    if engine_logs:
        build = engine_logs[0].data["build"]
        lines.append(f"| build | {build.get('compiler', '-')}, {build.get('build_type', '-')}, "
                     f"commit {build.get('git_commit', '-')}, SIMD {engine_logs[0].simd_target} |")
    for threads, peak in facts["fma_peak_gflops"].items():
        lines.append(f"| FMA peak, {threads} thread{'s' * (threads != '1')} | "
                     f"{peak['gflops']:.1f} GFLOP/s ({peak['simd_target']}) |")
    return lines


# (row label, benchmark, what is shown: its GFLOP/s, GFLOP/s with the % of the FMA peak, or
# the median time)
BENCH_ROWS = [
    ("FMA peak", "BM_FmaPeak", "GFLOPS"),
    ("forward GEMM 32x784 . 784x512", "BM_GemmForward/m:32/n:512/k:784", "peak"),
    ("weight-gradient GEMM 784x32 . 32x512", "BM_GemmWeightGrad/m:784/n:512/k:32", "peak"),
    ("the same with Adam fused (what the step runs)", "BM_GemmWeightGradAdam/m:784/n:512/k:32",
     "real_time"),
    ("training step 784-512-10, batch 32", "BM_TrainStep/784-512-10/batch:32", "real_time"),
    ("training step 784-64-32-10, batch 32", "BM_TrainStep/784-64-32-10/batch:32", "real_time"),
    ("Adam, 407,050 parameters", "BM_Adam/params:407050", "real_time"),
    ("gathering a batch of 32 random rows (bytes -> floats)", "BM_GatherBatch/batch:32",
     "real_time"),
    ("the same from floats", "BM_GatherBatchFloatCopy/batch:32", "real_time"),
    ("evaluation, 10,000 samples", "BM_Evaluate/784-512-10/samples:10000/chunk:1000",
     "real_time"),
]


def thread_files(results, prefix):
    """{threads: path} of <results>/<prefix><T>.json, by thread count."""
    found = {}
    for path in glob.glob(os.path.join(results, prefix + "*.json")):
        threads = os.path.basename(path)[len(os.path.basename(prefix)):-len(".json")]
        if threads.isdigit():
            found[int(threads)] = path
    if not found:
        raise ml.ToolError(f"{os.path.join(results, prefix)}<T>.json: no such file")
    return dict(sorted(found.items()))


def bench_table(results):
    """Key benchmarks of bench/mlp_bench_t<T>.json side by side, one column per thread count."""
    benches = {t: ml.load_bench(p) for t, p in thread_files(results, "bench/mlp_bench_t").items()}
    lines = ["| |" + "".join(f" {t} thread{'s' * (t != 1)} |" for t in benches),
             "| --- |" + " ---: |" * len(benches)]
    for label, name, shown in BENCH_ROWS:
        cells = []
        for bench in benches.values():
            value, entries = bench.median(name, "real_time" if shown == "real_time" else "GFLOPS")
            if value is None:
                cells.append("-")
            elif shown == "real_time":
                cells.append(ml.format_time_ns(value))
            elif shown == "GFLOPS":
                cells.append(f"{value:.1f} GFLOP/s ({entries[0].get('label', '-')})")
            else:
                peak = bench.median("BM_FmaPeak", "GFLOPS")[0]
                share = f" ({value / peak * 100:.0f} %)" if peak else ""
                cells.append(f"{value:.1f} GFLOP/s{share}")
        lines.append(f"| {label} |" + "".join(f" {c} |" for c in cells))
    return lines


def result_numbers(log):
    """What decides whether two runs computed the same thing: every epoch's RESULT_KEYS."""
    return [{k: e[k] for k in ml.RESULT_KEYS} for e in log.epochs]


def study_table(results, folder, key):
    """A thread (key "threads") or SIMD-target ("simd") study: per setting its runs, the median
    over runs of their median epoch seconds (min-max), the speed-up over the slowest setting,
    and whether every run computed the numbers of the first one."""
    path = os.path.join(results, folder)
    logs = ml.load_run_logs([path])
    groups = {}
    for g in logs:
        groups.setdefault(g.threads if key == "threads" else g.simd_target, []).append(g)
    if len(groups) < 2:
        raise ml.ToolError(f"{path}: expected runs of at least two {key} settings")
    medians = {k: [median_epoch_seconds(g) for g in runs] for k, runs in groups.items()}
    slowest = max(groups, key=lambda k: statistics.median(medians[k]))
    base = statistics.median(medians[slowest])
    order = sorted(groups) if key == "threads" else \
        sorted(groups, key=lambda k: statistics.median(medians[k]))
    first = result_numbers(groups[order[0]][0])
    lines = [f"| {'threads' if key == 'threads' else 'SIMD target'} | runs | epochs | "
             f"median s / epoch (min–max over runs) | speed-up over {slowest} | "
             f"numbers against {order[0]} |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for k in order:
        m = medians[k]
        same = all(result_numbers(g) == first for g in groups[k])
        verdict = "bitwise the same" if same else "differ"
        if key == "simd" and not same:
            verdict = simd_difference(k, order[0], groups[k])
        lines.append(f"| {k} | {len(m)} | {len(groups[k][0].epochs)} | "
                     f"{statistics.median(m):.3f} ({min(m):.3f}–{max(m):.3f}) | "
                     f"{base / statistics.median(m):.2f}x | {verdict} |")
    return lines


def simd_difference(target, reference, runs):
    """Why a target's numbers differ from the reference target's: expected across FMA families
    and vector widths (docs/design.md, "Determinism"); a defect only between runs of one target."""
    if any(result_numbers(g) != result_numbers(runs[0]) for g in runs):
        return "**runs of this target differ from each other** (a defect)"
    if simd_targets.family(target) != simd_targets.family(reference):
        return (f"differ, as expected: {'no ' if simd_targets.family(target) == 'non-FMA' else ''}"
                "fused multiply-add (rounds differently)")
    if simd_targets.lanes(target) != simd_targets.lanes(reference):
        return (f"differ, as expected: {simd_targets.lanes(target)} lanes, not "
                f"{simd_targets.lanes(reference)} (the softmax's sums)")
    return "**differ** (same rounding and width: unexpected)"


def peers_table(results, *folders):
    """Side-by-side summaries (peers/<name>/summary.json) next to each other: per peer
    configuration, the peer's and the engine's median epoch seconds and their ratio."""
    summaries = []
    for folder in folders:
        path = os.path.join(results, folder, "summary.json")
        data = ml.load_checked("side-by-side-summary", path)
        summaries.append((os.path.basename(folder.rstrip("/")), data))
    configs = []
    for _, data in summaries:
        configs += [c for c in data["configs"] if c not in configs]
    lines = ["| configuration |" + "".join(f" {n}: peer s | engine s | peer / engine |"
                                           for n, _ in summaries),
             "| --- |" + " ---: | ---: | ---: |" * len(summaries)]
    for config in configs:
        cells = []
        for _, data in summaries:
            c = data["configs"].get(config) or {}
            peer, engine, ratio = (c.get("peer_median_epoch_seconds"),
                                   c.get("engine_median_epoch_seconds"),
                                   c.get("ratio_peer_over_engine"))
            cells += [f"{v:.3f}" if ml.is_number(v) else "-" for v in (peer, engine)]
            cells.append(f"{ratio:.2f}" if ml.is_number(ratio) else "skipped")
        lines.append(f"| {config} |" + "".join(f" {c} |" for c in cells))
    return lines


def batch_table(results, *folders):
    """Batch-size studies (tools/batch_study.sh): per study the soonest run to its target
    accuracy against the smallest batch of the same learning-rate rule (as its figure says)."""
    lines = ["| study (target) | soonest to the target | smallest batch, same rule | gain |",
             "| --- | --- | --- | ---: |"]
    for folder in folders:
        table, _ = batch_plot.collect(ml.run_logs_under(os.path.join(results, folder)), None)
        some = next(iter(next(iter(table.values())).values()))
        target = f"{some['target'] * 100:g} %" if ml.is_number(some["target"]) else "-"
        best = batch_plot.best_batch(table)
        if best is None:
            lines.append(f"| {folder} ({target}) | never reached | - | - |")
            continue
        rule, batch, seconds, smallest, base = best
        rows = table[rule]
        lines.append(f"| {folder} ({target}) | batch {batch}, rule {rule}: {seconds:.1f} s, "
                     f"{rows[batch]['epochs_to_target']} epochs | batch {smallest}: " +
                     (f"{base:.1f} s, {rows[smallest]['epochs_to_target']} epochs | "
                      f"{base / seconds:.2f}x |" if ml.is_number(base) else "not reached | - |"))
    return lines


def shards_cost_table(results, *files):
    """Training steps by shard count (mlp_bench BM_TrainStep .../shards:N), one row per model
    and file (its thread count), each count with its ratio to 1 shard."""
    counts = (1, 2, 4, 8)
    lines = ["| step, threads (file) |" + "".join(f" {n} shard{'s' * (n != 1)} |"
                                                  for n in counts),
             "| --- |" + " ---: |" * len(counts)]
    for f in files:
        bench = ml.load_bench(os.path.join(results, f))
        threads = bench.context.get("mlpbench_threads", "-")
        for model in ("784-512-10", "784-64-32-10"):
            name = f"BM_TrainStep/{model}/batch:32"
            one = bench.median(name, "real_time")[0]
            if one is None:
                continue
            cells = [ml.format_time_ns(one)]
            for n in counts[1:]:
                value = bench.median(f"{name}/shards:{n}", "real_time")[0]
                cells.append(f"{ml.format_time_ns(value)} ({value / one:.2f})"
                             if value is not None else "-")
            lines.append(f"| {model}, {threads} ({f}) |" + "".join(f" {c} |" for c in cells))
    return lines


VENDOR_OPS = ("forward", "weight_grad", "input_grad")


def vendor_gemm(prefix):
    """(threads, op, m, k, n) of "BM_VendorGemm/<op>/m:M/n:N/k:K/threads:T", None if it is not
    such a name."""
    parts = prefix.split("/")
    fields = dict(part.split(":", 1) for part in parts[2:] if ":" in part)
    numbers = [fields.get(key, "") for key in ("threads", "m", "k", "n")]
    if len(parts) != 6 or not all(n.isdigit() for n in numbers):
        return None
    threads, m, k, n = map(int, numbers)
    return threads, parts[1], m, k, n


def vendor_table(results, file):
    """Rows per GEMM (BM_VendorGemm/<op>/m:M/n:N/k:K/threads:T/<library>, medians of GFLOPS),
    by thread count, operation and shape: the engine, the fastest other library, engine /
    fastest, and the FMA peak of machine.json at that thread count / fastest ("-" without
    it); then per thread count the median and the lowest of the ratio, and for how many GEMMs
    1.2x the fastest library would pass the peak."""
    bench = ml.load_bench(os.path.join(results, file))
    facts = machine.load(results)
    peaks = {int(t): p["gflops"] for t, p in facts["fma_peak_gflops"].items()} if facts else {}
    libraries = {}  # (threads, op, m, k, n) -> (name prefix, its libraries)
    for e in bench.benchmarks:
        name = str(e.get("run_name", "")).removesuffix("/real_time")
        prefix, _, library = name.rpartition("/")
        gemm = vendor_gemm(prefix) if name.startswith("BM_VendorGemm/") else None
        if gemm is not None:
            libraries.setdefault(gemm, (prefix, set()))[1].add(library)
    lines = ["| GEMM (M x K times K x N) | threads | engine | fastest other library | "
             "engine / fastest | FMA peak / fastest |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    ratios, ceilings = {}, {}
    order = {op: i for i, op in enumerate(VENDOR_OPS)}
    for gemm in sorted(libraries, key=lambda g: (g[0], order.get(g[1], len(order))) + g[1:]):
        (threads, op, m, k, n), (prefix, names) = gemm, libraries[gemm]
        gflops = {lib: bench.median(f"{prefix}/{lib}", "GFLOPS")[0] for lib in names}
        engine = gflops.pop("engine", None)
        others = {lib: v for lib, v in gflops.items() if v is not None and v > 0}
        if engine is None or not others:
            continue
        best = max(sorted(others), key=others.get)
        ratio = engine / others[best]
        ratios.setdefault(threads, []).append((ratio, f"{op} {m}x{k}x{n}"))
        ceiling = peaks[threads] / others[best] if threads in peaks else None
        ceilings.setdefault(threads, []).append(ceiling)
        lines.append(f"| {op} {m} x {k} x {n} | {threads} | {engine:.1f} GFLOP/s | "
                     f"{others[best]:.1f} GFLOP/s ({best}) | {ratio:.2f}x | "
                     f"{'-' if ceiling is None else f'{ceiling:.2f}x'} |")
    if not ratios:
        raise ml.ToolError(f"{os.path.join(results, file)}: no BM_VendorGemm benchmark with "
                           f"the engine and another library")
    for threads, found in sorted(ratios.items()):
        low = min(found)
        below = [c for c in ceilings[threads] if c is not None and c < 1.2]
        lines.append(f"| median over {len(found)} GEMMs | {threads} | | | "
                     f"**{statistics.median(r for r, _ in found):.2f}x** (lowest {low[0]:.2f}x, "
                     f"{low[1]}) | " + (f"under 1.2x for {len(below)} of {len(found)} |"
                                        if threads in peaks else "- |"))
    return lines


def epoch_ab_table(results, *files):
    """tools/epoch_ab.py results, one row each: the median epoch seconds of A and B, the ratio
    B / A over the rounds (median, min–max) and the rounds in which B was slower."""
    lines = ["| file | threads | A | B | rounds | B / A: median (min–max) | rounds B slower |",
             "| --- | ---: | --- | --- | ---: | ---: | ---: |"]
    for f in files:
        data = ml.load_checked("epoch-ab-result", os.path.join(results, f))
        med, ratio = data["median_seconds_per_epoch"], data["ratio_b_over_a"]
        lines.append(f"| {f} | {data['threads'] or '-'} | `{data['a']}`: {med['A']:.3f} s | "
                     f"`{data['b']}`: {med['B']:.3f} s | {data['rounds']} | "
                     f"**{ratio['median']:.2f}** ({ratio['min']:.2f}–{ratio['max']:.2f}) | "
                     f"{ratio['rounds_b_slower']} |")
    return lines


def epoch_numbers(text, where):
    """{1, 2, 5} of "1,2,5"; ToolError naming `where` for anything else (an at= that picked
    no epoch would print them all)."""
    parts = [n.strip() for n in text.split(",")]
    if not all(n.isdigit() and int(n) >= 1 for n in parts):
        raise ml.ToolError(f"{where}: at={text}: expected epoch numbers separated by commas, "
                           "e.g. at=1,2,5")
    return {int(n) for n in parts}


# marker kind -> (table of (results, *paths, **options), how many paths: a number, or None for
# one or more)
TABLES = {
    "headline": (headline, 0),
    "machine": (machine_table, 0),
    "bench": (bench_table, 0),
    "epochs": (epochs_table, 1),
    "threads": (lambda r, folder: study_table(r, folder, "threads"), 1),
    "simd": (lambda r, folder: study_table(r, folder, "simd"), 1),
    "peers": (peers_table, None),
    "batch": (batch_table, None),
    "shards_cost": (shards_cost_table, None),
    "epoch_ab": (epoch_ab_table, None),
    "vendor": (vendor_table, 1),
}


def table_of(path, results, marker):
    """The table a marker line of `path` (or its words) names: KIND [PATH ...] [key=value ...]."""
    words = marker[len(BEGIN):].removesuffix("-->").split() if marker.startswith(BEGIN) \
        else marker.split()
    kind = words[0] if words else ""
    if kind not in TABLES:
        raise ml.ToolError(f"{path}: {marker!r}: " + (f"unknown table {kind!r}" if kind else
                                                      "names no table") +
                           f" (expected one of {', '.join(TABLES)})")
    func, count = TABLES[kind]
    paths = [w for w in words[1:] if "=" not in w]
    options = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    if (len(paths) != count if count is not None else not paths) or \
            (options and kind != "epochs") or set(options) - {"peer", "at"}:
        raise ml.ToolError(f"{path}: {marker}: wrong arguments for the table {kind!r}")
    if "at" in options:
        options["at"] = epoch_numbers(options["at"], f"{path}: {marker}")
    return func(results, *paths, **options)


def regenerated(path, text, results):
    """`text` with every marked table replaced by the one the logs give."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        out.append(lines[i])
        if lines[i].startswith(BEGIN):
            end = next((j for j in range(i + 1, len(lines)) if lines[j] == END), None)
            if end is None:
                raise ml.ToolError(f"{path}: {lines[i]}: no line {END} after it")
            out += table_of(path, results, lines[i])
            i = end
            continue
        i += 1
    if not any(line.startswith(BEGIN) for line in lines):
        raise ml.ToolError(f"{path}: no table marked {BEGIN}...")
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isdir(args.results):
        raise ml.ToolError(f"{args.results}: not a folder")
    if args.readme:
        print(regenerated(args.results, results_readme.skeleton(args.results), args.results),
              end="")
        return 0
    if not args.check:
        words = args.table if args.table is not None else \
            f"epochs {args.epochs}" if args.epochs else "headline"
        print("\n".join(table_of("--table", args.results, words)))
        return 0
    text = mlpbench_files.read_bytes(args.check).decode("utf-8", errors="replace")
    if regenerated(args.check, text, args.results) != text:
        print(f"{PROG}: {args.check}: a table is not the logs' (print it with {PROG} "
              f"{args.results} --table 'KIND ARGS')", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
