"""bench/step_phases --mnist on small synthetic MNIST files (the built binary)."""

import os
import subprocess

import pytest

from conftest import TOOLS, make_dataset

STEP_PHASES = os.path.join(os.path.dirname(TOOLS), "build", "bench", "step_phases")
pytestmark = pytest.mark.skipif(not os.path.exists(STEP_PHASES), reason="build/ not built")


def run(*args):
    return subprocess.run([STEP_PHASES, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("n", [32, 100])
def test_trains_on_a_dataset_of_any_size(tmp_path, n):
    make_dataset(tmp_path, "mnist", n=n)
    r = run(2, "A", "--steps", 40, "--shards", 4, "--mnist", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "4 shard(s)" in r.stdout and "thread 1:" in r.stdout


def test_fewer_samples_than_a_batch(tmp_path):
    make_dataset(tmp_path, "mnist", n=31)
    r = run(1, "B", "--steps", 5, "--mnist", tmp_path)
    assert r.returncode == 3, r
    assert "31 training samples, fewer than a batch" in r.stderr and "train-images" in r.stderr
