"""Rank-scaling studies from distributed run logs (the half of plot_scaling.py for ranks).

Not a command-line tool itself: tools/plot_scaling.py calls it when its logs come from
`run_experiment --distributed` (they carry a `distributed` object), e.g. the folder
tools/scaling_study.py writes. Logs are classed by the log itself:

  baseline   no `distributed` object (one plain process, the same shards);
  strong     distributed.scaling "strong": the global batch fixed, x = distributed.ranks;
  weak       distributed.scaling "weak": --batch-size-per-rank, one series per lr rule.

Figure: speed-up and parallel efficiency against ranks (throughput = median samples/s over
epochs, against the series' 1-rank run, with the ideal lines), a stacked bar per rank count of
where a strong-scaling step's time goes (compute, reduction, optimizer, allgather, wait: the
mean over ranks of each rank's median per step, with the min-max over ranks as whiskers),
time to accuracy of the weak runs under each rule (test accuracy against cumulative training
seconds, the experiment's target_accuracy as a line), and the check that every strong run and
the baseline computed bitwise the same numbers (the fixed tree promises it for any rank count;
`--reduction mpi` does not, and is reported as not checked). Runs from a noisy host get a red x
on the speed-up, efficiency and step-phase panels and a `noisy host:` line in the summary.
"""

import math
import os
import statistics
import textwrap

from mlpbench import logs as ml
from mlpbench import plotting

PHASES = ("compute", "reduction", "optimizer", "allgather", "wait")
PHASE_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3")


def is_distributed(log):
    return isinstance(log.data.get("distributed"), dict)


def dist(log):
    d = log.data["distributed"]
    c = ml.Checker(log.path)
    c.integer(d, "ranks", "/distributed", minimum=1)
    return d


def ranks_of(log):
    return int(dist(log)["ranks"]) if is_distributed(log) else 1


def rule_of(log):
    lr = dist(log).get("lr_scaling")
    return lr.get("rule", "none") if isinstance(lr, dict) else "none"


def classify(logs):
    """(baseline logs, {ranks: [strong logs]}, {rule: {ranks: [weak logs]}})."""
    baseline, strong, weak = [], {}, {}
    for log in logs:
        if not is_distributed(log):
            baseline.append(log)
        elif dist(log).get("scaling") == "weak":
            weak.setdefault(rule_of(log), {}).setdefault(ranks_of(log), []).append(log)
        else:
            strong.setdefault(ranks_of(log), []).append(log)
    return baseline, dict(sorted(strong.items())), {r: dict(sorted(v.items())) for r, v in sorted(weak.items())}


def throughput(logs):
    values = [v for log in logs for v in log.series("samples_per_second") if math.isfinite(v) and v > 0]
    return statistics.median(values) if values else float("nan")


def speedups(series):
    """{ranks: (speed-up, efficiency %)} against the series' fewest ranks."""
    thr = {r: throughput(logs) for r, logs in series.items()}
    thr = {r: v for r, v in thr.items() if math.isfinite(v)}
    if not thr:
        return {}
    r0 = min(thr)
    return {r: (v / thr[r0], 100 * (v / thr[r0]) / (r / r0)) for r, v in thr.items()}


def phase_table(logs):
    """{phase: (mean, min, max) over ranks} of each rank's median-over-epochs step time, in us."""
    per_rank = {}
    for log in logs:
        for epoch in dist(log).get("epochs") or []:
            for entry in epoch.get("ranks") or []:
                for phase in PHASES:
                    value = (entry.get(phase) or {}).get("median_us")
                    if ml.is_number(value):
                        per_rank.setdefault(phase, {}).setdefault(entry.get("rank"), []).append(float(value))
    table = {}
    for phase in PHASES:
        medians = [statistics.median(v) for v in per_rank.get(phase, {}).values()]
        if medians:
            table[phase] = (statistics.fmean(medians), min(medians), max(medians))
    return table


def identity(baseline, strong):
    """('yes'|'NO'|'n/a', details): strong runs of the fixed tree against each other and the baseline."""
    logs = [log for log in baseline if log.epochs]
    untreed = []
    for r, group in strong.items():
        for log in group:
            if dist(log).get("reduction") != "tree":
                untreed.append(os.path.basename(log.path))
            elif log.epochs:
                logs.append(log)
    notes = [f"not checked (MPI_Allreduce promises no identity): {', '.join(untreed)}"] if untreed else []
    if len(logs) < 2:
        return "n/a", notes + ["fewer than two fixed-tree logs with epochs"]
    ref = logs[0]
    problems = []
    for other in logs[1:]:
        n = min(len(ref.epochs), len(other.epochs))
        for i in range(n):
            diff = [k for k in ml.RESULT_KEYS
                    if ml.result_key(ref.epochs[i].get(k)) != ml.result_key(other.epochs[i].get(k))]
            if diff:
                problems.append(f"epoch {i + 1} {diff[0]}: {ref.epochs[i].get(diff[0])!r} "
                                f"({ranks_of(ref)} rank(s), {os.path.basename(ref.path)}) vs "
                                f"{other.epochs[i].get(diff[0])!r} ({ranks_of(other)} ranks, "
                                f"{os.path.basename(other.path)})")
                break
    return ("NO" if problems else "yes"), problems + notes


