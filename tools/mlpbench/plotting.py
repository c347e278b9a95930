"""Figure output of the plotting tools: matplotlib on the Agg backend, PNG or SVG by extension,
written whole or not at all."""

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
    over an input, a link or a special file), its folder made if missing."""
    check_output_path(path)
    mlpbench_files.check_output(path)  # refused before any folder is made for it
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as e:
        raise ToolError(f"{parent}: cannot create: {e.strerror or e}") from None
    with mlpbench_files.atomic_output(path, binary=True) as f:
        if path.lower().endswith(".svg"):
            fig.savefig(f, format="svg", metadata={"Date": None})
        else:
            fig.savefig(f, format="png", dpi=110)
    print(f"wrote {path}", file=sys.stderr)
