"""The GitHub Actions job of docs/tracking.md (docs/ci/track.yml): its shell steps, run as the
runner would (bash -eo pipefail, the job's and the step's environment, `if:` on the event), on
a checkout whose commits build the fake mlp_bench (tools/tests/fixtures/fake_history.py),
with a tiny benchmark filter through the job's TRACK_OPTIONS and RECORD_OPTIONS."""

import os
import re
import subprocess

import pytest
import yaml

import fake_history
from conftest import TOOLS, assert_png

REPO = os.path.dirname(TOOLS)
WORKFLOW = os.path.join(REPO, "docs", "ci", "track.yml")
MACHINE_SETUP = ("Install the build dependencies", "Trust the checkout")  # the runner's, not ours


def job():
    with open(WORKFLOW, encoding="utf-8") as f:
        return yaml.safe_load(f)["jobs"]["track"]


def holds(condition, event):
    """`if:` of these steps: github.event_name == '...' (and always())."""
    named = re.findall(r"github\.event_name == '(\w+)'", condition or "")
    return not named or event in named


def expression(text, values):
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: values[m.group(1)], str(text))


def run_job(checkout, tmp_path, event, values, options):
    """Run the job's shell steps for `event`; {step name: CompletedProcess} up to the first
    failing step (the runner skips the rest)."""
    spec = job()
    out_file, summary = tmp_path / "github_output", tmp_path / "step_summary"
    out_file.write_text("")
    env = dict(os.environ, GITHUB_OUTPUT=str(out_file), GITHUB_STEP_SUMMARY=str(summary),
               PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    env.update({k: str(v) for k, v in spec["env"].items()})
    env.update(options)
    results = {}
    for step in spec["steps"]:
        if "run" not in step or step["name"] in MACHINE_SETUP or not holds(step.get("if"), event):
            continue
        outputs = dict(line.split("=", 1) for line in out_file.read_text().splitlines())
        known = dict(values, **{f"steps.gate.outputs.{k}": v for k, v in outputs.items()})
        step_env = dict(env, **{k: expression(v, known) for k, v in step.get("env", {}).items()})
        results[step["name"]] = proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=checkout, env=step_env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            break
    return results


def uploaded_paths():
    upload = [s for s in job()["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    return upload[0]["with"]["path"].split()


@pytest.mark.slow
def test_the_documented_ci_job_gates_a_planted_slowdown_and_keeps_its_cache(tmp_path):
    checkout = tmp_path / "checkout"
    sha = fake_history.make_repo(checkout, [1.0, 1.0, 1.3])
    fake_history.git(checkout, "update-ref", "refs/remotes/origin/main", sha[0])
    fake_history.git(checkout, "update-ref", "refs/remotes/origin/same", sha[2])
    os.symlink(TOOLS, checkout / "tools")  # the job runs tools/track.py from its checkout
    with open(checkout / ".git" / "info" / "exclude", "a") as f:
        f.write("tools\ntrack.md\ntrack.png\n")
    spec = job()
    assert {"TRACK_OPTIONS", "RECORD_OPTIONS", "MLPBENCH_HISTORY"} <= set(spec["env"])
    cache = [s for s in spec["steps"] if s.get("uses", "").startswith("actions/cache")][0]
    assert cache["with"]["path"] == spec["env"]["MLPBENCH_HISTORY"]  # history and builds kept
    build_log = tmp_path / "builds.log"
    fake_build = (f"--repo . --build-cmd {fake_history.BUILD_CMD} "
                  f"--bench-path {fake_history.BENCH_PATH} --filter BM_Adam/params:407050 "
                  "--repetitions 2 --quiet-wait-s 0")
    options = {"MLPBENCH_HISTORY": str(tmp_path / "history"), "MLPBENCH_LOCK": str(tmp_path / "lock"),
               "PYTHONPATH": TOOLS, "FAKE_BUILD_LOG": str(build_log),
               "TRACK_OPTIONS": fake_build + " --seed 1", "RECORD_OPTIONS": fake_build}

    # a pull request whose head is 30 % slower: the job fails and says so
    results = run_job(checkout, tmp_path, "pull_request",
                      {"github.base_ref": "main"}, options)
    assert list(results) == ["Gate", "Exit status"], results
    gate, verdict = results["Gate"], results["Exit status"]
    assert gate.returncode == 0, gate.stderr
    assert verdict.returncode == 1 and "::error::performance regression" in verdict.stdout
    md = (checkout / "track.md").read_text()
    assert md.startswith(f"**origin/main ({sha[0][:7]} commit 0) → HEAD ({sha[2][:7]} commit 2)"
                         f": 1 regression**"), md
    assert (tmp_path / "step_summary").read_text() == md
    assert_png(checkout / "track.png")
    assert all((checkout / p).exists() for p in uploaded_paths())
    builds = build_log.read_text().split()
    assert sorted(builds) == sorted([sha[0][:7], sha[2][:7]])

    # the next run (the history restored): A/A passes, nothing is built again
    results = run_job(checkout, tmp_path, "pull_request",
                      {"github.base_ref": "same"}, options)
    assert results["Exit status"].returncode == 0, results
    assert "regression" not in results["Exit status"].stdout.replace("no benchmark", "")
    assert build_log.read_text().split() == builds

    # a push to main records the pushed commit from the cache
    results = run_job(checkout, tmp_path, "push", {}, options)
    assert list(results) == ["Record"] and results["Record"].returncode == 0, results
    recorded = results["Record"].stdout.strip()
    assert recorded.startswith(str(tmp_path / "history" / "raw")) and os.path.exists(recorded)
    assert build_log.read_text().split() == builds
