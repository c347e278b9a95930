"""Thread-scaling and SIMD-target studies from mlpbench run logs of one experiment.

Arguments are sweep folders (every *.json log directly inside is read, e.g. the folder that
`run_experiment --sweep-threads 1,2,4` writes) or log files. All logs must be of the same
experiment. Logs are grouped by SIMD target (and engine, when several engines are present).

Thread study (drawn when a group has >= 2 thread counts), x = run.threads:
  * throughput: median over epochs of samples_per_second (bars: slowest and fastest epoch);
    with repeats (several logs of one target at one thread count, e.g. several sweep folders)
    the median of the runs' medians, the bars spanning the runs;
  * speed-up vs the group's smallest thread count (1 normally), with the ideal line;
  * parallel efficiency = speed-up / (threads / smallest threads), with the 100% line;
  * Amdahl's law (mlpbench/studies/amdahl.py) fitted to every run's median epoch time: the
    serial fraction, with its interval when there are repeats, printed and drawn as the law's
    speed-up curve;
  * where a step's time goes (the logs' epochs[].phases; mlpbench/studies/thread_phases.py):
    stacked bars per thread count of microseconds per step in each phase, for the leader and
    for the mean of the other threads (median over repeats), of the fastest SIMD target; logs
    of older builds have no phases, which the panel says.
SIMD study (drawn when one thread count has >= 2 targets): bars of speed-up relative to the
slowest target (the scalar fallback normally: SCALAR or EMU128), annotated with the factor.

Rank study (drawn instead when logs come from `run_experiment --distributed`, e.g. the folder
tools/scaling_study.py writes, whose study.json names the logs): speed-up and efficiency
against ranks for strong scaling and for weak scaling under each learning-rate rule, where a
step's time goes per rank count, weak scaling's time to accuracy, and whether every rank count
computed the same numbers as one process (tools/mlpbench/studies/ranks.py has the details).

Determinism check: the engine computes bitwise-identical numbers for any thread count. For each
group the tool compares train_loss, train_accuracy, test_loss and test_accuracy of every epoch
exactly and prints, and writes in the figure, "identical numbers at every thread count: yes/NO".
Across SIMD targets at one thread count it compares within a family (FMA targets among
themselves, non-FMA among themselves: mlpbench/simd_targets.py) and says why the families
differ; targets of one family and vector width must agree (NO if not). Runs from a noisy host
(run.host_noisy) get a red x on the throughput panel and the SIMD bars, and a line in the summary.
"""

import math
import os
import re
import shlex
import statistics
import sys
import textwrap

from mlpbench import cli
from mlpbench import logs as ml
from mlpbench import plotting
from mlpbench import simd_targets
from mlpbench.studies import amdahl
from mlpbench.studies import ranks as rank_study
from mlpbench.studies import study_page
from mlpbench.studies import thread_phases

PROG = "plot_scaling.py"
MAX_SIMD_GROUPS = 8


def parse_args(argv):
    p = cli.arg_parser(
        PROG, __doc__,
        "Exit status: 0 success; 1 with --strict when numbers differ between thread "
               "counts; 2 bad command line, unreadable or invalid log, logs of different "
               "experiments, or nothing to compare.\n"
               "Example (a committed study): tools/plot_scaling.py "
               "results/studies/threads_mlp512 -o scaling.svg")
    p.add_argument("inputs", nargs="+", metavar="DIR_OR_LOG",
                   help="sweep folders and/or run log files, all of one experiment")
    p.add_argument("-o", "--output", default="scaling.png", metavar="PATH",
                   help="output figure, .png or .svg (default: scaling.png)")
    p.add_argument("--title", help="figure title (default: the experiment name and host)")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 1 when a group's numbers differ between its logs")
    p.add_argument("--html", metavar="PAGE.html",
                   help="also write the study as one self-contained HTML page (figure, tables, "
                        "host, placement, noisy runs, commands)")
    p.add_argument("--command", action="append", default=[], metavar="CMD",
                   help="with --html: a command line that made the logs, e.g. the sweep's "
                        "run_experiment (repeatable; a scaling_study.py folder's are read from "
                        "its study.json)")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- analysis

