"""Small statistics the model needs, in plain floats: weighted quantiles and Student's t.

Values and weights travel as parallel lists of floats, never as (value, weight) tuples:
floats are not tracked by the garbage collector, so ten thousand of them cost no
collection pause, and whole lists go through C-level `map`s and `accumulate`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate, repeat
from operator import mul, sub

# Two-sided 80 % interval: the 0.9 quantile of Student's t by degrees of freedom (1..30).
_T90: tuple[float, ...] = (
    3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372,
    1.363, 1.356, 1.350, 1.345, 1.341, 1.337, 1.333, 1.330, 1.328, 1.325,
    1.323, 1.321, 1.319, 1.318, 1.316, 1.315, 1.314, 1.313, 1.311, 1.310,
)  # fmt: skip
Z90 = 1.2816


def t90(df: float) -> float:
    """The 0.9 quantile of Student's t with `df` degrees of freedom (≥ 1; fractional ok)."""
    if df <= 1:
        return _T90[0]
    if df < len(_T90):
        low = int(df)
        share = df - low
        return _T90[low - 1] * (1 - share) + _T90[low] * share
    # Cornish-Fisher expansion around the normal quantile; exact to 3 decimals past 30.
    z = Z90
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df)


def weighted_quantiles(
    values: Sequence[float], weights: Sequence[float], probabilities: Sequence[float]
) -> list[float]:
    """Quantiles of weighted values (both lists sorted by value) at `probabilities`.

    The first value whose cumulative weight reaches p·total: the weighted inverse CDF, which
    with equal weights is the usual lower quantile.
    """
    running = list(accumulate(weights))
    total = running[-1]
    last = len(values) - 1
    return [values[min(bisect_left(running, p * total), last)] for p in probabilities]


def weighted_moments(
    values: Sequence[float], weights: Sequence[float]
) -> tuple[float, float, float]:
    """(mean, standard deviation, effective sample size) of weighted values."""
    total = sum(weights)
    squares = sum(map(mul, weights, weights))
    mean = sum(map(mul, weights, values)) / total
    deviations = list(map(sub, values, repeat(mean)))
    spread = sum(map(mul, weights, map(mul, deviations, deviations)))
    n_eff = total * total / squares
    correction = n_eff / (n_eff - 1) if n_eff > 1 else 1.0
    return mean, (spread / total * correction) ** 0.5, n_eff
