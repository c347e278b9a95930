#!/usr/bin/python3
"""Performance regression tracking for the mlp_bench Google Benchmark binary.

  record   run mlp_bench (>= 9 repetitions) and file its JSON output under results/history/
  compare  compare two benchmark outputs; exit status 1 on a significant slowdown
  plot     median time (and GFLOPS) of each benchmark over the history, by date

History entries are named <UTC date-time>_<git commit>_<SIMD target>.json, e.g.
2026-11-23T134500Z_abc123def456_AVX3.json, so that sorting by name sorts by date.
Run `track.py COMMAND --help` for each command's options.
"""

import argparse
import datetime
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import mlpbench_logs as ml  # noqa: E402

PROG = "track.py"
MIN_REPETITIONS = 9
DEFAULT_HISTORY = os.path.join(ml.REPO_ROOT, "results", "history")
DEFAULT_BENCH = os.path.join(ml.REPO_ROOT, "build", "bench", "mlp_bench")
ENTRY_RE = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2}(?:T\d{6}Z)?)_(?P<commit>[^_]+)_(?P<simd>.+?)"
                      r"(?:-\d+)?\.json$")

# The team barrier's round trip is the host probe: on a shared VM it jumps (0.03-0.08 us to
# 0.3 us and more here) when the host places the two vCPUs far apart, which slows everything
# that crosses between threads. `record` always runs it; `compare` says when A and B differ.
HOST_PROBE = "BM_TeamBarrier"
HOST_PROBE_FACTOR = 2.0
HOST_PROBE_MIN_NS = 100.0

COMPARE_HELP = """\
Compare benchmark outputs A (baseline) and B (candidate).

For every benchmark present in both files, the per-repetition entries (run_type "iteration",
grouped by run_name; the mean/median/stddev/cv aggregates are ignored) give:
  change   median(B) / median(A) - 1; for times, positive means B is slower;
  p-value  two-sided Mann-Whitney U test of the repetitions of A against those of B;
  verdict  "slower" if p < alpha and change > +threshold, "faster" if p < alpha and
           change < -threshold, "same" otherwise.
The geometric mean of the B/A median ratios summarizes all benchmarks.

The test needs >= 9 repetitions per side to reach p < 0.05 reliably (fewer draw a warning).
The default threshold of 5% is deliberate: on the shared 2-core VM this project is developed on,
interleaved runs of the same binary differ by a few percent, so a smaller threshold flags noise;
the p-value alone is not enough because a steady 1-2% shift between two sessions (other
tenants, frequency changes) is easily "significant" with 9 quiet repetitions, yet not a
regression worth failing a build for.

The host probe (BM_TeamBarrier, which `record` always runs) is not compared: it measures the
host's state, not the code. Its medians are printed, and if they differ by more than 2x and
0.1 us, the report says the host's state changed between A and B: slowdowns of multi-threaded
benchmarks may then be the host's, not the code's.

A and B are files, or history entries: a unique part of an entry's name in --history (a commit
prefix, a date), or "latest" / "previous".
Exit status: 0 no significant slowdown, 1 at least one benchmark slower, 2 bad input."""


# ----------------------------------------------------------------------------- helpers

def history_entries(history):
    if not os.path.isdir(history):
        raise ml.ToolError(f"{history}: no such history directory")
    names = [n for n in os.listdir(history) if n.endswith(".json")]
    return [os.path.join(history, n) for n in sorted(names)]


