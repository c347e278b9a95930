"""track.py's files: records filed by exclusive creation (concurrent records all kept), and the
measurement lock (never through a symlink, never truncating another file, in the user's own
runtime folder)."""

import json
import os
import stat
import subprocess
import threading

import pytest

from conftest import PYTHON, TOOLS, Result, assert_clean_error, fixture
from mlpbench import logs as ml
from mlpbench.tracking import store as track_store
from test_track import make_fake

BENCH = fixture("bench", "a.json")


def track_env(tmp_path, **extra):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MLPBENCH_HISTORY=str(tmp_path / "h"),
               PYTHONPATH=TOOLS)
    env.pop("MLPBENCH_LOCK", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def record_with_fake(tmp_path, env):
    fake = make_fake(tmp_path / "bin")
    return subprocess.run([PYTHON, os.path.join(TOOLS, "track.py"), "record", "--bench", fake,
                           "--repetitions", "1", "--quiet-wait-s", "0", "--lock-wait-s", "0",
                           "--set", "key", "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def records_in(history):
    return sorted(f for f in track_store.raw_files(str(history)))


# ----------------------------------------------------------------------------- records

@pytest.mark.parametrize("count", [3, 6])
def test_concurrent_records_from_processes_are_all_kept(tmp_path, count):
    env = track_env(tmp_path)
    procs = [subprocess.Popen([PYTHON, os.path.join(TOOLS, "track.py"), "record", "--from-json",
                               BENCH], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(count)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * count, outs
    printed = sorted(out.strip() for out, _ in outs)
    assert len(set(printed)) == count  # each process names its own record
    assert printed == records_in(tmp_path / "h")
    raw = open(BENCH, "rb").read()
    assert all(open(p, "rb").read() == raw for p in printed)  # each complete, none replaced


def test_records_filed_by_many_threads_at_once_are_all_kept(tmp_path):
    raw = open(BENCH, "rb").read()
    bench = ml.load_bench(BENCH)
    paths, errors = [], []
    start = threading.Barrier(12)

    def file_one(k):
        try:
            start.wait(timeout=30)
            paths.append(track_store.file_record(str(tmp_path), raw, bench,
                                                 {"noisy_reasons": [], "k": k}))
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=file_one, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(set(paths)) == 12
    assert sorted(paths) == records_in(tmp_path)
    # every record has its own host state, none overwritten by another's
    ks = sorted(json.load(open(track_store.host_path(p)))["k"] for p in paths)
    assert ks == list(range(12))
    assert not [n for _, _, names in os.walk(tmp_path) for n in names if n.endswith(".tmp")]


def test_a_taken_name_is_never_replaced(tmp_path):
    bench = ml.load_bench(BENCH)
    first = track_store.file_record(str(tmp_path), b"first", bench)
    os.unlink(first)
    os.symlink(tmp_path / "victim", first)  # a dangling link holding the name
    second = track_store.file_record(str(tmp_path), open(BENCH, "rb").read(), bench)
    assert second != first and second.endswith("-1.json")
    assert os.path.islink(first) and not (tmp_path / "victim").exists()


def test_garbage_host_state_is_named(tmp_path):
    bench = ml.load_bench(BENCH)
    path = track_store.file_record(str(tmp_path), open(BENCH, "rb").read(), bench,
                                   {"noisy_reasons": []})
    for garbage, needle in (("[1, 2]", "expected a JSON object"),
                            ('{"noisy_reasons": 3}', "/noisy_reasons"),
                            ('{"noisy', "invalid JSON")):
        with open(track_store.host_path(path), "w") as f:
            f.write(garbage)
        with pytest.raises(ml.ToolError, match=r"\.host\.json: .*" + needle.replace("[", r"\[")):
            track_store.load_record(path)


# ----------------------------------------------------------------------------- the lock

def test_a_symlinked_lock_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = tmp_path / "lock"
    os.symlink(victim, lock)
    r = record_with_fake(tmp_path, track_env(tmp_path, MLPBENCH_LOCK=lock))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert str(lock) in r.stderr and "symbolic link" in r.stderr
    assert victim.read_text() == "precious\n"
    # a dangling link is not followed to create its target either
    victim.unlink()
    r = record_with_fake(tmp_path, track_env(tmp_path, MLPBENCH_LOCK=lock))
    assert r.returncode == 2 and not victim.exists(), r.stderr


def test_a_lock_with_another_name_is_used_but_never_truncated(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = tmp_path / "lock"
    os.link(victim, lock)
    r = record_with_fake(tmp_path, track_env(tmp_path, MLPBENCH_LOCK=lock))
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "precious\n"


def test_a_special_file_as_lock_is_refused_without_hanging(tmp_path):
    lock = tmp_path / "lock"
    os.mkfifo(lock)
    r = record_with_fake(tmp_path, track_env(tmp_path, MLPBENCH_LOCK=lock))
    assert_clean_error(Result(r), str(lock), "FIFO")


def test_the_default_lock_is_in_the_private_runtime_folder(tmp_path):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    r = record_with_fake(tmp_path, track_env(tmp_path, XDG_RUNTIME_DIR=runtime))
    assert r.returncode == 0, r.stderr
    lock = runtime / "mlpbench-track.lock"
    assert lock.is_file() and stat.S_IMODE(lock.stat().st_mode) & 0o022 == 0
    assert "track.py record" in lock.read_text()


def test_without_a_private_runtime_folder_a_private_one_is_made(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # an $XDG_RUNTIME_DIR open to others is not used
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = record_with_fake(tmp_path, track_env(tmp_path, XDG_RUNTIME_DIR=shared, TMPDIR=tmp))
    assert r.returncode == 0, r.stderr
    own = tmp / f"mlpbench-{os.getuid()}"
    assert stat.S_IMODE(own.lstat().st_mode) == 0o700 and (own / "mlpbench-track.lock").is_file()
    assert not (shared / "mlpbench-track.lock").exists()


@pytest.mark.parametrize("planted", ["symlink", "open folder", "file"])
def test_a_planted_runtime_folder_is_refused(tmp_path, planted):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    own = tmp / f"mlpbench-{os.getuid()}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    if planted == "symlink":
        os.symlink(elsewhere, own)
    elif planted == "open folder":
        own.mkdir()
        own.chmod(0o777)
    else:
        own.write_text("")
    env = track_env(tmp_path, TMPDIR=tmp)
    env.pop("XDG_RUNTIME_DIR", None)
    r = record_with_fake(tmp_path, env)
    assert_clean_error(Result(r), str(own), "XDG_RUNTIME_DIR")
    assert os.listdir(elsewhere) == []

