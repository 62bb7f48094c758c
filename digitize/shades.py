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
nearest to, and so does each row run across a vertical drop (its sum read along the row). Sums
are read perpendicular to the line (a steep stretch of small steps is a slanted line, taller
per column), over the ink left after removing bands of any colour, and only for runs that can
be a line: black or grey text and axes, and band edges, would make clusters of their own. Marks
keep the per-pixel colour decision, as do runs whose colour tells the arms apart clearly.
"""
from __future__ import annotations

import numpy as np

from digitize.inkmask import LUMA, chroma, is_neutral, rgb_to_lab, top_hat
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
#: grey arms are told apart by their ink sums only if their lines are at most this wide (pixels:
#: the typical run of the ink and the fitted width)
GREY_MAX_WIDTH = 1.15
#: run sums further than this log ratio from every level cost no more in the width fit
FIT_MAX_LOG = 0.25
#: columns over which run sums are averaged along a plateau
SMOOTH_COLUMNS = 9
#: a line's core is darker than the paper on both sides by at least this fraction of the ink's depth
MIN_DIP = 0.2
#: runs with less Lab chroma than this in the 3 x 3 means at their core and on both sides are
#: black or grey ink on neutral paper (text, axes)
MIN_CHROMA = 2.0


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


def grey_groups(arm_rgbs, bg_rgb) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """The black and grey arms, darkest first, with their luma deficits over the darkest one's
    (levels, 1 first), if there are two or more and each is at most MAX_DEPTH_RATIO of the next
    darker: thin grey lines (about a pixel) never reach their full colour, so a dark line's
    anti-aliased pixels match a lighter grey as well as its own; the ink summed across a line
    does not depend on where it falls in the pixel grid."""
    bg = np.asarray(bg_rgb, float)
    deficit = np.array([float(luma(bg) - luma(c)) for c in arm_rgbs])
    arms = sorted((k for k, c in enumerate(arm_rgbs) if is_neutral(c) and deficit[k] >= 30.0),
                  key=lambda k: -deficit[k])
    levels = deficit[arms] / deficit[arms[0]] if arms else deficit[:0]
    if len(arms) < 2 or (levels[1:] / levels[:-1]).max() >= MAX_DEPTH_RATIO:
        return []
    return [(tuple(arms), levels)]


def _fit_width(s: np.ndarray, levels: np.ndarray, grey: bool = False) -> float:
    """Line width w (pixels) whose multiples ``levels * w`` best match the run sums ``s``: least
    sum over the runs of the distance to the nearest level. For grey arms (up to four levels
    that a wrong w can also fit) the log ratio, capped at FIT_MAX_LOG: ink that is no single
    line (two curves touching, legend samples) then costs the same at any w."""
    grid = np.linspace(np.percentile(s, 5), np.percentile(s, 95) / levels.min(), 200)
    fit = grid[:, None, None] * levels[None, None, :]
    if grey:
        err = np.minimum(np.abs(np.log(np.maximum(s, 1e-3))[None, :, None] - np.log(fit)).min(axis=2), FIT_MAX_LOG)
    else:
        err = np.abs(s[None, :, None] - fit).min(axis=2)
    return float(grid[int(np.argmin(err.sum(axis=1)))])


def separate_shades(rgb: np.ndarray, nearest: np.ndarray, cov: np.ndarray, dist: np.ndarray, arm_rgbs,
                    bg_rgb, skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Re-assign line runs (across plateaus and across drops) between arms of one hue by the
    ink they put down.

    rgb: (H, W, 3) image region; nearest: (H, W) arm index per pixel (-1 none); cov, dist:
    (K, H, W) from :func:`digitize.inkmask.arm_coverage`; skip: optional bool (H, W) map of
    pixels that are no curve (grid, axes frame, user mask), left out when the arms are grey (that
    ink would make a cluster of its own). Returns (nearest, decided): the
    updated map and a bool map of the pixels this step gave an arm (they count as that arm's ink
    even where their washed colour is beyond its tolerance).
    """
    nearest = nearest.copy()
    decided = np.zeros(nearest.shape, bool)
    groups = [((dark, light), np.array([1.0, lam])) for dark, light, lam in shade_pairs(arm_rgbs, bg_rgb)]
    groups += grey_groups(arm_rgbs, bg_rgb)
    y = luma(rgb) if groups else None
    for arms, levels in groups:
        dark, grey = arms[0], is_neutral(arm_rgbs[arms[0]])
        pair = np.isin(nearest, arms)
        if grey and skip is not None:   # (coloured arms' runs of grey ink are dropped below)
            pair &= ~skip
        a = np.clip(cov[list(arms)].max(axis=0), 0.0, 1.0)
        # the pixel's coverage by the darkest colour as its luma says (the others' is levels x)
        c_dark = np.clip((luma(bg_rgb) - y) / (luma(bg_rgb) - luma(arm_rgbs[dark])), 0.0, 1.2)
        lw = line_width_guess(np.where(pair & (a >= 0.3), c_dark, 0.0))
        if grey and lw > GREY_MAX_WIDTH:
            continue   # a wider grey line has a core at its full colour: the colour decides
        # the ink over any band (of whatever colour: its level from all pixels) is the lines'
        either = pair & (top_hat(np.where(pair, a, 0.0), int(max(7, 2 * round(lw) + 3)) | 1, base=a) >= 0.3)
        y_ink = float(luma(arm_rgbs[dark]))
        runs = column_runs(either, a)   # (a: any weight; centres and weights are not used)
        tall = (runs.bot - runs.top + 1) > lw + 2.0   # drops and marks, not a line's cross-section
        plateaus = _line_runs(rgb, y, runs.take(~tall), c_dark, y_ink, grey)
        s = plateaus[1]
        if s.size < 20:
            continue
        w = _fit_width(s, levels, grey)
        if grey and w > GREY_MAX_WIDTH:
            continue
        shares = np.bincount(_nearest_level(s, levels, w), minlength=len(arms)) / s.size
        if (shares >= MIN_CLUSTER_FRACTION).sum() < 2:
            continue   # one cluster only: nothing to tell apart by darkness
        # drops are lines too, read across (in rows) where a column's ink is taller than a line
        in_drop = np.zeros(either.shape, bool)
        rows, cols, _ = run_pixels(runs.col[tall], runs.top[tall], runs.bot[tall])
        in_drop[rows, cols] = True
        runs = column_runs(in_drop.T, a.T)
        across = _line_runs(rgb.transpose(1, 0, 2), y.T, runs.take((runs.bot - runs.top + 1) <= lw + 2.0),
                            c_dark.T, y_ink, grey)
        for (r, sums, core), flip in ((plateaus, False), (across, True)):
            to = np.asarray(arms)[_nearest_level(sums, levels, w)]
            # the colour itself decides where it clearly can (PNG, thick lines): the run's arm
            # explains its core much better or worse than any other arm of the group
            at = (r.col, core) if flip else (core, r.col)
            d = dist[np.asarray(arms)[:, None], at[0][None, :], at[1][None, :]]   # (arms, runs)
            gap = np.abs(d - dist[to, at[0], at[1]])
            ambiguous = np.where(np.asarray(arms)[:, None] == to, np.inf, gap).min(axis=0) < CLEAR_COLOUR_DE
            for arm in arms:
                sel = ambiguous & (to == arm)
                rows, cols, _ = run_pixels(r.col[sel], r.top[sel], r.bot[sel])
                if flip:   # at corners the plateau's decision stands
                    rows, cols = cols, rows
                    free = ~decided[rows, cols]
                    rows, cols = rows[free], cols[free]
                nearest[rows, cols] = arm
                decided[rows, cols] = True
    return nearest, decided


