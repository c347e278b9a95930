"""Amdahl's law fitted to synthetic thread studies with a known serial fraction."""

import pytest

from mlpbench.studies.amdahl import FitError, fit_amdahl


def amdahl(t1, s, p):
    return t1 * (s + (1 - s) / p)


def test_exact_times_give_the_serial_fraction_and_no_interval_without_repeats():
    fit = fit_amdahl([(p, amdahl(10.0, 0.2, p)) for p in (1, 2, 4, 8)])
    assert fit["serial_fraction"] == pytest.approx(0.2, abs=1e-12)
    assert fit["t1_s"] == pytest.approx(10.0, rel=1e-12)
    assert fit["max_speedup"] == pytest.approx(5.0, rel=1e-9)
    assert fit["interval"] is None
    assert all(abs(r["relative"]) < 1e-12 for r in fit["residuals"])
    assert fit["repeats"] == {1: 1, 2: 1, 4: 1, 8: 1}


@pytest.mark.parametrize("s", [0.0, 0.05, 0.3, 0.9])
def test_noisy_repeats_give_an_interval_that_holds_the_true_fraction(s):
    noise = [0.99, 1.01, 1.0, 0.985, 1.015]  # +-1.5 % around the law, five repeats a count
    points = [(p, amdahl(3.0, s, p) * f) for p in (1, 2, 4, 8, 16) for f in noise]
    fit = fit_amdahl(points)
    lo, hi = fit["interval"]
    assert lo <= s <= hi
    assert lo <= fit["serial_fraction"] <= hi
    assert hi - lo < 0.05
    assert fit["points"] == 25


def test_two_thread_counts_suffice_and_the_interval_widens_with_spread():
    tight = fit_amdahl([(p, amdahl(1.0, 0.1, p) * f) for p in (1, 2) for f in (0.995, 1.005)])
    loose = fit_amdahl([(p, amdahl(1.0, 0.1, p) * f) for p in (1, 2) for f in (0.9, 1.1)])
    assert tight["interval"][1] - tight["interval"][0] < loose["interval"][1] - loose["interval"][0]


def test_superlinear_scaling_is_reported_not_hidden():
    fit = fit_amdahl([(1, 10.0), (2, 4.5), (4, 2.0)])
    assert fit["serial_fraction"] < 0
    assert fit["superlinear"] is True
    assert fit["max_speedup"] is None


@pytest.mark.parametrize("points,message", [
    ([(1, 1.0), (1, 1.1)], "two or more thread counts"),
    ([], "two or more thread counts"),
    ([(0, 1.0), (2, 0.5)], "positive integer"),
    ([(1.5, 1.0), (2, 0.5)], "positive integer"),
    ([(1, -1.0), (2, 0.5)], "positive number"),
    ([(1, float("nan")), (2, 0.5)], "positive number"),
    ([(1, 1.0), (2, "0.5")], "positive number"),
    ([(1, 1.0), (2, 3.0), (4, 9.0)], "slower with more threads"),
    ([(1, 1.0), (2, 1.2)], "slower with more threads"),
])
def test_points_that_cannot_be_fitted_say_why(points, message):
    with pytest.raises(FitError, match=message):
        fit_amdahl(points)
