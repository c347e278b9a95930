"""show_samples.py: IDX reading (raw and gzip) and the image grid, on small synthetic files."""

import numpy as np
import pytest

from conftest import assert_clean_error, assert_png, assert_svg, idx_bytes, make_dataset
from mlpbench import logs as ml
from mlpbench import inputs as mlpbench_inputs
from mlpbench.plots import samples as show_samples


def test_mnist_raw(run, tmp_path):
    make_dataset(tmp_path / "data", "mnist")
    r = run("show_samples.py", "--data-dir", tmp_path / "data", "-o", "s.png")
    assert r.code == 0, r
    assert_png(tmp_path / "s.png")


def test_fashion_gz_from_environment(run, tmp_path):
    make_dataset(tmp_path / "d", "fashion-mnist", n=30, gz=True, split="test")
    r = run("show_samples.py", "--dataset", "fashion-mnist", "--split", "test", "--start", "5",
            "-o", "f.svg", env={"MLPBENCH_DATA": str(tmp_path / "d")})
    assert r.code == 0, r
    svg = (tmp_path / "f.svg").read_text()
    assert_svg(tmp_path / "f.svg")
    assert "Ankle boot" in svg or "Ankle" in svg  # class names as titles (text or glyph ids)


def test_reader_roundtrip(tmp_path):
    images, labels, files = make_dataset(tmp_path, "mnist", n=12, gz=True)
    got, _ = mlpbench_inputs.read_idx(str(files["train-images-idx3-ubyte"]), 3), None
    assert got.shape == (12, 28, 28) and (got == images).all()
    imgs, labs = show_samples.load(str(tmp_path), "mnist", "train")
    assert (labs == labels).all() and imgs.shape == images.shape


@pytest.mark.parametrize("damage, needle", [
    (lambda b: b[:-100], "truncated"),
    (lambda b: b + b"\0", "trailing bytes"),
    (lambda b: b"\x00\x00\x0d\x03" + b[4:], "element type"),
    (lambda b: b"\x12\x34" + b[2:], "not an IDX file"),
    (lambda b: b[:10], "header truncated"),
])
def test_corrupt_images_file(run, tmp_path, damage, needle):
    _, _, files = make_dataset(tmp_path / "data", "mnist", n=20)
    path = files["train-images-idx3-ubyte"]
    path.write_bytes(damage(path.read_bytes()))
    r = run("show_samples.py", "--data-dir", tmp_path / "data", "-o", "s.png")
    assert_clean_error(r, str(path), needle)
    with pytest.raises(ml.ToolError):
        mlpbench_inputs.read_idx(str(path), 3)


def test_corrupt_gzip_and_mismatch(run, tmp_path):
    _, _, files = make_dataset(tmp_path / "data", "fashion-mnist", n=20, gz=True)
    path = files["train-labels-idx1-ubyte"]
    path.write_bytes(path.read_bytes()[:30])
    r = run("show_samples.py", "--dataset", "fashion-mnist", "--data-dir", tmp_path / "data")
    assert_clean_error(r, str(path), "gzip")
    _, _, files = make_dataset(tmp_path / "d2", "mnist", n=20)
    files["train-labels-idx1-ubyte"].write_bytes(idx_bytes(np.zeros(19, np.uint8), 1))
    r = run("show_samples.py", "--data-dir", tmp_path / "d2")
    assert_clean_error(r, "20 images", "19 labels")


def test_missing_data_and_bad_start(run, tmp_path):
    r = run("show_samples.py", "--data-dir", tmp_path)
    assert_clean_error(r, "train-images-idx3-ubyte", "no such file")
    make_dataset(tmp_path / "data", "mnist", n=20)
    r = run("show_samples.py", "--data-dir", tmp_path / "data", "--start", "20")
    assert_clean_error(r, "--start 20", "20 images")
    assert run("show_samples.py", "--help").code == 0


@pytest.mark.parametrize("shape", [(14, 56), (27, 27)])
def test_images_not_28x28_are_refused_naming_the_file(tmp_path, capsys, shape):
    """As the engine refuses them (it was a warning naming no file, and a figure)."""
    from mlpbench import cli
    _, _, files = make_dataset(tmp_path, "mnist", n=20)
    path = files["train-images-idx3-ubyte"]
    path.write_bytes(idx_bytes(np.zeros((20, *shape), np.uint8), 3))
    code = cli.main_guard(show_samples.PROG, show_samples.main,
                          ["--data-dir", str(tmp_path), "-o", str(tmp_path / "s.png")])
    assert code == 2 and not (tmp_path / "s.png").exists()
    assert capsys.readouterr().err == (f"show_samples.py: error: {path}: images are "
                                       f"{shape[0]}x{shape[1]}, mnist images are 28x28\n")


def test_of_a_raw_and_a_gz_file_the_engine_s_choice_is_shown(tmp_path, capsys):
    """Fashion-MNIST: the .gz before the raw file, as the engine; a raw folder is no
    reason to pass over MNIST's raw name either."""
    make_dataset(tmp_path, "fashion-mnist", n=20)
    _, _, files = make_dataset(tmp_path, "fashion-mnist", n=30, gz=True)
    images, _ = show_samples.load(str(tmp_path), "fashion-mnist", "train")
    assert len(images) == 30
    make_dataset(tmp_path, "mnist", n=20, gz=True)
    raw = tmp_path / "mnist" / "train-images-idx3-ubyte"
    raw.mkdir()
    with pytest.raises(ml.ToolError, match="is a directory"):
        show_samples.load(str(tmp_path), "mnist", "train")
