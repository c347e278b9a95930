"""tools/results_page.py: one self-contained HTML page of a results folder, built from committed
fixtures: every section and figure is there, and nothing outside the file is referenced."""

import json
import os
import re
import shutil

from conftest import TOOLS, assert_clean_error, fixture

REPO = os.path.dirname(TOOLS)
SECTIONS = ["Machine, build and host", "Reference runs against Keras", "Peers side by side",
            "Study sweep", "Benchmark history"]


def results_folder(root):
    """A results/ layout from the fixtures and one committed side-by-side summary."""
    reference = root / "runs" / "reference"
    reference.mkdir(parents=True)
    for name in ("completed_avx3_t2.json", "pytorch.json"):
        shutil.copy(fixture("runs", name), reference / name)
    (root / "peers" / "mlp512").mkdir(parents=True)
    shutil.copy(os.path.join(REPO, "results", "amd-f25m17-2cpu", "peers", "mlp512", "summary.json"),
                root / "peers" / "mlp512" / "summary.json")
    shutil.copytree(fixture("sweep"), root / "studies" / "sweep")
    (root / "demo-history").mkdir()
    for name in ("a.json", "b_same.json", "b_slow.json"):
        shutil.copy(fixture("bench", name), root / "demo-history" / name)
    return root


def test_the_page_has_every_section_and_figure_and_nothing_outside_it(run, tmp_path):
    results = results_folder(tmp_path / "results")
    r = run("results_page.py", results, "-o", "page.html")
    assert r.code == 0, r
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    titles = re.findall(r"<h2>([^<]*)</h2>", page)
    assert titles == SECTIONS
    sections = re.findall(r"<section id=\"s\d+\">(.*?)</section>", page)
    assert len(sections) == len(SECTIONS)
    for title, body in zip(SECTIONS[1:], sections[1:]):  # every section but the facts has one
        assert len(re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{2000,}"', body)) \
            == 1, title
    assert "AVX3" in sections[0] and "completed_avx3_t2.json" in sections[1]
    assert "1thread" in sections[2] and "t4_avx3.json" in sections[3]
    assert "BM_" in sections[4]
    # self-contained: every src and href is a data URI or an anchor of the page
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(link.startswith(("data:image/png;base64,", "#")) for link in links)
    assert not re.search(r"https?:|url\(|<link|<script|<iframe|@import", page, re.I)


def test_missing_parts_are_said_and_bad_input_is_one_line(run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("results_page.py", empty, "-o", "page.html")
    assert r.code == 0, r
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "No reference run logs" in page and "No benchmark records" in page
    results = results_folder(tmp_path / "results")
    bad = results / "runs" / "reference" / "completed_avx3_t2.json"
    log = json.loads(bad.read_text())
    log["run"]["threads"] = "two"
    bad.write_text(json.dumps(log))
    assert_clean_error(run("results_page.py", results, "-o", "p2.html"), str(bad), "/run/threads")
    assert not (tmp_path / "p2.html").exists()
    assert_clean_error(run("results_page.py", results, "-o", "p.png"), "p.png", ".html")


def test_the_page_of_a_committed_machine_folder(run, tmp_path):
    folder = os.path.join(REPO, "results", "amd-f25m17-2cpu")
    r = run("results_page.py", folder, "-o", "zen4.html", timeout=300)
    assert r.code == 0, r
    page = (tmp_path / "zen4.html").read_text(encoding="utf-8")
    assert "<h1>mlpbench results: amd-f25m17-2cpu</h1>" in page
    assert "FMA peak 117.2 GFLOP/s on 1 thread, 227.8 on 2 (AVX3)" in page
    assert "<dd>AuthenticAMD family 25 model 17</dd>" in page
    assert "<dd>mlpbench 0.1.0 (GNU 12.2.0)</dd>" in page  # the engine's build, not a peer's
    titles = re.findall(r"<h2>([^<]*)</h2>", page)
    assert titles[:3] == SECTIONS[:3] and titles[-1] == "Benchmark history"
    assert {"Study threads_mlp512", "Study threads_mlp64_32", "Study simd_mlp512"} <= set(titles)
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert all(link.startswith(("data:image/png;base64,", "#")) for link in links)
