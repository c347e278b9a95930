"""mlpbench's Python tools as one package (tools/mlpbench/); docs/building.md lists the modules.

Every command is a module with a ``__main__`` block, run either through its entry script in
tools/ (``tools/plot_runs.py``, which bench/peers/, tests/mpi/ and fuzz/ link to for their
commands) or as ``python3 -m mlpbench.plots.runs`` with tools/ on the module path (from tools/,
or ``PYTHONPATH=tools`` from the repository root).
"""

import os

TOOLS_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
REPO_ROOT = os.path.dirname(TOOLS_DIR)
