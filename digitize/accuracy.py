"""Accuracy of a digitized step curve against a known one (tests and benchmarks).

IAE is the integrated absolute difference divided by the time span, so it reads as an average
survival error (probability units) over [0, t_end].
"""
from __future__ import annotations

import numpy as np


def step_value(t_corners, s_corners, at) -> np.ndarray:
    """Right-continuous step function through corners (t, S), evaluated at ``at``; before the
    first corner S = the first level, after the last the last level."""
    t = np.asarray(t_corners, float)
    s = np.asarray(s_corners, float)
    at = np.asarray(at, float)
    if t.size == 0:
        return np.full(at.shape, np.nan)
    idx = np.searchsorted(t, at, side="right") - 1
    return s[np.clip(idx, 0, t.size - 1)]


def curve_errors(t_est, s_est, t_true, s_true, t_end: float | None = None, n: int = 4000) -> dict:
    """{"iae": mean |dS| over [0, t_end], "max_abs": max |dS|} on a fine grid.

    The max is taken away from the drops (a drop misplaced by a fraction of a pixel would
    otherwise count the whole drop): grid points within 0.2 % of the span of a true drop are skipped.
    """
    t_end = float(np.max(t_true)) if t_end is None else float(t_end)
    if t_end <= 0:
        return {"iae": float("nan"), "max_abs": float("nan")}
    grid = (np.arange(n) + 0.5) / n * t_end
    diff = np.abs(step_value(t_est, s_est, grid) - step_value(t_true, s_true, grid))
    iae = float(np.mean(diff))
    drops = np.asarray(t_true, float)[1:][np.diff(np.asarray(s_true, float)) < 0]
    if drops.size:
        pos = np.searchsorted(drops, grid)
        near = np.minimum(np.abs(grid - drops[np.clip(pos - 1, 0, drops.size - 1)]),
                          np.abs(grid - drops[np.clip(pos, 0, drops.size - 1)]))
        far = near > 0.002 * t_end
        mx = float(diff[far].max()) if far.any() else float(diff.max())
    else:
        mx = float(diff.max())
    return {"iae": iae, "max_abs": mx}


def match_times(found, true, tol: float) -> tuple[int, int, int]:
    """Greedy one-to-one matching of event/censor times within ``tol``:
    (matched, missed true, extra found)."""
    f = np.sort(np.asarray(found, float))
    t = np.sort(np.asarray(true, float))
    used = np.zeros(f.size, bool)
    matched = 0
    for v in t:
        if f.size == 0:
            break
        j = int(np.searchsorted(f, v))
        best, bd = -1, tol
        for c in (j - 2, j - 1, j, j + 1):
            if 0 <= c < f.size and not used[c] and abs(f[c] - v) <= bd:
                best, bd = c, abs(f[c] - v)
        if best >= 0:
            used[best] = True
            matched += 1
    return matched, t.size - matched, f.size - matched
