"""track_stats: the gate's statistics on synthetic data (no binary, no timing)."""

import math

import numpy as np
import pytest

from mlpbench.tracking import stats as ts

NAMES = ["gemm", "step_a", "step_b", "adam", "wgrad"]


def noisy_runs(rng, slowdown, noise=0.03, burst_share=0.2, reps=5):
    """measure(side) of a simulated host: 3 % log-normal noise on every repetition, and in a
    fifth of the runs a 2-5x slow burst over a random stretch of the repetitions (all
    benchmarks of that run: a burst is the host's, not one benchmark's)."""

    def measure(side):
        factor = slowdown if side == "B" else 1.0
        times = factor * np.exp(rng.normal(0, noise, (len(NAMES), reps)))
        if rng.random() < burst_share:
            length = rng.integers(1, reps + 1)
            start = rng.integers(0, reps - length + 1)
            times[:, start:start + length] *= rng.uniform(2, 5)
        return {n: list(times[i]) for i, n in enumerate(NAMES)}

    return measure


def gate(slowdown, seed):
    rng = np.random.default_rng(seed)
    decisions, diffs, _ = ts.interleaved(noisy_runs(rng, slowdown), NAMES, 0.05, rng=rng)
    return ts.exit_status([v for _, v in decisions.values()])


@pytest.mark.slow
def test_a_a_rarely_fails_the_gate():
    codes = [gate(1.0, seed) for seed in range(1000)]
    assert codes.count(1) <= 10, codes.count(1)  # at most 1 % false regressions
    assert codes.count(0) >= 900  # and the gate mostly passes rather than shrugging


@pytest.mark.slow
def test_ten_percent_slowdown_is_caught():
    codes = [gate(1.10, 10_000 + seed) for seed in range(1000)]
    assert codes.count(1) >= 0.95 * len(codes), codes.count(1)


def test_a_slowdown_of_one_benchmark_names_that_one():
    rng = np.random.default_rng(5)
    base = noisy_runs(rng, 1.0)

    def measure(side):
        out = base(side)
        if side == "B":
            out["adam"] = [t * 1.2 for t in out["adam"]]
        return out

    decisions, _, _ = ts.interleaved(measure, NAMES, 0.05, rng=rng)
    verdicts = {n: v for n, (_, v) in decisions.items()}
    assert verdicts["adam"] == ts.REGRESSION
    assert all(v == ts.SAME for n, v in verdicts.items() if n != "adam"), verdicts
    iv = decisions["adam"][0]
    assert 15 < iv.change_pct()[0] < 25 and iv.change_pct()[1] > 5


def test_budget_stops_an_undecidable_comparison():
    rng = np.random.default_rng(1)
    ticks = iter(range(1000))
    # exactly at the threshold: never clear; the clock runs out after 5 blocks
    decisions, diffs, reason = ts.interleaved(noisy_runs(rng, 1.05), NAMES, 0.05, rng=rng,
                                              clock=lambda: next(ticks) * 10.0, budget_s=40.0)
    assert "budget" in reason
    assert ts.INCONCLUSIVE in [v for _, v in decisions.values()]
    assert len(diffs["gemm"]) < 20


@pytest.mark.parametrize("confidence", [0.8, 0.95])
def test_paired_interval_coverage(confidence):
    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(400):
        d = 0.1 + rng.standard_t(3, 15) * 0.05
        iv = ts.paired_interval(d, confidence)
        hits += iv.low <= 0.1 <= iv.high
    assert abs(hits / 400 - confidence) < 0.06


def test_unpaired_interval_coverage_and_estimate():
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(400):
        a, b = rng.normal(0, 0.03, 9), rng.normal(0.2, 0.03, 11)
        iv = ts.unpaired_interval(a, b, 0.9)
        hits += iv.low <= 0.2 <= iv.high
        assert iv.low <= iv.estimate <= iv.high
    assert abs(hits / 400 - 0.9) < 0.06
    big = ts.unpaired_interval(rng.normal(0, 0.03, 80), rng.normal(0.1, 0.03, 90), 0.95)
    assert big.low < 0.1 < big.high and big.high - big.low < 0.03  # normal approximation


def test_too_few_samples_give_an_open_interval():
    iv = ts.paired_interval([0.5, 0.6, 0.7], 0.95)  # 3 pairs cannot reach 95 %
    assert iv.low == -math.inf and iv.high == math.inf
    assert ts.verdict(iv, 0.05) == ts.INCONCLUSIVE
    assert ts.paired_interval([], 0.95).n == 0


