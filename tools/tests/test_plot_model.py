"""plot_model.py: the Keras-like model diagram."""

import json

from conftest import assert_clean_error, assert_png, assert_svg, fixture
import plot_model


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
