"""How tools/track.py shows a comparison (`compare` of two records, `ab` of two builds): the
table as text or markdown, the JSON document (its fields: docs/tracking.md), and the figure.

A comparison is a dict: a, b (each label, commit, subject, path), threshold, confidence, rows
(one per benchmark: name, a_median_ns, b_median_ns, change_pct, low_pct, high_pct, verdict,
n, gating, note), only_in_a, only_in_b, verdict (ok, regression, inconclusive), exit_status,
reason, host_note, notes. A row's verdict never claims a direction the overall verdict does not
support: when the hosts of two records differed, it reads `hosts differed`."""

import json
import math

from mlpbench import logs as ml
from mlpbench import plotting
from mlpbench.tracking import stats as ts

SCHEMA = "mlpbench-track-comparison/1"
HOSTS_DIFFERED = "hosts differed"
COLOURS = {ts.REGRESSION: "#d62728", ts.IMPROVEMENT: "#2ca02c", ts.SAME: "#7f7f7f",
           ts.INCONCLUSIVE: "#ff7f0e", HOSTS_DIFFERED: "#9467bd"}


def row(name, interval, verdict, a_times_ns, b_times_ns, gating=True, note=""):
    """One benchmark's row: its medians (ns), change and interval (%), verdict."""
    e, lo, hi = interval.change_pct()
    if not math.isfinite(interval.low):  # too few samples for an interval at this level
        lo, hi = None, None
    return {"name": name, "a_median_ns": _median(a_times_ns), "b_median_ns": _median(b_times_ns),
            "change_pct": _num(e), "low_pct": _num(lo), "high_pct": _num(hi),
            "verdict": verdict, "n": interval.n, "gating": gating, "note": note}


def _median(values):
    values = sorted(v for v in values if v and v > 0)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _num(x):
    return x if x is not None and math.isfinite(x) else None


def side_text(side):
    """'main (abc1234 subject)', or the file when there is no commit subject."""
    if side.get("subject") and side["commit"].startswith(side["label"]):
        return side["subject"]  # given as a hash: 'abc1234 subject' says it all
    if side.get("subject"):
        return f"{side['label']} ({side['subject']})"
    return side["label"]


def change_text(r):
    if r["change_pct"] is None:
        return "- [no samples]"
    if r["low_pct"] is None:
        return f"{r['change_pct']:+.1f} % [too few samples]"
    return f"{r['change_pct']:+.1f} % [{r['low_pct']:+.1f}, {r['high_pct']:+.1f}]"


def time_text(ns):
    return ml.format_time_ns(ns) if ns else "-"


def verdict_text(r):
    extra = f"  (n={r['n']})"
    if not r["gating"]:
        extra += f"  not gating: {r['note']}"
    elif r["note"]:
        extra += f"  {r['note']}"
    return r["verdict"] + extra


def intervals_line(c):
    m = sum(r["gating"] for r in c["rows"])
    return (f"threshold {c['threshold'] * 100:g} %, {c['confidence'] * 100:g} % family-wise "
            f"intervals (Bonferroni over {m} gating benchmark(s): each at "
            f"{ts.family_confidence(c['confidence'], m) * 100:.2f} %)")


def text(c):
    """Benchmarks only one side has, the notes, the table, then the verdict line."""
    width = max([len(r["name"]) for r in c["rows"]] + [len("benchmark")])
    lines = [f"{label} (not compared): {', '.join(c[key])}"
             for label, key in (("only in A", "only_in_a"), ("only in B", "only_in_b"))
             if c[key]]
    lines += c["notes"] + [intervals_line(c),
             f"{'benchmark'.ljust(width)}  {'A median':>10}  {'B median':>10}  "
             f"{'change [interval]':>26}  verdict"]
    for r in c["rows"]:
        lines.append(f"{r['name'].ljust(width)}  {time_text(r['a_median_ns']):>10}  "
                     f"{time_text(r['b_median_ns']):>10}  {change_text(r):>26}  "
                     f"{verdict_text(r)}")
    if c.get("host_note"):
        lines.append(c["host_note"])
    lines.append(c["reason"])
    return "\n".join(lines) + "\n"


def summary_line(c):
    """'main (abc1234 subject) → HEAD (def5678 subject): 1 regression'."""
    n_reg = sum(r["verdict"] == ts.REGRESSION and r["gating"] for r in c["rows"])
    n_inc = sum(r["verdict"] in (ts.INCONCLUSIVE, HOSTS_DIFFERED) and r["gating"]
                for r in c["rows"])
    out = f"{side_text(c['a'])} → {side_text(c['b'])}: {n_reg} regression{'s' * (n_reg != 1)}"
    return out + (f", {n_inc} inconclusive" if n_inc else "")


def markdown(c):
    """A pull-request comment: summary line, verdict, table, host note."""
    lines = [f"**{summary_line(c)}**", "", c["reason"], "",
             f"| benchmark | A: {c['a']['label']} | B: {c['b']['label']} | change [interval] "
             f"| verdict |", "|---|---:|---:|---|---|"]
    for r in c["rows"]:
        lines.append(f"| `{r['name']}` | {time_text(r['a_median_ns'])} | "
                     f"{time_text(r['b_median_ns'])} | {change_text(r)} | {verdict_text(r)} |")
    lines += ["", intervals_line(c) + "; medians of every repetition of each side."]
    for label, key in (("only in A", "only_in_a"), ("only in B", "only_in_b")):
        if c[key]:
            lines.append(f"{label} (not compared): {', '.join(c[key])}")
    for note in c["notes"] + ([c["host_note"]] if c.get("host_note") else []):
        lines += ["", "> " + note]
    return "\n".join(lines) + "\n"


def document(c):
    return json.dumps({"schema": SCHEMA, **c}, indent=1) + "\n"


def figure(c, output):
    plotting.check_output_path(output)
    fig = draw(c)
    plotting.save_figure(fig, output)
    plotting.pyplot().close(fig)


def draw(c):
    """Each benchmark's change with its interval, coloured by its verdict; the title carries
    the summary line, the overall verdict and its reason."""
    import textwrap
    plt = plotting.pyplot()
    rows = c["rows"]
    fig, ax = plt.subplots(figsize=(10, 2.6 + 0.4 * len(rows)))
    for y, r in enumerate(reversed(rows)):
        if r["change_pct"] is None:
            continue
        e = r["change_pct"]
        lo = r["low_pct"] if r["low_pct"] is not None else e - 50
        hi = r["high_pct"] if r["high_pct"] is not None else e + 50
        colour = COLOURS.get(r["verdict"], "#7f7f7f")
        ax.plot([lo, hi], [y, y], color=colour, linewidth=3)
        ax.plot([e], [y], "o", color=colour)
        ax.annotate(f"{e:+.1f} % {r['verdict']}" + ("" if r["gating"] else " (not gating)"),
                    (hi, y), xytext=(4, 0), textcoords="offset points", va="center",
                    fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r["name"] for r in reversed(rows)], fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.axvline(c["threshold"] * 100, color="gray", linestyle="--", linewidth=0.8)
    ax.set_xlabel("change of B over A (%, positive = slower) with its family-wise interval")
    title = f"{summary_line(c)}\n" + "\n".join(textwrap.wrap(c["reason"], 110)[:3])
    ax.set_title(title, fontsize=8, loc="left")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
