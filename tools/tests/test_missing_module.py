"""A tool started by another interpreter (a python3 without Debian's modules first on PATH) ends
with one line naming the missing module and Debian's /usr/bin/python3, exit status 2, never a
traceback (the hook in mlpbench/__init__.py). The interpreter here is Debian's with the module
hidden by a sitecustomize, so the test needs no second Python."""

import os
import subprocess

import pytest

from conftest import PYTHON, TOOLS, fixture

LOG = fixture("runs", "completed_avx3_t2.json")
CASES = [  # (hidden module, command after the interpreter)
    ("numpy", [os.path.join(TOOLS, "plot_runs.py"), LOG, "-o", "x.png"]),
    ("matplotlib", [os.path.join(TOOLS, "plot_runs.py"), LOG, "-o", "x.png"]),
    ("jsonschema", [os.path.join(TOOLS, "export.py"), LOG]),
    ("numpy", ["-m", "mlpbench.plots.runs", LOG, "-o", "x.png"]),
]


@pytest.mark.parametrize("module, command", CASES,
                         ids=[f"{m}-{c[1] if c[0] == '-m' else os.path.basename(c[0])}"
                              for m, c in CASES])
def test_a_missing_module_is_one_line_naming_it(tmp_path, module, command):
    site = tmp_path / "site"
    site.mkdir()
    # None in sys.modules: importing it raises ModuleNotFoundError, as where it is not installed
    (site / "sitecustomize.py").write_text(f"import sys\nsys.modules[{module!r}] = None\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), TOOLS]),
               PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    proc = subprocess.run([PYTHON, *command], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"no module named '{module}'" in proc.stderr
    assert "Debian's /usr/bin/python3" in proc.stderr and f"python3-{module}" in proc.stderr
    assert not (tmp_path / "x.png").exists()
