"""tools/reproduce_results.sh: the machine's folder name, what each step writes (--dry-run, all
inside that folder), and cheap steps run for real into a temporary root: nothing is written
outside the machine's folder, its README is generated once and then only checked."""

import os
import re
import subprocess

import pytest

from conftest import fixture, make_dataset
from test_documented_commands import REPO, git_state

SCRIPT = os.path.join(REPO, "tools", "reproduce_results.sh")
STEPS = ["machine", "bench", "reference", "peers", "side_by_side", "threads", "simd", "roofline",
         "vendor", "shards", "regression", "pictures", "readme", "page"]


def reproduce(*args, env=None):
    return subprocess.run(["bash", SCRIPT, *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, **(env or {})))


def files_under(root):
    return {os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root)
            for f in names}


def test_the_folder_is_named_for_the_machine_and_every_step_writes_inside_it(tmp_path):
    proc = reproduce("--dry-run", "--root", tmp_path, "--cpuinfo", fixture("cpuinfo", "zen4_2cpu"))
    assert proc.returncode == 0, proc.stderr
    folder = f"{tmp_path}/amd-f25m17-2cpu/"
    assert proc.stdout.splitlines()[0] == f"machine amd-f25m17-2cpu: results into {folder}"
    assert re.findall(r"^== (\w+):", proc.stdout, re.M) == STEPS
    writes = re.findall(r"^   writes (.*)$", proc.stdout, re.M)
    assert len(writes) > len(STEPS) and all(w.startswith(folder) for w in writes)
    assert f"{folder}bench/mlp_bench_t2.json" in writes and f"{folder}roofline/" in writes
    assert f"{folder}bench/vendor_gemm.json" in writes
    assert "threads 1,2, 5 repeats" in proc.stdout
    assert os.listdir(tmp_path) == []  # a dry run writes nothing


def test_the_name_of_this_machine_and_of_an_arm_one(tmp_path):
    proc = reproduce("--dry-run", "--root", tmp_path, "threads")
    assert proc.returncode == 0, proc.stderr
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        text = f.read()
    family = re.search(r"^cpu family\s*:\s*(\d+)", text, re.M)
    if family:  # x86: vendor, CPUID family and model, logical CPUs
        model = re.search(r"^model\s*:\s*(\d+)", text, re.M).group(1)
        cpus = len(re.findall(r"^processor\s*:", text, re.M))
        assert re.match(rf"machine [a-z]+-f{family.group(1)}m{model}-{cpus}cpu: ", proc.stdout)
    proc = reproduce("--dry-run", "--root", tmp_path, "--cpuinfo", fixture("cpuinfo", "arm_4cpu"),
                     "threads", "bench")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("machine arm-i0x41p0xd0c-4cpu: ")
    assert "threads 1,2,4, 5 repeats" in proc.stdout and "mlp_bench_t4.json" in proc.stdout
    assert re.findall(r"^== (\w+):", proc.stdout, re.M) == ["bench", "threads"]


def test_bad_command_lines_exit_2(tmp_path):
    for args in (["no_such_step"], ["--root"], ["--bogus"],
                 ["--cpuinfo", tmp_path / "missing", "--dry-run"]):
        proc = reproduce(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not os.path.exists(os.path.join(REPO, "build", "engine", "run_experiment")),
                    reason="needs the release build (cmake --preset release)")
@pytest.mark.slow
def test_cheap_steps_write_only_into_the_machine_folder(tmp_path):
    for dataset in ("mnist", "fashion-mnist"):
        make_dataset(tmp_path / "data", dataset, n=120)
    root = tmp_path / "results"
    root.mkdir()
    env = {"MLPBENCH_DATA": str(tmp_path / "data"), "MPLBACKEND": "Agg",
           "PYTHONDONTWRITEBYTECODE": "1"}
    def state():  # build folders aside: the script (re)builds build/ first, and other tests
        shown, ignored = git_state()  # build and run in build*/ meanwhile (CTest's discovery)
        return shown, {line for line in ignored if not line.startswith("!! build")}
    before = state()
    args = ["--root", root, "--cpuinfo", fixture("cpuinfo", "zen4_2cpu")]
    proc = reproduce(*args, "machine", "pictures", "readme", "page", env=env)
    assert proc.returncode == 0, proc.stderr
    assert state() == before  # nothing in the repository, other ignored files included
    assert files_under(root) == {f"amd-f25m17-2cpu/{f}" for f in (
        "machine.json", "README.md", "results.html", "figures/model_mlp512.png",
        "figures/model_mlp64_32.png", "figures/mnist_samples.png",
        "figures/fashion_samples.png")}
    folder = root / "amd-f25m17-2cpu"
    readme = (folder / "README.md").read_text()
    assert readme.startswith("# Results of amd-f25m17-2cpu\n")
    assert "<!-- results_tables: machine -->\n| | |" in readme and "family 25 model 17" in readme
    assert "<h1>mlpbench results: amd-f25m17-2cpu</h1>" in (folder / "results.html").read_text()
    # an existing README is checked, never written over: a drifted table fails the step
    assert reproduce(*args, "readme").returncode == 0
    drifted = readme.replace("2 logical CPUs", "4 logical CPUs")
    (folder / "README.md").write_text(drifted)
    proc = reproduce(*args, "readme")
    assert proc.returncode == 1 and "is not the logs'" in proc.stderr, proc.stderr
    assert (folder / "README.md").read_text() == drifted