def expand_inputs(inputs):
    """A folder with a study.json (tools/scaling_study.py) stands for the run logs it lists
    (those whose run succeeded); anything else is passed on as it is."""
    out = []
    for arg in inputs:
        manifest = ml.study_manifest(arg)
        if not (os.path.isdir(arg) and os.path.lexists(manifest)):
            out.append(arg)
            continue
        logs = [os.path.join(arg, r["output"]) for r in ml.load_study(arg)
                if r.get("kind") == "log" and r.get("exit") == 0]
        if not logs:
            raise ml.ToolError(f"{manifest}: no run of the study succeeded: nothing to plot")
        out.extend(logs)
    return out


class Group:
    """Logs of one SIMD target (and engine): the thread study's unit."""

    def __init__(self, key, label):
        self.key = key
        self.label = label
        self.logs = []

    def by_threads(self):
        cells = {}
        for log in self.logs:
            cells.setdefault(log.threads, []).append(log)
        return dict(sorted(cells.items()))

    def throughput(self):
        """{threads: (median, min, max)} of samples/s: with repeats (several runs at a thread
        count) the median and spread of the runs' medians, the spread across runs; with one run
        the median and spread over its epochs."""
        out = {}
        for t, logs in self.by_threads().items():
            runs = [v for v in (run_throughput(log) for log in logs) if v is not None]
            values = runs if len(runs) > 1 else \
                [v for log in logs for v in log.series("samples_per_second") if math.isfinite(v) and v > 0]
            if values:
                out[t] = (statistics.median(values), min(values), max(values))
        return out

    def amdahl_fit(self):
        """Amdahl's law over every run's median epoch time, or (None, why not)."""
        points = [(t, statistics.median(times)) for t, logs in self.by_threads().items() for log in logs
                  if (times := [v for v in log.series("train_seconds") if math.isfinite(v) and v > 0])]
        try:
            return amdahl.fit_amdahl(points), None
        except amdahl.FitError as e:
            return None, str(e)

    def phases(self):
        """thread_phases.by_threads of this group's logs."""
        return thread_phases.by_threads(self.by_threads())

    def overall_throughput(self):
        values = [m for m, _, _ in self.throughput().values()]
        return statistics.median(values) if values else 0.0


def run_throughput(log):
    """The median samples/s over a run's epochs, or None without any."""
    values = [v for v in log.series("samples_per_second") if math.isfinite(v) and v > 0]
    return statistics.median(values) if values else None


def amdahl_text(fit):
    """'serial fraction 0.123 (95 % interval 0.101-0.140), at most 8.1x' for the summary."""
    s = fit["serial_fraction"]
    interval = (f"{100 * fit['level']:.0f} % interval {fit['interval'][0]:.3f}-{fit['interval'][1]:.3f}"
                if fit["interval"] else "one run per thread count: no interval")
    limit = (f"at most {fit['max_speedup']:.1f}x" if fit["max_speedup"] else
             "superlinear: the runs scaled better than linearly")
    return f"serial fraction {s:.3f} ({interval}), {limit}"


def amdahl_label(fit):
    """'s = 0.123 [0.101, 0.140]' (the interval only with repeats) for a legend."""
    interval = fit["interval"]
    return f"s = {fit['serial_fraction']:.3f}" + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")


def config_of(log):
    exp = {k: v for k, v in log.experiment.items() if k not in ("threads", "description")}
    run = log.data["run"]
    return {"experiment": exp, "seed": run.get("seed"), "train_samples": run.get("train_samples"),
            "test_samples": run.get("test_samples"), "git_commit": log.data["build"].get("git_commit")}


def config_difference(a, b):
    ca, cb = config_of(a), config_of(b)
    for key in ("seed", "train_samples", "test_samples", "git_commit"):
        if ca[key] != cb[key]:
            return f"{key} {ca[key]} vs {cb[key]}"
    for key in sorted(set(ca["experiment"]) | set(cb["experiment"])):
        if ca["experiment"].get(key) != cb["experiment"].get(key):
            return f"experiment {key} differs"
    return None


def plural(threads):
    return f"{threads} thread{'s' if threads != 1 else ''}"


def compare_numbers(ref, other):
    """None if identical; otherwise a short description of the first difference."""
    n = min(len(ref.epochs), len(other.epochs))
    for i in range(n):
        for key in ml.RESULT_KEYS:
            a, b = ref.epochs[i].get(key), other.epochs[i].get(key)
            if ml.result_key(a) != ml.result_key(b):
                return (f"epoch {ref.epochs[i]['epoch']} {key}: {a!r} ({plural(ref.threads)}, "
                        f"{os.path.basename(ref.path)}) vs {b!r} ({plural(other.threads)}, "
                        f"{os.path.basename(other.path)})")
    return None


