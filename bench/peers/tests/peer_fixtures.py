"""Shared by the peer's tests (imported, not a conftest.py: tools/tests has that name): a small
learnable MNIST-shaped dataset."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))
import mlpbench_inputs  # noqa: E402


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """<root>/mnist/ with 300 training and 100 test images."""
    pytest.importorskip("numpy")
    root = tmp_path_factory.mktemp("data")
    mlpbench_inputs.write_tiny_mnist(root, 300, 100)
    return root
