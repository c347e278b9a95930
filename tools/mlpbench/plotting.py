"""Figure output of the plotting tools: matplotlib on the Agg backend, PNG or SVG by extension,
written whole or not at all."""

import contextlib
import os
import sys

from mlpbench import files as mlpbench_files
from mlpbench.files import ToolError

FIGURE_FORMATS = (".png", ".svg")


def check_output_path(path):
    """Output files are PNG or SVG, chosen by extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FIGURE_FORMATS:
        raise ToolError(f"{path}: unsupported output format \"{ext or '(none)'}\"; "
                        f"use a .png or .svg file name")
    return path


def pyplot():
    """matplotlib.pyplot on the Agg backend (imported lazily: it takes a while)."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "mlpbench"  # reproducible SVG ids
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path):
    """The figure as PNG or SVG at `path`, whole or not at all (mlpbench_files' rules: never
    over an input, a link or a special file). Its folder is made if missing, as the engine makes
    its outputs' (docs/reliability.md), and removed again if the figure is not written."""
    check_output_path(path)
    mlpbench_files.check_output(path)  # refused before any folder is made for it
    with folder_made_for(path), mlpbench_files.atomic_output(path, binary=True) as f:
        if path.lower().endswith(".svg"):
            fig.savefig(f, format="svg", metadata={"Date": None})
        else:
            fig.savefig(f, format="png", dpi=110)
    print(f"wrote {path}", file=sys.stderr)


@contextlib.contextmanager
def folder_made_for(path):
    """`path`'s folder and its missing parents, made for the block and removed again (each if
    still empty) when the block fails: a failed output leaves no folder behind."""
    missing, folder = [], os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    made = []
    try:
        for folder in reversed(missing):
            try:
                os.mkdir(folder)
            except FileExistsError:  # made meanwhile by another process: not ours to remove
                continue
            except OSError as e:
                raise ToolError(f"{folder}: cannot create: {e.strerror or e}") from None
            made.append(folder)
        yield
    except BaseException:
        _remove_empty(made)
        raise


def _remove_empty(folders):
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


NOISY_HOST = "noisy host"


def mark_noisy_host(ax, xs, ys):
    """A red x over each point measured on a host that looked noisy (its speed may be the
    host's, not the engine's); the legend names the mark once per axis."""
    if not xs:
        return
    named = NOISY_HOST in ax.get_legend_handles_labels()[1]
    ax.plot(xs, ys, linestyle="none", marker="x", color="#d62728", markersize=9, zorder=5,
            label=None if named else NOISY_HOST)


def noisy_host_line(what, log):
    """'noisy host: WHAT (FILE): reasons' for the printed summary, or None for a quiet run."""
    reasons = log.host_noise()
    return f"{NOISY_HOST}: {what} ({os.path.basename(log.path)}): {'; '.join(reasons)}" if reasons else None
