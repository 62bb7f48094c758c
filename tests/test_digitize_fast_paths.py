"""The vectorised fast paths of digitize give exactly what the plain formulations give.

References here are the direct (slow) definitions: per-pixel tilted-line sums, per-column run
scans, np.linalg.norm, np.argmin, and the dynamic program scoring every candidate run.
"""
from __future__ import annotations

import numpy as np
import pytest

from digitize import trace
from digitize.inkmask import assign_arms, lab_distance, line_fractions, lines_mask
from digitize.trace import (COST_EMPTY_GAP, COST_JUMP, COST_LATE_START, COST_OCCLUDED_GAP, FORBIDDEN,
                            KEEP_PER_COLUMN, SHORT_GAP, Runs, column_runs, trace_path)


def _tilted(h, w, slope):
    off = np.rint(slope * (np.arange(w) - (w - 1) / 2.0)).astype(int)
    y = np.arange(h)[:, None] + off[None, :]
    return y, (y >= 0) & (y < h)


@pytest.mark.parametrize("h,w,slope", [(40, 60, 0.0), (40, 60, 0.1), (61, 37, -0.07), (25, 30, 0.5)])
def test_tilted_lines_match_per_pixel_definition(h, w, slope):
    rng = np.random.default_rng(h * w)
    mask = rng.random((h, w)) < 0.3
    y, valid = _tilted(h, w, slope)
    vals = mask[np.clip(y, 0, h - 1), np.arange(w)[None, :]] & valid
    np.testing.assert_array_equal(line_fractions(mask, slope), vals.sum(1) / np.maximum(valid.sum(1), 1))
    rows = rng.random(h) < 0.2
    want = np.zeros((h, w), bool)
    sel = rows[:, None] & valid
    want[y[sel], np.broadcast_to(np.arange(w), (h, w))[sel]] = True
    np.testing.assert_array_equal(lines_mask(rows, (h, w), slope, widen=0), want)


def test_column_runs_match_column_scan():
    rng = np.random.default_rng(3)
    mask = rng.random((30, 20)) < 0.4
    weight = (rng.random((30, 20)) * 1.3 - 0.1).astype(np.float32)
    runs = column_runs(mask, weight)
    k = 0
    for c in range(20):
        r = 0
        while r < 30:
            if not mask[r, c]:
                r += 1
                continue
            t = r
            while r < 30 and mask[r, c]:
                r += 1
            lo, hi = max(t - 1, 0), min(r, 29) + 1
            wt = np.clip(weight[lo:hi, c], 0, 1).astype(float)
            assert (runs.col[k], runs.top[k], runs.bot[k]) == (c, t, r - 1)
            assert runs.weight[k] == pytest.approx(wt.sum(), abs=1e-12)
            assert runs.cen[k] == pytest.approx((wt * np.arange(lo, hi)).sum() / wt.sum(), abs=1e-9)
            k += 1
    assert k == len(runs)
    assert len(column_runs(np.zeros((5, 4), bool), weight[:5, :4])) == 0


def test_lab_distance_and_assignment_match_numpy_definitions():
    rng = np.random.default_rng(5)
    lab = (rng.random((40, 50, 3)) * 80).astype(np.float32)
    table = (rng.random((256, 3)) * 80).astype(np.float32)
    idx = rng.integers(0, 256, (40, 50))
    np.testing.assert_array_equal(lab_distance(lab, table, idx), np.linalg.norm(table[idx] - lab, axis=-1))
    np.testing.assert_array_equal(lab_distance(lab, table[7]), np.linalg.norm(lab - table[7], axis=-1))
    cov = (rng.random((3, 40, 50)) * 1.2 - 0.1).astype(np.float32)
    dist = (rng.random((3, 40, 50)) * 30).astype(np.float32)
    cov[:, :5], dist[:, :5] = 1.0, 4.0   # exact ties: the first arm wins, as np.argmin
    tol = np.array([15.0, 20.0, 12.0], np.float32)
    # no solid cores (cov < 0.7): only the nearest-blend step acts
    got = assign_arms(np.minimum(cov, 0.69), dist, tol, [(200, 0, 0), (0, 0, 200), (0, 150, 0)])
    score = np.where(dist <= tol[:, None, None], dist + 3.0 * np.abs(1.0 - np.minimum(cov, 0.69)), np.inf)
    want = np.where(np.isfinite(score.min(0)), np.argmin(score, axis=0), -1)
    np.testing.assert_array_equal(got, want)


