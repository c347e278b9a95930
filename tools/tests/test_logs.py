"""The shared module: run log validation, labels, benchmark JSON reading."""

import json

import pytest

from conftest import fixture
from mlpbench import logs as ml
import make_fixtures


def write(tmp_path, obj, name="log.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return str(path)


def test_valid_logs_load():
    for name in ("completed_avx3_t2", "running_t1", "diverged", "interrupted_empty", "pytorch"):
        log = ml.load_run_log(fixture("runs", f"{name}.json"))
        assert log.name == "mlp512_5ep"
    log = ml.load_run_log(fixture("runs", "completed_avx3_t2.json"))
    assert log.threads == 2 and log.simd_target == "AVX3" and log.status == "completed"
    assert log.reference_accuracy == pytest.approx(0.9809)
    assert len(log.epochs) == 5


def test_labels_show_engine_threads_target_and_status():
    done = ml.load_run_log(fixture("runs", "completed_avx3_t2.json"))
    assert done.label() == "mlp512_5ep · mlpbench 0.1.0 (GNU 12.2.0) · 2 threads · AVX3"
    running = ml.load_run_log(fixture("runs", "running_t1.json"))
    assert running.label() == "mlp512_5ep · mlpbench 0.1.0 (GNU 12.2.0) · 1 thread · AVX3 [running]"
    peer = ml.load_run_log(fixture("runs", "pytorch.json"))
    assert "PyTorch 1.13.1" in peer.label() and "OpenBLAS" in peer.label()


def test_a_peer_with_separate_torch_and_blas_threads_shows_both(tmp_path):
    data = json.loads(open(fixture("runs", "pytorch.json")).read())
    data["build"].update(compiler="libtorch 1.13.1", simd_config="peer")
    data["build"].setdefault("peer_config", {}).update(torch_threads=1, blas_threads=2)
    data["run"]["threads"] = 2
    log = ml.validate_run_log("libtorch.json", data)
    assert log.label() == "mlp512_5ep · libtorch 1.13.1 · 1+2 threads (torch+BLAS) · OpenBLAS"
    data["build"]["peer_config"]["torch_threads"] = 2  # equal counts: the plain form
    assert "· 2 threads ·" in ml.validate_run_log("libtorch.json", data).label()


def test_duplicate_labels_get_file_names():
    a = ml.load_run_log(fixture("sweep", "t2_avx3.json"))
    b = ml.load_run_log(fixture("sweep_perturbed", "t2_avx3.json"))
    la, lb = ml.unique_labels([a, b])
    assert la.endswith("(sweep/t2_avx3.json)") and lb.endswith("(sweep_perturbed/t2_avx3.json)")
    c = ml.load_run_log(fixture("sweep", "t1_avx3.json"))
    assert ml.unique_labels([a, c]) == [a.label(), c.label()]


def test_diverged_log_with_null_losses():
    log = ml.load_run_log(fixture("runs", "diverged.json"))
    assert log.status == "diverged"
    losses = log.series("test_loss")
    assert losses[2] != losses[2]  # NaN for the null
    assert log.best_test_accuracy() == pytest.approx(0.9747, abs=1e-4)


def test_interrupted_log_without_epochs():
    log = ml.load_run_log(fixture("runs", "interrupted_empty.json"))
    assert log.epochs == []
    assert log.final_test_accuracy() != log.final_test_accuracy()


@pytest.mark.parametrize("name, needle", [
    ("malformed.json", "/epochs/1/test_loss: expected a number or null, got \"abc\""),
    ("truncated.json", "truncated"),
    ("wrong_schema.json", "/schema: expected \"mlpbench.run/1\""),
    ("not_json.txt", "invalid JSON"),
])
def test_bad_logs_name_file_and_problem(name, needle):
    path = fixture("bad", name)
    with pytest.raises(ml.ToolError) as err:
        ml.load_run_log(path)
    assert path in str(err.value) and needle in str(err.value)


def test_missing_keys_are_reported(tmp_path):
    log = make_fixtures.make_log()
    del log["run"]["simd_target"]
    with pytest.raises(ml.ToolError, match=r"/run: missing key \"simd_target\""):
        ml.load_run_log(write(tmp_path, log))
    log = make_fixtures.make_log()
    log["status"] = "done"
    with pytest.raises(ml.ToolError, match="/status: expected one of"):
        ml.load_run_log(write(tmp_path, log))
    log = make_fixtures.make_log()
    log["run"]["threads"] = 0
    with pytest.raises(ml.ToolError, match="/run/threads"):
        ml.load_run_log(write(tmp_path, log))
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(ml.ToolError, match="empty file"):
        ml.load_run_log(str(empty))


def test_flush_denormals_is_optional_but_must_be_a_boolean(tmp_path):
    log = make_fixtures.make_log()
    log["run"].pop("flush_denormals", None)
    ml.load_run_log(write(tmp_path, log))  # older logs have no such field
    log["run"]["flush_denormals"] = True
    ml.load_run_log(write(tmp_path, log))
    log["run"]["flush_denormals"] = "yes"
    with pytest.raises(ml.ToolError, match=r"/run/flush_denormals: expected true or false, got \"yes\""):
        ml.load_run_log(write(tmp_path, log))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ml.ToolError, match="no such file"):
        ml.load_run_log(str(tmp_path / "nope.json"))
    with pytest.raises(ml.ToolError, match="is a directory"):
        ml.load_run_log(str(tmp_path))
    with pytest.raises(ml.ToolError, match="contains no"):
        ml.expand_log_args([str(tmp_path)])


