"""The command lines of the Google Benchmark programs (mlp_bench, vendor_gemm; bench/benchmark_out.h
and bench/bench_support.h). They make --benchmark_out's folder (Google Benchmark alone does not,
so a documented command writing into results/runs/ failed in a fresh clone), and say so in one
line when they cannot; they write --benchmark_out through a temporary file renamed into place, so
a link there is replaced, never followed, and a stopped run leaves the old file; and they refuse,
with exit 2 before any benchmark runs, what Google Benchmark or the OpenMP runtime would trip on."""

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import TOOLS

BENCH = os.path.join(os.path.dirname(TOOLS), "build", "bench")


def program(name):
    path = os.path.join(BENCH, name)
    if not os.path.exists(path):
        pytest.skip(f"needs {name} in the release build")
    return path


def test_mlp_bench_makes_the_folder_of_its_output(tmp_path):
    out = tmp_path / "not" / "yet" / "there.json"
    r = subprocess.run([program("mlp_bench"), "--threads=1", "--benchmark_filter=BM_TeamBarrier",
                        "--benchmark_min_time=0.001", f"--benchmark_out={out}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert [b["name"] for b in json.loads(out.read_text())["benchmarks"]]


@pytest.mark.parametrize("name", ["mlp_bench", "vendor_gemm"])
def test_a_folder_that_cannot_be_made_is_a_one_line_error(tmp_path, name):
    (tmp_path / "file").write_text("a file, not a folder\n")
    r = subprocess.run([program(name), "--benchmark_filter=NOTHING",
                        f"--benchmark_out={tmp_path}/file/out.json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert r.stderr.startswith(f"{name}: --benchmark_out: cannot make the folder {tmp_path}/file: ")
    assert len(r.stderr.strip().splitlines()) == 1
    assert not r.stdout


# One tiny benchmark of each program: a run takes well under a second.
TINY = {"mlp_bench": ["--threads=1", "--benchmark_filter=BM_GemmForward/m:32/n:10/k:32/real_time$"],
        "vendor_gemm": ["--threads=1", "--benchmark_filter=forward/m:32/n:10/k:512/threads:1/engine"]}
PROGRAMS = list(TINY)


def run_tiny(name, *args, env=None):
    return subprocess.run([program(name), *TINY[name], "--benchmark_min_time=0.01", *args],
                          capture_output=True, text=True, timeout=60, env=env)


def names_in(path):
    return [b["name"] for b in json.loads(path.read_text())["benchmarks"]]


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_link_at_the_output_is_replaced_not_followed(tmp_path, name):
    (tmp_path / "target.txt").write_text("keep me\n")
    (tmp_path / "out.json").symlink_to("target.txt")
    (tmp_path / "dangling.json").symlink_to("missing.txt")
    for link in ("out.json", "dangling.json"):
        r = run_tiny(name, f"--benchmark_out={tmp_path / link}")
        assert r.returncode == 0, r.stderr[-2000:]
        assert not (tmp_path / link).is_symlink() and names_in(tmp_path / link)
    assert (tmp_path / "target.txt").read_text() == "keep me\n"
    assert not (tmp_path / "missing.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["dangling.json", "out.json", "target.txt"]  # no temporary left


def test_an_existing_results_file_is_replaced_whole(tmp_path):
    out = tmp_path / "out.json"
    out.write_text("old results\n")
    r = run_tiny("mlp_bench", f"--benchmark_out={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert names_in(out) == ["BM_GemmForward/m:32/n:10/k:32/real_time"]
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(tmp_path) == ["out.json"]


def special_files(tmp_path):
    """{description: path} of what --benchmark_out refuses, made in tmp_path."""
    os.mkfifo(tmp_path / "fifo.json")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "socket.json"))
    sock.close()
    (tmp_path / "folder").mkdir()
    return {"is a folder": tmp_path / "folder", "is a FIFO": tmp_path / "fifo.json",
            "is a socket": tmp_path / "socket.json", "is a device": "/dev/null"}


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_folder_or_special_file_is_refused_before_any_benchmark_runs(tmp_path, name):
    for what, path in special_files(tmp_path).items():
        r = run_tiny(name, f"--benchmark_out={path}")  # a FIFO blocked here for ever
        assert r.returncode == 2, (what, r)
        assert r.stderr == f"{name}: --benchmark_out: {path} {what}" + (
            "; give a file name\n" if what == "is a folder" else "; give a regular file's path\n")
        assert not r.stdout
    r = run_tiny(name, f"--benchmark_out={tmp_path}/new/")
    assert r.returncode == 2 and "new/ is a folder; give a file name" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["fifo.json", "folder", "socket.json"]


@pytest.mark.parametrize("args, message", [
    (["--benchmark_out="], "--benchmark_out: an empty value"),
    (["--benchmark_out=a.json", "--benchmark_out=b.json"], "--benchmark_out: given more than once"),
    (["--benchmark_repetitions=-1"], '--benchmark_repetitions: expected an integer from 1 to 2147483647, got "-1"'),
    (["--benchmark_repetitions=0"], "--benchmark_repetitions: expected an integer from 1"),
    (["--benchmark_repetitions=+3"], "--benchmark_repetitions: expected an integer from 1"),
    (["--benchmark_repetitions="], "--benchmark_repetitions: expected an integer from 1"),
    (["--benchmark_min_time=0"], '--benchmark_min_time: expected a positive number of seconds, got "0"'),
    (["--benchmark_min_time=-1"], "--benchmark_min_time: expected a positive number of seconds"),
    (["--benchmark_min_time=nan"], "--benchmark_min_time: expected a positive number of seconds"),
    (["--benchmark_min_time=1s"], "--benchmark_min_time: expected a positive number of seconds"),
])
def test_bad_google_benchmark_flags_exit_2(tmp_path, args, message):
    r = subprocess.run([program("mlp_bench"), *TINY["mlp_bench"], *args], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith(f"mlp_bench: {message}"), r
    assert len(r.stderr.splitlines()) == 1 and not r.stdout
    assert not os.listdir(tmp_path)


def test_vendor_gemm_checks_the_same_flags():
    r = run_tiny("vendor_gemm", "--benchmark_repetitions=-1")
    assert r.returncode == 2 and r.stderr.startswith("vendor_gemm: --benchmark_repetitions: expected")


@pytest.mark.parametrize("name", PROGRAMS)
@pytest.mark.parametrize("args, env, message", [
    (["--threads=99999"], {}, '--threads: expected an integer from 1 to 1024, got "99999"'),
    (["--threads=1025"], {}, '--threads: expected an integer from 1 to 1024, got "1025"'),
    (["--threads=0"], {}, '--threads: expected an integer from 1 to 1024, got "0"'),
    (["--threads=+2"], {}, '--threads: expected an integer from 1 to 1024, got "+2"'),
    (["--threads="], {}, "--threads: an empty value"),
    ([], {"MLPBENCH_THREADS": "33000"}, 'MLPBENCH_THREADS: expected an integer from 1 to 1024, got "33000"'),
    ([], {"MLPBENCH_THREADS": ""}, "MLPBENCH_THREADS: an empty value"),
])
def test_a_team_size_out_of_range_or_empty_exits_2(name, args, env, message):
    r = subprocess.run([program(name), *args, "--benchmark_filter=NOTHING"], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, **env))
    assert (r.returncode, r.stderr) == (2, f"{name}: {message}\n")


@pytest.mark.parametrize("name, flag", [("mlp_bench", "--simd-target"), ("vendor_gemm", "--blis-arch")])
def test_an_empty_choice_exits_2(name, flag):
    r = subprocess.run([program(name), f"{flag}=", "--benchmark_filter=NOTHING"], capture_output=True,
                       text=True, timeout=60)
    assert (r.returncode, r.stderr) == (2, f"{name}: {flag}: an empty value\n")


def wait_for_results(folder, limit=20):
    """The temporary file Google Benchmark is writing in `folder`, once it has the run's context."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for entry in os.scandir(folder):
            if entry.name.startswith(".out.json.") and entry.stat().st_size > 0:
                return entry.path
        time.sleep(0.02)
    raise AssertionError(f"no temporary output in {folder} after {limit} s")


def start_long_run(tmp_path, **popen):
    """mlp_bench timing the square GEMM for a minute, writing tmp_path/out.json."""
    return subprocess.Popen([program("mlp_bench"), "--threads=1", "--benchmark_filter=BM_GemmSquare",
                             "--benchmark_min_time=60", f"--benchmark_out={tmp_path / 'out.json'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_run_stopped_by_a_signal_leaves_the_old_file_and_no_part(tmp_path, sig):
    (tmp_path / "out.json").write_text("old results\n")
    proc = start_long_run(tmp_path, preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))  # not as inherited
    try:
        wait_for_results(tmp_path)
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == -sig  # ended by the signal itself
    finally:
        proc.kill()
        proc.wait(timeout=20)
    assert os.listdir(tmp_path) == ["out.json"]
    assert (tmp_path / "out.json").read_text() == "old results\n"


def test_an_ignored_hangup_stays_ignored(tmp_path):
    """Under nohup, a hangup does not end the run (nor remove its output)."""
    proc = start_long_run(tmp_path, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        temporary = wait_for_results(tmp_path)
        proc.send_signal(signal.SIGHUP)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.3)
        assert os.path.exists(temporary)
    finally:
        proc.kill()
        proc.wait(timeout=20)
