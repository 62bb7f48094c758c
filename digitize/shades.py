"""Telling apart two arms drawn in shades of one hue (dark and light blue, say) by line darkness.

Colour alone fails there once JPEG has washed a thin line out: 4:2:0 chroma subsampling leaves
a 1-1.5 px line's core with its lightness but little of its hue or saturation, and a light-blue
core then looks like a dark-blue pixel at partial coverage. What survives is how much ink the
line puts down, read from luma (Y' = 0.299 R + 0.587 G + 0.114 B, which JPEG keeps at full
resolution and which is linear in the coverage of an sRGB blend): across a plateau (a vertical
run of the ink mask in one column) the summed luma deficit, in units of the darker colour's,
is about the line width ``w`` for the darker arm and ``lambda * w`` for the lighter one, where
``lambda`` is the lighter colour's deficit over the darker's (about 0.7 for dark vs light
blue). Both arms are drawn with one pen width in practice, so the runs fall into two clusters
whose ratio is known; each plateau run goes to the cluster its (along-the-line smoothed) sum is
nearest to. Vertical drops and marks keep the
per-pixel colour decision, as do runs whose colour tells the arms apart clearly.
"""
from __future__ import annotations

import numpy as np

from digitize.inkmask import LUMA, is_neutral
from digitize.trace import column_runs, line_width_guess, run_pixels

#: blends whose directions from the paper differ by less than this (degrees, RGB) are one hue
MAX_ANGLE_DEG = 20.0
#: ... and whose depth ratio is below this are told apart by darkness
MAX_DEPTH_RATIO = 0.85
#: core-pixel Delta E difference beyond which the colour itself decides
CLEAR_COLOUR_DE = 10.0
#: each cluster must hold at least this fraction of the plateau runs for the split to be trusted
MIN_CLUSTER_FRACTION = 0.1
#: runs putting down less ink than this (pixels of line width) are not lines
MIN_SUM_PX = 0.35
#: columns over which run sums are averaged along a plateau
SMOOTH_COLUMNS = 9


def luma(rgb) -> np.ndarray:
    """Gamma-encoded luma Y' (0-255) of RGB values, any leading shape."""
    return np.asarray(rgb, np.float32) @ LUMA


def shade_pairs(arm_rgbs, bg_rgb) -> list[tuple[int, int, float]]:
    """(darker arm, lighter arm, luma-deficit ratio lambda) for every pair of arms of one hue."""
    bg = np.asarray(bg_rgb, float)
    v = [np.asarray(c, float) - bg for c in arm_rgbs]
    deficit = [float(luma(bg) - luma(c)) for c in arm_rgbs]
    # black and grey keep their (absent) colour under JPEG: lightness already tells them apart
    coloured = [not is_neutral(c) for c in arm_rgbs]
    out = []
    for i in range(len(v)):
        for j in range(i + 1, len(v)):
            ni, nj = float(np.linalg.norm(v[i])), float(np.linalg.norm(v[j]))
            if not (coloured[i] and coloured[j]) or min(ni, nj, deficit[i], deficit[j]) < 30.0:
                continue
            if float(v[i] @ v[j]) / (ni * nj) < np.cos(np.radians(MAX_ANGLE_DEG)):
                continue
            dark, light = (i, j) if deficit[i] >= deficit[j] else (j, i)
            lam = deficit[light] / deficit[dark]
            if lam < MAX_DEPTH_RATIO:
                out.append((dark, light, lam))
    return out


def _fit_width(s: np.ndarray, lam: float) -> float:
    """Line width w minimising sum min(|s - w|, |s - lam w|) (two clusters, known ratio)."""
    grid = np.linspace(np.percentile(s, 5), np.percentile(s, 95) / lam, 200)
    cost = np.minimum(np.abs(s[None, :] - grid[:, None]), np.abs(s[None, :] - lam * grid[:, None])).sum(axis=1)
    return float(grid[int(np.argmin(cost))])


