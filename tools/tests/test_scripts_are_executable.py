"""Every file under tools/ and bench/ that starts with a #! line is executable in git's index
(a clone gets the run bit from there), and its #! line names an interpreter that exists."""

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def scripts():
    """[(mode, path, #! line)] of the tracked files under tools/ and bench/ that have one."""
    listing = subprocess.run(["git", "-C", REPO, "ls-files", "--stage", "-z", "--", "tools", "bench"],
                             capture_output=True, check=True, timeout=60).stdout.decode()
    out = []
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        blob = subprocess.run(["git", "-C", REPO, "cat-file", "blob", meta.split()[1]],
                              capture_output=True, check=True, timeout=60).stdout
        if blob.startswith(b"#!"):
            out.append((meta.split()[0], path, blob.split(b"\n", 1)[0][2:].decode().strip()))
    return out


def test_every_script_is_executable_in_the_index():
    found = scripts()
    assert any(path == "tools/plot_runs.py" for _, path, _ in found), "no scripts found"
    not_executable = [path for mode, path, _ in found if mode != "100755"]
    assert not_executable == [], "git update-index --chmod=+x these"


def test_every_interpreter_exists():
    missing = [(path, line) for _, path, line in scripts()
               if not os.access(line.split()[0], os.X_OK)]
    assert missing == []
