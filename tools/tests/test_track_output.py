"""What track.py's compare, report and ab say: never a direction the verdict does not support,
noisy records marked, and ab's markdown, JSON and figure for CI."""

import json
import os
import re

import pytest

from conftest import assert_png, fixture
import fake_history
import make_fixtures
from mlpbench.tracking import store as track_store
from test_track import git, tr  # noqa: F401 - tr is a fixture

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
NOISY = {"noisy_reasons": ["other processes used 60 % of the 2 CPUs' time"]}


def svg_text_env(tmp_path):
    """Matplotlib settings that keep an SVG's text as text, so a test can read the figure."""
    folder = tmp_path / "mpl"
    folder.mkdir(exist_ok=True)
    (folder / "matplotlibrc").write_text("svg.fonttype: none\n")
    return {"MPLCONFIGDIR": str(folder)}


def file_bench(hist, name, host, date, scale=1.0, commit=None, seed=0):
    data = json.load(open(fixture("bench", name))) if scale == 1.0 and commit is None else \
        make_fixtures.bench_file({k: (ns * scale, g) for k, (ns, g) in make_fixtures.BENCH.items()},
                                 seed=seed, commit=commit)
    data["context"]["date"] = date
    return track_store.file_record(str(hist), json.dumps(data).encode(),
                                   track_store.ml.BenchFile(name, data), host)


def test_compare_rows_claim_no_direction_when_a_host_was_noisy(tr, tmp_path):
    hist = tmp_path / "h"
    slow_noisy = file_bench(hist, "b_slow.json", NOISY, "2026-11-23T10:00:00+00:00")
    quiet = file_bench(hist, "a.json", {"noisy_reasons": []}, "2026-11-24T10:00:00+00:00")
    r = tr("compare", slow_noisy, quiet, "-o", "c.svg", env=svg_text_env(tmp_path))
    assert r.code == 3, r
    rows = [line for line in r.out.splitlines() if line.startswith("BM_")]
    assert len(rows) == 3 and all("hosts differed" in row for row in rows), r.out
    assert "faster" not in "\n".join(rows) and "regression" not in r.out
    assert "INCONCLUSIVE" in r.out and "A was recorded on a noisy host" in r.out
    svg = (tmp_path / "c.svg").read_text()
    assert "INCONCLUSIVE" in svg and svg.count("% hosts differed") == 3 and "% faster" not in svg


@pytest.mark.slow
def test_report_marks_noisy_records_and_leaves_them_out(tr, tmp_path):
    """Commits 6-11 recorded only on a noisy host, 30 % slower: no change point; commit 3 has
    a quiet record and a slow noisy one: its median is the quiet one's."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    hist = tmp_path / "h"
    shas = []
    for i in range(12):
        git(repo, "commit", "-q", "--allow-empty", "-m", f"c{i}")
        shas.append(git(repo, "rev-parse", "HEAD").strip())
        date = f"2026-11-20T10:{i:02d}:00+00:00"
        noisy = i >= 6
        file_bench(hist, "x", NOISY if noisy else {"noisy_reasons": []}, date,
                   scale=1.3 if noisy else 1.0, commit=shas[-1][:12], seed=i + 1)
        if i == 3:
            file_bench(hist, "x", NOISY, date.replace(":03:", ":30:"), scale=1.5,
                       commit=shas[-1][:12], seed=99)
    args = ("--repo", repo, "--history", hist)
    r = tr("report", *args, "--format", "json")
    assert r.code == 0, r
    for series in json.loads(r.out)["series"]:
        points = series["points"]
        assert [p["noisy"] for p in points] == [False] * 6 + [True] * 6
        assert series["changes"] == [] and series["noisy_records_left_out"] == 7
        assert points[3]["noisy_records"] == 1 and points[3]["n"] == 9
    r = tr("report", *args, "--format", "md")
    assert r.out.count("(noisy host: left out)") == 18 and "- change point:" not in r.out
    assert "7 record(s) taken on a noisy host" in r.out
    r = tr("report", *args, "--format", "csv")
    assert r.out.splitlines()[0].endswith(",noisy,noisy_records")
    r = tr("report", *args, "-o", "h.svg", env=svg_text_env(tmp_path))
    assert r.code == 0, r
    assert "noisy host: left out" in (tmp_path / "h.svg").read_text()
    r = tr("analyze", *args)
    assert r.code == 0 and "0 change point(s)" in r.out and "noisy host are left out" in r.err, r


def documented_json_fields():
    """(top-level fields, every name in the table) of docs/tracking.md's ab JSON table."""
    text = open(os.path.join(REPO, "docs", "tracking.md"), encoding="utf-8").read()
    table = text.split("`--format json` writes one object:")[1].split("\n\n")[1]
    top, named = set(), set()
    for line in table.splitlines()[2:]:
        top |= set(re.findall(r"`(\w+)`", line.split("|")[1]))
        named |= set(re.findall(r"`(\w+)`", line))
    return top, named


