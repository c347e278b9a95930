"""Shared by the peer's tests (imported, not a conftest.py: tools/tests has that name): a small
learnable MNIST-shaped dataset."""
import pytest

from mlpbench import inputs as mlpbench_inputs


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """<root>/mnist/ with 300 training and 100 test images."""
    pytest.importorskip("numpy")
    root = tmp_path_factory.mktemp("data")
    mlpbench_inputs.write_tiny_mnist(root, 300, 100)
    return root
