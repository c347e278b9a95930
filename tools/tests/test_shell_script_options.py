"""Every shell script in tools/ answers -h/--help with its usage on stdout and exit 0, and
refuses an unknown argument with a usage line on stderr and exit 2, both before doing anything.

The scripts run as copies in an empty tree (no build/, experiments/ or tools/*.py beside them)
with stubs first on PATH for every program that installs, builds, fetches or measures: should a
script ever start its work on these command lines, it fails at once and the stub's record
shows it, instead of a setup, a build or a study running for minutes. A timeout kills the
script's whole process group as a last resort."""

import glob
import os
import signal
import shutil
import subprocess

import pytest

from conftest import TOOLS

SCRIPTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(TOOLS, "*.sh")))
# what a script's work would start: package managers, builds, downloads, git, MPI
STUBBED = ("sudo", "apt-get", "apt", "dpkg-query", "cmake", "ctest", "ninja", "make", "npm",
           "git", "mpirun", "curl", "wget")


@pytest.fixture
def sandbox(tmp_path):
    """run(script, *args) -> (CompletedProcess, what the stubs were asked to do)."""
    tree = tmp_path / "tree" / "tools"
    tree.mkdir(parents=True)
    for name in SCRIPTS:
        shutil.copy2(os.path.join(TOOLS, name), tree / name)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    calls = tmp_path / "calls"
    for name in STUBBED:
        (stubs / name).write_text(f'#!/bin/sh\necho "{name} $*" >>"{calls}"\nexit 97\n')
        (stubs / name).chmod(0o755)
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           "MLPBENCH_DATA": str(tmp_path / "data"), "MLPBENCH_HISTORY": str(tmp_path / "hist"),
           "N_AA": "0", "N_SLOW": "0", "N_SCALAR": "0", "LANG": "C.UTF-8"}

    def run(script, *args):
        proc = subprocess.Popen(["bash", str(tree / script), *args], cwd=tmp_path / "tree",
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the script and all it started
            proc.communicate(timeout=10)
            pytest.fail(f"{script} {' '.join(args)}: still running after 30 s")
        done = calls.read_text() if calls.exists() else ""
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), done

    return run


def test_every_script_is_covered():
    assert {"setup.sh", "test.sh", "build.sh", "fetch_data.sh", "batch_study.sh",
            "roofline_study.sh", "reproduce_results.sh", "track_acceptance.sh"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help_prints_the_usage_and_does_nothing(sandbox, script, option):
    proc, calls = sandbox(script, option)
    assert proc.returncode == 0, proc
    assert "usage" in proc.stdout.lower() and proc.stderr == "", proc
    assert calls == ""


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_unknown_option_is_refused_before_any_work(sandbox, script):
    proc, calls = sandbox(script, "--no-such-option")
    assert proc.returncode == 2, proc
    assert "usage" in proc.stderr.lower() and "Traceback" not in proc.stderr, proc
    assert proc.stdout == "" and calls == ""