def identity_check(group):
    """('yes'|'NO'|'n/a', details list)."""
    logs = sorted((log for log in group.logs if log.epochs), key=lambda g: (g.threads, g.path))
    if len(logs) < 2:
        return "n/a", ["only one log with epochs"]
    ref = logs[0]
    problems, notes = [], []
    for other in logs[1:]:
        diff = compare_numbers(ref, other)
        if diff:
            cfg = config_difference(ref, other)
            problems.append(diff + (f" [configurations differ: {cfg}]" if cfg else ""))
        if len(other.epochs) != len(ref.epochs):
            notes.append(f"{os.path.basename(other.path)} has {len(other.epochs)} epochs, "
                         f"{os.path.basename(ref.path)} {len(ref.epochs)}: compared the common "
                         f"epochs")
    return ("NO" if problems else "yes"), problems + notes


def make_groups(logs):
    engines = {log.engine for log in logs}
    groups = {}
    for log in logs:
        key = (log.engine, log.simd_target)
        if key not in groups:
            label = log.simd_target if len(engines) == 1 else f"{log.simd_target} ({log.engine})"
            groups[key] = Group(key, label)
        groups[key].logs.append(log)
    # Slowest first: EMU128 before SSE4 before AVX3, normally.
    return sorted(groups.values(), key=lambda g: (g.overall_throughput(), g.label))


def simd_table(groups):
    """{threads: [(group, throughput), ...]} for thread counts with >= 2 groups."""
    table = {}
    for g in groups:
        for t, (median, _, _) in g.throughput().items():
            table.setdefault(t, []).append((g, median))
    return {t: rows for t, rows in sorted(table.items()) if len(rows) >= 2}


def family_checks(simd):
    """[(threads, family, labels, verdict, detail)]: at each thread count of the SIMD study,
    whether the targets of one family (FMA, non-FMA; simd_targets.py) computed the same
    numbers. verdict: 'yes'; 'NO' when two targets of one family and one vector width differ;
    'differ, expected' when only targets of different widths differ (the detail says why)."""
    out = []
    for t, rows in simd.items():
        families = {}
        for g, _ in rows:
            families.setdefault(simd_targets.family(g.key[1]), []).append(g)
        for name, members in sorted(families.items(), key=lambda kv: str(kv[0])):
            if name is None or len(members) < 2:
                continue
            logs = [min((log for log in g.logs if log.threads == t and log.epochs), key=lambda x: x.path)
                    for g in members]
            by_width = {}
            for g, log in zip(members, logs):
                by_width.setdefault(simd_targets.lanes(g.key[1]) or g.label, []).append(log)
            same_width = [d for peers in by_width.values() for d in
                          (compare_numbers(peers[0], other) for other in peers[1:]) if d]
            firsts = [peers[0] for peers in by_width.values()]
            across = [d for d in (compare_numbers(firsts[0], other) for other in firsts[1:]) if d]
            if same_width:
                verdict, detail = "NO", same_width[0]
            elif across:
                verdict, detail = "differ, expected", simd_targets.WHY_WIDTHS_DIFFER
            else:
                verdict, detail = "yes", ""
            out.append((t, name, [g.label for g in members], verdict, detail))
    return out


def family_lines(checks, simd):
    lines = [f"identical numbers among the {name} targets ({', '.join(labels)}) at {plural(t)}: {verdict}"
             + (f" ({detail})" if detail else "") for t, name, labels, verdict, detail in checks]
    mixed = any({simd_targets.family(g.key[1]) for g, _ in rows} >= {"FMA", "non-FMA"} for rows in simd.values())
    if mixed:
        lines.append(simd_targets.WHY_FAMILIES_DIFFER)
    return lines


def pick_evenly(items, limit):
    if len(items) <= limit:
        return items
    idx = sorted({round(i * (len(items) - 1) / (limit - 1)) for i in range(limit)})
    return [items[i] for i in idx]


# ----------------------------------------------------------------------------- report

