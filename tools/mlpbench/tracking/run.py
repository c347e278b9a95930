"""Running things for tools/track.py: mlp_bench with progress, git, and the wait for a quiet
host (builds: mlpbench.tracking.build)."""

import subprocess
import sys
import time

from mlpbench import logs as ml
from mlpbench.tracking import host as track_host

# The team barrier's round trip is the host probe: on a quiet host it takes 0.03-0.08 us here,
# on a busy or badly placed VM 0.3 us to hundreds of us; every multi-threaded benchmark slows
# with it. Above NOISY_BARRIER_NS the host was not quiet.
HOST_PROBE = "BM_TeamBarrier"
NOISY_BARRIER_NS = 1000.0

# The documented key benchmarks (docs/tracking.md): the reference models' main GEMMs, both
# models' training steps and Adam. `record` runs these unless told otherwise.
BENCHMARK_SETS = {
    "key": r"^BM_GemmForward/m:32/n:512/k:784/|^BM_GemmWeightGrad/m:784/n:512/k:32/|"
           r"^BM_TrainStep/784-512-10/batch:32/real_time|^BM_TrainStep/784-64-32-10/batch:32/real_time|"
           r"^BM_Adam/params:407050/",
    "all": r".",
}


def say(msg):
    print(f"track.py: {msg}", file=sys.stderr, flush=True)


def with_probe(regex):
    """The filter plus the host probe (Google Benchmark's regexes are POSIX extended)."""
    return f"({regex})|^{HOST_PROBE}/"


def list_benchmarks(binary, regex):
    try:
        out = subprocess.run([binary, f"--benchmark_filter={regex}", "--benchmark_list_tests"],
                             capture_output=True, text=True, timeout=120)
    except OSError as e:
        raise ml.ToolError(f"{binary}: cannot run: {e.strerror or e}") from None
    if out.returncode != 0:
        raise ml.ToolError(f"{binary}: --benchmark_list_tests failed with status "
                           f"{out.returncode}: {out.stderr.strip()[:300]}")
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def _fmt_s(s):
    return f"{int(s // 60)}m{int(s % 60):02d}s" if s >= 60 else f"{s:.0f}s"


def run_bench(binary, regex, repetitions, min_time, out_path, progress=True, names=None,
              threads=None):
    """Run mlp_bench once into out_path (JSON); progress and ETA on stderr from its console
    lines. Returns the names it ran (`names`: the list, if already known). Raises ToolError
    when it fails."""
    names = names or list_benchmarks(binary, regex)
    if not names:
        raise ml.ToolError(f"{binary}: no benchmark matches the filter {regex!r}")
    total = len(names) * repetitions
    cmd = [binary, f"--benchmark_filter={regex}", f"--benchmark_repetitions={repetitions}",
           f"--benchmark_min_time={min_time}", "--benchmark_color=false",
           f"--benchmark_out={out_path}", "--benchmark_out_format=json"]
    if threads:
        cmd.append(f"--threads={threads}")
    started = time.monotonic()
    done = 0
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise ml.ToolError(f"{binary}: cannot run: {e.strerror or e}") from None
    name_set = set(names)
    tty = sys.stderr.isatty()
    for line in proc.stdout:
        first = line.split(" ", 1)[0]
        if first in name_set:
            done += 1
            quarter = done * 4 // total != (done - 1) * 4 // total
            if progress and (tty or quarter):
                # a terminal gets one updated line; a CI log a line a quarter
                elapsed = time.monotonic() - started
                eta = elapsed / done * (total - done)
                lead = "\r" if tty else ""
                print(f"{lead}  [{done}/{total}] {first[:60]:<60} "
                      f"{_fmt_s(elapsed)} elapsed, ETA {_fmt_s(eta)}  ", end="" if tty else "\n",
                      file=sys.stderr, flush=True)
    err = proc.stderr.read()
    code = proc.wait()
    if progress and done and tty:
        print(file=sys.stderr)
    if code != 0:
        raise ml.ToolError(f"{binary} exited with status {code}: {err.strip()[:300]}")
    return names


def reps_by_name(bench, metric="real_time"):
    """{run_name: [seconds per repetition]} of a benchmark output."""
    return {n: [t * 1e-9 for t in bench.times_ns(n, metric)] for n in bench.iterations()}


# ----------------------------------------------------------------------------- host state

def wait_quiet(max_wait_s, busy_limit=0.25):
    """Wait (at most max_wait_s) until less than busy_limit of the CPUs are busy; returns the
    last busy share seen (None where /proc/stat is not readable)."""
    deadline = time.monotonic() + max_wait_s
    told = False
    while True:
        busy = track_host.busy_fraction(1.0)
        if busy is None or busy < busy_limit or time.monotonic() >= deadline:
            if told:
                say(f"host {'quiet' if busy is not None and busy < busy_limit else 'still busy'}"
                    f" ({busy * 100:.0f} % of CPU time busy)" if busy is not None else "")
            return busy
        if not told:
            say(f"waiting up to {max_wait_s:g} s for a quiet host ({busy * 100:.0f} % of CPU "
                f"time busy)")
            told = True


NOISE_KINDS = {"others": "other processes above 10 % of the CPUs' time",
               "load": "load average above the logical CPUs",
               "barrier": f"team barrier above {NOISY_BARRIER_NS / 1000:g} us",
               "steal": "steal time above 5 %", "threads": "more threads than logical CPUs"}


def noisy_reasons(load, barrier_ns, steal, threads, cpus, others=None):
    """[(kind, reason in words)] to distrust a measurement's host (empty when quiet).
    `others`: the share of the CPUs' time other processes used during the measurement (the
    test, where /proc/stat is visible); else the load average, which also counts the
    measurement's own threads, is the fallback."""
    reasons = []
    if others is not None:
        if others > 0.10:
            reasons.append(("others", f"other processes used {others * 100:.0f} % of the "
                                      f"{cpus} CPUs' time"))
    elif load and load[0] > cpus:
        reasons.append(("load", f"load average {load[0]:.2f} above {cpus} logical CPUs"))
    if barrier_ns is not None and barrier_ns > NOISY_BARRIER_NS:
        reasons.append(("barrier", f"team barrier {barrier_ns / 1000:.2f} us (quiet: below "
                                   f"{NOISY_BARRIER_NS / 1000:g} us)"))
    if steal is not None and steal > 0.05:
        reasons.append(("steal", f"steal time {steal * 100:.0f} % (the hypervisor ran others)"))
    if threads and threads > cpus:
        reasons.append(("threads", f"{threads} threads on {cpus} logical CPUs"))
    return reasons


# ----------------------------------------------------------------------------- git

def git(repo, *args, check=True):
    out = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise ml.ToolError(f"git {' '.join(args)}: {out.stderr.strip()[:300]}")
    return out.stdout.strip()


def resolve_commit(repo, rev):
    sha = git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if not sha:
        raise ml.ToolError(f"{rev}: not a commit in {repo}")
    return sha


def subject(repo, sha):
    """'abc1234 the commit's subject'."""
    return git(repo, "log", "-1", "--format=%h %s", sha)