def test_result_key_is_exact():
    assert ml.result_key(0.1) == ml.result_key(0.1)
    assert ml.result_key(0.1) != ml.result_key(0.1 + 2 ** -56)
    assert ml.result_key(0.0) != ml.result_key(-0.0)
    assert ml.result_key(float("nan")) == ml.result_key(float("nan"))
    assert ml.result_key(None) is None


def test_bench_iterations_ignore_aggregates():
    bench = ml.load_bench(fixture("bench", "a.json"))
    groups = bench.iterations()
    assert list(groups) == ["BM_GemmForward/32/784/512", "BM_GemmForward/32/512/10",
                            "BM_AdamStep/407050"]
    assert all(len(v) == 9 for v in groups.values())
    assert bench.simd_target() == "AVX3" and bench.git_commit() == "abc123def456"


def test_bench_time_units_are_normalised(tmp_path):
    data = make_fixtures.bench_file({"BM_X/1": (2000.0, None)}, reps=9)
    for entry in data["benchmarks"]:
        entry["real_time"] /= 1000.0
        entry["time_unit"] = "us"
    bench = ml.load_bench(write(tmp_path, data))
    times = bench.times_ns("BM_X/1", "real_time")
    assert len(times) == 9 and all(1900 < t < 2100 for t in times)


def test_not_a_bench_file():
    with pytest.raises(ml.ToolError, match="missing key \"benchmarks\""):
        ml.load_bench(fixture("bench", "not_bench.json"))
    with pytest.raises(ml.ToolError, match="missing key \"benchmarks\""):
        ml.load_bench(fixture("runs", "completed_avx3_t2.json"))


def test_format_time():
    assert ml.format_time_ns(249900.0) == "249.9 us"
    assert ml.format_time_ns(2990.0) == "2.990 us"
    assert ml.format_time_ns(12.5) == "12.50 ns"
    assert ml.format_time_ns(3.2e9) == "3.200 s"


def _start_ticks(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        return int(f.read().rpartition(")")[2].split()[19])


def _boot_id():
    with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
        return f.read().strip()


def _running_log(writer):
    data = json.loads(open(fixture("runs", "running_t1.json")).read())
    data["writer"] = writer
    return ml.validate_run_log("running.json", data)


def test_a_running_log_tells_a_live_writer_from_a_dead_one():
    import os
    import subprocess
    me = {"hostname": os.uname().nodename, "pid": os.getpid(), "boot_id": _boot_id(),
          "start_ticks": _start_ticks(os.getpid())}
    assert _running_log(me).writer_alive() is True
    assert _running_log(me).label().endswith("[running]")
    # A process that has ended: its pid is gone.
    child = subprocess.Popen(["sleep", "0"])
    dead = dict(me, pid=child.pid, start_ticks=_start_ticks(child.pid) if os.path.exists(
        f"/proc/{child.pid}/stat") else 1)
    child.wait(timeout=60)
    assert _running_log(dead).writer_alive() is False
    assert _running_log(dead).label().endswith("[running, but its process ended]")
    # The same pid with another start time is a later process, not the writer.
    assert _running_log(dict(me, start_ticks=me["start_ticks"] + 1)).writer_alive() is False
    # Written before this machine last booted.
    assert _running_log(dict(me, boot_id="another-boot")).writer_alive() is False
    # Another host, or no writer object: this machine cannot tell.
    assert _running_log(dict(me, hostname=me["hostname"] + "-elsewhere")).writer_alive() is None
    assert _running_log("not an object").writer_alive() is None
    assert _running_log(dict(me, pid="12")).writer_alive() is None


def test_a_failed_runs_log_loads(tmp_path):
    data = json.loads(open(fixture("runs", "running_t1.json")).read())
    data["status"] = "failed"
    data["error"] = "out.safetensors: exists already"
    log = ml.load_run_log(write(tmp_path, data))
    assert log.status == "failed" and log.label().endswith("[failed]")
