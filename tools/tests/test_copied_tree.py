"""A checkout copied together with its built build/ folder, then rebuilt and run, is
self-contained: tools/build.sh configures the copied build folder afresh for the copy (its
CMakeCache.txt names the original), and the copy's run_experiment reads the copy's data and
writes its log into the copy. Nothing in the original's build/ or results/ changes.

The copy holds the tracked files and the build folder's configuration (what makes a stale build
compile and regenerate the original); with ccache and CCACHE_BASEDIR the copy's compilations of
run_experiment are cache hits of the original's.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import make_dataset
from test_documented_commands import REPO

BUILD = os.path.join(REPO, "build")
EXPERIMENT = "copied_tree_check"  # a name no other test writes logs for

SCRIPT = os.path.join(REPO, "tools", "build.sh")


def tracked_files():
    listing = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True, check=True,
                             timeout=60).stdout.decode()
    return [p for p in listing.split("\0") if p and os.path.lexists(os.path.join(REPO, p))]


def copy_tree(dest):
    """The tracked files as they are in the working tree, and build/'s configuration."""
    for path in tracked_files():
        target = os.path.join(dest, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(REPO, path), target, follow_symlinks=False)
    os.makedirs(os.path.join(dest, "build"))
    for name in ("CMakeCache.txt", "build.ninja"):
        shutil.copy2(os.path.join(BUILD, name), os.path.join(dest, "build", name))
    shutil.copytree(os.path.join(BUILD, "CMakeFiles"), os.path.join(dest, "build", "CMakeFiles"),
                    symlinks=True)


def snapshot(folder):
    """{path: (size, mtime)} of every file and folder under `folder`."""
    found = {}
    for where, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(where, name)
            st = os.lstat(path)
            found[path] = (st.st_size, st.st_mtime_ns)
    return found


def differences(before, after, ignore=lambda path: False):
    changed = sorted(p for p in before.keys() & after.keys() if before[p] != after[p] and not ignore(p))
    added = sorted(p for p in after.keys() - before.keys() if not ignore(p))
    removed = sorted(p for p in before.keys() - after.keys() if not ignore(p))
    return {"changed": changed, "added": added, "removed": removed}


def test_an_unknown_preset_is_a_usage_error_in_one_line():
    proc = subprocess.run(["bash", SCRIPT, "nosuch"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("build.sh: CMakePresets.json has no configure preset 'nosuch'")
    assert len(proc.stderr.splitlines()) == 1 and "release" in proc.stderr
    assert proc.stdout == ""


# A configure and a build of run_experiment: a few seconds of CPU when ccache holds the
# original's compilations, minutes when it holds nothing yet.
@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")),
                    reason="needs the release build (tools/build.sh)")
@pytest.mark.skipif(shutil.which("ccache") is None, reason="needs ccache (tools/setup.sh installs it)")
def test_a_copied_built_tree_rebuilds_and_runs_without_touching_the_original(tmp_path):
    copy = tmp_path / "copy"
    copy_tree(copy)
    results = os.path.join(REPO, "results")
    build_before, results_before = snapshot(BUILD), snapshot(results)

    env = {k: v for k, v in os.environ.items() if k not in ("MLPBENCH_DATA", "MLPBENCH_RUNS")}
    env.update(CCACHE_BASEDIR=str(copy), CMAKE_CXX_COMPILER_LAUNCHER="ccache")
    build = subprocess.run(["bash", "tools/build.sh", "release", "--target", "run_experiment"],
                           cwd=copy, env=env, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stderr[-3000:]
    said = [line for line in build.stderr.splitlines() if line.startswith("build.sh:")]
    assert said == [f"build.sh: {copy}/build was configured for {REPO}; configuring it afresh for {copy}"]
    assert REPO + "/" not in (copy / "build" / "build.ninja").read_text()

    for split, n in (("train", 96), ("test", 40)):
        make_dataset(copy / "data", "mnist", n=n, split=split)
    spec = json.loads((copy / "experiments" / "mlp64_32_100ep.json").read_text())
    spec.update(name=EXPERIMENT, epochs=1)
    spec.pop("target_accuracy", None)
    (copy / "experiments" / f"{EXPERIMENT}.json").write_text(json.dumps(spec))
    run = subprocess.run([str(copy / "build" / "engine" / "run_experiment"), f"experiments/{EXPERIMENT}.json",
                          "--threads", "1", "--quiet"],
                         cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    log = run.stdout.strip()
    assert log.startswith(f"{copy}/results/runs/{EXPERIMENT}/"), log
    assert json.loads(open(log).read())["status"] == "completed"

    assert differences(build_before, snapshot(BUILD)) == {"changed": [], "added": [], "removed": []}
    # Other tests may write into results/runs/ meanwhile and remove it after: of what is new
    # there, only this test's experiment is looked at.
    others = os.path.join(results, "runs") + os.sep
    ours = os.path.join(results, "runs", EXPERIMENT)
    assert differences(results_before, snapshot(results),
                       ignore=lambda p: p.startswith(others) and not p.startswith(ours)) == \
        {"changed": [], "added": [], "removed": []}
    assert not os.path.exists(ours)
