"""mlpbench's Python tools as one package (tools/mlpbench/); docs/building.md lists the modules.

Every command is a module with a ``__main__`` block, run either through its entry script in
tools/ (``tools/plot_runs.py``, which bench/peers/, tests/mpi/ and fuzz/ link to for their
commands) or as ``python3 -m mlpbench.plots.runs`` with tools/ on the module path (from tools/,
or ``PYTHONPATH=tools`` from the repository root).
"""

import os
import sys

TOOLS_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
REPO_ROOT = os.path.dirname(TOOLS_DIR)

# The Debian packages of the modules the tools import (tools/setup.sh installs them).
DEBIAN_PACKAGES = {"numpy": "python3-numpy", "matplotlib": "python3-matplotlib",
                   "jsonschema": "python3-jsonschema", "torch": "python3-torch"}


def _missing_module(kind, error, tb, previous=sys.excepthook):
    """Every command imports this package first: a tool run by another interpreter (a python3
    without Debian's modules first on PATH) ends with one line naming the missing module, not
    a traceback. Any other uncaught exception goes to the previous hook."""
    module = (getattr(error, "name", None) or "").partition(".")[0]
    if not issubclass(kind, ModuleNotFoundError) or module not in DEBIAN_PACKAGES:
        previous(kind, error, tb)
        return
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "mlpbench"
    print(f"{prog}: error: no module named '{module}' in {sys.executable}: the tools run with "
          f"Debian's /usr/bin/python3 (apt-get install {DEBIAN_PACKAGES[module]}; tools/setup.sh "
          "installs it)", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(2)  # a hook cannot set the exit status otherwise (it would be 1)


sys.excepthook = _missing_module