def _paper_below(empty):
    """(H + 1, W): the first bare row at or below row y of column x (H if none), by a scan."""
    h, w = empty.shape
    out = np.full((h + 1, w), h)
    for x in range(w):
        for y in range(h):
            bare = np.flatnonzero(empty[y:, x])
            if bare.size:
                out[y, x] = y + bare[0]
    return out


def _reference_trace(runs, empty, line_width, max_gap, start_col):
    """The dynamic program scoring every near run and the best runs of every far column."""
    h, w = empty.shape
    dash_gap = int(np.ceil(2.0 * line_width + 3.0))
    below = _paper_below(empty)
    ecum = np.zeros((h, w + 1), np.int64)
    np.cumsum(empty, axis=1, out=ecum[:, 1:])
    col, top, bot, cen = runs.col, runs.top, runs.bot, runs.cen

    row = np.clip(np.rint(cen).astype(int), 0, h - 1)
    n = len(runs)
    best, pred = np.full(n, -np.inf), np.full(n, -1)
    col_best = np.full((w, KEEP_PER_COLUMN), -1)
    up_tol0 = max(1.2, 0.5 * line_width)
    for c in np.unique(col):
        bs = np.nonzero(col == c)[0]
        far = col_best[max(0, c - max_gap - 1):max(0, c - SHORT_GAP)].ravel()
        a = np.r_[far[far >= 0], np.nonzero((col < c) & (col >= c - SHORT_GAP))[0]]
        start = -COST_LATE_START * max(0, c - start_col)
        for b in bs:
            gap = c - col[a] - 1
            dy = np.maximum(np.maximum(top[b] - bot[a], top[a] - bot[b]) - 1, 0)
            e = np.minimum(ecum[row[a], c] - ecum[row[a], col[a] + 1], ecum[row[b], c] - ecum[row[b], col[a] + 1])
            rises = (cen[a] - cen[b]) > (up_tol0 + 0.02 * (gap + 1))
            # a drop from one column to the next across bare paper (in both columns), beyond a
            # dash's gap
            y0, y1 = np.minimum(bot[a] + 1, h), np.maximum(np.minimum(top[b], h), np.minimum(bot[a] + 1, h))
            v = np.array([min(empty[p:q, cc].sum() for cc in (ca, c)) for ca, p, q in zip(col[a], y0, y1)], int)
            # over skipped columns: the part of the drop below the lowest row that a stair down
            # the columns from a's to b's reaches unseen (each step down to the paper below it)
            low = y0.copy()
            for x in range(int(col[a].min(initial=c)), c + 1):
                low = np.where(col[a] <= x, below[low, x], low)
            v = np.maximum(np.where(gap == 0, v, y1 - low) - dash_gap, 0)
            score = best[a] - (COST_OCCLUDED_GAP * gap + (COST_EMPTY_GAP - COST_OCCLUDED_GAP) * e
                               + COST_JUMP * dy + (COST_EMPTY_GAP - COST_JUMP) * v + FORBIDDEN * rises)
            k = int(np.argmax(score)) if a.size else -1
            if a.size and score[k] > start:
                best[b], pred[b] = 1.0 + score[k], a[k]
            else:
                best[b] = 1.0 + start
        keep = bs[np.argsort(-best[bs])][:KEEP_PER_COLUMN]
        col_best[c, :keep.size] = keep
    path = [int(np.argmax(best))]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return np.asarray(path[::-1])