def time_to_accuracy(log):
    """(cumulative training seconds, test accuracy) per epoch."""
    seconds, acc, total = [], [], 0.0
    for e in log.epochs:
        if ml.is_number(e.get("train_seconds")) and ml.is_number(e.get("test_accuracy")):
            total += float(e["train_seconds"])
            seconds.append(total)
            acc.append(float(e["test_accuracy"]))
    return seconds, acc


def report(baseline, strong, weak, verdict, details):
    lines = []
    for title, series in [("strong scaling", strong)] + [(f"weak scaling, lr rule {rule}", s)
                                                         for rule, s in weak.items()]:
        sp = speedups(series)
        if not sp:
            continue
        lines.append(f"{title}:")
        lines.append(f"  {'ranks':>5}  {'samples/s':>12}  {'speed-up':>8}  {'efficiency':>10}  global batch")
        for r, (s, eff) in sp.items():
            batch = dist(series[r][0]).get("global_batch")
            lines.append(f"  {r:>5}  {throughput(series[r]):>12,.0f}  {s:>7.2f}x  {eff:>9.1f}%  {batch}")
    for r, logs in strong.items():
        table = phase_table(logs)
        if table:
            lines.append(f"step phases at {r} rank{'s' if r != 1 else ''} (us, mean over ranks [min-max]): " +
                         ", ".join(f"{p} {m:.1f} [{lo:.1f}-{hi:.1f}]" for p, (m, lo, hi) in table.items()))
    for rule, series in weak.items():
        for r, logs in series.items():
            log = logs[0]
            seconds, acc = time_to_accuracy(log)
            lr = dist(log).get("learning_rate")
            if acc:
                lines.append(f"weak {rule}, {r} rank{'s' if r != 1 else ''}: learning rate {lr}, final test accuracy "
                             f"{100 * acc[-1]:.2f}% after {seconds[-1]:.1f} s of training")
    lines.append(f"identical numbers at every rank count: {verdict}")
    lines.extend(f"  {d}" for d in details)
    runs = [("one process", log) for log in baseline] + \
        [(f"strong, {plural_ranks(r)}", log) for r, logs in strong.items() for log in logs] + \
        [(f"weak {rule}, {plural_ranks(r)}", log) for rule, s in weak.items() for r, logs in s.items() for log in logs]
    lines.extend(line for line in (plotting.noisy_host_line(what, log) for what, log in runs) if line)
    return "\n".join(lines)


def tables(logs):
    """[(title, headers, rows)] of the rank study for its page: throughput per series, and where
    a strong-scaling step's time goes per rank count."""
    _, strong, weak = classify([log for log in logs if log.epochs])
    out = []
    for title, series in [("strong scaling", strong)] + [(f"weak scaling, lr rule {rule}", s)
                                                         for rule, s in weak.items()]:
        sp = speedups(series)
        if sp:
            out.append((f"{title}: median samples/s over epochs",
                        ["ranks", "samples/s", "speed-up", "efficiency %", "global batch"],
                        [[r, round(throughput(series[r])), round(s, 3), round(eff, 1),
                          dist(series[r][0]).get("global_batch")] for r, (s, eff) in sp.items()]))
    rows = []
    for r, logs in strong.items():
        table = phase_table(logs)
        if table:
            rows.append([r] + [f"{table[p][0]:.1f} [{table[p][1]:.1f}-{table[p][2]:.1f}]" if p in table
                               else "-" for p in PHASES])
    if rows:
        out.append(("strong scaling: where a step's time goes, us (mean over ranks [min-max])",
                    ["ranks"] + list(PHASES), rows))
    return out


def plural_ranks(ranks):
    return f"{ranks} rank{'s' if ranks != 1 else ''}"


def rank_axis(ax, ranks):
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    if max(ranks) / min(ranks) >= 8:
        ax.set_xscale("log", base=2)
    ax.set_xticks(ranks)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("ranks")
    ax.grid(True, alpha=0.3)