def resolve_entry(arg, history):
    if os.path.exists(arg):
        return arg
    if os.path.isdir(history):
        entries = history_entries(history)
        if arg in ("latest", "previous"):
            need = 1 if arg == "latest" else 2
            if len(entries) < need:
                raise ml.ToolError(f"{history}: has {len(entries)} entries, no \"{arg}\" one")
            return entries[-need]
        matches = [e for e in entries if arg in os.path.basename(e)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(os.path.basename(m) for m in matches[:4])
            raise ml.ToolError(f"{arg}: ambiguous, matches {len(matches)} history entries "
                               f"({shown}{', ...' if len(matches) > 4 else ''})")
    raise ml.ToolError(f"{arg}: no such file (nor a history entry in {history})")


def safe_name(text):
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "unknown"


def git_commit():
    try:
        out = subprocess.run(["git", "-C", ml.REPO_ROOT, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def bench_date_utc(bench):
    """The benchmark's context date as UTC, or None (Google Benchmark writes local ISO 8601)."""
    text = bench.context.get("date")
    if not isinstance(text, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.astimezone()  # the machine's local time zone, as Google Benchmark meant
    return when.astimezone(datetime.timezone.utc)


def entry_name(when, commit, simd):
    return f"{when.strftime('%Y-%m-%dT%H%M%SZ')}_{safe_name(commit)}_{safe_name(simd)}.json"


def file_entry(data_path, bench, history, when):
    commit = bench.git_commit()
    if not commit:
        commit = git_commit() or "unknown"
        print(f"{PROG}: warning: {data_path}: no context mlpbench_git_commit; using {commit}",
              file=sys.stderr)
    simd = bench.simd_target() or "unknown"
    os.makedirs(history, exist_ok=True)
    name = entry_name(when, commit, simd)
    dest = os.path.join(history, name)
    k = 1
    while os.path.exists(dest):
        dest = os.path.join(history, name[:-5] + f"-{k}.json")
        k += 1
    raw = ml.read_bytes(data_path)
    fd, tmp = tempfile.mkstemp(dir=history, prefix=".track-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise ml.ToolError(f"{dest}: cannot write: {e.strerror or e}") from None
    return dest


def repetition_warning(bench):
    few = {n: len(v) for n, v in bench.iterations().items() if len(v) < MIN_REPETITIONS}
    if few:
        worst = min(few.values())
        print(f"{PROG}: warning: {bench.path}: {len(few)} benchmark(s) with fewer than "
              f"{MIN_REPETITIONS} repetitions (as few as {worst}); the Mann-Whitney U test "
              f"is not meaningful with so few", file=sys.stderr)


# ----------------------------------------------------------------------------- record

def cmd_record(args):
    history = args.history
    if args.from_json:
        bench = ml.load_bench(args.from_json)
        if not bench.iterations():
            raise ml.ToolError(f"{args.from_json}: no benchmark results in it")
        repetition_warning(bench)
        when = bench_date_utc(bench) or datetime.datetime.now(datetime.timezone.utc)
        print(file_entry(args.from_json, bench, history, when))
        return 0
    if args.repetitions < MIN_REPETITIONS:
        raise ml.ToolError(f"--repetitions {args.repetitions}: at least {MIN_REPETITIONS} are "
                           f"needed for the Mann-Whitney U test")
    bench_bin = args.bench
    if not os.path.isfile(bench_bin):
        raise ml.ToolError(f"{bench_bin}: no such benchmark binary (build it first, or pass "
                           f"--bench PATH)")
    if not os.access(bench_bin, os.X_OK):
        raise ml.ToolError(f"{bench_bin}: not executable")
    os.makedirs(history, exist_ok=True)
    when = datetime.datetime.now(datetime.timezone.utc)
    fd, out = tempfile.mkstemp(dir=history, prefix=".track-run-", suffix=".json")
    os.close(fd)
    cmd = [bench_bin, f"--benchmark_repetitions={args.repetitions}",
           "--benchmark_format=json", f"--benchmark_out={out}", "--benchmark_out_format=json"]
    if args.filter:
        # The host probe always runs (see HOST_PROBE), unless the filter is a negative one
        # ("-REGEX"), which cannot be combined. Google Benchmark's regexes are POSIX extended.
        combined = args.filter if args.filter.startswith("-") else f"({args.filter})|^{HOST_PROBE}"
        cmd.append(f"--benchmark_filter={combined}")
    print(f"{PROG}: running {' '.join(cmd)}", file=sys.stderr)
    try:
        try:
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL)
        except OSError as e:
            raise ml.ToolError(f"{bench_bin}: cannot run: {e.strerror or e}") from None
        if proc.returncode != 0:
            print(f"{PROG}: error: {bench_bin} exited with status {proc.returncode}; "
                  f"nothing recorded", file=sys.stderr)
            return 1
        bench = ml.load_bench(out)
        if not bench.iterations():
            raise ml.ToolError(f"{bench_bin}: produced no benchmark results"
                               + (f" (filter {args.filter!r})" if args.filter else ""))
        print(file_entry(out, bench, history, when))
    finally:
        if os.path.exists(out):
            os.unlink(out)
    return 0


# ----------------------------------------------------------------------------- compare

class Row:
    def __init__(self, name, a, b, threshold, alpha):
        from scipy.stats import mannwhitneyu
        self.name = name
        self.n_a, self.n_b = len(a), len(b)
        self.med_a = statistics.median(a)
        self.med_b = statistics.median(b)
        self.ratio = self.med_b / self.med_a if self.med_a > 0 else float("nan")
        self.change = self.ratio - 1
        if len(a) >= 2 and len(b) >= 2:
            p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
            self.p = 1.0 if math.isnan(p) else p
        else:
            self.p = float("nan")
        significant = self.p < alpha
        if significant and self.change > threshold:
            self.verdict = "slower"
        elif significant and self.change < -threshold:
            self.verdict = "faster"
        else:
            self.verdict = "same"


def is_host_probe(name):
    return name.split("/")[0] == HOST_PROBE


def host_probe_ns(bench):
    """Median real time (ns) of the host probe benchmark, or None if the file lacks it."""
    for name in bench.iterations():
        if is_host_probe(name):
            return statistics.median(bench.times_ns(name, "real_time"))
    return None


def host_check(bench_a, bench_b):
    """What the host probe says of A and B (None if either lacks it): its medians, and a
    warning when they differ so much that A and B ran in different host states."""
    a, b = host_probe_ns(bench_a), host_probe_ns(bench_b)
    if a is None or b is None:
        return None
    line = (f"host probe ({HOST_PROBE}, not compared): A {ml.format_time_ns(a)}, "
            f"B {ml.format_time_ns(b)}")
    lo, hi = sorted((a, b))
    if hi - lo <= HOST_PROBE_MIN_NS or hi <= HOST_PROBE_FACTOR * lo:
        return line
    warning = (f"HOST STATE DIFFERS: the team barrier took {ml.format_time_ns(a)} in A and "
               f"{ml.format_time_ns(b)} in B. The host placed the threads differently between "
               f"the two records (on a VM: vCPUs far apart), which slows whatever crosses "
               f"between threads; slower multi-threaded benchmarks may be the host's doing, not "
               f"the code's. Record both again at a quiet time.")
    return line + "\n" + warning


def compare(bench_a, bench_b, metric, threshold, alpha):
    """(rows, only_in_a, only_in_b) for the benchmarks of two files."""
    ia, ib = ({n: v for n, v in bench.iterations().items() if not is_host_probe(n)}
              for bench in (bench_a, bench_b))
    rows = [Row(n, bench_a.times_ns(n, metric), bench_b.times_ns(n, metric), threshold, alpha)
            for n in ia if n in ib]
    return rows, [n for n in ia if n not in ib], [n for n in ib if n not in ia]


def geometric_mean(ratios):
    logs = [math.log(r) for r in ratios if r > 0 and math.isfinite(r)]
    return math.exp(statistics.fmean(logs)) if logs else float("nan")


def describe(bench):
    bits = [f"commit {bench.git_commit()}" if bench.git_commit() else None,
            bench.simd_target(),
            f"{bench.context.get('mlpbench_threads')} threads"
            if bench.context.get("mlpbench_threads") not in (None, "") else None,
            bench.context.get("date")]
    return ", ".join(str(b) for b in bits if b)


def context_warnings(a, b):
    for key in ("mlpbench_simd_target", "mlpbench_threads", "mlpbench_build_type",
                "library_build_type", "num_cpus"):
        va, vb = a.context.get(key), b.context.get(key)
        if va is not None and vb is not None and va != vb:
            print(f"{PROG}: warning: {key} differs: {va} (A) vs {vb} (B); the comparison "
                  f"mixes configurations", file=sys.stderr)


def format_table(rows, metric):
    head = ("Benchmark", f"{metric} A", f"{metric} B", "change", "p-value", "verdict")
    body = [(r.name, ml.format_time_ns(r.med_a), ml.format_time_ns(r.med_b),
             f"{r.change * 100:+.1f}%" if math.isfinite(r.change) else "-",
             f"{r.p:.4f}" if math.isfinite(r.p) else "-", r.verdict) for r in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    out = []
    for k, line in enumerate([head] + body):
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in
                                              zip(line[1:5], widths[1:5])] + [line[5]]
        out.append("  ".join(cells))
        if k == 0:
            out.append("-" * len(out[0]))
    return "\n".join(out)


def plot_compare(rows, threshold, title, output):
    plt = ml.pyplot()
    from matplotlib.patches import Patch
    colours = {"slower": "#d62728", "faster": "#2ca02c", "same": "#9e9e9e"}
    n = len(rows)
    height = 2.2 + 0.36 * n
    fig, ax = plt.subplots(figsize=(10, height))
    y = list(range(n))[::-1]
    changes = [r.change * 100 if math.isfinite(r.change) else 0.0 for r in rows]
    ax.barh(y, changes, color=[colours[r.verdict] for r in rows], height=0.65)
    for yi, c, r in zip(y, changes, rows):
        ax.annotate(f"{c:+.1f}%" + (f"  p={r.p:.3g}" if math.isfinite(r.p) else ""), (c, yi),
                    xytext=(4 if c >= 0 else -4, 0), textcoords="offset points",
                    ha="left" if c >= 0 else "right", va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels([r.name for r in rows], fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    for t in (-threshold * 100, threshold * 100):
        ax.axvline(t, color="gray", linestyle="--", linewidth=0.8)
    lo, hi = min(changes + [-threshold * 100]), max(changes + [threshold * 100])
    pad = (hi - lo) * 0.45 + 2
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_xlabel("change of the median time, B vs A (%; positive = slower)")
    fig.legend(handles=[Patch(color=colours[k], label=k) for k in ("slower", "faster", "same")]
               + [plt.Line2D([], [], color="gray", linestyle="--",
                             label=f"±{threshold * 100:g}% threshold")],
               fontsize=8, loc="lower center", ncol=4, frameon=False)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1))
    ml.save_figure(fig, output)
    plt.close(fig)


def cmd_compare(args):
    if not 0 < args.alpha < 1:
        raise ml.ToolError(f"--alpha {args.alpha}: expected a number between 0 and 1")
    if args.threshold < 0:
        raise ml.ToolError(f"--threshold {args.threshold}: expected a number >= 0")
    if args.threshold >= 1:
        print(f"{PROG}: warning: --threshold {args.threshold:g} means {args.threshold * 100:g}%;"
              f" the threshold is a fraction (0.05 = 5%)", file=sys.stderr)
    if args.output:
        ml.check_output_path(args.output)
    path_a = resolve_entry(args.a, args.history)
    path_b = resolve_entry(args.b, args.history)
    bench_a, bench_b = ml.load_bench(path_a), ml.load_bench(path_b)
    for bench in (bench_a, bench_b):
        if not bench.iterations():
            raise ml.ToolError(f"{bench.path}: no benchmark results in it")
        repetition_warning(bench)
    context_warnings(bench_a, bench_b)
    rows, only_a, only_b = compare(bench_a, bench_b, args.metric, args.threshold, args.alpha)
    if not rows:
        raise ml.ToolError(f"{path_a} and {path_b} have no benchmark in common")
    print(f"A: {path_a} ({describe(bench_a)})")
    print(f"B: {path_b} ({describe(bench_b)})")
    print(f"metric {args.metric}, threshold {args.threshold * 100:g}%, alpha {args.alpha:g}, "
          f"Mann-Whitney U two-sided")
    print()
    print(format_table(rows, args.metric))
    print()
    gm = geometric_mean([r.ratio for r in rows])
    print(f"geometric mean of B/A median ratios: {gm:.4f} ({(gm - 1) * 100:+.2f}%)")
    for label, names in (("only in A", only_a), ("only in B", only_b)):
        if names:
            print(f"{label} (not compared): {', '.join(names)}")
    counts = {v: sum(r.verdict == v for r in rows) for v in ("slower", "faster", "same")}
    print(f"verdicts: {counts['slower']} slower, {counts['faster']} faster, "
          f"{counts['same']} same")
    host_warning = host_check(bench_a, bench_b)
    if host_warning:
        print(host_warning)
    if args.output:
        plot_compare(rows, args.threshold,
                     f"{os.path.basename(path_b)} vs {os.path.basename(path_a)}\n"
                     f"geometric mean B/A {gm:.3f}, {counts['slower']} slower, "
                     f"{counts['faster']} faster", args.output)
    if counts["slower"]:
        print(f"REGRESSION: {counts['slower']} benchmark(s) significantly slower "
              f"(> {args.threshold * 100:g}%, p < {args.alpha:g})")
        return 1
    return 0


# ----------------------------------------------------------------------------- plot

def entry_info(path, bench):
    m = ENTRY_RE.match(os.path.basename(path))
    when = bench_date_utc(bench)
    date_key = when.strftime("%Y-%m-%dT%H%M%SZ") if when else ""
    commit, simd = bench.git_commit(), bench.simd_target()
    if m:
        date_key = m.group("date")
        commit = commit or m.group("commit")
        simd = simd or m.group("simd")
    return {"path": path, "bench": bench, "date": date_key, "commit": commit or "?",
            "simd": simd or "?"}


def cmd_plot(args):
    ml.check_output_path(args.output)
    try:
        pattern = re.compile(args.filter) if args.filter else None
    except re.error as e:
        raise ml.ToolError(f"--filter {args.filter!r}: invalid regular expression: {e}") from None
    paths = history_entries(args.history)
    if not paths:
        raise ml.ToolError(f"{args.history}: no history entries (*.json); record some with "
                           f"'track.py record'")
    entries = sorted((entry_info(p, ml.load_bench(p)) for p in paths),
                     key=lambda e: (e["date"], os.path.basename(e["path"])))
    names = []
    for e in entries:
        for n in e["bench"].iterations():
            if n not in names and (pattern is None or pattern.search(n)):
                names.append(n)
    if not names:
        raise ml.ToolError(f"{args.history}: no benchmark"
                           + (f" matches {args.filter!r}" if args.filter else " results"))
    if len(names) > args.max:
        print(f"{PROG}: warning: {len(names)} benchmarks; plotting the first {args.max} "
              f"(narrow with --filter or raise --max)", file=sys.stderr)
        names = names[:args.max]

    plt = ml.pyplot()
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 3.6 * nrows + 0.8),
                             squeeze=False)
    targets = sorted({e["simd"] for e in entries})
    cmap = plt.get_cmap("tab10")
    xs = list(range(len(entries)))
    step = max(1, math.ceil(len(entries) / 14))
    ticks = xs[::step]
    tick_labels = [f"{entries[i]['commit'][:8]}\n{entries[i]['date'][5:10]}" for i in ticks]
    for k, name in enumerate(names):
        ax = axes[k // ncols][k % ncols]
        all_ns = [v for e in entries for v in e["bench"].times_ns(name, args.metric)]
        scale, unit = next(((s, u) for s, u in ((1e9, "s"), (1e6, "ms"), (1e3, "us"))
                            if statistics.median(all_ns) >= s), (1.0, "ns"))
        ax2 = None
        for ti, simd in enumerate(targets):
            px, py, pg = [], [], []
            for i, e in enumerate(entries):
                if e["simd"] != simd:
                    continue
                t = e["bench"].times_ns(name, args.metric)
                if not t:
                    continue
                px.append(i)
                py.append(statistics.median(t) / scale)
                g = [float(x["GFLOPS"]) for x in e["bench"].iterations()[name]
                     if ml.is_number(x.get("GFLOPS"))]
                pg.append(statistics.median(g) if g else float("nan"))
            if not px:
                continue
            label = f"time ({simd})" if len(targets) > 1 else "median time"
            ax.plot(px, py, marker="o", color=cmap(ti % 10), label=label)
            if any(math.isfinite(g) for g in pg):
                ax2 = ax2 or ax.twinx()
                gcol = cmap(ti % 10) if len(targets) > 1 else cmap(1)
                ax2.plot(px, pg, marker="s", linestyle="--", color=gcol, alpha=0.7,
                         label=f"GFLOPS ({simd})" if len(targets) > 1 else "GFLOPS")
        ax.set_title(name, fontsize=9)
        ax.set_ylabel(f"{args.metric} ({unit})")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
        ax.set_xticks(ticks)
        ax.set_xticklabels(tick_labels, fontsize=7)
        ax.set_xlim(-0.5, len(entries) - 0.5)
        ax.grid(True, alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        if ax2 is not None:
            ax2.set_ylabel("GFLOPS")
            ax2.set_ylim(0, ax2.get_ylim()[1] * 1.15)
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax.legend(handles, labels, fontsize=7, loc="lower left")
    for k in range(len(names), nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    fig.suptitle(f"benchmark history ({len(entries)} entries, {args.metric}, median of "
                 f"repetitions)", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    ml.save_figure(fig, args.output)
    plt.close(fig)
    return 0


# ----------------------------------------------------------------------------- CLI

def repetitions(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < MIN_REPETITIONS:
        raise argparse.ArgumentTypeError(
            f"{value}: at least {MIN_REPETITIONS} repetitions are needed for the "
            f"Mann-Whitney U test")
    return value


def fraction(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser(
        "record", help="run mlp_bench and file its JSON under the history",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the Google Benchmark binary with --benchmark_repetitions=N and JSON "
                    "output and file the result as <history>/<UTC date-time>_<commit>_<simd>.json "
                    "(commit and SIMD target from the context keys mlpbench_git_commit and "
                    "mlpbench_simd_target; commit falls back to git rev-parse). The file is "
                    "written atomically; its path is printed.\n"
                    "Exit status: 0 filed, 1 the benchmark failed, 2 bad input.")
    r.add_argument("--bench", default=DEFAULT_BENCH, metavar="PATH",
                   help="benchmark binary (default: build/bench/mlp_bench at the repo root)")
    r.add_argument("--repetitions", type=repetitions, default=MIN_REPETITIONS, metavar="N",
                   help=f"repetitions per benchmark (default and minimum {MIN_REPETITIONS})")
    r.add_argument("--filter", metavar="REGEX", help="passed on as --benchmark_filter")
    r.add_argument("--history", default=DEFAULT_HISTORY, metavar="DIR",
                   help="history folder (default: results/history at the repo root)")
    r.add_argument("--from-json", metavar="FILE",
                   help="file an existing benchmark JSON output instead of running the binary")
    r.set_defaults(func=cmd_record)

    c = sub.add_parser("compare", help="compare two benchmark outputs (exit 1 if slower)",
                       description=COMPARE_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("a", metavar="A", help="baseline: benchmark JSON or history entry")
    c.add_argument("b", metavar="B", help="candidate: benchmark JSON or history entry")
    c.add_argument("--threshold", type=fraction, default=0.05,
                   help="relative change that counts as a regression (default 0.05 = 5%%)")
    c.add_argument("--alpha", type=fraction, default=0.05,
                   help="significance level of the Mann-Whitney U test (default 0.05)")
    c.add_argument("--metric", choices=("real_time", "cpu_time"), default="real_time",
                   help="which time to compare (default real_time: with OpenMP threads, "
                        "cpu_time adds up all threads)")
    c.add_argument("--history", default=DEFAULT_HISTORY, metavar="DIR",
                   help="where to look up history entries (default: results/history)")
    c.add_argument("-o", "--output", metavar="PATH",
                   help="also draw a bar chart of the changes (.png or .svg)")
    c.set_defaults(func=cmd_compare)

    pl = sub.add_parser("plot", help="plot benchmark medians over the history",
                        description="For each benchmark, the median time (and the GFLOPS "
                                    "counter, if present) of every history entry, ordered by "
                                    "date; x labels are short commits. One line per SIMD "
                                    "target.\nExit status: 0 success, 2 bad input.",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    pl.add_argument("--history", default=DEFAULT_HISTORY, metavar="DIR",
                    help="history folder (default: results/history at the repo root)")
    pl.add_argument("--filter", metavar="REGEX", help="only benchmarks whose name matches")
    pl.add_argument("--max", type=int, default=12, metavar="N",
                    help="plot at most N benchmarks (default 12)")
    pl.add_argument("--metric", choices=("real_time", "cpu_time"), default="real_time")
    pl.add_argument("-o", "--output", default="history.png", metavar="PATH",
                    help="output figure, .png or .svg (default: history.png)")
    pl.set_defaults(func=cmd_plot)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(ml.main_guard(PROG, main))
