"""pytest --cpu-times (fixtures/cpu_times.py): a test is charged the CPU of the processes it
starts, not the time it waits, with and without pytest-xdist."""

import os
import re
import subprocess

import pytest

from conftest import FIXTURES, PYTHON

SAMPLE = '''
import subprocess, sys, time

BUSY = "import time\\nwhile time.process_time() < 0.5: pass"


def test_busy_child():
    subprocess.run([sys.executable, "-c", BUSY], check=True, timeout=120)


def test_sleeping():
    time.sleep(0.5)
'''


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["alone", "xdist"])
@pytest.mark.slow
def test_a_child_s_cpu_counts_and_waiting_does_not(tmp_path, workers):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the suite's configuration
    proc = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "cpu_times",
                           "--cpu-times=5", *workers, "test_sample.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=FIXTURES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seconds = {name: float(value) for value, name in
               re.findall(r"^\s+([\d.]+)  test_sample\.py::(\w+)$", proc.stdout, re.M)}
    assert set(seconds) == {"test_busy_child", "test_sleeping"}, proc.stdout
    assert seconds["test_busy_child"] >= 0.5, proc.stdout
    assert seconds["test_sleeping"] < 0.25, proc.stdout
    assert re.search(r"^\s+[\d.]+  test_sample\.py$", proc.stdout, re.M), proc.stdout
