"""Pair risk-table rows with traced curves by what the numbers say, when nothing printed does.

A risk table whose row labels are plain black text (or absent) and a figure without a legend
colour leave the row <-> curve pairing to order, which is a coin toss. The numbers themselves
pair them: between two table times t_k < t_k+1 the patients who leave the risk set
(n_k - n_k+1) are the deaths plus the censored. The fewest deaths that make
the curve fall by r = S(t_k+1)/S(t_k) are n_k+1 (1 - r)/r (KM: prod(1 - d_j/n_j) = r; the
fewest when every censoring comes first, so that the deaths alone take the risk set from
n_k+1 + D down to n_k+1), and the censored are at least the censor marks drawn there. A row paired with the
wrong curve asks for more deaths and censorings than its own decrease allows (a row of a big
arm under a curve with big steps; a flat row under a steep curve); summed over the intervals
(patients), the shortfall is that pairing's cost. Data units: table and curve times on the
x axis, survival 0-1.
"""
from __future__ import annotations

import numpy as np


def _s_at(t: np.ndarray, s: np.ndarray, x: float) -> float:
    """The step curve's survival at time x (right-continuous; before the first corner: 1)."""
    k = int(np.searchsorted(t, x, side="right")) - 1
    return float(s[k]) if k >= 0 else 1.0


def shortfall(times, counts, curve_t, curve_s, marks_t, survival_sd: float = 0.005) -> float:
    """Patients a risk-table row lacks to explain a curve: sum over table intervals inside the
    curve's follow-up of max(0, deaths_lb + marks - (n_k - n_k+1) - slack), deaths_lb =
    n_k+1 (1 - r)/r, r = S_k+1/S_k (the drops are not counted: traced curves have spurious
    pixel steps). ``slack``: one patient plus what twice the survival uncertainty of the traced
    corners (``survival_sd``, survival units) changes deaths_lb by."""
    t = np.asarray(curve_t, float)
    s = np.asarray(curve_s, float)
    if t.size < 2:
        return 0.0
    order = np.argsort(t, kind="stable")
    t, s = t[order], s[order]
    marks = np.sort(np.asarray(marks_t, float)) if marks_t is not None else np.zeros(0)
    times = np.asarray(times, float)
    counts = np.asarray(counts, float)
    total = 0.0
    for k in range(len(times) - 1):
        a, b = times[k], times[k + 1]
        na, nb = counts[k], counts[k + 1]
        if not (np.isfinite(na) and np.isfinite(nb)) or na <= 0 or b > t[-1]:
            continue
        sa, sb = _s_at(t, s, a), _s_at(t, s, b)
        if sa <= 0:
            continue
        n_marks = np.count_nonzero((marks > a) & (marks < b))
        r = sb / sa
        if r <= 0.02:
            continue
        deaths = nb * (1.0 - r) / r
        slack = 1.0 + nb * 2.0 * survival_sd / (sa * r * r)
        total += max(0.0, deaths + n_marks - (na - nb) - slack)
    return total


def best_pairing(rows: list[tuple[np.ndarray, np.ndarray]], curves: list[tuple]) -> tuple[list[int], np.ndarray]:
    """The row for each curve that leaves the least shortfall, and the cost matrix
    (cost[i, j]: curve i with row j). ``rows``: (times, counts); ``curves``: (t, S, marks, sd)."""
    from scipy.optimize import linear_sum_assignment

    cost = np.array([[shortfall(rt, rn, ct, cs, cm, sd) for rt, rn in rows] for ct, cs, cm, sd in curves])
    r, c = linear_sum_assignment(cost)
    out = [-1] * len(curves)
    for i, j in zip(r, c):
        out[int(i)] = int(j)
    return out, cost
