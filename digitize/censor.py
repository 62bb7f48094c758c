"""Censor-mark detection on a traced curve.

A "|" tick or a "+" cross is drawn centred on the curve: in its columns the ink extends both
above and below the line by about half the mark's height. A drop never extends above the level
it starts from, so "ink above and below the last plateau" separates marks from steps.
"""
from __future__ import annotations

import numpy as np

from digitize.trace import Runs

#: a centred mark column's ink above the line is at least this fraction of its ink below
MARK_MIN_SYMMETRY = 0.3
#: a column of a ribbon of overlapping marks is inked over at least this fraction of its height
MIN_BAND_SOLIDITY = 0.75


def plateau_reference(path: Runs, line_width: float) -> tuple[np.ndarray, np.ndarray]:
    """For each traced column: (is_plateau, index of the plateau column to compare with: the
    last solid plateau column at or before it, else the first one after).

    A solid plateau column has an adjacent plateau column at the same level (within a pixel) or
    a full line's ink: a lone faint line-high run between two drops (a steep staircase, a curve
    crossing) is no level to measure marks against, and drops next to it would look like ink
    above and below it."""
    height = path.bot - path.top + 1
    plateau = height <= line_width + 2.0
    pair = (plateau[:-1] & plateau[1:] & (np.diff(path.col) == 1)
            & (np.abs(np.diff(path.cen)) <= 1.0))
    solid = plateau & (np.r_[pair, False] | np.r_[False, pair] | (path.weight >= 0.75 * line_width))
    idx = np.arange(len(path))
    last = np.where(solid, idx, -1)
    last = np.maximum.accumulate(last) if last.size else last
    nxt = np.where(solid, idx, len(path))
    nxt = np.minimum.accumulate(nxt[::-1])[::-1] if nxt.size else nxt
    ref = np.where(last >= 0, last, np.minimum(nxt, max(len(path) - 1, 0)))
    return plateau, ref


def dense_band(path: Runs, line_width: float, mark_height: float, min_marks: int = 3) -> np.ndarray:
    """Columns of a stretch drawn as one thick band: censor marks so dense (low dpi, heavy
    censoring) that they overlap into a ribbon with no plateau column left to measure them
    against. Every column of the ribbon is about as tall as the figure's other marks
    (``mark_height`` pixels, from the isolated ones: curves running together make taller or
    thinner ribbons) and shares more than a line's height with both neighbours (a steep
    staircase's columns only touch at a line's thickness) and is solid ink (stacked marks; a
    pale blend of crossing curves is not), over at least ``min_marks`` mark pitches (line
    width + 1 pixels)."""
    n = len(path)
    out = np.zeros(n, bool)
    if n < 3:
        return out
    adj = np.diff(path.col) == 1
    overlap = np.minimum(path.bot[1:], path.bot[:-1]) - np.maximum(path.top[1:], path.top[:-1]) + 1
    shared = adj & (overlap > line_width + 1.5)
    height = path.bot - path.top + 1
    thick = ((height > 2.0 * line_width + 1.0) & (np.abs(height - mark_height) <= line_width + 1.0)
             & (path.weight >= MIN_BAND_SOLIDITY * height) & np.r_[False, shared] & np.r_[shared, False])
    pitch = max(2.0, line_width + 1.0)
    edges = np.diff(np.r_[0, thick.astype(np.int8), 0])
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if path.col[b - 1] - path.col[a] + 1 >= min_marks * pitch:
            out[a:b] = True
    return out


def find_marks(path: Runs, line_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Censor marks on a traced path.

    Returns (mark_groups, is_mark): ``mark_groups`` (M, 3) rows of (first path index, last path
    index, centre column in pixels, sub-pixel), and a bool per path column flagging mark columns
    (their level is the run's centre: marks are drawn centred on the curve).
    """
    n = len(path)
    if n == 0:
        return np.empty((0, 3)), np.zeros(0, bool)
    plateau, ref = plateau_reference(path, line_width)
    thr = max(1.5, 0.4 * line_width)
    up = path.top[ref] - path.top
    down = path.bot - path.bot[ref]
    both = (up > thr) & (down > thr) & ~plateau
    # a mark is centred on the line; where a drop continues below it, its part above the line
    # must be about as tall as the figure's other marks': a drop with a pixel or two of noise
    # above its corner is no mark
    centred = both & (up >= MARK_MIN_SYMMETRY * down)
    half = float(np.median(up[centred])) if np.count_nonzero(centred) >= 3 else np.inf
    is_mark = centred | (both & (up > 2.0 * thr) & (up >= 0.75 * half))
    if np.isfinite(half):
        is_mark |= dense_band(path, line_width, 2.0 * half)
    groups = []
    if is_mark.any():
        idx = np.nonzero(is_mark)[0]
        cols = path.col[idx]
        split = np.nonzero(np.diff(cols) > 2)[0] + 1
        for g in np.split(np.arange(idx.size), split):
            ii = idx[g]
            c = path.col[ii].astype(float)
            ext = (path.top[ref[ii]] - path.top[ii]) + (path.bot[ii] - path.bot[ref[ii]])
            width = c[-1] - c[0] + 1
            pitch = max(2.0, line_width + 1.0)
            n_marks = 1 if width <= 2.0 * pitch + 1.0 else int(round(width / pitch))
            if n_marks == 1:
                centre = float(np.sum(c * ext) / max(np.sum(ext), 1e-9))
                groups.append((ii[0], ii[-1], centre))
            else:
                # overlapping marks (dense censoring): spread evenly over the blob
                for cc in np.linspace(c[0] + 0.5 * line_width, c[-1] - 0.5 * line_width, n_marks):
                    j = ii[int(np.argmin(np.abs(c - cc)))]
                    groups.append((j, j, float(cc)))
    return np.asarray(groups, float).reshape(-1, 3), is_mark