def test_verdicts_and_exit_status():
    def iv(lo, hi):
        return ts.Interval((lo + hi) / 2, math.log1p(lo), math.log1p(hi), 0.95, 10)

    assert ts.verdict(iv(0.06, 0.2), 0.05) == ts.REGRESSION
    assert ts.verdict(iv(0.04, 0.2), 0.05) == ts.INCONCLUSIVE  # straddles +5 %
    assert ts.verdict(iv(-0.02, 0.04), 0.05) == ts.SAME
    assert ts.verdict(iv(-0.3, -0.1), 0.05) == ts.IMPROVEMENT
    assert ts.exit_status([ts.SAME, ts.IMPROVEMENT]) == 0
    assert ts.exit_status([ts.SAME, ts.INCONCLUSIVE]) == 3
    assert ts.exit_status([ts.INCONCLUSIVE, ts.REGRESSION]) == 1


def test_family_wise_intervals_widen_with_more_benchmarks():
    rng = np.random.default_rng(4)
    d = list(rng.normal(0.0, 0.03, 12))
    one = ts.decide({"x": d}, 0.05)["x"][0]
    many = ts.decide({f"x{i}": d for i in range(10)}, 0.05)["x0"][0]
    assert many.low < one.low and many.high > one.high
    assert ts.family_confidence(0.95, 10) == pytest.approx(0.995)
    # a benchmark left out of the gate keeps the plain 95 % interval
    mixed = ts.decide({"x": d, "y": d}, 0.05, gating=["y"])
    assert mixed["x"][0].high == pytest.approx(one.high)


def test_block_diff_takes_each_sides_fastest_repetition():
    assert ts.block_diff([1.0, 4.0, 1.1], [1.2, 5.0]) == pytest.approx(math.log(1.2))
    assert ts.block_diff([], [1.0]) is None
    assert ts.block_diff([1.0, float("nan")], [0.0, 2.0]) == pytest.approx(math.log(2.0))


def synthetic_history(seed, n=60, steps=((15, 1.08), (30, 0.95), (45, 1.03)), reps=9,
                      noise=0.03):
    """Per commit, the log times of `reps` repetitions: 3 % log-normal noise on each, 2-5x slow
    bursts on a fifth of them, and the given steps (commit index, factor)."""
    rng = np.random.default_rng(seed)
    level, out = 1.0, []
    for i in range(n):
        for at, factor in steps:
            if i == at:
                level *= factor
        t = level * np.exp(rng.normal(0, noise, reps))
        bursts = rng.random(reps) < 0.2
        t[bursts] *= rng.uniform(2, 5, bursts.sum())
        out.append(list(np.log(t)))
    return out


def steps_placed(levels, want=(15, 30, 45)):
    found = ts.e_divisive(levels)
    return len(found) == len(want) and all(abs(g - w) <= 1 for g, w in zip(found, want))


@pytest.mark.slow
def test_change_points_of_a_sixty_commit_history():
    """+8 %, -5 % and +3 % steps under 3 % noise a repetition, 9 repetitions a commit, bursts:
    all three found, each within one commit, in at least 82 of 100 histories. The ceiling is
    about 94 %: a +3 % step is 2.7 standard errors of a commit's level, and even a least-squares
    split with known levels lands two or more commits off 5 % of the time. Commit medians in
    place of commit_levels reach only about 60 %."""
    placed = sum(steps_placed(ts.commit_levels(synthetic_history(seed))) for seed in range(100))
    assert placed >= 82, placed


def test_commit_levels_drop_bursts_and_average_the_rest():
    reps = [[0.0, 0.01, -0.01, 0.02, math.log(3.0)], [0.1, 0.11, 0.09, 0.1, 0.1]]
    levels = ts.commit_levels(reps)
    assert levels[0] == pytest.approx(0.005)  # the 3x repetition left out
    assert levels[1] == pytest.approx(0.1)
    assert math.isnan(ts.commit_levels([[0.0, 0.1], []])[1])


def test_no_change_points_in_a_flat_history():
    hits = sum(len(ts.e_divisive(ts.commit_levels(synthetic_history(s, steps=()))))
               for s in range(20))
    assert hits <= 2


def test_isolated_outliers_are_spikes_not_steps():
    x = np.array([0.0] * 10 + [0.1] * 10)
    x[4] = 1.0  # a spike
    x += np.random.default_rng(0).normal(0, 0.005, 20)
    assert list(np.flatnonzero(ts.isolated_outliers(x))) == [4]


def test_blocks_needed_is_where_intervals_become_finite():
    for m in (1, 3, 5, 12):
        level = ts.family_confidence(0.95, m)
        n = ts.blocks_needed(level)
        assert math.isfinite(ts.paired_interval([0.1] * n, level).low)
        assert not math.isfinite(ts.paired_interval([0.1] * (n - 1), level).low)