@pytest.mark.slow
def test_ab_for_ci_names_commits_and_writes_markdown_json_and_a_figure(tr, tmp_path):
    repo = tmp_path / "repo"
    sha = fake_history.make_repo(repo, [1.0, 1.0, 1.3], branch_at=0)
    common = ("main", "HEAD", "--repo", repo, "--build-cmd", fake_history.BUILD_CMD,
              "--bench-path", fake_history.BENCH_PATH, "--filter", "Adam", "--repetitions", "2",
              "--quiet-wait-s", "0", "--seed", "4")
    r = tr("ab", *common, "--format", "md", "-o", "ab.svg", env=svg_text_env(tmp_path),
           timeout=300)
    assert r.code == 1, r
    lines = r.out.splitlines()
    summary = f"main ({sha[0][:7]} commit 0) → HEAD ({sha[2][:7]} commit 2): 1 regression"
    assert lines[0] == f"**{summary}**", r.out
    assert lines[2].startswith("REGRESSION: 1 benchmark(s)")
    row = [line for line in lines if line.startswith("| `BM_Adam")][0]
    assert re.match(r"\| `BM_Adam/params:407050/real_time` \| \d+\.\d+ us \| \d+\.\d+ us \| "
                    r"\+\d+\.\d % \[\+\d+\.\d, \+\d+\.\d\] \| regression", row), row
    svg = (tmp_path / "ab.svg").read_text()
    assert "1 regression" in svg and "REGRESSION" in svg  # the verdict is in the figure
    r = tr("ab", *common, timeout=300)
    assert r.code == 1, r
    assert f"A = main ({sha[0][:7]} commit 0)" in r.out and "builds" not in r.out
    r = tr("ab", *common, "--format", "json", "-o", "ab.png", timeout=300)
    assert r.code == 1, r
    doc = json.loads(r.out)
    top, named = documented_json_fields()
    assert set(doc) == top
    assert set(doc["rows"][0]) | set(doc["a"]) | set(doc["host"]) <= named
    assert doc["verdict"] == "regression" and doc["exit_status"] == 1
    assert doc["rows"][0]["a_median_ns"] < doc["rows"][0]["b_median_ns"]
    assert_png(tmp_path / "ab.png")


def test_analyze_help_shows_a_plain_percent_sign(tr):
    r = tr("analyze", "--help")
    assert r.code == 0 and "95 % interval" in " ".join(r.out.split()) and "%%" not in r.out, r


def test_analyze_with_only_noisy_records_says_so(tr, tmp_path):
    """No series because every record is from a noisy host: the message names that, not dirty
    builds or commits off the history."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "c0")
    sha = git(repo, "rev-parse", "HEAD").strip()
    hist = tmp_path / "h"
    file_bench(hist, "x", NOISY, "2026-11-20T10:00:00+00:00", commit=sha[:12], seed=1)
    r = tr("analyze", "--repo", repo, "--history", hist)
    assert r.code == 0, r
    assert r.out.startswith("no series: ") and "was taken on a noisy host" in r.out, r
    assert "-dirty" not in r.out and "off that history" not in r.out
