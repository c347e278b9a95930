"""The JSON Schemas of schemas/ against what the built engine and mlp_bench really write: logs of
every status, a distributed run's and a sweep's logs, --dry-run output, every experiment file,
benchmark records, weights and checkpoint metadata; and the experiment schema's keys against the
engine's parser, both ways."""

import glob
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import time

import jsonschema
import pytest

from conftest import TOOLS, make_dataset
from mlpbench import schemas
from test_track import make_fake, tr  # noqa: F401  (tr: a fixture)

REPO = os.path.dirname(TOOLS)
ENGINE = os.path.join(REPO, "build", "engine", "run_experiment")
MLP_BENCH = os.path.join(REPO, "build", "bench", "mlp_bench")
needs_engine = pytest.mark.skipif(not os.access(ENGINE, os.X_OK),
                                  reason="needs the release build (cmake --preset release)")

SMALL = {"name": "tiny", "dataset": "mnist", "loss": "sparse_categorical_crossentropy",
         "model": [{"units": 32, "activation": "relu"}, {"units": 10, "activation": "softmax"}],
         "optimizer": "adam", "epochs": 2, "batch_size": 16, "seed": 1, "threads": 1}


def assert_valid(kind, data, what):
    error = schemas.first_error(kind, data)
    assert error is None, f"{what}: {schemas.message(error)}"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_dataset(root, "mnist", n=240)
    make_dataset(root, "mnist", n=80, split="test")
    return root


def engine(tmp_path, data, experiment, *args, expect=0, prefix=(), timeout=300):
    exp = tmp_path / "exp.json"
    exp.write_text(json.dumps(experiment))
    # OpenMPI refuses root without these (the tests may run as root)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    proc = subprocess.run([*prefix, ENGINE, str(exp), "--data-dir", str(data), "--quiet", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=env)
    assert proc.returncode == expect, proc.stderr
    return proc


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def safetensors_metadata(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(size))["__metadata__"]


def test_every_schema_is_a_valid_draft_2020_12_schema():
    for kind in schemas.KINDS:
        assert schemas.schema(kind)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schemas.schema(kind))
    on_disk = {os.path.basename(p) for p in glob.glob(os.path.join(REPO, "schemas", "*.json"))}
    assert on_disk == set(schemas.KINDS.values())


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REPO, "experiments", "*.json"))),
                         ids=os.path.basename)
def test_every_experiment_file_matches_its_schema(path):
    assert_valid("experiment", load(path), path)


def kind_of(data):
    """The schema of a committed results file, or None for a file of no schema (study.json)."""
    if not isinstance(data, dict):
        return None
    by_schema = {"mlpbench.run/1": "run-log", "mlpbench.machine/1": "machine",
                 "mlpbench.side_by_side/1": "side-by-side-summary"}
    if data.get("schema") in by_schema:
        return by_schema[data["schema"]]
    if "benchmarks" in data:
        return "benchmark-record"
    return "epoch-ab-result" if "ratio_b_over_a" in data else None


@pytest.mark.parametrize("machine", sorted(p for p in glob.glob(os.path.join(REPO, "results", "*"))
                                           if os.path.isfile(os.path.join(p, "machine.json"))),
                         ids=os.path.basename)
def test_every_committed_result_matches_its_schema(machine):
    """The schemas are strict about what the tools compute with; every real log, record and
    summary the tools read must still pass."""
    from mlpbench import logs as ml
    kinds = {}
    for path in sorted(glob.glob(os.path.join(machine, "**", "*.json"), recursive=True)):
        kind = kind_of(ml.load_json(path))
        if kind:
            assert_valid(kind, ml.load_json(path), path)
            kinds[kind] = kinds.get(kind, 0) + 1
    assert {"run-log", "benchmark-record", "machine", "side-by-side-summary"} <= set(kinds), kinds


@pytest.mark.parametrize("value, finite, double", [
    (1.5, True, True), (10 ** 300, True, True), (float("nan"), False, True),
    (float("inf"), False, True), (-float("inf"), False, True), (10 ** 400, False, False),
    ("x", True, True), (None, True, True)])
def test_the_number_formats(value, finite, double):
    """"finite" is what the tools compute with; "double" a result, NaN for a diverged run; no
    number a double cannot hold is either. A value of another type is left to "type"."""
    checker = schemas.validator("run-log").format_checker
    for fmt, ok in (("finite", finite), ("double", double)):
        v = jsonschema.Draft202012Validator({"format": fmt}, format_checker=checker)
        assert v.is_valid(value) == ok, (fmt, value)