def plot(baseline, strong, weak, verdict, details, title, output):
    plt = plotting.pyplot()
    series = ([("strong", strong)] if len(strong) >= 1 else []) + [(f"weak, {rule}", s) for rule, s in weak.items()]
    fig, axes = plt.subplots(1, 4, figsize=(22, 5.6))
    ax_spd, ax_eff, ax_bar, ax_tta = axes
    cmap = plt.get_cmap("tab10")
    all_ranks = sorted({r for _, s in series for r in s}) or [1]
    for i, (label, s) in enumerate(series):
        sp = speedups(s)
        if not sp:
            continue
        rs = list(sp)
        ax_spd.plot(rs, [sp[r][0] for r in rs], marker="o", color=cmap(i), label=label)
        ax_eff.plot(rs, [sp[r][1] for r in rs], marker="o", color=cmap(i), label=label)
        noisy = [r for r in rs if any(log.host_noise() for log in s[r])]
        plotting.mark_noisy_host(ax_spd, noisy, [sp[r][0] for r in noisy])
        plotting.mark_noisy_host(ax_eff, noisy, [sp[r][1] for r in noisy])
    ax_spd.plot(all_ranks, [r / all_ranks[0] for r in all_ranks], "k--", linewidth=1, label="ideal")
    ax_eff.axhline(100, color="black", linestyle="--", linewidth=1, label="ideal (100%)")
    for ax in (ax_spd, ax_eff):
        rank_axis(ax, all_ranks)
        ax.legend(fontsize=8)
    ax_spd.set_title("speed-up (throughput vs 1 rank)")
    ax_spd.set_ylabel("speed-up")
    ax_eff.set_title("parallel efficiency")
    ax_eff.set_ylabel("efficiency (%)")
    ax_eff.set_ylim(0, max(110, ax_eff.get_ylim()[1]))

    bar_logs = strong
    bars = [(r, phase_table(logs)) for r, logs in strong.items()]
    bars = [(r, t) for r, t in bars if t]
    if not bars and weak:  # no strong runs: the first rule's weak runs show the phases
        bar_logs = next(iter(weak.values()))
        bars = [(r, phase_table(logs)) for r, logs in bar_logs.items()]
        bars = [(r, t) for r, t in bars if t]
    for k, (r, table) in enumerate(bars):
        bottom = 0.0
        for p, phase in enumerate(PHASES):
            mean, lo, hi = table.get(phase, (0.0, 0.0, 0.0))
            ax_bar.bar(k, mean, 0.6, bottom=bottom, color=PHASE_COLOURS[p], label=phase if k == 0 else None)
            if hi > lo:
                top = bottom + mean
                ax_bar.errorbar(k + 0.18 * (p - 2) / 2, top, yerr=[[mean - lo], [hi - mean]],
                                color="black", capsize=2, linewidth=0.8)
            bottom += mean
        if any(log.host_noise() for log in bar_logs[r]):
            plotting.mark_noisy_host(ax_bar, [k], [bottom])
    ax_bar.set_xticks(range(len(bars)))
    ax_bar.set_xticklabels([f"{r} rank{'s' if r != 1 else ''}" for r, _ in bars])
    ax_bar.set_title("where a step's time goes (whiskers: min-max over ranks)")
    ax_bar.set_ylabel("microseconds per step (median)")
    if bars:
        ax_bar.legend(fontsize=8)
    ax_bar.grid(True, axis="y", alpha=0.3)

    styles = ["-", "--", ":", "-."]
    target = None
    for i, (rule, s) in enumerate(weak.items()):
        for j, (r, logs) in enumerate(s.items()):
            seconds, acc = time_to_accuracy(logs[0])
            if seconds:
                ax_tta.plot(seconds, [100 * a for a in acc], marker="o", markersize=3, color=cmap(i + 1),
                            linestyle=styles[j % len(styles)], label=f"{rule}, {r} rank{'s' if r != 1 else ''}")
            t = logs[0].experiment.get("target_accuracy")
            target = t if ml.is_number(t) else target
    if target is not None:
        ax_tta.axhline(100 * target, color="gray", linestyle="-.", linewidth=1, label=f"target {100 * target:g}%")
    ax_tta.set_title("weak scaling: time to accuracy per lr rule")
    ax_tta.set_xlabel("training seconds (cumulative)")
    ax_tta.set_ylabel("test accuracy (%)")
    ax_tta.grid(True, alpha=0.3)
    if weak:
        ax_tta.legend(fontsize=7)
    else:
        ax_tta.text(0.5, 0.5, "no weak-scaling runs", ha="center", va="center", transform=ax_tta.transAxes)

    lines = [f"identical numbers at every rank count (fixed tree, strong scaling and one process): {verdict}"]
    if verdict == "NO":
        lines.append(details[0])
    footer = "\n".join(w for line in lines for w in textwrap.wrap(line, 200))
    fig.text(0.5, 0.015, footer, ha="center", va="bottom", fontsize=10,
             color="darkred" if verdict == "NO" else "black", weight="bold" if verdict == "NO" else "normal")
    fig.suptitle(title, fontsize=13)
    fig.tight_layout(rect=(0, 0.06 + 0.03 * footer.count("\n"), 1, 0.95))
    plotting.save_figure(fig, output)
    return fig


def study(logs, title, output, strict):
    """The rank study of `logs` (some distributed): prints the report and saves the figure;
    returns (exit status, the report, the figure, left open for a study page)."""
    baseline, strong, weak = classify([log for log in logs if log.epochs])
    if not strong and not weak:
        raise ml.ToolError("no distributed log has any finished epoch: nothing to plot")
    verdict, details = identity(baseline, strong)
    text = report(baseline, strong, weak, verdict, details)
    print(text)
    fig = plot(baseline, strong, weak, verdict, details, title, output)
    return (1 if strict and verdict == "NO" else 0), text, fig