def phase_lines(group):
    """The printed table of where a step's time goes, or the note that the logs have none."""
    table = group.phases()
    rows = thread_phases.table_rows(table)
    if not rows:
        return ["  step phases: none in these logs (written by builds older than epochs[].phases)"]
    lines = ["  step phases, us per step (" + ", ".join(label for _, label in thread_phases.PHASES) + "):"]
    lines += [f"  {t:>7}  {role:<6}  " + "  ".join(f"{v:>9.2f}" for v in values)
              for t, role, *values in rows]
    without = [t for t, e in table.items() if e["without"]]
    if without:
        lines.append("  logs without step phases (older builds) at " + ", ".join(plural(t) for t in without))
    return lines


def report(groups, simd, verdicts, overall):
    lines = []
    for g in groups:
        thr = g.throughput()
        if not thr:
            continue
        t0 = min(thr)
        lines.append(f"{g.label}:")
        lines.append(f"  {'threads':>7}  {'samples/s':>12}  {'speed-up':>8}  {'efficiency':>10}  logs")
        cells = g.by_threads()
        for t, (median, _, _) in thr.items():
            s = median / thr[t0][0]
            eff = 100 * s / (t / t0)
            lines.append(f"  {t:>7}  {median:>12,.0f}  {s:>7.2f}x  {eff:>9.1f}%  {len(cells[t])}")
        if len(thr) >= 2:
            fit, why_not = g.amdahl_fit()
            lines.append(f"  Amdahl's law: {amdahl_text(fit)}" if fit else f"  Amdahl's law not fitted: {why_not}")
            lines.extend(phase_lines(g))
    for t, rows in simd.items():
        slowest = min(rows, key=lambda r: r[1])
        lines.append(f"SIMD targets at {t} thread{'s' if t != 1 else ''} "
                     f"(speed-up vs {slowest[0].label}): " +
                     ", ".join(f"{g.label} {v / slowest[1]:.2f}x"
                               for g, v in sorted(rows, key=lambda r: r[1])))
    for g in groups:
        verdict, details = verdicts[g.label]
        threads = ", ".join(str(t) for t in g.by_threads())
        lines.append(f"{g.label}: identical numbers at every thread count ({threads}): {verdict}")
        for d in details:
            lines.append(f"  {d}")
    lines.append(f"identical numbers at every thread count: {overall}")
    lines.extend(family_lines(family_checks(simd), simd))
    for g in groups:
        for log in g.logs:
            line = plotting.noisy_host_line(f"{g.label}, {plural(log.threads)}", log)
            if line:
                lines.append(line)
    return "\n".join(lines)


# ----------------------------------------------------------------------------- plotting

def colour_map(groups):
    plt = plotting.pyplot()
    cmap = plt.get_cmap("tab10" if len(groups) <= 10 else "viridis")
    n = len(groups)
    return {g.label: cmap(i if n <= 10 else i / max(1, n - 1)) for i, g in enumerate(groups)}


def setup_thread_axis(ax, threads, logical_cpus):
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    lo, hi = min(threads), max(threads)
    if hi / lo >= 8:
        ax.set_xscale("log", base=2)
    if len(threads) <= 16:
        ax.set_xticks(threads)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    if logical_cpus and lo <= logical_cpus < hi:
        ax.axvline(logical_cpus, color="gray", linestyle="-.", linewidth=1,
                   label=f"logical CPUs ({logical_cpus})")
    ax.set_xlabel("threads")
    ax.grid(True, alpha=0.3)


PHASE_COLOURS = ("#4c72b0", "#dd8452", "#c44e52", "#55a868")


