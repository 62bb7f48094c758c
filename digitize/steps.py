"""From a traced curve to a right-continuous, non-increasing step function with both corners of
every drop.

Level per column: on a plateau the line's coverage-weighted centre row; in a column crossed by a
vertical drop (a run taller than the line) the level entering is the run's top + half the line
width and the level leaving is its bottom - half the line width. A drop at column x_d is drawn
``line_width`` columns wide, so the value at x is read as the mean of the leaving level at
x - h and the entering level at x + h (h = (line_width - 1) / 2), which puts the step exactly at
x_d. Monotonicity is then enforced in data units by isotonic regression (least squares, pool-
adjacent-violators), which is better than a running minimum at spreading noise.
"""
from __future__ import annotations

import numpy as np

from digitize.trace import Runs


def column_levels(path: Runs, line_width: float, centred: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) centre-line pixel per traced column (x = column, y = sub-pixel row).

    ``centred`` flags columns whose run is symmetric about the line (censor marks drawn centred
    on the curve): their level is the run's weighted centre, not a drop.
    """
    x = path.col.astype(float)
    if x.size == 0:
        return x, x.copy()
    lw = float(line_width)
    height = (path.bot - path.top + 1).astype(float)
    tall = height > lw + 2.0
    if centred is not None:
        tall &= ~np.asarray(centred, bool)
    y_in = np.where(tall, path.top - 0.5 + lw / 2.0, path.cen)
    y_out = np.where(tall, path.bot + 0.5 - lw / 2.0, path.cen)
    y_out = np.maximum(y_out, y_in)
    h = max(0.0, (lw - 1.0) / 2.0)
    level = 0.5 * (np.interp(x - h, x, y_out) + np.interp(x + h, x, y_in))
    if tall[-1]:
        level[-1] = y_out[-1]   # the curve ends with a drop (last patient had the event)
    return x, level


def isotonic_non_increasing(s: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares non-increasing fit (pool-adjacent-violators, via scipy, as reconstruct's
    preprocessing uses it too)."""
    from scipy.optimize import isotonic_regression

    y = np.asarray(s, float)
    if y.size == 0:
        return y.copy()
    return isotonic_regression(y, weights=weights, increasing=False).x


def step_corners(t: np.ndarray, s: np.ndarray, min_step: float, min_width: float = 0.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Step corners from per-column samples (t increasing, s already non-increasing).

    Levels closer than ``min_step`` (survival units; sub-pixel noise) are merged into one
    plateau (mean). Plateaus shorter than ``min_width`` (time units; about a line width, where
    a drawn vertical line hides them) spanning less than that between two longer
    ones are the drop's own columns: they become a single drop at their centre. Each drop yields two corners at the same time.
    Returns (time, survival) from the first sample to the last one.
    """
    t = np.asarray(t, float)
    s = np.asarray(s, float)
    if t.size == 0:
        return t.copy(), s.copy()
    # clusters of nearly equal consecutive levels: [t_first, t_last, sum_s, n]
    cl: list[list[float]] = []
    for ti, si in zip(t, s):
        if cl and abs(cl[-1][2] / cl[-1][3] - si) < min_step:
            cl[-1][1] = ti
            cl[-1][2] += si
            cl[-1][3] += 1
        else:
            cl.append([ti, ti, si, 1])
    m = len(cl)
    first = np.array([c[0] for c in cl])
    last = np.array([c[1] for c in cl])
    level = np.array([c[2] / c[3] for c in cl])
    narrow = (last - first) < min_width
    narrow[0] = narrow[-1] = False
    keep = np.ones(m, bool)
    forced: dict[int, float] = {}   # kept cluster index -> boundary time before it
    centre = 0.5 * (first + last)
    i = 1
    while i < m - 1:
        if not narrow[i]:
            i += 1
            continue
        j = i
        while j + 1 < m - 1 and narrow[j + 1]:
            j += 1
        # narrow levels i..j between two plateaus: one drop drawn across a few columns becomes a
        # single drop at their centre; a longer staircase (a steep stretch) is kept
        if j == i or last[j] - first[i] < min_width:
            keep[i:j + 1] = False
            forced[j + 1] = 0.5 * (first[i] + last[j])
        i = j + 1
    first = np.where(narrow, centre, first)
    last = np.where(narrow, centre, last)
    idx = np.nonzero(keep)[0]
    times: list[float] = [first[idx[0]]]
    surv: list[float] = [level[idx[0]]]
    for a, b in zip(idx[:-1], idx[1:]):
        tb = forced.get(b, 0.5 * (last[a] + first[b]))
        times += [tb, tb]
        surv += [level[a], level[b]]
    times.append(last[idx[-1]])
    surv.append(level[idx[-1]])
    time = np.asarray(times)
    survival = np.minimum.accumulate(np.asarray(surv))
    if time.size >= 2 and time[-1] == time[-2] and survival[-1] == survival[-2]:
        time, survival = time[:-1], survival[:-1]
    return time, survival
