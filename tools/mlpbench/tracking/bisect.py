"""What tools/track.py's bisect decides without running anything: which benchmarks
`--benchmark` names, and whether git bisect's answer rests on measured steps.

`--benchmark` is exact: one benchmark as `mlp_bench --benchmark_list_tests` lists it (the
`BM_` prefix and a trailing `/real_time` may be left out), or a family: a benchmark function's
name alone (`BM_Adam`, `TrainStep`), meaning all of its variants. It is never a regex, so
`BM_TrainStep/784-512-10/batch:32` does not take in its `/shards:N` variants."""

import re

from mlpbench import logs as ml

STEP = "BISECT-STEP "
OUTCOMES = {"good (0)": "good", "bad (1)": "bad", "skip (125)": "skip"}
_ERE_SPECIAL = re.compile(r"([.\[\]()*+?{}|^$\\])")


def _bare(name):
    name = name[3:] if name.startswith("BM_") else name
    return name[:-len("/real_time")] if name.endswith("/real_time") else name


def select(listed, spec):
    """The names among `listed` that `spec` means (see the module's docstring)."""
    want = _bare(spec)
    if "/" in want:
        chosen = [n for n in listed if _bare(n) == want]
    else:
        chosen = [n for n in listed if _bare(n).split("/")[0] == want]
    if not chosen:
        family = want.split("/")[0]
        near = [n for n in listed if _bare(n).split("/")[0] == family][:6]
        raise ml.ToolError(f"--benchmark {spec}: no such benchmark in GOOD's build"
                           + (f" (its family has: {', '.join(near)})" if near else
                              " (list them with mlp_bench --benchmark_list_tests)"))
    return chosen


def exact_filter(names):
    """A --benchmark_filter (POSIX extended regex) matching exactly these names."""
    return "^(" + "|".join(_ERE_SPECIAL.sub(r"\\\1", n) for n in names) + ")$"


def step_outcomes(log):
    """{short commit: 'good'|'bad'|'skip'} from the BISECT-STEP lines of the steps' output."""
    out = {}
    for line in log.splitlines():
        if not line.startswith(STEP):
            continue
        commit = line[len(STEP):].split(":", 1)[0]
        for tail, outcome in OUTCOMES.items():
            if line.endswith(tail):
                out[commit] = outcome
    return out


def outcome_of(outcomes, sha):
    for short, outcome in outcomes.items():
        if sha.startswith(short):
            return outcome
    return None


def first_bad(log):
    """The commit git bisect names as the first bad one, or None."""
    for line in log.splitlines():
        if line.endswith("is the first bad commit"):
            return line.split()[0]
    return None


def unmeasured(culprit, parent, good, outcomes):
    """Why `culprit` cannot be named (None when it can): it must have been measured bad, and
    its parent measured good or be GOOD itself."""
    if outcome_of(outcomes, culprit) != "bad":
        return f"{culprit[:12]} itself was not measured slower"
    if parent != good and outcome_of(outcomes, parent) != "good":
        return f"its parent {parent[:12]} was not measured (skipped)"
    return None