def test_a_result_may_be_nan_or_null_and_nothing_else_out_of_range(tmp_path):
    path = tmp_path / "log.json"
    log = json.loads(open(os.path.join(TOOLS, "tests", "fixtures", "runs", "diverged.json")).read())
    for value in (None, float("nan")):
        log["epochs"][2]["test_loss"] = value
        assert schemas.check("run-log", path, log)
    for value in (float("inf"), -1.0, 10 ** 400):
        log["epochs"][2]["test_loss"] = value
        with pytest.raises(schemas.ToolError, match="/epochs/2/test_loss: expected a number"):
            schemas.check("run-log", path, log)


@needs_engine
def test_completed_log_weights_and_checkpoint_metadata(tmp_path, data):
    engine(tmp_path, data, dict(SMALL, **{"$schema": "../schemas/experiment.schema.json"}),
           "--out", "log.json", "--save-weights", "w.safetensors", "--checkpoint", "c.ckpt",
           "--checkpoint-every", "1")
    log = load(tmp_path / "log.json")
    assert log["status"] == "completed" and len(log["epochs"]) == 2
    assert_valid("run-log", log, "completed log")
    assert_valid("weights-metadata", safetensors_metadata(tmp_path / "w.safetensors"), "weights")
    meta = {k: json.loads(v) for k, v in safetensors_metadata(tmp_path / "c.ckpt").items()}
    assert_valid("checkpoint-metadata", meta, "checkpoint")