def plot_phases(ax, thread_groups):
    """Stacked bars of us per step per phase: per thread count the leader and the mean of the
    other threads side by side, for the fastest target whose logs have phases."""
    with_phases = [g for g in thread_groups if thread_phases.table_rows(g.phases())]
    if not with_phases:
        ax.text(0.5, 0.5, "no per-phase times in these logs\n(written by builds older than\nepochs[].phases)",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_title("where a step's time goes")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    group = with_phases[-1]  # groups are sorted slowest first
    table = group.phases()
    width = 0.38
    for i, (t, entry) in enumerate(table.items()):
        for k, role in enumerate(thread_phases.ROLES):
            values = entry[role]
            if not values:
                continue
            x = i + (k - 0.5) * width if t > 1 else i
            bottom = 0.0
            for p, value in enumerate(values):
                ax.bar(x, value, width * 0.95, bottom=bottom, color=PHASE_COLOURS[p],
                       label=thread_phases.PHASES[p][1] if (i, k) == (0, 0) else None)
                bottom += value
            ax.annotate("L" if role == "leader" else "o", (x, bottom), ha="center", va="bottom",
                        fontsize=7, xytext=(0, 1), textcoords="offset points")
        if entry["runs"] == 0:
            ax.annotate("no phases\n(older log)", (i, 0), ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xticks(range(len(table)))
    ax.set_xticklabels([f"{t} thr" for t in table])
    runs = [e["runs"] for e in table.values() if e["runs"]]
    counts = f"{min(runs)}-{max(runs)}" if min(runs) != max(runs) else f"{min(runs)}"
    repeats = f"median of {counts} runs" if max(runs) > 1 else "one run"
    ax.set_title(f"where a step's time goes ({group.label}; {repeats})\nL: leader, o: other threads' mean",
                 fontsize=10)
    ax.set_ylabel("us per step")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)


def plot(groups, simd, verdicts, overall, title, output):
    plt = plotting.pyplot()
    thread_groups = [g for g in groups if len(g.throughput()) >= 2]
    panels = (4 if thread_groups else 0) + (1 if simd else 0)
    fig, axes = plt.subplots(1, panels, figsize=(max(7.5, 5.4 * panels + 0.6), 5.4), squeeze=False)
    axes = list(axes[0])
    colours = colour_map(groups)
    logical = max((int(g_log.host.get("logical_cpus") or 0)
                   for g in groups for g_log in g.logs if ml.is_number(g_log.host.get("logical_cpus"))),
                  default=0)

    if thread_groups:
        ax_thr, ax_spd, ax_eff = axes[:3]
        all_threads = sorted({t for g in thread_groups for t in g.throughput()})
        base_threads = {min(g.throughput()) for g in thread_groups}
        for g in thread_groups:
            thr = g.throughput()
            ts = list(thr)
            med = [thr[t][0] for t in ts]
            lo = [thr[t][0] - thr[t][1] for t in ts]
            hi = [thr[t][2] - thr[t][0] for t in ts]
            c = colours[g.label]
            ax_thr.errorbar(ts, med, yerr=[lo, hi], color=c, marker="o", capsize=3, label=g.label)
            noisy = [t for t, logs in g.by_threads().items() if t in thr
                     and any(log.host_noise() for log in logs)]
            plotting.mark_noisy_host(ax_thr, noisy, [thr[t][0] for t in noisy])
            t0 = ts[0]
            spd = [m / thr[t0][0] for m in med]
            ax_spd.plot(ts, spd, color=c, marker="o", label=g.label)
            fit, _ = g.amdahl_fit()
            if fit:  # the law's speed-up against the same smallest thread count, over the axis
                s = fit["serial_fraction"]
                xs = sorted(set(ts) | {ts[0] + (ts[-1] - ts[0]) * k / 40 for k in range(41)})
                ax_spd.plot(xs, [(s + (1 - s) / t0) / (s + (1 - s) / x) for x in xs], color=c,
                            linestyle=":", linewidth=1.2, label=f"{g.label}, Amdahl's law: {amdahl_label(fit)}")
            ax_eff.plot(ts, [100 * s / (t / t0) for s, t in zip(spd, ts)], color=c, marker="o",
                        label=g.label)
        t_min = min(all_threads)
        ideal_x = [t for t in all_threads]
        ax_spd.plot(ideal_x, [t / t_min for t in ideal_x], color="black", linestyle="--",
                    linewidth=1, label="ideal")
        ax_eff.axhline(100, color="black", linestyle="--", linewidth=1, label="ideal (100%)")
        for ax in (ax_thr, ax_spd, ax_eff):
            setup_thread_axis(ax, all_threads, logical)
        runs = [len(logs) for g in thread_groups for logs in g.by_threads().values()]
        spread = ("min-max across runs" if min(runs) > 1 else "min-max over epochs" if max(runs) == 1
                  else "min-max across runs,\nover epochs where one run")
        ax_thr.set_title(f"throughput (median; whiskers: {spread})")
        ax_thr.set_ylabel("training samples / s")
        ax_thr.set_ylim(bottom=0)
        from matplotlib.ticker import EngFormatter
        ax_thr.yaxis.set_major_formatter(EngFormatter(sep=""))
        base = base_threads.pop() if len(base_threads) == 1 else None
        ax_spd.set_title("speed-up")
        ax_spd.set_ylabel(f"speed-up vs {base} thread{'s' if base != 1 else ''}" if base
                          else "speed-up vs fewest threads")
        if ax_spd.get_xscale() == "log":
            ax_spd.set_yscale("log", base=2)
            from matplotlib.ticker import ScalarFormatter
            ax_spd.yaxis.set_major_formatter(ScalarFormatter())
        ax_eff.set_title("parallel efficiency")
        ax_eff.set_ylabel("efficiency (%)")
        ax_eff.set_ylim(0, max(110, ax_eff.get_ylim()[1]))
        for ax in (ax_thr, ax_spd, ax_eff):
            ax.legend(fontsize=8)
        plot_phases(axes[3], thread_groups)

    if simd:
        ax = axes[-1]
        shown = pick_evenly(list(simd), MAX_SIMD_GROUPS)
        order = [g for g in groups if any(g is r[0] for t in shown for r in simd[t])]
        width = 0.8 / len(order)
        bar_font = 9 if len(shown) * len(order) <= 12 else 7
        for gi, t in enumerate(shown):
            rows = {id(g): v for g, v in simd[t]}
            slowest = min(simd[t], key=lambda r: r[1])[1]
            for k, g in enumerate(order):
                if id(g) not in rows:
                    continue
                factor = rows[id(g)] / slowest
                x = gi + (k - (len(order) - 1) / 2) * width if len(shown) > 1 else k
                w = width if len(shown) > 1 else 0.6
                ax.bar(x, factor, w, color=colours[g.label],
                       label=g.label if gi == 0 else None)
                if any(log.host_noise() for log in g.by_threads().get(t, [])):
                    plotting.mark_noisy_host(ax, [x], [factor / 2])
                ax.annotate(f"{factor:.2f}x", (x, factor), ha="center", va="bottom",
                            fontsize=bar_font, xytext=(0, 2), textcoords="offset points")
        if len(shown) > 1:
            ax.set_xticks(range(len(shown)))
            ax.set_xticklabels([f"{t} thr" for t in shown])
            ax.legend(fontsize=8, loc="upper left")
            slow_names = sorted({min(simd[t], key=lambda r: r[1])[0].label for t in shown})
        else:
            ax.set_xticks(range(len(order)))
            ax.set_xticklabels([g.label for g in order], rotation=20 if len(order) > 4 else 0)
            slow_names = [min(simd[shown[0]], key=lambda r: r[1])[0].label]
            if plotting.NOISY_HOST in ax.get_legend_handles_labels()[1]:  # the targets are the ticks
                ax.legend(fontsize=8, loc="upper left")
        where = f"at {shown[0]} thread{'s' if shown[0] != 1 else ''}" if len(shown) == 1 else ""
        ax.set_title(f"SIMD targets {where}".strip())
        ax.set_ylabel(f"speed-up vs slowest ({', '.join(slow_names)})")
        ax.axhline(1, color="black", linewidth=0.8)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
        ax.grid(True, axis="y", alpha=0.3)

    lines = [f"identical numbers at every thread count: {overall}"]
    if overall == "n/a":  # a SIMD-only study: nothing to compare across thread counts
        lines = ["one thread count per SIMD target: identical numbers across thread counts not "
                 "checked (sweep threads as well to check them)"]
    elif len(groups) > 1:
        lines[0] += "  (" + "; ".join(f"{g.label}: {verdicts[g.label][0]}" for g in groups) + ")"
    for g in groups:
        verdict, details = verdicts[g.label]
        if verdict == "NO":
            lines.append(f"{g.label}: {details[0]}")
    lines.extend(family_lines(family_checks(simd), simd))
    width_chars = int(fig.get_figwidth() * 11)
    footer = "\n".join(w for line in lines[:5] for w in textwrap.wrap(line, width_chars))
    fig.text(0.5, 0.015, footer, ha="center", va="bottom", fontsize=10,
             color="darkred" if overall == "NO" else "black",
             weight="bold" if overall == "NO" else "normal")
    fig.suptitle(title, fontsize=13)
    fig.tight_layout(rect=(0, 0.04 + 0.035 * footer.count("\n") + 0.02, 1, 0.95))
    plotting.save_figure(fig, output)
    return fig


def thread_tables(groups):
    """[(title, headers, rows)] of the thread study for its page: throughput per thread count,
    and where a step's time goes."""
    tables = []
    for g in groups:
        thr = g.throughput()
        if not thr:
            continue
        t0, cells = min(thr), g.by_threads()
        tables.append((f"{g.label}: throughput (median samples/s; with repeats the median of the runs' medians)",
                       ["threads", "samples/s", "min", "max", "speed-up", "efficiency %", "runs"],
                       [[t, round(m), round(lo), round(hi), round(m / thr[t0][0], 3),
                         round(100 * m / thr[t0][0] / (t / t0), 1), len(cells[t])]
                        for t, (m, lo, hi) in thr.items()]))
        rows = thread_phases.table_rows(g.phases())
        if len(thr) >= 2 and rows:
            tables.append((f"{g.label}: where a step's time goes, us per step (leader; other threads' "
                           f"mean; median over runs)", thread_phases.HEADERS, rows))
    return tables


def study_commands(argv, args):
    """The commands given with --command and those a tools/scaling_study.py folder's study.json
    lists, then this tool's own command line."""
    try:
        commands = [shlex.split(c) for c in args.command]
    except ValueError as e:
        raise ml.ToolError(f"--command: {e}") from None
    for arg in args.inputs:
        if os.path.isdir(arg) and os.path.lexists(ml.study_manifest(arg)):
            commands += [r["command"] for r in ml.load_study(arg) if r.get("command")]
    own, rest = ["tools/plot_scaling.py"], iter(argv)
    for arg in rest:  # without the --command lines: they are listed above it
        if arg == "--command":
            next(rest, None)
        elif not arg.startswith("--command="):
            own.append(arg)
    return commands + [own]


def write_page(args, argv, logs, title, summary, fig, tables):
    page = study_page.build(title, logs, [(fig, os.path.basename(args.output))], summary, tables,
                            study_commands(argv, args))
    plotting.pyplot().close(fig)
    study_page.write(page, args.html)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    plotting.check_output_path(args.output)
    if args.html:
        study_page.check_page_path(args.html)
        study_commands(argv, args)  # a bad --command is refused before any work
    logs = ml.load_run_logs(expand_inputs(args.inputs))
    names = {}
    for log in logs:
        names.setdefault(log.name, []).append(os.path.basename(log.path))
    if len(names) > 1:
        listing = "; ".join(f"{n} ({', '.join(files[:3])}{', ...' if len(files) > 3 else ''})"
                            for n, files in sorted(names.items()))
        raise ml.ToolError(f"logs of different experiments: {listing}; "
                           f"a study compares runs of one experiment")
    for log in logs:
        if not log.epochs:
            print(f"{PROG}: warning: {log.path}: no epochs, ignored", file=sys.stderr)
    if any(rank_study.is_distributed(log) for log in logs):
        title = args.title or f"{logs[0].name}: scaling across ranks"
        status, summary, fig = rank_study.study(logs, title, args.output, args.strict)
        if args.html:
            write_page(args, argv, logs, title, summary, fig, rank_study.tables(logs))
        plotting.pyplot().close(fig)
        return status
    groups = make_groups([log for log in logs if log.epochs])
    if not groups:
        raise ml.ToolError("no log has any finished epoch: nothing to plot")
    verdicts = {g.label: identity_check(g) for g in groups}
    states = [v for v, _ in verdicts.values()]
    overall = "NO" if "NO" in states else ("yes" if "yes" in states else "n/a")
    simd = simd_table(groups)
    summary = report(groups, simd, verdicts, overall)
    print(summary)
    if not simd and not any(len(g.throughput()) >= 2 for g in groups):
        raise ml.ToolError("nothing to compare: need >= 2 thread counts of one SIMD target or "
                           ">= 2 SIMD targets at one thread count")
    host = next((log.host.get("cpu_model") for log in logs if log.host.get("cpu_model")), None)
    cpu_id = next((log.host.get("cpu_id") for log in logs if log.host.get("cpu_id")), None)
    family = re.search(r"family \d+ model \d+", cpu_id or "")
    if host and family:  # a VM may mask the model name; family and model still say what it is
        host += f" ({family.group(0)})"
    title = args.title or f"{logs[0].name}: scaling" + (f" on {host}" if host else "")
    fig = plot(groups, simd, verdicts, overall, title, args.output)
    if args.html:
        write_page(args, argv, logs, title, summary, fig, thread_tables(groups))
    plotting.pyplot().close(fig)
    return 1 if args.strict and overall == "NO" else 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
