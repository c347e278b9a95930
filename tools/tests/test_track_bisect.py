"""track.py bisect on repositories made here, and the build cache it shares with ab and record:
the documented default path, steps that cannot measure, culprits named only when measured,
exact benchmark selection."""

import fcntl
import json
import os
import re

import pytest

from conftest import assert_clean_error
import fake_history
from mlpbench.tracking import track
from mlpbench.tracking import bisect as track_bisect
from mlpbench.tracking import build as track_build
from test_track import tr  # noqa: F401 - the fixture

BUILD = ("--build-cmd", fake_history.BUILD_CMD, "--bench-path", fake_history.BENCH_PATH)
QUICK = ("--repetitions", "2", "--quiet-wait-s", "0")


def built(log):
    return log.read_text().split() if log.exists() else []


@pytest.mark.slow
def test_documented_default_path_names_the_planted_commit_and_reuses_its_builds(tr, tmp_path):
    """`bisect main HEAD --benchmark NAME` without --seed; then ab and record --commit of the
    same commits build nothing again."""
    repo = tmp_path / "repo"
    sha = fake_history.make_repo(repo, [1.0] * 3 + [1.3] * 2, branch_at=0)
    log = tmp_path / "builds.log"
    env = {"FAKE_BUILD_LOG": str(log)}
    r = tr("bisect", "main", "HEAD", "--benchmark", "TrainStep/784-512-10/batch:32",
           "--repo", repo, *BUILD, *QUICK, env=env, timeout=600)
    assert r.code == 0, r
    assert f"first bad commit: {sha[3][:7]} commit 3" in r.out
    assert "bisecting on BM_TrainStep/784-512-10/batch:32/real_time\n" in r.err
    assert f"building main ({sha[0][:7]} commit 0, GOOD)" in r.err  # build progress
    assert f"building main ({sha[0][:7]} commit 0, GOOD): [1/1]" in r.err
    assert re.search(rf"{sha[3][:7]}: .* -> bad \(1\)", r.out)
    assert re.search(rf"{sha[2][:7]}: .* -> good \(0\)", r.out)
    first = built(log)
    assert len(first) == len(set(first)), first  # each commit built once
    r = tr("ab", "main", "HEAD", "--repo", repo, *BUILD, *QUICK, "--filter", "TrainStep",
           "--format", "json", "--seed", "1", env=env, timeout=300)
    assert r.code == 1, r
    doc = json.loads(r.out)
    assert (doc["a"]["commit"], doc["b"]["commit"]) == (sha[0], sha[4])
    assert doc["b"]["subject"] == f"{sha[4][:7]} commit 4"
    r = tr("record", "--commit", "main", "--repo", repo, *BUILD, *QUICK, "--filter", "Adam",
           env=env, timeout=300)
    assert r.code == 0, r
    assert built(log) == first  # ab and record found bisect's builds in the cache


@pytest.mark.slow
def test_a_step_that_cannot_measure_is_never_bad(tr, tmp_path):
    # git bisect run counts any status 1-127 but 125 as bad: a step's own failure must stop it
    assert track.guarded(["bisect-step", "--good-bench", "x", "--seed", "None"]) == 255
    assert track.guarded(["bisect-step", "--good-bench", str(tmp_path / "none")]) == 255
    repo = tmp_path / "repo"
    fake_history.make_repo(repo, [1.0, 1.0, 1.3, 1.3], branch_at=0)
    with open(tmp_path / "lock", "w") as held:  # another measurement holds the machine's lock
        fcntl.flock(held, fcntl.LOCK_EX)
        r = tr("bisect", "main", "HEAD", "--repo", repo, *BUILD, *QUICK, "--lock-wait-s", "1",
               timeout=300)
    assert_clean_error(r, "could not measure", "lock")
    assert "first bad commit" not in r.out


@pytest.mark.slow
def test_no_culprit_is_named_without_measurements_around_it(tr, tmp_path):
    # the slowdown lands among commits that do not build: git can only list candidates
    repo = tmp_path / "repo"
    fake_history.make_repo(repo, [1.0, 1.0, 1.3, 1.3, 1.3], broken={1, 2, 3}, branch_at=0)
    r = tr("bisect", "main", "HEAD", "--repo", repo, *BUILD, *QUICK, "--seed", "2",
           timeout=600)
    assert r.code == 3, r
    assert "first bad commit" not in r.out and "no culprit named" in r.out
    # BAD no slower than GOOD: nothing to bisect
    flat = tmp_path / "flat"
    fake_history.make_repo(flat, [1.0] * 4, branch_at=0)
    r = tr("bisect", "main", "HEAD", "--repo", flat, *BUILD, *QUICK, "--seed", "3",
           timeout=300)
    assert r.code == 3, r
    assert "no culprit: BAD HEAD is not measured slower" in r.out
    assert "first bad commit" not in r.out


def test_benchmark_selection_is_exact():
    listed = ["BM_TrainStep/784-512-10/batch:32/real_time",
              "BM_TrainStep/784-512-10/batch:32/shards:4/real_time",
              "BM_TrainStep/784-64-32-10/batch:32/real_time", "BM_Adam/params:407050/real_time"]
    one = ["BM_TrainStep/784-512-10/batch:32/real_time"]
    for spec in ("TrainStep/784-512-10/batch:32", "BM_TrainStep/784-512-10/batch:32/real_time"):
        assert track_bisect.select(listed, spec) == one
    assert track_bisect.select(listed, "TrainStep") == listed[:3]  # the family
    regex = re.compile(track_bisect.exact_filter(one))
    assert [n for n in listed if regex.search(n)] == one
    for spec in ("TrainStep/784", "Train", "BM_TrainStep/784-512-10/batch:3"):
        try:
            track_bisect.select(listed, spec)
        except track_bisect.ml.ToolError as e:
            assert spec in str(e)
        else:
            raise AssertionError(f"{spec} selected something")


def test_build_cache_keeps_within_its_bound_least_recently_used_first(tmp_path):
    config = track_build.BuildConfig(cmake_args=["-DX=1"])
    assert config.key != track_build.BuildConfig().key  # the configuration keys an entry
    paths = []
    for i, sha in enumerate(("a" * 40, "b" * 40, "c" * 40)):
        path = track_build.entry_path(str(tmp_path), sha, config)
        os.makedirs(os.path.dirname(path))
        with open(path, "wb") as f:
            f.write(b"x" * 1000)
        os.utime(path, (1000 + i, 1000 + i))
        paths.append(path)
    os.utime(paths[0], (2000, 2000))  # used again: now the newest
    track_build.evict(str(tmp_path), 2000, keep=os.path.dirname(paths[2]))
    assert [os.path.exists(p) for p in paths] == [True, False, True]
