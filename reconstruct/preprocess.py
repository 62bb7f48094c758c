"""Clean a digitized KM curve into a non-increasing step curve, recording every change.

Digitized points arrive in any order, possibly in percent, with outlier clicks, points
slightly above 1 or below 0, several points at one time and small upward wiggles. The output
keeps the top and bottom corner of every drop (the two points a digitizer places at one time),
starts at (0, 1) and is non-increasing (isotonic regression, as recommended by Guyot et al. 2012
and IPDfromKM). Times stay in the figure's x-axis unit.

Digitized drop edges are rarely exactly vertical: hand clicks and pixel traces put the top and
bottom corner of a drop at slightly different x, sometimes the bottom LEFT of the top. Sorted by
time, such corners interleave, look like two stray spikes and were dropped (small arms lost
whole drops), or were averaged into half-drops. So points within the time jitter of each other
are taken in path order (:func:`_edge_order`) and given one common time before isotonic
regression, and a point is only a stray click if its offending neighbour is not within that
jitter. An edge whose bottom was read a little RIGHT of its top is timed at its corners' mean
too (:func:`_slanted_edges`), not at its right end.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import isotonic_regression

from reconstruct.errors import ReconstructionInputError

#: a point that breaks monotonicity against both neighbours by more than this is a stray click
STRAY_TOLERANCE = 0.02
#: negative times closer to 0 than this fraction of the time range are axis-clicks set to 0
NEGATIVE_TIME_SLACK = 0.01
#: time jitter of digitized points as a fraction of the time range (about one pixel of a
#: 300-500 px wide plot): two points closer in time than twice this may be the two corners of
#: one near-vertical drop edge clicked (or traced) at slightly different x
TIME_JITTER = 0.003
#: survival jitter of digitized points (about two pixels of a 400 px high plot)
SURVIVAL_JITTER = 0.005


@dataclass
class PreparedCurve:
    """A cleaned curve: times ascending (x-axis units), survival (0-1) non-increasing."""

    time: np.ndarray
    survival: np.ndarray
    notes: list[str] = field(default_factory=list)
    percent: bool = False
    #: preprocessing had to move points (stray clicks, drop-edge alignment, isotonic
    #: regression): the coordinates are noisy, whatever their heights look like
    smoothed: bool = False

    @property
    def t_end(self) -> float:
        return float(self.time[-1])

    def steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The curve as a right-continuous step function.

        Returns (drop_times, level_before, level_after): at each distinct time where the curve
        is lower than just before, the survival before and after the drop. A sloped segment
        between two clicks is read as a step at its right end (KM curves are right-continuous).
        """
        t, s = self.time, self.survival
        uniq, idx = np.unique(t, return_index=True)
        # lowest value at each distinct time = level from that time on
        level = np.minimum.reduceat(s, idx)
        prev = np.concatenate([[1.0], level[:-1]])
        drop = level < prev - 1e-12
        return uniq[drop], prev[drop], level[drop]

    def evaluate(self, at) -> np.ndarray:
        """The step curve's value at times ``at`` (right-continuous; 1 before the first point)."""
        uniq, idx = np.unique(self.time, return_index=True)
        level = np.minimum.reduceat(self.survival, idx)
        pos = np.searchsorted(uniq, np.asarray(at, float), side="right") - 1
        return np.where(pos >= 0, level[np.maximum(pos, 0)], 1.0)


def _stray_points(t: np.ndarray, s: np.ndarray, tol: float, edge: float) -> np.ndarray:
    """Indices of isolated clicks that break monotonicity against both neighbours by > tol
    while the neighbours agree with each other (a spike up or down).

    A point whose offending neighbour lies within ``edge`` (time units) is not a spike but
    one corner of a near-vertical drop edge read at a slightly different x than the other
    (the bottom corner left of the top one); :func:`_edge_order` puts those in order."""
    if s.size < 3:
        return np.empty(0, int)
    prev, cur, nxt = s[:-2], s[1:-1], s[2:]
    near_prev = t[1:-1] - t[:-2] <= edge
    near_next = t[2:] - t[1:-1] <= edge
    neighbours_ok = prev >= nxt - tol
    spike_up = (cur > prev + tol) & neighbours_ok & ~near_prev
    spike_down = (cur < nxt - tol) & neighbours_ok & ~near_next
    return np.flatnonzero(spike_up | spike_down) + 1


