"""plot_model.py: the Keras-like model diagram."""

import json

from conftest import assert_clean_error, assert_png, assert_svg, fixture
from mlpbench.plots import model as plot_model


def test_mlp512_diagram(run, tmp_path):
    r = run("plot_model.py", fixture("experiment_mlp512.json"), "-o", "m.png")
    assert r.code == 0, r
    assert_png(tmp_path / "m.png")
    assert "Total params: 407,050" in r.out  # 784*512+512 + 512*10+10, as Keras reports
    assert "401,920" in r.out and "5,130" in r.out


def test_run_log_and_svg(run, tmp_path):
    r = run("plot_model.py", fixture("runs", "pytorch.json"), "-o", "m.svg")
    assert r.code == 0, r
    assert_svg(tmp_path / "m.svg")
    r = run("plot_model.py", fixture("experiment_mlp512.json"))
    assert r.code == 0 and (tmp_path / "model.png").exists()


def test_deeper_model_parameter_count(tmp_path):
    exp = json.load(open(fixture("experiment_mlp512.json")))
    exp["model"] = [{"units": 256, "activation": "relu"}, {"units": 128, "activation": "relu"},
                    {"units": 10, "activation": "softmax"}]
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(exp))
    boxes = plot_model.boxes_for(plot_model.load_experiment(str(path)))
    assert [b[4] for b in boxes] == [0, 0, 784 * 256 + 256, 256 * 128 + 128, 128 * 10 + 10]
    assert boxes[-1][3] == "(None, 10)"


def test_bad_experiments(run, tmp_path):
    exp = json.load(open(fixture("experiment_mlp512.json")))
    exp["model"][1]["units"] = "ten"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(exp))
    assert_clean_error(run("plot_model.py", bad), str(bad), "/model/1/units")
    exp["model"] = []
    bad.write_text(json.dumps(exp))
    assert_clean_error(run("plot_model.py", bad), "/model", "non-empty")
    assert_clean_error(run("plot_model.py", fixture("bad", "truncated.json")), "truncated")
    assert_clean_error(run("plot_model.py", tmp_path / "nope.json"), "nope.json", "no such file")
    assert run("plot_model.py", "--help").code == 0


def test_the_engine_decides_what_is_valid(run, tmp_path):
    """plot_model.py asks run_experiment --dry-run: a file the engine refuses is refused with
    the engine's own message, e.g. an activation the engine does not implement."""
    exp = json.load(open(fixture("experiment_mlp512.json")))
    exp["model"][0]["activation"] = "tanh"
    bad = tmp_path / "tanh.json"
    bad.write_text(json.dumps(exp))
    assert_clean_error(run("plot_model.py", bad), str(bad), "/model/0/activation",
                       'expected "relu", "linear" or "softmax", got "tanh"')
    assert not (tmp_path / "model.png").exists()
    # Without the engine there is no validator: a clear error, not a guess.
    r = run("plot_model.py", fixture("experiment_mlp512.json"),
            env={"MLPBENCH_ENGINE": str(tmp_path / "no-engine")})
    assert_clean_error(r, "no-engine", "not built")
