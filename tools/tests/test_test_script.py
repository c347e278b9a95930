"""tools/test.sh, the suite's own entry point: its options (running it here would run the suite
inside itself; CI runs the whole of it, and the README's quick loop is the same script)."""

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
SCRIPT = os.path.join(REPO, "tools", "test.sh")


def run(*args):
    return subprocess.run(["bash", SCRIPT, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def test_help_names_both_modes_and_runs_nothing():
    r = run("--help")
    assert r.returncode == 0
    assert "--quick" in r.stdout and "what CI runs" in r.stdout
    assert "==" not in r.stdout  # no stage started


def test_an_unknown_option_is_refused_before_anything_runs():
    for bad in ("--quik", "quick", "-q"):
        r = run(bad)
        assert r.returncode == 2, r
        assert f"unknown option '{bad}'" in r.stderr and "--quick" in r.stderr
        assert "==" not in r.stdout


def test_ci_runs_exactly_the_readmes_test_command():
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    command = "bash tools/setup.sh && bash tools/test.sh"
    assert command in readme
    assert ci.rstrip().splitlines()[-1] == command