def _edge_order(t: np.ndarray, s: np.ndarray, t_scale: float, s_scale: float) -> np.ndarray:
    """Order of points along the curve's path, robust to time jitter on drop edges.

    A KM curve is a path that moves right along plateaus and down along drop edges. Sorting
    by time alone interleaves the corners of a near-vertical edge whose bottom was read a
    little left of its top, and everything downstream (isotonic regression, step heights) then
    averages the two levels into spurious half-drops. Sorting by the L1 path coordinate
    u = t / t_scale + (1 - S) / s_scale orders an edge by S (its height dwarfs the time jitter)
    and a plateau by t (its length dwarfs the survival jitter); on exact, non-increasing
    coordinates it is exactly the time order (ties: higher S first)."""
    u = t / t_scale + (1.0 - s) / s_scale
    return np.lexsort((-s, t, u))


def _slanted_edges(t: np.ndarray, s: np.ndarray, edge: float, flat_tol: float) -> np.ndarray:
    """Indices i where points i and i + 1 are the top and bottom corner of one drop edge read
    with its bottom a little right of its top (the mirror image of the edges :func:`_edge_order`
    pools): each is the only point at its time, the edge falls and spans at most ``edge`` (time
    units), and both corners end a plateau (the point before i within ``flat_tol`` of i's level,
    the point after i + 1 within it of i + 1's, both less than the edge's fall). Clicks along a
    sloped stretch have no such plateaus and stay a staircase read at its right ends."""
    if t.size < 4:
        return np.empty(0, int)
    i = np.arange(1, t.size - 2)
    alone = (t[i] > t[i - 1]) & (t[i + 1] > t[i]) & (t[i + 2] > t[i + 1])
    fall = s[i] - s[i + 1]
    flat = np.minimum(flat_tol, 0.999 * fall)   # what a plateau end may differ by
    ok = (alone & (t[i + 1] - t[i] <= edge) & (fall > 0)
          & (np.abs(s[i - 1] - s[i]) <= flat) & (np.abs(s[i + 2] - s[i + 1]) <= flat))
    return i[ok]