def _nearest_level(s: np.ndarray, levels: np.ndarray, w: float) -> np.ndarray:
    """Index of the level (times line width ``w``) nearest to each run sum ``s``."""
    return np.argmin(np.abs(s[:, None] - w * levels[None, :]), axis=1)


def _column_factor(ink: np.ndarray, rows: np.ndarray, cols: np.ndarray, size: int = 5) -> np.ndarray:
    """|cos| of the local line direction's angle from the horizontal at (rows, cols): the line's
    width over its height in a column (a steep stretch of small steps is a slanted line), from
    the structure tensor of the ``ink`` map summed over a ``size`` x ``size`` pixel box (1 where
    the box is flat)."""
    h, w = ink.shape
    d = np.arange(-(size // 2) - 1, size // 2 + 2)
    patch = ink[np.clip(rows[:, None, None] + d[None, :, None], 0, h - 1),
                np.clip(cols[:, None, None] + d[None, None, :], 0, w - 1)].astype(np.float32)
    gx = patch[:, 1:-1, 2:] - patch[:, 1:-1, :-2]
    gy = patch[:, 2:, 1:-1] - patch[:, :-2, 1:-1]
    jd, je = (gx * gx - gy * gy).sum(axis=(1, 2)), (2.0 * gx * gy).sum(axis=(1, 2))
    r = np.hypot(jd, je)
    cos2 = np.where(r > 1e-6, jd / np.maximum(r, 1e-6), -1.0)   # of twice the gradient's angle
    return np.sqrt(np.clip(0.5 * (1.0 - cos2), 0.0, 1.0))


def _line_runs(rgb: np.ndarray, y: np.ndarray, runs, c_dark: np.ndarray, y_ink: float, grey: bool = False):
    """(runs, sums, core rows): of the vertical ``runs`` (each no taller than a line: a
    horizontal line's cross-section), those that look like a line of either arm, with their ink
    sums (pixels of line width of ink of luma ``y_ink``) times the line's width over its height
    in the column, smoothed along the line. Transposed arrays give the row runs across vertical
    lines."""
    core = _run_argmax(runs, c_dark)
    if core.size == 0:
        return runs, np.zeros(0), core
    keep = _line_like(rgb, y, runs, core, y_ink, grey)
    runs, core = runs.take(keep), core[keep]
    s = _smooth_along(runs, _ink_sums(runs, y, y_ink) * _column_factor(c_dark, core, runs.col), c_dark.shape)
    line = s >= MIN_SUM_PX   # lighter than any line: band or anti-aliasing fringe, left as is
    return runs.take(line), s[line], core[line]


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


def _line_like(rgb: np.ndarray, y: np.ndarray, runs, core: np.ndarray, y_ink: float, grey: bool = False
               ) -> np.ndarray:
    """Bool per run (``core``: its darkest row): it can be a line of either arm. Not so: a
    band's edge (a step in luma, not a dip below the paper on both sides, two rows above and
    below), and black or grey ink on neutral paper (text, axes, ticks; often only their
    anti-aliased rim is a run). Both would make clusters of their own that the width fit must
    not see."""
    h = y.shape[0]
    above, below = np.maximum(runs.top - 2, 0), np.minimum(runs.bot + 2, h - 1)
    side = np.minimum(y[above, runs.col], y[below, runs.col])
    dip = side - y[core, runs.col] >= MIN_DIP * np.maximum(side - y_ink, 1.0)
    if grey:   # the arms are grey themselves
        return dip
    neutral = np.maximum.reduce([_box_chroma(rgb, runs.col, r) for r in (core, above, below)]) < MIN_CHROMA
    return dip & ~neutral


def _box_chroma(rgb: np.ndarray, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Lab chroma of the 3 x 3 pixel mean around each (row, col): a JPEG-washed coloured line
    keeps some colour there (4:2:0 only moves it aside), black or grey ink none."""
    h, w = rgb.shape[:2]
    d = np.arange(-1, 2)
    r = np.clip(rows[:, None, None] + d[None, :, None], 0, h - 1)
    c = np.clip(cols[:, None, None] + d[None, None, :], 0, w - 1)
    box = np.asarray(rgb)[r, c].reshape(-1, 9, 3).astype(np.float32).mean(axis=1)
    return chroma(rgb_to_lab(box))


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
