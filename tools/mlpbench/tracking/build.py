"""The build cache of tools/track.py: mlp_bench of a commit, built once and reused by `ab`,
`bisect` and `record --commit`.

An entry is <cache>/<commit>-<configuration key>/mlp_bench, where the key hashes how it was built:
the CMake arguments (the default), or a build command with the program's path in the checkout.
The cache is <history>/builds unless $MLPBENCH_BUILD_CACHE names another folder. It holds at
most a size bound (--build-cache-mb); past it, the least recently used entries go. Builds run
in a temporary git worktree outside the user's checkout (or in the checkout bisect already has),
with their progress on stderr."""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from mlpbench import logs as ml
from mlpbench.tracking.run import git

BINARY = "mlp_bench"
DEFAULT_CACHE_MB = 2048
CMAKE_ARGS = ("-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DMLPBENCH_SIMD=all",
              "-DMLPBENCH_OPENMP=ON", "-DMLPBENCH_TESTS=OFF")
NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]")


def say(msg):
    print(f"track.py: {msg}", file=sys.stderr, flush=True)


def cache_dir(history):
    return os.environ.get("MLPBENCH_BUILD_CACHE") or os.path.join(history, "builds")


class BuildConfig:
    """How a commit's benchmark program is built: CMake with extra arguments, or `command` (a
    shell command run in the checkout) leaving the program at `bench_path` in it."""

    def __init__(self, cmake_args=(), command=None, bench_path=None):
        self.cmake_args = list(cmake_args)
        self.command = command
        self.bench_path = bench_path
        text = (f"command {command}\0{bench_path}" if command
                else "cmake " + " ".join(self.cmake_args))
        self.key = hashlib.sha1(text.encode()).hexdigest()[:8]

    def describe(self):
        if self.command:
            return f"build command {self.command!r}, program {self.bench_path}"
        return "CMake Release" + (" " + " ".join(self.cmake_args) if self.cmake_args else "")

    def steps(self, tree, build_dir):
        """[(argv or shell string, shell?)] that build in `tree`; the program's path after."""
        if self.command:
            return [(self.command, True)], os.path.join(tree, self.bench_path)
        return ([(["cmake", "-S", tree, "-B", build_dir, *CMAKE_ARGS, *self.cmake_args], False),
                 (["cmake", "--build", build_dir, "--target", BINARY, "-j2"], False)],
                os.path.join(build_dir, "bench", BINARY))


def entry_path(cache, sha, config):
    return os.path.join(cache, f"{sha[:12]}-{config.key}", BINARY)


def run_step(cmd, shell, cwd, label):
    """Run one build step, its progress on stderr (Ninja's [n/m]: a terminal gets one updated
    line, a log a line a quarter); raises ToolError with the output's tail when it fails."""
    tty = sys.stderr.isatty()
    started = time.monotonic()
    tail = []
    try:
        proc = subprocess.Popen(cmd, shell=shell, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
    except OSError as e:
        raise ml.ToolError(f"build of {label}: cannot run {cmd[0]}: {e.strerror or e}") from None
    shown = -1  # the first step's line says the build started
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-8:]
        m = NINJA_STEP.match(line)
        if not m:
            continue
        done, total = int(m.group(1)), int(m.group(2))
        quarter = done * 4 // total
        if tty or quarter > shown:
            shown = quarter
            elapsed = time.monotonic() - started
            print(f"{chr(13) if tty else ''}  building {label}: [{done}/{total}] "
                  f"{elapsed:.0f} s", end="" if tty else "\n", file=sys.stderr, flush=True)
    code = proc.wait()
    if tty and shown >= 0:
        print(file=sys.stderr)
    if code != 0:
        raise ml.ToolError(f"build of {label} failed (status {code}): "
                           + " | ".join(t for t in tail if t.strip())[-600:])


def build_in(tree, config, label):
    """Build in the checkout `tree`; returns the program's path in it."""
    steps, program = config.steps(tree, os.path.join(tree, "build-track"))
    started = time.monotonic()
    say(f"building {label} ({config.describe()})")
    for cmd, shell in steps:
        run_step(cmd, shell, tree, label)
    if not os.path.isfile(program):
        raise ml.ToolError(f"build of {label}: it left no {program}")
    say(f"built {label} in {time.monotonic() - started:.0f} s")
    return program


def cached_build(cache, repo, sha, config, label, max_mb=DEFAULT_CACHE_MB, tree=None):
    """The cached program of commit `sha` built with `config`, building it first when missing:
    in `tree` (a checkout of sha) when given, else in a temporary worktree of `repo`."""
    dest = entry_path(cache, sha, config)
    if os.path.isfile(dest):
        os.utime(dest)  # recently used: evicted last
        say(f"{label}: cached build {os.path.dirname(dest)}")
        return dest
    try:
        os.makedirs(cache, exist_ok=True)
    except OSError as e:
        raise ml.ToolError(f"{cache}: cannot create the build cache: {e.strerror or e}") from None
    work = None
    try:
        if tree is None:
            work = tempfile.mkdtemp(prefix="mlpbench-build-", dir=cache)
            tree = os.path.join(work, "src")
            git(repo, "worktree", "add", "--detach", tree, sha)
        program = build_in(tree, config, label)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".mlp_bench-")
        os.close(fd)
        try:
            shutil.copy(program, tmp)  # a fresh mtime: the entry counts as just used
            os.replace(tmp, dest)  # readers see the whole program or none
        finally:
            if os.path.exists(tmp):  # the copy failed or was interrupted
                os.unlink(tmp)
    finally:
        if work:
            git(repo, "worktree", "remove", "--force", tree, check=False)
            shutil.rmtree(work, ignore_errors=True)
    evict(cache, max_mb * 1024 * 1024, keep=os.path.dirname(dest))
    return dest


def evict(cache, max_bytes, keep):
    """Remove the least recently used entries until the cache holds at most max_bytes (never
    `keep`, the entry just used)."""
    entries = []
    for name in os.listdir(cache):
        program = os.path.join(cache, name, BINARY)
        if os.path.isfile(program):
            st = os.stat(program)
            entries.append((st.st_mtime, st.st_size, os.path.join(cache, name)))
    total = sum(size for _, size, _ in entries)
    for _, size, folder in sorted(entries):
        if total <= max_bytes:
            break
        if folder == keep:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= size
        say(f"build cache above {max_bytes / 2 ** 20:.0f} MB: removed {folder}")