def _runs(cols, tops, bots, rng) -> Runs:
    """Runs from (column, top, bottom) lists: sorted, overlaps within a column dropped."""
    order = np.lexsort((tops, cols))
    col, top, bot = (np.asarray(v)[order] for v in (cols, tops, bots))
    keep = np.r_[True, (col[1:] != col[:-1]) | (top[1:] > bot[:-1] + 1)]   # disjoint runs per column
    col, top, bot = col[keep], top[keep], bot[keep]
    cen = 0.5 * (top + bot) + rng.normal(0, 0.2, col.size)
    return Runs(col, top, bot, cen, (bot - top + 1).astype(float))


@pytest.mark.parametrize("seed,chunk", [(0, 1 << 18), (1, 1 << 18), (2, 50)])
def test_trace_path_matches_full_dynamic_program(seed, chunk, monkeypatch):
    """Dashed descending curve plus stray runs above and below it, over paper with occluded parts
    (small chunks of precomputed costs: chunk boundaries change nothing)."""
    monkeypatch.setattr(trace, "NEAR_PAIRS_PER_CHUNK", chunk)
    rng = np.random.default_rng(seed)
    h, w = 80, 160
    cols, tops, bots = [], [], []
    for c in range(w):
        if (c // 15) % 3 != 2:   # dashes: gaps longer than SHORT_GAP to bridge
            y = int(10 + 0.4 * c)
            cols.append(c), tops.append(y), bots.append(y + 1 + (c % 23 == 0) * 6)
        for _ in range(rng.integers(0, 3)):   # strays
            y = int(rng.integers(0, h - 3))
            cols.append(c), tops.append(y), bots.append(y + int(rng.integers(0, 3)))
    runs = _runs(cols, tops, bots, rng)
    empty = rng.random((h, w)) < 0.3
    empty[25:60, 30:70] = True   # bare paper a drop over skipped columns may not cross
    empty[40:70, 90:120] = rng.random((30, 30)) < 0.9
    for kw in (dict(line_width=2.0, max_gap=40, start_col=0), dict(line_width=1.0, max_gap=25, start_col=5)):
        np.testing.assert_array_equal(trace_path(runs, empty, **kw), _reference_trace(runs, empty, **kw))


@pytest.mark.parametrize("seed,stair", [(0, False), (1, False), (0, True)])
def test_trace_path_does_not_hide_a_drop_across_bare_paper(seed, stair):
    """A curve hidden for a few columns (under something else) does not reappear far below it
    across bare paper that no column between covers: the drop would be drawn. The curve at
    row 20 vanishes at column 60 and goes on at row 21 from column 67 to 110; a longer curve
    runs at row 70 from column 67, below bare paper in every column. Unless ink covers a stair
    down the hidden columns (a steep descent under another curve): then it is the curve. (The
    full dynamic program gives the same paths.)"""
    rng = np.random.default_rng(seed)
    h, w = 90, 160
    cols, tops, bots = [], [], []
    for c in range(w):
        if c <= 60 or 67 <= c <= 110:
            cols.append(c), tops.append(20 + (c > 60)), bots.append(21 + (c > 60))
        if c >= 67:
            cols.append(c), tops.append(70), bots.append(71)
        for _ in range(rng.integers(0, 2)):   # strays (none in the bare paper: no dashed drop)
            y = int(rng.integers(0, h - 3))
            if not 22 <= y <= 68:
                cols.append(c), tops.append(y), bots.append(y + 1)
    runs = _runs(cols, tops, bots, rng)
    empty = rng.random((h, w)) < 0.3
    empty[:, 61:67] = False   # something covers the curve where it is hidden ...
    empty[24:68] = True   # ... but not the paper between the two curves
    for k, x in enumerate(range(61, 67) if stair else ()):
        empty[22 + 8 * k:34 + 8 * k, x] = False
    for kw in (dict(line_width=2.0, max_gap=40, start_col=0), dict(line_width=1.0, max_gap=25, start_col=0)):
        path = trace_path(runs, empty, **kw)
        np.testing.assert_array_equal(path, _reference_trace(runs, empty, **kw))
        after = path[runs.col[path] == 80]
        assert after.size == 1 and runs.top[after[0]] == (70 if stair else 21), kw