def preprocess_curve(time, survival, name: str = "") -> PreparedCurve:
    """Clean digitized (time, survival) points of one arm; see the module docstring.

    ``survival`` may be a fraction or a percent (any value > 1.5 means percent). Raises
    :class:`ReconstructionInputError` when nothing usable is left or times are clearly negative.
    """
    label = f"arm '{name}': " if name else ""
    t = np.asarray(time, float).ravel()
    s = np.asarray(survival, float).ravel()
    if t.shape != s.shape:
        raise ReconstructionInputError(f"{label}{t.size} times but {s.size} survival values")
    notes: list[str] = []
    finite = np.isfinite(t) & np.isfinite(s)
    if not finite.all():
        notes.append(f"dropped {int((~finite).sum())} point(s) with a missing or non-finite value")
        t, s = t[finite], s[finite]
    if t.size == 0:
        raise ReconstructionInputError(f"{label}the curve has no points; digitize at least one step")
    percent = bool(np.nanmax(s) > 1.5)
    if percent:
        s = s / 100.0
        notes.append("survival given in percent; divided by 100")
    span = max(float(t.max()), 1e-12)
    if (t < 0).any():
        worst = float(t.min())
        if worst < -NEGATIVE_TIME_SLACK * span:
            row = int(np.argmin(t))
            raise ReconstructionInputError(
                f"{label}point {row + 1} has negative time {worst:g}; times must be >= 0"
            )
        notes.append(f"set {int((t < 0).sum())} slightly negative time(s) to 0")
        t = np.maximum(t, 0.0)
    outside = (s < 0) | (s > 1)
    if outside.any():
        notes.append(f"clamped {int(outside.sum())} survival value(s) into [0, 1]")
        s = np.clip(s, 0.0, 1.0)
    # sort by time; at equal times the upper corner of a drop comes first
    order = np.lexsort((-s, t))
    t, s = t[order], s[order]
    at_zero = (t == 0) & (s < 1)
    top = (t == 0) & (s >= 1 - SURVIVAL_JITTER)
    early = at_zero & (s < 1 - SURVIVAL_JITTER)
    if early.any() and top.any():
        # both corners of a drop read at time 0 (a drop within the time jitter of the origin):
        # keep it as a drop just after 0 instead of raising its bottom to 1
        positive = t[t > 0]
        eps = 0.5 * TIME_JITTER * span
        if positive.size:
            eps = min(eps, 0.5 * float(positive.min()))
        t = np.where(early, eps, t)
        notes.append(f"moved {int(early.sum())} point(s) below survival 1 at time 0 to time {eps:g} "
                     "(a drop right after the origin)")
        at_zero = (t == 0) & (s < 1)
    if at_zero.any():
        notes.append(f"raised {int(at_zero.sum())} point(s) at time 0 to survival 1")
        s = np.where(at_zero, 1.0, s)
    if not (t[0] == 0 and s[0] == 1):
        t, s = np.concatenate([[0.0], t]), np.concatenate([[1.0], s])
        notes.append("added the start point (0, 1)")
    # outlier clicks first, so that isotonic regression does not smear them over neighbours
    stray = _stray_points(t, s, STRAY_TOLERANCE, 2 * TIME_JITTER * span)
    stray = stray[stray > 0]
    smoothed = bool(stray.size)
    if stray.size:
        keep = np.ones(t.size, bool)
        keep[stray] = False
        notes.append(
            "dropped stray point(s) at time "
            + ", ".join(f"{v:g}" for v in t[stray][:10])
            + (" ..." if stray.size > 10 else "")
        )
        t, s = t[keep], s[keep]
    order = _edge_order(t, s, TIME_JITTER * span, SURVIVAL_JITTER)
    if np.any(order != np.arange(t.size)):
        # corners of a drop edge read at slightly different x: take them in path order and
        # give them one common time (isotonic regression of t along the path pools them)
        t, s = t[order], s[order]
        fitted_t = np.maximum(isotonic_regression(t, increasing=True).x, 0.0)
        moved = np.abs(fitted_t - t) > 1e-12
        notes.append(
            f"aligned {int(moved.sum())} point(s) on near-vertical drop edges to a common time "
            f"(largest shift {float(np.max(np.abs(fitted_t - t))):.4g})"
        )
        t = fitted_t
        t[0] = 0.0
        smoothed = True
    slanted = _slanted_edges(t, s, 2 * TIME_JITTER * span, SURVIVAL_JITTER)
    if slanted.size:
        # the other half of the same jitter: an edge whose bottom corner was read RIGHT of its
        # top is one drop too. Read at its right end (steps()) it was half a column late on
        # average, so every slanted drop and the KM after it came out late (bench_reconstruct's
        # pixel setting: the KM above its time-quantisation oracle in 92 % of arms). The bottom
        # corner moves to the corners' mean; the top stays, so a plateau read a pixel lower at
        # its end keeps that as its own small step, as before
        t[slanted + 1] = 0.5 * (t[slanted] + t[slanted + 1])   # t is this function's own copy
        notes.append(f"timed {slanted.size} slanted drop edge(s) at the mean of their two corners")
        smoothed = True
    if np.any(np.diff(s) > 0):
        # Pool-adjacent-violators (scipy) gives the closest non-increasing sequence in least squares.
        fitted = np.clip(isotonic_regression(s, increasing=False).x, 0.0, 1.0)
        changed = np.abs(fitted - s) > 1e-12
        notes.append(
            f"isotonic regression moved {int(changed.sum())} point(s) "
            f"(largest change {float(np.max(np.abs(fitted - s))):.4f}) to make survival non-increasing"
        )
        s = fitted
        s[0] = 1.0 if t[0] == 0 else s[0]
        smoothed = True
    # merge points at one time: keep only the top and bottom corner
    uniq, idx, counts = np.unique(t, return_index=True, return_counts=True)
    if (counts > 2).any() or (counts == 2).any():
        top = s[idx]
        bottom = np.minimum.reduceat(s, idx)
        n_before = t.size
        tt, ss = [], []
        for u, hi, lo in zip(uniq, top, bottom):
            tt.append(u)
            ss.append(hi)
            if lo < hi:
                tt.append(u)
                ss.append(lo)
        t, s = np.asarray(tt), np.asarray(ss)
        if t.size < n_before:
            notes.append(f"merged {n_before - t.size} duplicate point(s) at shared times")
    return PreparedCurve(time=t, survival=s, notes=notes, percent=percent, smoothed=smoothed)
