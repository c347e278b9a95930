"""Shared helpers for the tools' tests: run a tool as a subprocess, check figure files."""

import base64
import gzip
import os
import re
import subprocess
import sys

import pytest

sys.dont_write_bytecode = True

from mlpbench.studies import study_page  # noqa: E402 (after: it writes no bytecode either)

pytest_plugins = ["cpu_times"]  # pytest --cpu-times=N (fixtures/cpu_times.py)

TESTS = os.path.dirname(os.path.realpath(__file__))
TOOLS = os.path.dirname(TESTS)
FIXTURES = os.path.join(TESTS, "fixtures")
PYTHON = "/usr/bin/python3"


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@pytest.fixture
def run(tmp_path):
    """run("plot_runs.py", args...) -> Result; runs in tmp_path with Debian's python."""

    def _run(tool, *args, env=None, timeout=120):
        full_env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
        full_env.update(env or {})
        proc = subprocess.run([PYTHON, os.path.join(TOOLS, tool), *map(str, args)],
                              cwd=tmp_path, capture_output=True, text=True, env=full_env,
                              timeout=timeout)
        return Result(proc)

    return _run


def idx_bytes(array, dims):
    """An IDX file of unsigned bytes holding `array` (`dims` dimensions)."""
    header = bytes([0, 0, 0x08, dims]) + b"".join(int(d).to_bytes(4, "big")
                                                  for d in array.shape)
    return header + array.astype("uint8").tobytes()


def make_dataset(root, dataset, n=120, gz=False, split="train"):
    """<root>/<dataset>/ with `n` random 28x28 images and labels 0..9 of one split, as the
    real files are named; returns (images, labels, {stem: path})."""
    import numpy as np
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    folder = root / dataset
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "train" if split == "train" else "t10k"
    files = {}
    for stem, data in ((f"{prefix}-images-idx3-ubyte", idx_bytes(images, 3)),
                       (f"{prefix}-labels-idx1-ubyte", idx_bytes(labels, 1))):
        path = folder / (stem + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(data) if gz else data)
        files[stem] = path
    return images, labels, files


def assert_png(path):
    with open(path, "rb") as f:
        head = f.read(8)
    assert head == PNG_SIGNATURE, f"{path} is not a PNG file"
    assert os.path.getsize(path) > 2000


def assert_svg(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and text.rstrip().endswith(
        "</svg>"), f"{path} is not an SVG file"


def assert_clean_error(result, *needles):
    """Exit 2, no traceback, and the message names what it should."""
    assert result.code == 2, result
    assert "Traceback" not in result.err, result
    for needle in needles:
        assert needle in result.err, result


def assert_study_page(path, figures, absent=()):
    """Every section, `figures` embedded PNGs, nothing referenced outside the file, and none of
    the `absent` strings (the machine's own paths)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert re.findall(r"<h2>(.*?)</h2>", text) == list(study_page.SECTIONS)
    sources = re.findall(r'\bsrc\s*=\s*"([^"]*)"', text)
    assert len(sources) == figures
    for source in sources:
        head, _, data = source.partition(",")
        assert head == "data:image/png;base64"
        assert base64.b64decode(data).startswith(PNG_SIGNATURE)
    ids = set(re.findall(r'\bid="([^"]*)"', text))
    for href in re.findall(r'\bhref\s*=\s*"([^"]*)"', text):
        assert href[1:] in ids if href.startswith("#") else re.fullmatch(r"https?://\S+", href), href
    assert not re.search(r"<(link|script|iframe|object|embed)\b|@import|url\(", text, re.I)
    assert "file:" not in text
    for needle in absent:
        assert str(needle) not in text
    return text


def pytest_collection_modifyitems(items):
    """The slow tests first, dealt out between pytest-xdist's workers. Its load scheduler hands
    each worker a first chunk of consecutive tests (a quarter of its share) and the rest as they
    finish, never taking one back; a long test that starts last keeps one worker busy after the
    others are done, and so do slow tests all sorted into the first worker's chunk (where all
    49 went). So worker k's first chunk starts with slow tests k, k + n, k + 2n, ... and is
    filled with the others."""
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    other = [item for item in items if item.get_closest_marker("slow") is None]
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    chunk = max(len(items) // workers // 4, 2)  # xdist 3's LoadScheduling, first distribution
    if workers < 2 or -(-len(slow) // workers) > chunk:
        items[:] = slow + other
        return
    ordered = []
    for k in range(workers):
        mine = slow[k::workers]
        fill = chunk - len(mine)
        ordered += mine + other[:fill]
        other = other[fill:]
    items[:] = ordered + other
