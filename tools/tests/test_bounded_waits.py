"""Every process a Python test starts, and every wait on one, has an explicit bound: a hung tool
or engine fails its own test with a timeout instead of holding the suite until CI gives up.
(The C++ tests start processes through std::system; CTest's presets bound each test.)"""

import ast
import glob
import os

from conftest import TOOLS

REPO = os.path.dirname(TOOLS)

RUNNERS = {"run", "check_output", "check_call", "call"}


def unbounded_calls(source, path):
    """[(path, line, call)] of subprocess runners without timeout=, and of .wait() and
    .communicate() calls without a timeout, in one file's source."""
    found = []
    for node in ast.walk(ast.parse(source, path)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, owner = node.func.attr, node.func.value
        keywords = {k.arg for k in node.keywords}
        if "timeout" in keywords or None in keywords:  # **kwargs may carry it
            continue
        if isinstance(owner, ast.Name) and owner.id == "subprocess" and name in RUNNERS:
            found.append((path, node.lineno, f"subprocess.{name}"))
        elif name == "wait" and not node.args:
            found.append((path, node.lineno, ".wait()"))
        elif name == "communicate" and len(node.args) < 2:
            found.append((path, node.lineno, ".communicate()"))
    return found


def test_the_check_sees_each_kind_of_unbounded_wait():
    source = ("import subprocess\n"
              "subprocess.run(['x'])\n"
              "subprocess.check_output(['x'], text=True)\n"
              "proc.wait()\n"
              "proc.communicate('input')\n"
              "subprocess.run(['x'], timeout=5)\n"
              "proc.wait(5)\n"
              "proc.communicate(timeout=5)\n"
              "subprocess.run(['x'], **options)\n")
    assert [(line, call) for _, line, call in unbounded_calls(source, "t.py")] == [
        (2, "subprocess.run"), (3, "subprocess.check_output"), (4, ".wait()"),
        (5, ".communicate()")]


def test_every_process_a_python_test_starts_is_bounded():
    files = sorted(glob.glob(os.path.join(REPO, "tools", "tests", "**", "*.py"), recursive=True)
                   + glob.glob(os.path.join(REPO, "bench", "peers", "tests", "*.py")))
    assert len(files) > 40
    found = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            found += unbounded_calls(f.read(), os.path.relpath(path, REPO))
    assert found == [], "\n".join(f"{p}:{line}: {call} without a timeout" for p, line, call in found)
