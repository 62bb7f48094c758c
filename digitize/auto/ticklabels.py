"""Robust value-vs-pixel fit of an axis from OCR'd tick labels.

OCR misreads some labels ('18' as '12', a lost decimal point), so the fit is a RANSAC line
through (pixel, value) pairs (Fischler & Bolles 1981): every pair of labels proposes a line,
the one most labels agree with (within a pixel tolerance) wins, then least squares on those.
Uneven labels (0.3, 0.5, 0.7, 0.9, 1.0) and truncated axes need nothing special; a log axis
is recognised when log10(value) fits strictly more labels than value does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from digitize.auto.text import Token


@dataclass
class AxisFit:
    """value (log10(value) when ``log``) = slope * pos + intercept; pos in image pixels along
    the axis (x for the time axis, y for the survival axis)."""

    slope: float
    intercept: float
    log: bool
    pos: np.ndarray            # inlier label positions (pixels)
    values: np.ndarray         # inlier values as printed
    n_labels: int              # labels read in total (inliers + rejected)
    residual_px: float         # RMS pixel residual of the inliers
    tick_matched: int          # inliers whose position came from a tick mark
    rejected: list[str] = field(default_factory=list)

    def value_at(self, pos):
        v = self.slope * np.asarray(pos, float) + self.intercept
        return 10.0 ** v if self.log else v

    def pos_of(self, value):
        v = np.log10(np.asarray(value, float)) if self.log else np.asarray(value, float)
        return (v - self.intercept) / self.slope

    @property
    def confidence(self) -> float:
        """0-1: three or more agreeing labels on tick marks with sub-pixel residual -> ~1."""
        n = len(self.values)
        c = {0: 0.0, 1: 0.0, 2: 0.45, 3: 0.8}.get(n, 0.95)
        if self.tick_matched >= min(n, 3):
            c += 0.05
        c -= 0.1 * max(0.0, self.residual_px - 1.0)
        c -= 0.15 * min(len(self.rejected), 3) / max(n, 1)
        return float(np.clip(c, 0.0, 1.0))


def label_positions(labels: list[Token], ticks: np.ndarray, along: str, tol: float
                    ) -> list[tuple[float, bool]]:
    """Pixel position of each label along its axis: the nearest tick mark within ``tol``
    pixels of the label centre, else the label centre. Returns [(pos, from_tick), ...]."""
    out = []
    for t in labels:
        c = t.cx if along == "x" else t.cy
        if ticks.size:
            j = int(np.argmin(np.abs(ticks - c)))
            if abs(ticks[j] - c) <= tol:
                out.append((float(ticks[j]), True))
                continue
        out.append((float(c), False))
    return out


def _fit(pos, val, sign, tol, lab=None, rank=None):
    """RANSAC + least squares over readings; returns (slope, intercept, inlier mask over the
    readings) or None. ``lab``: label index of each reading (several readings of one label are
    alternatives: at most one of them is used, the nearest to the line; ties go to the lower
    ``rank``, the preferred reading)."""
    n = len(pos)
    lab = np.arange(n) if lab is None else np.asarray(lab)
    rank = np.zeros(n) if rank is None else np.asarray(rank, float)
    labels = np.unique(lab)

    def choose(s, b):
        """Per label the reading nearest the line (preferred reading on ties); inlier mask."""
        resid = np.abs((val - b) / s - pos)
        inl = np.zeros(n, bool)
        for k in labels:
            idx = np.nonzero(lab == k)[0]
            idx = idx[resid[idx] <= tol]
            if idx.size:
                inl[idx[np.lexsort((resid[idx], rank[idx]))[0]]] = True
        return inl, resid

    best = None
    for i, j in combinations(range(n), 2):
        if lab[i] == lab[j] or pos[i] == pos[j] or val[i] == val[j]:
            continue
        s = (val[j] - val[i]) / (pos[j] - pos[i])
        if np.sign(s) != sign:
            continue
        b = val[i] - s * pos[i]
        inl, resid = choose(s, b)
        key = (inl.sum(), -rank[inl].sum(), -resid[inl].sum())
        if best is None or key > best[0]:
            best = (key, inl)
    if best is None:
        return None
    inl = best[1]
    s, b = np.polyfit(pos[inl], val[inl], 1)
    if np.sign(s) != sign:
        return None
    inl2, _ = choose(s, b)
    if inl2.sum() >= inl.sum():
        inl = inl2
        s, b = np.polyfit(pos[inl], val[inl], 1)
    return float(s), float(b), inl


def lost_point_readings(text: str) -> list[float]:
    """Values a label may have had when OCR lost its decimal point ('06' -> 0.6, '125' -> 1.25,
    12.5): the common misreading of small tick labels. Empty for text with a point."""
    import re  # noqa: PLC0415

    d = (text or "").strip().rstrip("%")
    if not re.fullmatch(r"\d{2,4}", d):
        return []
    return [float(d[:k] + "." + d[k:]) for k in range(1, len(d))]


def fit_axis(pos, values, from_tick, texts, increasing_pos: bool, tol: float = 2.5,
             allow_log: bool = True) -> AxisFit | None:
    """Fit value vs pixel for one axis.

    ``values``: per label its value, or a sequence of alternative readings, preferred first
    (several OCR passes, a lost decimal point); the fit uses for each label the reading that
    agrees with the others. increasing_pos: values grow with the pixel coordinate (x axis) or
    against it (y axis, pixels grow downwards). Returns None when fewer than two labels agree.
    """
    alts = [[float(v) for v in (vs if np.ndim(vs) else [vs]) if v is not None and np.isfinite(v)]
            for vs in values]
    lab = np.array([k for k, a in enumerate(alts) for _ in a], int)
    rank = np.array([r for a in alts for r in range(len(a))], float)
    pos_all = np.asarray(pos, float)
    ft_all = np.asarray(from_tick, bool)
    val = np.array([v for a in alts for v in a], float)
    pos = pos_all[lab] if lab.size else np.empty(0)
    ft = ft_all[lab] if lab.size else np.empty(0, bool)
    if np.unique(lab).size < 2:
        return None
    sign = 1.0 if increasing_pos else -1.0
    lin = _fit(pos, val, sign, tol, lab, rank)
    cands = []
    if lin is not None:
        cands.append((False, lin))
    if allow_log and np.all(val > 0) and np.unique(val).size >= 3:
        lg = _fit(pos, np.log10(val), sign, tol, lab, rank)
        if lg is not None:
            cands.append((True, lg))
    if not cands:
        return None
    # log only when it explains strictly more labels than linear
    log, (s, b, inl) = max(cands, key=lambda c: (c[1][2].sum(), not c[0]))
    if inl.sum() < 2:
        return None
    v = np.log10(val) if log else val
    resid = (v[inl] - b) / s - pos[inl]
    used = set(lab[inl].tolist())
    rejected = [str(t) for k, t in enumerate(texts) if k not in used]
    return AxisFit(s, b, log, pos[inl], val[inl], len(alts), float(np.sqrt(np.mean(resid ** 2))),
                   int(ft[inl].sum()), rejected)