@needs_engine
def test_dry_run_output_is_an_experiment(tmp_path, data):
    for path in sorted(glob.glob(os.path.join(REPO, "experiments", "*.json"))):
        proc = subprocess.run([ENGINE, path, "--dry-run"], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert_valid("experiment", json.loads(proc.stdout), f"--dry-run of {path}")


@needs_engine
def test_diverged_log(tmp_path, data):
    diverging = dict(SMALL, epochs=30, optimizer={"name": "sgd", "learning_rate": 10},
                     model=[{"units": 32, "activation": "linear"},
                            {"units": 10, "activation": "softmax"}])
    engine(tmp_path, data, diverging, "--out", "log.json", expect=4)
    log = load(tmp_path / "log.json")
    assert log["status"] == "diverged"
    assert_valid("run-log", log, "diverged log")


@needs_engine
def test_failed_log(tmp_path, data):
    """--save-weights cannot be written (a file-size limit below the weights' size): "failed"."""
    wide = dict(SMALL, epochs=1, model=[{"units": 512, "activation": "relu"},
                                        {"units": 10, "activation": "softmax"}])
    engine(tmp_path, data, wide, "--out", "log.json", "--save-weights", "w.safetensors",
           expect=1, prefix=("/bin/sh", "-c", 'ulimit -f 256 && exec "$@"', "sh"))
    log = load(tmp_path / "log.json")
    assert log["status"] == "failed" and log["error"]
    assert_valid("run-log", log, "failed log")


@needs_engine
def test_interrupted_log(tmp_path, data):
    exp = tmp_path / "exp.json"
    exp.write_text(json.dumps(dict(SMALL, epochs=100000)))
    log_path = tmp_path / "log.json"
    proc = subprocess.Popen([ENGINE, str(exp), "--data-dir", str(data), "--quiet", "--out",
                             str(log_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until at least one epoch is logged
            try:
                if load(log_path)["epochs"]:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    log = load(log_path)
    assert log["status"] == "interrupted" and log["epochs"]
    assert_valid("run-log", log, "interrupted log")


@needs_engine
def test_sweep_logs(tmp_path, data):
    engine(tmp_path, data, dict(SMALL, epochs=1), "--sweep-threads", "1,2", "--out", "sweep")
    logs = sorted(glob.glob(str(tmp_path / "sweep" / "*.json")))
    assert len(logs) >= 2
    for path in logs:
        assert_valid("run-log", load(path), path)


@needs_engine
def test_distributed_log(tmp_path, data):
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no MPI launcher")
    probe = subprocess.run([ENGINE, "--help"], capture_output=True, text=True, timeout=60)
    if "--distributed" not in probe.stdout:
        pytest.skip("built without MPI")
    engine(tmp_path, data, dict(SMALL, epochs=1), "--distributed", "--shards", "2",
           "--out", "log.json", prefix=(mpiexec, "-n", "2", "--oversubscribe"))
    log = load(tmp_path / "log.json")
    assert log["distributed"]["ranks"] == 2
    assert_valid("run-log", log, "distributed log")


@pytest.mark.skipif(not os.access(MLP_BENCH, os.X_OK), reason="needs build/bench/mlp_bench")
def test_mlp_bench_records(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([MLP_BENCH, "--benchmark_filter=BM_Adam", "--benchmark_min_time=0.001",
                    "--benchmark_repetitions=2", f"--benchmark_out={out}",
                    "--benchmark_out_format=json"], capture_output=True, check=True, timeout=300)
    record = load(out)
    assert len(record["benchmarks"]) >= 2
    assert_valid("benchmark-record", record, "mlp_bench output")


@pytest.mark.slow
def test_the_trackers_ab_json_matches_its_schema(tr, tmp_path):
    a, slow = make_fake(tmp_path / "a"), make_fake(tmp_path / "slow", speed=1.10)
    r = tr("ab", "--bench-a", a, "--bench-b", slow, "--quiet-wait-s", "0", "--repetitions", "3",
           "--seed", "1", "--format", "json")
    assert r.code == 1, r
    comparison = json.loads(r.out)
    assert comparison["verdict"] == "regression" and comparison["rows"]
    assert_valid("track-comparison", comparison, "ab --format json")


# --------------------------------------------------------------------------- experiment keys

def schema_keys():
    """Every (object, key) the experiment schema allows, as {object pointer: {keys}}."""
    s = schemas.schema("experiment")
    defs = s["$defs"]
    out = {"": set(s["properties"])}
    props = s["properties"]
    out["/model/*"] = set(props["model"]["items"]["properties"])
    out["/reference"] = set(props["reference"]["properties"])
    out["/callbacks"] = set(props["callbacks"]["properties"])
    for name in props["callbacks"]["properties"]:
        out[f"/callbacks/{name}"] = set(props["callbacks"]["properties"][name]["properties"])
    for name in ("adam", "sgd"):
        out[f"/optimizer({name})"] = set(defs[name]["properties"])
    out["/learning_rate"] = set(defs["schedule"]["properties"])
    for branch in defs["schedule"]["allOf"]:
        kind = branch["if"]["properties"]["class_name"]["const"]
        out[f"/learning_rate({kind})/config"] = set(
            branch["then"]["properties"]["config"]["properties"])
    return out


def parser_keys():
    """The same, from the key lists engine/src/io/experiment.cc checks objects against."""
    with open(os.path.join(REPO, "engine", "src", "io", "experiment.cc"), encoding="utf-8") as f:
        source = f.read()
    lists = {m.group(1): set(re.findall(r'"([^"]+)"', m.group(2))) for m in re.finditer(
        r"const std::vector<std::string> (k\w+) = \{(.*?)\};", source, re.S)}
    return {"": lists["kTopKeys"], "/model/*": lists["kLayerKeys"],
            "/reference": lists["kReferenceKeys"], "/callbacks": lists["kCallbackNames"],
            "/callbacks/early_stopping": lists["kEarlyStoppingKeys"],
            "/callbacks/reduce_lr_on_plateau": lists["kReduceLrKeys"],
            "/optimizer(adam)": lists["kAdamKeys"], "/optimizer(sgd)": lists["kSgdKeys"],
            "/learning_rate": lists["kScheduleKeys"],
            "/learning_rate(ExponentialDecay)/config": lists["kExponentialKeys"],
            "/learning_rate(PiecewiseConstantDecay)/config": lists["kPiecewiseKeys"],
            "/learning_rate(CosineDecay)/config": lists["kCosineKeys"]}


def test_the_schema_has_exactly_the_keys_the_parser_checks_against():
    assert schema_keys() == parser_keys()


EVERY_KEY = dict(SMALL, **{
    "$schema": "../schemas/experiment.schema.json", "description": "every key", "shuffle": True,
    "shards": 1, "reference": {"test_accuracy": 0.9, "source": "a notebook"},
    "validation_split": 0.25, "target_accuracy": 0.5, "target_metric": "val_accuracy",
    "callbacks": {
        "early_stopping": {"monitor": "val_loss", "min_delta": 0.0, "patience": 2, "mode": "min",
                           "baseline": None, "restore_best_weights": True, "start_from_epoch": 0},
        "reduce_lr_on_plateau": {"monitor": "val_loss", "factor": 0.5, "patience": 1,
                                 "mode": "auto", "min_delta": 0.0001, "cooldown": 0,
                                 "min_lr": 0.0}}})
SCHEDULES = [
    {"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.01, "decay_steps": 10,
                                                  "decay_rate": 0.9, "staircase": True,
                                                  "name": "e"}},
    {"class_name": "PiecewiseConstantDecay", "config": {"boundaries": [10], "values": [0.01, 0.001],
                                                        "name": "p"}},
    {"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.0, "decay_steps": 10,
                                             "alpha": 0.1, "warmup_target": 0.01,
                                             "warmup_steps": 5, "name": "c"}}]
# Every key of the schema, over four experiments: a learning-rate schedule excludes
# ReduceLROnPlateau, so the schedules go with early stopping only.
EXPERIMENTS = [dict(EVERY_KEY, optimizer={"name": "adam", "learning_rate": 0.001, "beta_1": 0.9,
                                          "beta_2": 0.999, "epsilon": 1e-7})] + [
    dict(EVERY_KEY, optimizer=optimizer,
         callbacks={"early_stopping": EVERY_KEY["callbacks"]["early_stopping"]})
    for optimizer in ({"name": "sgd", "learning_rate": SCHEDULES[0], "momentum": 0.9,
                       "nesterov": True},
                      {"name": "adam", "learning_rate": SCHEDULES[1]},
                      {"name": "sgd", "learning_rate": SCHEDULES[2]})]


def keys_used(experiments):
    """{object pointer: {keys}} as schema_keys() names them, of these experiments."""
    out = {}

    def add(where, obj):
        out.setdefault(where, set()).update(obj)

    for e in experiments:
        add("", e)
        for layer in e["model"]:
            add("/model/*", layer)
        add("/reference", e["reference"])
        add("/callbacks", e["callbacks"])
        for name, callback in e["callbacks"].items():
            add(f"/callbacks/{name}", callback)
        add(f"/optimizer({e['optimizer']['name']})", e["optimizer"])
        rate = e["optimizer"]["learning_rate"]
        if isinstance(rate, dict):
            add("/learning_rate", rate)
            add(f"/learning_rate({rate['class_name']})/config", rate["config"])
    return out


@needs_engine
def test_every_key_of_the_schema_is_accepted_by_the_engine(tmp_path):
    assert keys_used(EXPERIMENTS) == schema_keys()  # together they use every key
    for i, experiment in enumerate(EXPERIMENTS):
        assert_valid("experiment", experiment, f"experiment {i}")
        path = tmp_path / f"e{i}.json"
        path.write_text(json.dumps(experiment))
        proc = subprocess.run([ENGINE, str(path), "--dry-run"], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr


def test_messages_name_the_pointer_and_suggest_a_key(tmp_path):
    bad = dict(SMALL, optimzer="adam")
    path = tmp_path / "exp.json"
    with pytest.raises(schemas.ToolError) as e:
        schemas.check("experiment", path, bad)
    assert str(e.value) == f'{path}: /optimzer: unknown key (did you mean "optimizer"?)'
    with pytest.raises(schemas.ToolError, match=r"/optimizer/beta_1: expected a number, got \"x\""):
        schemas.check("experiment", path, dict(SMALL, optimizer={"name": "adam", "beta_1": "x"}))
    with pytest.raises(schemas.ToolError, match=r"/: missing key \"model\""):
        schemas.check("experiment", path, {k: v for k, v in SMALL.items() if k != "model"})


@needs_engine
def test_the_engine_accepts_a_schema_key_and_checks_it_is_a_string(tmp_path):
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(dict(SMALL, **{"$schema": "../schemas/experiment.schema.json"})))
    proc = subprocess.run([ENGINE, str(path), "--dry-run"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "$schema" not in json.loads(proc.stdout)  # the resolved experiment has no use for it
    path.write_text(json.dumps(dict(SMALL, **{"$schema": 3})))
    proc = subprocess.run([ENGINE, str(path), "--dry-run"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and f"{path}: /$schema: expected a string" in proc.stderr, \
        proc.stderr
