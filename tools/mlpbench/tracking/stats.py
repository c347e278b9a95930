"""Statistics of tools/track.py, kept free of I/O so that tests can drive them with synthetic data.

Everything works on log times: a ratio of times is a difference of logs, and a slow burst
(2-5x) is an outlier that rank statistics bound. Three estimators:

* paired (interleaved rounds of `ab`): d_i = log(B_i) - log(A_i) of two runs measured back to
  back; the Hodges-Lehmann estimate (median of Walsh averages) with the exact Wilcoxon
  signed-rank confidence interval. Host drift that spans both runs of a pair cancels.
* unpaired (two records taken apart, `compare`): the Hodges-Lehmann shift (median of all
  differences) with the Mann-Whitney (Moses) interval.
* change points over a series (`analyze`): one level per commit from all its repetitions
  (commit_levels: bursts dropped, the rest averaged), then E-divisive means (energy statistic,
  binary segmentation, permutation test) and each split placed by a robust least-squares cost.

Both intervals are distribution-free: they only assume the two sides' noise has the same shape,
so an A/A comparison misses its interval no more often than 1 - confidence, bursts or not.
"""

import functools
import math
import statistics

import numpy as np

# Exact null distributions up to this size; a normal approximation beyond (the error is then
# far below what the verdicts depend on).
EXACT_MAX_N = 60


# ----------------------------------------------------------------------------- null laws

