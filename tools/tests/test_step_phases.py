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


@pytest.mark.parametrize("batch", ["010", "08"])
def test_integers_are_decimal(batch):
    r = run(1, "A", "--steps", "005", "--batch", batch)  # CLI11 alone read 010 as octal 8, refused 08
    assert r.returncode == 0, r.stderr
    assert f"batch {int(batch)}, 1 thread(s)" in r.stdout


@pytest.mark.parametrize("args, option, value, limits", [
    ([1, "A", "--steps", "0x10"], "--steps", "0x10", "1 to 1000000"),  # was 16 steps
    ([1, "A", "--steps", " 5"], "--steps", " 5", "1 to 1000000"),
    ([1, "A", "--steps", "+5"], "--steps", "+5", "1 to 1000000"),
    ([1, "A", "--batch", "1e2"], "--batch", "1e2", "1 to 4096"),
    (["0x2", "A"], "threads", "0x2", "1 to 1024"),
])
def test_integers_are_digits_only(args, option, value, limits):
    r = run(*args)
    assert r.returncode == 2, r
    assert r.stderr.startswith(f'step_phases: error: {option}: expected an integer from {limits}, got "{value}"\n')


def test_shards_are_decimal_too():
    r = run(1, "A", "--steps", 5, "--shards", "010")  # CLI11 alone read 8 shards
    assert r.returncode == 2 and r.stderr.startswith("step_phases: error: --shards: 010 not in {1,2,4,8,16,32}")


def test_an_empty_mnist_folder_exits_2():
    r = run(1, "A", "--steps", 5, "--mnist", "")  # was random data, silently
    assert r.returncode == 2, r
    assert r.stderr.startswith("step_phases: error: --mnist: an empty value\n") and not r.stdout
