"""Amdahl's law fitted to a thread study: T(p) = T1 * (s + (1 - s) / p).

The model is linear in 1/p, T(p) = a + b / p with a = T1 * s and b = T1 * (1 - s), so a least-
squares line through every run (all repeats at every thread count) gives T1 = a + b and the
serial fraction s = a / (a + b). Its interval comes from resampling the repeats at each thread
count (a bootstrap), so it is as wide as the runs disagree, and absent with one run a count.
"""

import random


class FitError(ValueError):
    """The points cannot determine the fit (a message for the user)."""


def _line(points):
    """Least squares T = a + b x over [(x, T)]."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    b = sxy / sxx
    return my - b * mx, b


def _serial_fraction(points):
    a, b = _line([(1.0 / p, t) for p, t in points])
    t1 = a + b
    if t1 <= 0 or a / t1 > 1:
        raise FitError("the runs get slower with more threads: Amdahl's law (a serial fraction "
                       "between 0 and 1) does not describe them")
    return a / t1, t1


def fit_amdahl(points, resamples=2000, seed=0, level=0.95):
    """points: [(threads, seconds)], repeats as separate points; at least two thread counts.

    Returns {"serial_fraction", "t1_s", "max_speedup" (1/s, None for s <= 0), "superlinear"
    (s < 0: the runs scaled better than linearly, e.g. a working set that fits the caches of
    more cores), "interval" ([lo, hi] at `level`, None with one run per thread count),
    "residuals" [{threads, seconds, fitted_s, relative}], "points", "repeats" {threads: n}}.
    """
    pts = []
    for p, t in points:
        if not isinstance(p, int) or isinstance(p, bool) or p < 1:
            raise FitError(f"a thread count must be a positive integer, not {p!r}")
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not t > 0 or t == float("inf"):
            raise FitError(f"a time must be a positive number of seconds, not {t!r}")
        pts.append((p, float(t)))
    by_threads = {}
    for p, t in pts:
        by_threads.setdefault(p, []).append(t)
    if len(by_threads) < 2:
        raise FitError("Amdahl's law needs runs at two or more thread counts")
    s, t1 = _serial_fraction(pts)
    residuals = []
    for p, t in pts:
        fitted = t1 * (s + (1 - s) / p)
        residuals.append({"threads": p, "seconds": t, "fitted_s": fitted,
                          "relative": (t - fitted) / fitted})
    interval = None
    if any(len(ts) > 1 for ts in by_threads.values()):
        rng = random.Random(seed)
        samples = []
        for _ in range(resamples):
            drawn = [(p, rng.choice(ts)) for p, ts in by_threads.items() for _ in ts]
            try:
                samples.append(_serial_fraction(drawn)[0])
            except (FitError, ZeroDivisionError):
                continue
        if samples:
            samples.sort()
            tail = (1 - level) / 2
            lo = samples[int(tail * (len(samples) - 1))]
            hi = samples[int(round((1 - tail) * (len(samples) - 1)))]
            interval = [lo, hi]
    return {"serial_fraction": s, "t1_s": t1, "max_speedup": (1 / s) if s > 0 else None,
            "superlinear": s < 0, "interval": interval, "level": level,
            "residuals": residuals, "points": len(pts),
            "repeats": {p: len(ts) for p, ts in sorted(by_threads.items())}}