def separate_shades(rgb: np.ndarray, nearest: np.ndarray, cov: np.ndarray, dist: np.ndarray, arm_rgbs,
                    bg_rgb) -> tuple[np.ndarray, np.ndarray]:
    """Re-assign plateau runs between arms of one hue by the ink they put down.

    rgb: (H, W, 3) image region; nearest: (H, W) arm index per pixel (-1 none); cov, dist:
    (K, H, W) from :func:`digitize.inkmask.arm_coverage`. Returns (nearest, decided): the
    updated map and a bool map of the pixels this step gave an arm (they count as that arm's ink
    even where their washed colour is beyond its tolerance).
    """
    nearest = nearest.copy()
    decided = np.zeros(nearest.shape, bool)
    pairs = shade_pairs(arm_rgbs, bg_rgb)
    y = luma(rgb) if pairs else None
    for dark, light, lam in pairs:
        either = ((nearest == dark) | (nearest == light)) & (np.maximum(cov[dark], cov[light]) >= 0.3)
        # the pixel's coverage by the darker colour as its luma says (the lighter one's is lambda x)
        c_dark = np.clip((luma(bg_rgb) - y) / (luma(bg_rgb) - luma(arm_rgbs[dark])), 0.0, 1.2)
        lw = line_width_guess(np.where(either, c_dark, 0.0))
        runs = column_runs(either, np.ones(either.shape, np.float32))
        runs = runs.take((runs.bot - runs.top + 1) <= lw + 2.0)   # plateaus, not drops or marks
        if len(runs) < 20:
            continue
        s = _ink_sums(runs, y, float(luma(arm_rgbs[dark])))
        s = _smooth_along(runs, s, either.shape)
        line = s >= MIN_SUM_PX   # lighter than any line: band or anti-aliasing fringe, left as is
        if line.sum() < 20:
            continue
        runs, s = runs.take(line), s[line]
        w = _fit_width(s, lam)
        to_dark = s > 0.5 * (1.0 + lam) * w
        if not MIN_CLUSTER_FRACTION <= to_dark.mean() <= 1.0 - MIN_CLUSTER_FRACTION:
            continue   # one cluster only: nothing to tell apart by darkness
        # the colour itself decides where it clearly can (PNG, thick lines)
        core = _run_argmax(runs, c_dark)
        ambiguous = np.abs(dist[dark, core, runs.col] - dist[light, core, runs.col]) < CLEAR_COLOUR_DE
        for sel, arm in ((ambiguous & to_dark, dark), (ambiguous & ~to_dark, light)):
            rows, cols, _ = run_pixels(runs.col[sel], runs.top[sel], runs.bot[sel])
            nearest[rows, cols] = arm
            decided[rows, cols] = True
    return nearest, decided


def _ink_sums(runs, y: np.ndarray, y_ink: float) -> np.ndarray:
    """Each run's summed coverage by ink of luma ``y_ink`` (pixels of line width) over its rows
    and one either side, against the local paper: the lighter of the pixels two rows above and
    below (a shaded band or grid line under the curve is not counted as ink)."""
    h = y.shape[0]
    local = np.maximum(y[np.maximum(runs.top - 2, 0), runs.col], y[np.minimum(runs.bot + 2, h - 1), runs.col])
    lo, hi = np.maximum(runs.top - 1, 0), np.minimum(runs.bot + 1, h - 1)
    rows, cols, starts = run_pixels(runs.col, lo, hi)
    paper = np.repeat(local, hi - lo + 1)
    a = np.clip((paper - y[rows, cols]) / np.maximum(paper - y_ink, 1.0), 0.0, 1.2)
    return np.add.reduceat(a, starts)


def _run_argmax(runs, values: np.ndarray) -> np.ndarray:
    """Row of each run's largest value (its line core)."""
    rows, cols, starts = run_pixels(runs.col, runs.top, runs.bot)
    v = values[rows, cols]
    height = runs.bot - runs.top + 1
    best = np.maximum.reduceat(v, starts)
    is_best = v >= np.repeat(best, height)
    first = np.maximum.reduceat(np.where(is_best, -np.arange(v.size), -v.size), starts)
    return rows[-first]


def _smooth_along(runs, s: np.ndarray, shape) -> np.ndarray:
    """Mean of ``s`` over the runs within SMOOTH_COLUMNS // 2 columns on the same rows (a
    plateau's neighbours), read at each run's middle row."""
    import cv2

    rows, cols, _ = run_pixels(runs.col, runs.top, runs.bot)
    height = runs.bot - runs.top + 1
    acc = np.zeros(shape, np.float32)
    cnt = np.zeros(shape, np.float32)
    acc[rows, cols] = np.repeat(s, height)
    cnt[rows, cols] = 1.0
    k = np.ones((1, SMOOTH_COLUMNS), np.float32)
    acc = cv2.filter2D(acc, -1, k, borderType=cv2.BORDER_CONSTANT)
    cnt = cv2.filter2D(cnt, -1, k, borderType=cv2.BORDER_CONSTANT)
    mid = (runs.top + runs.bot) // 2
    return acc[mid, runs.col] / np.maximum(cnt[mid, runs.col], 1.0)