@functools.lru_cache(maxsize=None)
def _signed_rank_cdf(n):
    """cdf[t] = P(W+ <= t) under H0 for n non-zero differences (exact, by counting)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        shifted = np.zeros_like(counts)
        shifted[k:] = counts[:-k]
        counts = counts + shifted
    return np.cumsum(counts) / counts.sum()


@functools.lru_cache(maxsize=None)
def _rank_sum_cdf(m, n):
    """cdf[u] = P(U <= u) under H0 for samples of m and n (Mann-Whitney U, exact)."""
    # f[i][j] = distribution of U for sizes (i, j): f(i,j,u) = f(i-1,j,u-j) + f(i,j-1,u)
    table = [[None] * (n + 1) for _ in range(m + 1)]
    for i in range(m + 1):
        for j in range(n + 1):
            if i == 0 or j == 0:
                table[i][j] = np.ones(1)
                continue
            size = i * j + 1
            out = np.zeros(size)
            a = table[i - 1][j]
            out[j:j + len(a)] += a
            b = table[i][j - 1]
            out[:len(b)] += b
            table[i][j] = out
    counts = table[m][n]
    return np.cumsum(counts) / counts.sum()


def _lower_rank(cdf, tail):
    """Largest k >= 1 with P(T <= k - 1) <= tail, or 0 if no interval exists at this size."""
    k = int(np.searchsorted(cdf, tail, side="right"))  # cdf[k-1] <= tail < cdf[k]
    return k


def _normal_rank(total, mean, sd, tail):
    k = int(math.floor(mean - statistics.NormalDist().inv_cdf(1 - tail) * sd + 0.5))
    return max(0, min(k, total))


# ----------------------------------------------------------------------------- intervals

class Interval:
    """A shift of log time: estimate and [low, high] at `confidence`; as ratios via ratio()."""

    def __init__(self, estimate, low, high, confidence, n):
        self.estimate, self.low, self.high = estimate, low, high
        self.confidence, self.n = confidence, n

    def ratio(self):
        return math.exp(self.estimate), math.exp(self.low), math.exp(self.high)

    def change_pct(self):
        return tuple((r - 1) * 100 for r in self.ratio())

    def __repr__(self):
        e, lo, hi = self.change_pct()
        return f"Interval({e:+.2f}% [{lo:+.2f}, {hi:+.2f}] @{self.confidence:g}, n={self.n})"


def paired_interval(log_diffs, confidence):
    """Hodges-Lehmann shift of paired log differences with the signed-rank interval.

    An interval that cannot reach `confidence` with so few pairs is (-inf, inf): the caller
    then says the result is inconclusive rather than guessing."""
    d = np.asarray(log_diffs, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    if n == 0:
        return Interval(float("nan"), -math.inf, math.inf, confidence, 0)
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    total = len(walsh)  # n(n+1)/2
    estimate = float(np.median(walsh))
    tail = (1 - confidence) / 2
    if n <= EXACT_MAX_N:
        k = _lower_rank(_signed_rank_cdf(n), tail)
    else:
        k = _normal_rank(total, total / 2, math.sqrt(n * (n + 1) * (2 * n + 1) / 24), tail)
    if k < 1:
        return Interval(estimate, -math.inf, math.inf, confidence, n)
    return Interval(estimate, float(walsh[k - 1]), float(walsh[total - k]), confidence, n)


def unpaired_interval(log_a, log_b, confidence):
    """Hodges-Lehmann shift log(B) - log(A) with the Mann-Whitney (Moses) interval."""
    a = np.asarray(log_a, dtype=float)
    b = np.asarray(log_b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        return Interval(float("nan"), -math.inf, math.inf, confidence, min(m, n))
    diffs = np.sort((b[None, :] - a[:, None]).ravel())
    total = len(diffs)
    estimate = float(np.median(diffs))
    tail = (1 - confidence) / 2
    if m <= EXACT_MAX_N and n <= EXACT_MAX_N:
        k = _lower_rank(_rank_sum_cdf(m, n), tail)
    else:
        k = _normal_rank(total, total / 2, math.sqrt(m * n * (m + n + 1) / 12), tail)
    if k < 1:
        return Interval(estimate, -math.inf, math.inf, confidence, min(m, n))
    return Interval(estimate, float(diffs[k - 1]), float(diffs[total - k]), confidence,
                    min(m, n))


# ----------------------------------------------------------------------------- verdicts

REGRESSION, IMPROVEMENT, SAME, INCONCLUSIVE = "regression", "faster", "same", "inconclusive"


def blocks_needed(level):
    """Fewest pairs whose signed-rank interval at `level` is finite: 2^-n <= (1 - level) / 2."""
    return math.ceil(math.log2(2 / (1 - level)) - 1e-9)


def family_confidence(confidence, m):
    """Per-benchmark confidence so that m intervals hold together (Bonferroni)."""
    return 1 - (1 - confidence) / max(1, m)


def verdict(interval, threshold):
    """regression: the whole interval above +threshold; faster: below -threshold; same: inside
    (-inf, +threshold) for the upper bound and above -threshold; inconclusive: it straddles."""
    up = math.log1p(threshold)
    down = -math.log1p(threshold) if threshold < 1 else -math.inf
    if interval.low > up:
        return REGRESSION
    if interval.high < down:
        return IMPROVEMENT
    if interval.high < up:
        return SAME
    return INCONCLUSIVE


def exit_status(verdicts):
    """0 no regression, 1 regression, 3 inconclusive (no regression but undecided ones)."""
    if REGRESSION in verdicts:
        return 1
    if INCONCLUSIVE in verdicts:
        return 3
    return 0


def decide(pairs_by_name, threshold, confidence=0.95, gating=None):
    """{name: (Interval, verdict)} for paired log differences, intervals family-wise over the
    gating benchmarks (all of them unless `gating` names a subset)."""
    gating = set(pairs_by_name) if gating is None else set(gating)
    level = family_confidence(confidence, len(gating & set(pairs_by_name)))
    out = {}
    for name, diffs in pairs_by_name.items():
        iv = paired_interval(diffs, level if name in gating else confidence)
        out[name] = (iv, verdict(iv, threshold))
    return out


def block_diff(a_reps, b_reps):
    """One ABBA block's log difference: the fastest repetition of B over the fastest of A.

    A slow burst only ever adds time, so the minimum of a side's repetitions within a block
    escapes a burst unless it hit every one of them; a drift of the host across the block hits
    both sides alike (A B B A)."""
    a = [v for v in a_reps if v and v > 0 and math.isfinite(v)]
    b = [v for v in b_reps if v and v > 0 and math.isfinite(v)]
    if not a or not b:
        return None
    return math.log(min(b)) - math.log(min(a))


def interleaved(measure, names, threshold, confidence=0.95, min_blocks=4, max_blocks=20,
                rng=None, clock=None, budget_s=None, on_block=None):
    """Interleaved A/B until every benchmark's verdict is clear or the budget runs out.

    measure(side) -> {name: [seconds per repetition]} runs one side ('A' or 'B') once. Each
    block runs A B B A or B A A B (drawn at random) and gives one log difference per benchmark
    (block_diff). Returns (decisions, diffs, reason): reason says why it stopped."""
    rng = rng or np.random.default_rng()
    diffs = {n: [] for n in names}
    started = clock() if clock else None
    reason = f"reached {max_blocks} blocks"
    for block in range(max_blocks):
        first, second = ("A", "B") if rng.random() < 0.5 else ("B", "A")
        reps = {"A": {n: [] for n in names}, "B": {n: [] for n in names}}
        for side in (first, second, second, first):
            for n, values in measure(side).items():
                if n in reps[side]:
                    reps[side][n].extend(values)
        for n in names:
            d = block_diff(reps["A"][n], reps["B"][n])
            if d is not None:
                diffs[n].append(d)
        decisions = decide(diffs, threshold, confidence)
        if on_block:
            on_block(block + 1, decisions)
        if block + 1 < min_blocks:
            continue
        if all(v != INCONCLUSIVE for _, v in decisions.values()):
            reason = "every verdict is clear"
            break
        if budget_s is not None and clock and clock() - started >= budget_s:
            reason = f"the time budget ({budget_s:g} s) ran out"
            break
    return decide(diffs, threshold, confidence), diffs, reason


# ----------------------------------------------------------------------------- change points

def _energy_profile(D, min_size):
    """q[t] for splits x[:t] | x[t:], the E-divisive statistic (alpha = 1), for all t."""
    n = D.shape[0]
    P = np.zeros((n + 1, n + 1))
    P[1:, 1:] = D.cumsum(0).cumsum(1)
    t = np.arange(min_size, n - min_size + 1)
    if len(t) == 0:
        return t, np.zeros(0)
    left = P[t, t]
    cross = P[t, n] - P[t, t]
    right = P[n, n] - 2 * P[t, n] + P[t, t]
    n1, n2 = t.astype(float), (n - t).astype(float)
    e = 2 * cross / (n1 * n2) - left / (n1 * n1) - right / (n2 * n2)
    return t, e * n1 * n2 / (n1 + n2)


def e_divisive(values, min_size=3, significance=0.01, permutations=199, seed=0):
    """Change points of a 1-D series (indices i: a change between values[i-1] and values[i]).

    Binary segmentation on the energy statistic of the segment's ranks; a split is kept when a
    permutation test of its segment says p < significance (Matteson and James's E-divisive
    means with alpha = 1, on ranks for robustness)."""
    full = np.asarray(values, dtype=float)
    keep = np.flatnonzero(~isolated_outliers(full))
    x = full[keep]
    rng = np.random.default_rng(seed)
    found = []
    segments = [(0, len(x))]
    while segments:
        lo, hi = segments.pop()
        if hi - lo < 2 * min_size:
            continue
        # Ranks within the segment: a commit measured in a slow burst is then just the
        # largest value, not one that outweighs a real step.
        seg = np.argsort(np.argsort(x[lo:hi], kind="stable"), kind="stable").astype(float)
        D = np.abs(seg[:, None] - seg[None, :])
        t, q = _energy_profile(D, min_size)
        if len(q) == 0:
            continue
        best = int(np.argmax(q))
        observed = q[best]
        # Stop permuting once the split can no longer be significant: a flat segment costs a
        # few permutations, so a real split can afford many (a finer p-value, more power).
        allowed = math.ceil(significance * (permutations + 1)) - 1  # exceedances for p < sig
        exceed = 0
        for _ in range(permutations):
            p = rng.permutation(len(seg))
            _, qp = _energy_profile(D[np.ix_(p, p)], min_size)
            exceed += qp.max() >= observed
            if exceed >= allowed:
                break
        if exceed >= allowed:
            continue
        cut = lo + int(t[best])
        found.append(cut)
        segments += [(lo, cut), (cut, hi)]
    return [int(keep[c]) for c in _refine(x, sorted(found), min_size)]


def commit_levels(reps_per_commit, k=3.0):
    """One level per commit from all its repetitions' log times: the mean of the repetitions
    within k robust standard deviations of the commit's median. The scale is pooled over the
    whole series (deviations from each commit's median), so a commit whose repetitions partly
    fell in a slow burst drops those and keeps the mean of the rest: about 40 % less noise than
    its median, which is what places a small step within one commit."""
    reps = [np.asarray(r, dtype=float) for r in reps_per_commit]
    reps = [r[np.isfinite(r)] for r in reps]
    devs = [r - np.median(r) for r in reps if len(r)]
    dev = np.concatenate(devs) if devs else np.zeros(0)
    scale = 1.4826 * np.median(np.abs(dev)) if len(dev) else 0.0
    out = []
    for r in reps:
        if not len(r):
            out.append(float("nan"))
            continue
        med = np.median(r)
        inner = r[np.abs(r - med) <= k * scale] if scale > 0 else r
        out.append(float(inner.mean()) if len(inner) else float(med))
    return out


def isolated_outliers(x, k=6.0, span=3):
    """Points far (k robust standard deviations) from the median of the `span` points on
    each side: a commit recorded in a slow burst. A step is near one of its sides; a spike is
    near neither."""
    n = len(x)
    out = np.zeros(n, dtype=bool)
    if n < 3:
        return out
    sigma = 1.4826 * np.median(np.abs(np.diff(x))) / math.sqrt(2) or 1e-12
    for i in range(n):
        sides = [x[max(0, i - span):i], x[i + 1:i + 1 + span]]
        dev = [abs(x[i] - np.median(v)) for v in sides if len(v)]
        out[i] = min(dev) > k * sigma
    return out


def _huber_cost(v, c):
    """Squared deviations from the mean of the values within c of the median; linear beyond."""
    med = np.median(v)
    inner = v[np.abs(v - med) <= c]
    centre = inner.mean() if len(inner) else med
    r = np.abs(v - centre)
    return float(np.where(r <= c, r * r, 2 * c * r - c * c).sum())


def _refine(x, cuts, min_size):
    """Each cut moved to the best split between its neighbours by a Huber cost around the two
    sides' medians: ranks find a change reliably, the values place it better."""
    cuts = list(cuts)
    for k in range(len(cuts)):
        lo = cuts[k - 1] if k else 0
        hi = cuts[k + 1] if k + 1 < len(cuts) else len(x)
        best, where = math.inf, cuts[k]
        seg = x[lo:hi]
        # the noise's scale from successive differences: a step barely moves it
        c = 2.5 * 1.4826 * np.median(np.abs(np.diff(seg))) / math.sqrt(2) or 1e-12
        for t in range(lo + min_size, hi - min_size + 1):
            cost = _huber_cost(x[lo:t], c) + _huber_cost(x[t:hi], c)
            if cost < best:
                best, where = cost, t
        cuts[k] = where
    return cuts

