"""Where a training step's time goes, per thread count, from the run logs' `epochs[].phases`
(docs/run-log.md): each thread's seconds in the step's four phases, summed over an epoch.

A run's figure per phase is microseconds per step: the phase's seconds summed over the run's
epochs divided by the steps they cover, for the leader (thread 0, which runs the upper layers
alone) and for the mean of the other threads (which gather the next batch and then wait at the
barrier for the leader). With repeats, a thread count's value per phase is the median over its
runs. Logs of builds older than the field have no phases; they are counted, not guessed.
"""

import statistics

from mlpbench import logs as ml

# (log field, label), in the step's order (engine/include/mlpbench/step.h)
PHASES = (("layer0_forward_seconds", "layer 0 forward"),
          ("upper_layers_or_gather_seconds", "upper layers (leader) / gather (others)"),
          ("barrier_wait_seconds", "barrier wait"),
          ("layer0_backward_update_seconds", "layer 0 backward + update"))
ROLES = ("leader", "others")


def run_phases(log):
    """{'leader': [us per step per phase], 'others': [...] or None for a team of one}, or None
    when no epoch of the log has phases."""
    sums, steps = None, 0
    for epoch in log.epochs:
        phases = epoch.get("phases")
        if not isinstance(phases, dict) or not phases.get("steps") or not phases.get("threads"):
            continue
        threads = phases["threads"]
        if sums is None:
            sums = [[0.0] * len(PHASES) for _ in threads]
        if len(threads) != len(sums):
            continue  # another team size in one log: not comparable with the first
        for total, thread in zip(sums, threads):
            for i, (key, _) in enumerate(PHASES):
                value = thread.get(key)
                total[i] += float(value) if ml.is_number(value) else 0.0
        steps += int(phases["steps"])
    if sums is None:
        return None
    per_step = [[1e6 * s / steps for s in thread] for thread in sums]
    others = per_step[1:]
    return {"leader": per_step[0],
            "others": [statistics.fmean(col) for col in zip(*others)] if others else None}


def by_threads(cells):
    """{threads: {'runs': n with phases, 'without': n without, 'leader': [...], 'others': [...]}}
    from {threads: [logs]}; the values are medians over the runs with phases."""
    out = {}
    for threads, logs in cells.items():
        runs = [p for p in (run_phases(log) for log in logs) if p]
        entry = {"runs": len(runs), "without": len(logs) - len(runs), "leader": None, "others": None}
        for role in ROLES:
            values = [r[role] for r in runs if r[role]]
            if values:
                entry[role] = [statistics.median(col) for col in zip(*values)]
        out[threads] = entry
    return out


def table_rows(table):
    """[threads, role, us per phase..., step us] rows for a printed or HTML table."""
    rows = []
    for threads, entry in table.items():
        for role in ROLES:
            if entry[role]:
                rows.append([threads, role] + [round(v, 2) for v in entry[role]] + [round(sum(entry[role]), 2)])
    return rows


HEADERS = ["threads", "thread"] + [label for _, label in PHASES] + ["step"]
