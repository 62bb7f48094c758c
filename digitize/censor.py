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
#: a mark's bar inks the rows it adds above and below the line: in at least one of its columns
#: the ink beyond a line's is this fraction of those rows (a JPEG-blurred line is as tall, but
#: holds no more ink than the line)
MARK_MIN_INK = 0.5
#: reliability of a mark (how sure it is one censoring at that time; kmrecon.data.ArmData):
#: an isolated mark between plateau columns is clear; one touching a drop's column may be the
#: drop's corner or a mark moved by it; marks split out of a ribbon of overlapping marks are
#: only evidence that some censorings happened around there (count and times are guesses).
#: At 0.5 instead of 0.7 a mark touching a drop was left unused for a closer fit of the levels
#: (test_steep_stretch_before_a_censoring: 19 deaths for 18)
RELIABILITY_CLEAR = 1.0
RELIABILITY_ON_DROP = 0.7
RELIABILITY_RIBBON = 0.3


def plateau_reference(path: Runs, line_width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each traced column: (is_plateau, index of the last solid plateau column at or before
    it (else the first one after), index of the first one at or after it (else the last one
    before)): the levels to compare a column with.

    A solid plateau column has an adjacent plateau column at the same level (within a pixel) or
    a full line's ink: a lone faint line-high run between two drops (a steep staircase, a curve
    crossing) is no level to measure marks against, and drops next to it would look like ink
    above and below it."""
    height = path.bot - path.top + 1
    plateau = height <= line_width + 2.0
    pair = (plateau[:-1] & plateau[1:] & (np.diff(path.col) == 1)
            & (np.abs(np.diff(path.cen)) <= 1.0))
    solid = plateau & (np.r_[pair, False] | np.r_[False, pair] | (path.weight >= 0.75 * line_width))
    n = len(path)
    idx = np.arange(n)
    last = np.where(solid, idx, -1)
    last = np.maximum.accumulate(last) if last.size else last
    nxt = np.where(solid, idx, n)
    nxt = np.minimum.accumulate(nxt[::-1])[::-1] if nxt.size else nxt
    before = np.where(last >= 0, last, np.minimum(nxt, max(n - 1, 0)))
    after = np.where(nxt < n, nxt, before)
    return plateau, before, after


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


def _inked(path: Runs, cand: np.ndarray, ref: np.ndarray, rows: np.ndarray, line_width: float) -> np.ndarray:
    """Per column: False for the candidate mark columns (``cand``) farther than a line width and
    a pixel from any candidate column whose ink beyond its reference plateau's (or a line's) is
    over :data:`MARK_MIN_INK` of the ``rows`` it adds to that plateau (a mark's bar; its
    anti-aliased edge columns hold less)."""
    keep = np.ones(len(path), bool)
    idx = np.flatnonzero(cand)
    if idx.size == 0:
        return keep
    extra = path.weight[idx] - np.maximum(path.weight[ref[idx]], line_width)
    solid = path.col[idx][extra >= MARK_MIN_INK * np.maximum(rows[idx], 1)]
    if solid.size == 0:
        keep[idx] = False
        return keep
    cols = path.col[idx]
    pos = np.searchsorted(solid, cols)
    left, right = solid[np.maximum(pos - 1, 0)], solid[np.minimum(pos, solid.size - 1)]
    keep[idx] = np.minimum(np.abs(cols - left), np.abs(cols - right)) <= line_width + 1.0
    return keep


def find_marks(path: Runs, line_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Censor marks on a traced path.

    Returns (mark_groups, is_mark): ``mark_groups`` (M, 5) rows of (first path index, last path
    index, centre column in pixels (sub-pixel), path index of the plateau column the mark was
    measured against, reliability: :data:`RELIABILITY_CLEAR`, :data:`RELIABILITY_ON_DROP` or
    :data:`RELIABILITY_RIBBON`), and a bool per path column flagging mark columns (their level
    is the run's centre: marks are drawn centred on the curve).

    A column is compared with the plateau before it -- or, if that shows no mark, with the one
    after it: a mark right after a drop sits on the level the drop leads to, not the one it
    leaves.
    """
    n = len(path)
    if n == 0:
        return np.empty((0, 5)), np.zeros(0, bool)
    plateau, before, after = plateau_reference(path, line_width)
    thr = max(1.5, 0.4 * line_width)

    def ink_out(ref):
        """(ink rows above, below) the reference plateau's run, and both clearly there."""
        up, down = path.top[ref] - path.top, path.bot - path.bot[ref]
        return up, down, (up > thr) & (down > thr) & ~plateau

    # against the plateau after it only a centred mark: a drop's column has ink above that
    # plateau all the way up, and at most a pixel or two of its foot below
    up_a, down_a, at_after = ink_out(after)
    at_after &= np.minimum(up_a, down_a) >= MARK_MIN_SYMMETRY * np.maximum(up_a, down_a)
    ref = np.where(ink_out(before)[2], before, np.where(at_after, after, before))
    up, down, both = ink_out(ref)
    # the rows a mark adds: as many below the line as above it (a drop may continue below)
    both &= _inked(path, both, ref, up + np.minimum(down, up), line_width)
    # a mark is centred on the line; where a drop continues below it, its part above the line
    # must be about as tall as the figure's other marks': a drop with a pixel or two of noise
    # above its corner is no mark
    centred = both & (up >= MARK_MIN_SYMMETRY * down)
    half = float(np.median(up[centred])) if np.count_nonzero(centred) >= 3 else np.inf
    is_mark = centred | (both & (up > 2.0 * thr) & (up >= 0.75 * half))
    band = np.zeros(n, bool)
    if np.isfinite(half):
        band = dense_band(path, line_width, 2.0 * half)
        ref = np.where(band & ~is_mark, before, ref)
        is_mark |= band

    def on_drop(i: int) -> bool:
        """Path column i (next to a mark) is a drop's column: not a plateau, not a mark."""
        return 0 <= i < n and not plateau[i] and not is_mark[i]

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
                rel = (RELIABILITY_RIBBON if band[ii].any() else
                       RELIABILITY_ON_DROP if on_drop(ii[0] - 1) or on_drop(ii[-1] + 1) else RELIABILITY_CLEAR)
                groups.append((ii[0], ii[-1], centre, ref[ii[0]], rel))
            else:
                # overlapping marks (dense censoring): spread evenly over the blob
                for cc in np.linspace(c[0] + 0.5 * line_width, c[-1] - 0.5 * line_width, n_marks):
                    j = ii[int(np.argmin(np.abs(c - cc)))]
                    groups.append((j, j, float(cc), ref[j], RELIABILITY_RIBBON))
    return np.asarray(groups, float).reshape(-1, 5), is_mark
