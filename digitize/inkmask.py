"""Pixel classification for curve extraction: CIE Lab conversion, background colour, grid lines,
and per-arm "ink coverage" maps.

Anti-aliased curve pixels are blends of the arm colour and the paper: ``p = bg + a (c - bg)``
with coverage ``a`` in [0, 1] (Agg blends in sRGB). So each pixel is projected on the segment
bg -> arm colour (coverage ``a``) and its perceptual distance (CIE76 Delta E in Lab) to the
nearest blend measures how well the arm explains it. A pixel goes to the arm whose blend is
nearest (overlapping/anti-aliased pixels to the nearest arm), if within that arm's tolerance.
Shaded confidence bands (same hue, low coverage, wide) are removed with a morphological
top-hat: coverage minus its grey opening by a square larger than any line width.
"""
from __future__ import annotations

import numpy as np

#: pixels closer than this (Delta E) to the paper colour are background
BG_DELTA_E = 8.0
#: box (pixels) over which a coloured line's washed-out colour is judged (JPEG 4:2:0 halves chroma)
CHROMA_BLUR = 3


def rgb_to_lab(rgb) -> np.ndarray:
    """RGB (uint8 0-255 or float 0-255), any leading shape, -> float32 CIE Lab (L 0-100)."""
    import cv2

    a = np.asarray(rgb, dtype=np.float32)
    shape = a.shape
    if a.size == 0:
        return a.copy()
    flat = np.ascontiguousarray(a.reshape(-1, 1, 3) / 255.0, dtype=np.float32)
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(shape)


def chroma(lab) -> np.ndarray:
    lab = np.asarray(lab, float)
    return np.hypot(lab[..., 1], lab[..., 2])


#: a washed-out pixel keeps an arm's hue if its chroma offset from the paper, projected on the
#: arm's, is at least this share of the arm's and leans no further sideways (hue within 45 deg)
KEEP_HUE_SHARE = 0.25
#: ... the share for a pixel a black or grey arm holds to be a washed coloured line's
#: (:func:`leaning_to_colour`)
LEAN_SHARE = 0.15


def keeps_hue(pixel_lab: np.ndarray, arm_rgb, bg_lab, share: float = KEEP_HUE_SHARE) -> np.ndarray:
    """bool per Lab pixel (N, 3): its colour still points from the paper (Lab: one colour, or
    one per pixel (N, 3)) towards the arm's in the (a, b) plane, by at least ``share`` of the
    arm's chroma offset. JPEG (4:2:0) keeps a thin line's lightness but mixes its chroma with the
    neighbours' (a near curve of another colour, a band): a dark core can then be farther from
    every blend of its arm than the tolerance, yet keep the hue; grey ink (text, frames) has none."""
    ref = np.asarray(bg_lab, float)[..., 1:]
    v = rgb_to_lab(np.asarray(arm_rgb, float)[None])[0, 1:] - ref
    d = np.asarray(pixel_lab, float)[:, 1:] - ref
    n2 = np.maximum(np.sum(v * v, axis=-1), 1e-9)
    along = np.sum(d * v, axis=-1) / n2
    side = np.abs(d[:, 0] * v[..., 1] - d[:, 1] * v[..., 0]) / n2
    return (along >= share) & (side <= along)


def is_neutral(rgb, max_chroma: float = 15.0) -> bool:
    """True for black/grey colours (low Lab chroma): curves that colour cannot separate from axes."""
    return bool(chroma(rgb_to_lab(np.asarray(rgb, float)[None]))[0] < max_chroma)


def background_color(rgb: np.ndarray) -> np.ndarray:
    """The paper colour of an image region: the most frequent colour (6 bits per channel), as float RGB."""
    a = np.asarray(rgb, np.uint8).reshape(-1, 3)
    if a.shape[0] > 400_000:  # a regular subsample is plenty for a mode
        a = a[:: a.shape[0] // 400_000 + 1]
    q = (a >> 2).astype(np.int64)
    code = (q[:, 0] << 12) | (q[:, 1] << 6) | q[:, 2]
    best = int(np.argmax(np.bincount(code, minlength=1 << 18)))
    sel = code == best
    return a[sel].astype(float).mean(axis=0)


def lab_distance(lab: np.ndarray, ref, index: np.ndarray | None = None) -> np.ndarray:
    """CIE76 Delta E (float32) between Lab pixels ``lab`` (..., 3) and ``ref``: one colour (3,),
    per-pixel colours (..., 3), or with ``index`` (integer array shaped like the pixels) a colour
    table (N, 3) looked up per pixel. Channel by channel: the same float32 operations as
    ``np.linalg.norm`` of the difference, without its (..., 3) temporaries."""
    lab = np.asarray(lab, np.float32)
    ref = np.asarray(ref, np.float32)
    out = None
    for ch in range(3):
        e = (ref[:, ch][index] if index is not None else ref[..., ch]) - lab[..., ch]
        e *= e
        out = e if out is None else np.add(out, e, out=out)
    return np.sqrt(out, out=out)


def foreground(lab: np.ndarray, bg_lab: np.ndarray, delta_e: float = BG_DELTA_E) -> np.ndarray:
    """Bool map of pixels visibly different from the paper (any ink, text, band, legend frame)."""
    return lab_distance(lab, bg_lab) > delta_e


def _tilted_segments(w: int, slope: float) -> list[tuple[int, int, int]]:
    """The line through row r with ``slope`` (pixels down per pixel right), centred on the middle
    column, lies in row r + o over columns c0..c1-1: the (c0, c1, o) segments, left to right."""
    off = np.rint(slope * (np.arange(w) - (w - 1) / 2.0)).astype(np.intp)
    cut = np.r_[0, np.nonzero(np.diff(off))[0] + 1, w]
    return [(int(c0), int(c1), int(off[c0])) for c0, c1 in zip(cut[:-1], cut[1:])]


def _shifted(h: int, o: int) -> tuple[slice, slice]:
    """Rows r (first slice) whose shifted row r + o (second slice) lies in 0..h-1."""
    return slice(max(0, -o), h - max(0, o)), slice(max(0, o), h + min(0, o))


def line_fractions(mask: np.ndarray, slope: float = 0.0) -> np.ndarray:
    """Fraction of True pixels along each (slightly tilted) row line of ``mask``."""
    h, w = mask.shape
    seg = _tilted_segments(w, slope)
    sums = np.add.reduceat(np.asarray(mask, bool).view(np.uint8), [c0 for c0, _, _ in seg], axis=1,
                           dtype=np.int32)   # (h, segments)
    num = np.zeros(h, np.intp)
    den = np.zeros(h, np.intp)
    for j, (c0, c1, o) in enumerate(seg):
        r, y = _shifted(h, o)
        num[r] += sums[y, j]
        den[r] += c1 - c0
    return num / np.maximum(den, 1)


def lines_mask(rows: np.ndarray, shape: tuple[int, int], slope: float = 0.0, widen: int = 1) -> np.ndarray:
    """Bool map of the tilted row lines flagged in ``rows``, widened by ``widen`` rows."""
    h, w = shape
    rows = np.asarray(rows, bool).copy()
    for _ in range(widen):
        rows = rows | np.r_[rows[1:], False] | np.r_[False, rows[:-1]]
    out = np.zeros(shape, bool)
    if not rows.any():
        return out
    for c0, c1, o in _tilted_segments(w, slope):
        r, y = _shifted(h, o)
        out[y, c0:c1] = rows[r, None]
    return out


def _both_directions(mask: np.ndarray, slopes: tuple[float, float], test) -> np.ndarray:
    """Apply a per-line test to the row lines (slope_h) and the column lines (slope_v)."""
    sh, sv = slopes
    rows = test(line_fractions(mask, sh), mask.shape[0])
    cols = test(line_fractions(mask.T, sv), mask.shape[1])
    return lines_mask(rows, mask.shape, sh) | lines_mask(cols, mask.T.shape, sv).T


#: pixels from a grid line to the parallel lines that must be mostly free of it
GRID_CLEAR = 5
#: pixels darker (L*) than a grid line's core by more than this are not the grid line
GRID_DARKER = 8.0


def grid_lines(lab: np.ndarray, fg: np.ndarray, min_fraction: float = 0.55,
               slopes: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Bool map of light, neutral grid-line pixels: lines (tilted like the axes by ``slopes``:
    horizontal lines' dy/dx, vertical lines' dx/dy) along which most of the region is light grey
    ink, plus their anti-aliased neighbours. Dark pixels (a black curve crossing or lying on a
    grid line) are never marked.
    """
    h, w = fg.shape
    if h < 3 or w < 3:
        return np.zeros_like(fg)
    light = fg & (lab[..., 0] > 45.0)
    c = chroma(lab)
    light_grey = light & (c < 12.0)
    # solid lines: mostly light grey; dotted/dashed lines: light grey with regular gaps. A grid
    # line is thin: the lines GRID_CLEAR pixels either side hold much less of it (a grey shaded
    # band covering most of a row is no grid line, and a grey curve drawn over it stays)
    def thin(f: np.ndarray, thr: float) -> np.ndarray:
        pad = np.pad(f, GRID_CLEAR)   # no lines beyond the region
        around = np.maximum(pad[:-2 * GRID_CLEAR], pad[2 * GRID_CLEAR:])
        return (f >= thr) & (f - around >= 0.5 * thr)

    strong = _both_directions(light_grey, slopes, lambda f, n: thin(f, min_fraction))
    weak = _both_directions(light_grey, slopes, lambda f, n: thin(f, 0.3))
    dense = _both_directions(fg, slopes, lambda f, n: f >= min_fraction)
    out = (strong | (weak & dense)) & light & (c < 15.0)
    if out.any():
        # a grid line's pixels are as light as its core or lighter (anti-aliasing): darker ones
        # along it for a while are a grey curve lying on it (not where curves cross it, nor at
        # the region's border: the fringe of a spine)
        import cv2

        core = float(np.percentile(lab[..., 0][out], 20))
        dark = (out & (lab[..., 0] < core - GRID_DARKER)).view(np.uint8)
        n = 2 * GRID_CLEAR + 1
        lying = (cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, n), np.uint8))
                 | cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((n, 1), np.uint8))).view(bool)
        b = GRID_CLEAR
        lying[:b] = lying[-b:] = False
        lying[:, :b] = lying[:, -b:] = False
        out &= ~lying
    return out


#: pixels across a line to the neighbours its depth is measured against (beyond the
#: anti-aliased rim of a grid line up to 3 px wide)
GRID_SIDE = 3
#: a faint grid line's pixel lies this much (L*) below both neighbours across it ...
GRID_RIDGE = 1.0
#: ... and at most this much: grid lines are light (grey80-grey92 on white: 7-18 L*); curves,
#: even light grey or yellow ones, lie deeper
GRID_MAX_DEPTH = 20.0
#: L* a grid pixel may lie deeper than its line's typical depth (anti-aliasing, JPEG)
GRID_DEPTH_SLACK = 3.0


def faint_grid_lines(light: np.ndarray, chroma_map: np.ndarray, min_fraction: float = 0.55,
                     slopes: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Bool map (H, W) of grid-line pixels found by their depth below their neighbours across the
    line rather than by their colour: light L* (H, W), chroma (H, W) of the pixels.

    General property: a grid line drawn under a translucent confidence band (ggplot draws
    ribbons over the panel grid) is darkened with the band around it: a grey92 line on white
    (too faint to be ink) becomes grey65 inside a band of alpha 0.3, as dark as a grey curve,
    and runs in short straight pieces that follow the band - :func:`grid_lines`, which finds
    grid lines by their ink, misses it. The band multiplies the line and its neighbours alike,
    so inside it the line stands below them by at most its own depth outside (its contrast
    with the paper). Rows (columns, tilted by ``slopes`` as the axes) along which at least
    ``min_fraction`` of the pixels are a faint neutral ridge (GRID_RIDGE < depth <=
    GRID_MAX_DEPTH below the darker neighbour across, chroma < 12) are grid lines; along them
    (and a row either side) every pixel no deeper than the line's median depth +
    GRID_DEPTH_SLACK below the darker neighbour across the line is the grid's (bands or paper)
    unless it lies more than GRID_MAX_DEPTH deeper still below the lighter neighbour along the
    line (where a band's edge crosses the line, the grid outside it is that much lighter at
    most). A curve lying on the line, crossing it or turning a corner on it is deeper and stays.
    """
    h, w = light.shape
    out = np.zeros((h, w), bool)
    s = GRID_SIDE
    if h <= 2 * s or w <= 2 * s:
        return out
    L = np.asarray(light, np.float32)
    pad = np.pad(L, s, mode="edge")
    below_rows = np.minimum(pad[:h, s:s + w], pad[2 * s:, s:s + w]) - L   # across a horizontal line
    below_cols = np.minimum(pad[s:s + h, :w], pad[s:s + h, 2 * s:]) - L   # across a vertical line
    # along a line both neighbours are the line (or, at a band's edge, one of them): a curve's
    # corner on it has the paper on one side
    along_rows = np.maximum(pad[s:s + h, :w], pad[s:s + h, 2 * s:]) - L
    along_cols = np.maximum(pad[:h, s:s + w], pad[2 * s:, s:s + w]) - L
    neutral = np.asarray(chroma_map) < 12.0
    for depth, along, slope, t in ((below_rows, along_rows, slopes[0], False),
                                   (below_cols, along_cols, slopes[1], True)):
        d, a, nm = (depth.T, along.T, neutral.T) if t else (depth, along, neutral)
        ridge = (d > GRID_RIDGE) & (d <= GRID_MAX_DEPTH) & nm
        f = line_fractions(ridge, slope)
        peak = (f >= np.r_[0.0, f[:-1]]) & (f >= np.r_[f[1:], 0.0])
        rows = (f >= min_fraction) & peak
        if not rows.any():
            continue
        # each line's pixels column by column (as lines_mask tilts them): O(width) a line
        hh, ww = d.shape
        cols = np.arange(ww)
        off = np.rint(slope * (cols - (ww - 1) / 2.0)).astype(np.intp)
        m = np.zeros(d.shape, bool)
        for r in np.flatnonzero(rows):
            ys = r + off
            ok = (ys >= 0) & (ys < hh)
            y_, c_ = ys[ok], cols[ok]
            typ = float(np.median(d[y_, c_][ridge[y_, c_]])) + GRID_DEPTH_SLACK
            for k in (-1, 0, 1):   # the line and a row either side
                ok = (ys + k >= 0) & (ys + k < hh)
                y_, c_ = ys[ok] + k, cols[ok]
                m[y_, c_] |= (d[y_, c_] <= typ) & (a[y_, c_] <= typ + GRID_MAX_DEPTH)
        out |= m.T if t else m
    return out


def frame_lines(lab: np.ndarray, band: int, min_fraction: float = 0.8,
                slopes: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, int]:
    """The axes frame (spines) near the region border: lines within ``band`` pixels of an edge
    (tilted like the axes) that are dark along most of their length (a tilted thin spine: a
    pair of neighbouring lines, either dark), plus a pixel either side.

    Returns (bool map, first spine row from the bottom at the middle column, or H if none): a
    black curve can only be told from the axes by position.
    """
    h, w = lab.shape[:2]
    dark = lab[..., 0] < 60.0

    def near_edge(f, n):
        keep = f >= min_fraction
        keep[band:n - band] = False
        return keep

    def spines(m: np.ndarray, slope: float) -> np.ndarray:
        # a thin spine tilted off the pixel grid lies between two row lines for long stretches:
        # its dark pixels split between them. A pair of neighbouring lines dark (either) along
        # most of the length, where neither line is alone, is a spine over both lines
        n = m.shape[0]
        one = near_edge(line_fractions(m, slope), n)
        two = near_edge(np.r_[line_fractions(m[:-1] | m[1:], slope), 0.0], n)
        two &= ~one & ~np.r_[one[1:], False]
        return one | two | np.r_[False, two[:-1]]

    rows = spines(dark, slopes[0])
    cols = spines(dark.T, slopes[1])
    out = lines_mask(rows, dark.shape, slopes[0]) | lines_mask(cols, dark.T.shape, slopes[1]).T
    bottom = np.nonzero(rows[h - band:])[0]
    return out, int(h - band + bottom[0]) if bottom.size else h


#: ink darker than this (L*) can be a drawn box's edge (a thin grey frame at low dpi is ~60)
BOX_MAX_L = 75.0
#: ... and no more chroma than this: a legend's frame is black or grey (two coloured curves'
#: plateaus and censor ticks can also draw a rectangle)
BOX_MAX_CHROMA = 15.0
#: a box's horizontal sides must be dark along this fraction of their length
BOX_MIN_COVER = 0.9
#: ... and at most this fraction of its inside (text, a line swatch; not a patch of ink)
BOX_MAX_FILL = 0.3


def drawn_boxes(lab: np.ndarray, min_side: int, slopes: tuple[float, float] = (0.0, 0.0),
                exclude: np.ndarray | None = None) -> np.ndarray:
    """Bool map of drawn rectangles (a legend's frame; pixels, tilted like the axes by
    ``slopes``) with sides of ``min_side`` pixels or more: the frame, a pixel either side of it,
    and what it holds (legend text and swatches are no curve either).

    A rectangle is two thin dark vertical lines of the same extent whose tops and bottoms are
    joined by dark horizontal lines, mostly paper inside. A KM curve never draws one: it cannot
    return to a row it dropped from, so no two of its drops share both their ends with a plateau
    across their tops; a black curve passing by or ending on a legend's frame would otherwise
    follow the frame.
    ``exclude``: bool map of pixels whose vertical lines are no box sides (the axes' spines).
    """
    import cv2

    h, w = lab.shape[:2]
    out = np.zeros((h, w), bool)
    k = max(2, int(min_side) // 2)
    if h < min_side or w < min_side:
        return out
    dark = lab[..., 0] < BOX_MAX_L
    idx = np.flatnonzero(dark)
    dark.reshape(-1)[idx] = chroma(lab.reshape(-1, 3)[idx]) < BOX_MAX_CHROMA
    dark = dark.view(np.uint8)
    # lines a few pixels long in one direction, widened across it by a pixel (tilted lines)
    ver = cv2.morphologyEx(cv2.dilate(dark, np.ones((1, 3), np.uint8)), cv2.MORPH_OPEN,
                           np.ones((k, 1), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ver, connectivity=8)
    sx, sy, sw, sh = (stats[1:, i] for i in range(4))
    keep = (sh >= min_side) & (sw <= k)   # (a patch of overlapping curves is no thin line)
    if exclude is not None and keep.any():
        spine = np.bincount(labels.ravel(), weights=np.asarray(exclude, bool).ravel(), minlength=n)[1:]
        keep &= spine < 0.5 * stats[1:, cv2.CC_STAT_AREA]
    idx = np.flatnonzero(keep)
    if idx.size < 2:
        return out
    xc = sx[idx] + 0.5 * (sw[idx] - 1)
    top, bot = sy[idx].astype(float), (sy[idx] + sh[idx] - 1).astype(float)
    # pairs (left, right) whose ends lie on lines tilted like the x axis, within 3 pixels
    dx = xc[None, :] - xc[:, None]
    tilt = slopes[0] * dx
    tol = 3.0 + np.abs(slopes[1]) * sh[idx][:, None]
    pair = (dx >= min_side) & (np.abs(top[None, :] - top[:, None] - tilt) <= tol) & \
           (np.abs(bot[None, :] - bot[:, None] - tilt) <= tol)
    # a box over most of the region both ways is the axes' own (spines drawn as a box), no legend
    pair &= ~((dx > 0.5 * w) & (np.minimum(sh[idx][:, None], sh[idx][None, :]) > 0.5 * h))
    if not pair.any():
        return out
    hor = cv2.morphologyEx(cv2.dilate(dark, np.ones((3, 1), np.uint8)), cv2.MORPH_OPEN,
                           np.ones((1, k), np.uint8)) > 0
    band = np.zeros((h, w), np.uint8)
    for i, j in zip(*np.nonzero(pair)):
        # the sides' line width (the opening widened them by a pixel either side)
        lw = float(max(1, min(sw[idx[i]], sw[idx[j]]) - 2))
        xs = np.arange(int(np.ceil(xc[i])), int(xc[j]) + 1)
        reach = int(3 + 2 * lw)   # rows a curve along a side may add to the sides' extents
        corners = []
        for y_i, y_j, inward in ((top[i], top[j], 1), (bot[i], bot[j], -1)):
            ys = np.rint(y_i + (xs - xc[i]) * (y_j - y_i) / dx[i, j]).astype(np.intp)
            # the innermost line dark along the side (a curve along it lies outside the box)
            found = None
            for d in range(reach, -reach - 1, -1):
                r = ys + inward * d
                if r.min() >= 0 and r.max() < h and hor[r, xs].mean() >= BOX_MIN_COVER:
                    found = d
                    break
            if found is None:
                break
            # hor is a pixel wider than the line each way: the line's centre from its inner edge
            c = inward * (found - 1 - 0.5 * (lw - 1.0))
            corners.append([[xc[i], y_i + c], [xc[j], y_j + c]])
        if len(corners) == 2:
            (tl, tr), (bl, br) = corners
            m = int(np.ceil(lw)) + 2
            inside = dark[int(max(tl[1], tr[1])) + m:int(min(bl[1], br[1])) - m + 1, xs[0] + m:xs[-1] - m + 1]
            if inside.size == 0 or inside.mean() > BOX_MAX_FILL:
                continue
            poly = [np.rint([tl, tr, br, bl]).astype(np.int32)]
            cv2.fillPoly(band, poly, 1)
            cv2.polylines(band, poly, True, 1, int(round(lw)) + 2)
    return band > 0


#: gamma-encoded luma weights (Y' = 0.299 R + 0.587 G + 0.114 B)
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
#: square (pixels) whose closing gives the local paper: wider than lines and censor-mark strokes
LOCAL_PAPER_SIZE = 9
#: a closed region is shaded paper (a band) only if its luma deficit is at most this (0-255)
BAND_MAX_DEFICIT = 110.0
#: ... and it differs from the paper by more than this in some channel (0-255; a band at 10 %
#: opacity differs by 11 or more, JPEG halos by less). A pixel on a band is ink if it differs
#: from the band by as much.
BAND_MIN_OFF = 10.0
#: ... and it holds squares of this side (pixels)
BAND_MIN_SIZE = 15


def local_paper(rgb: np.ndarray, bg_rgb, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where the paper under a pixel is a shaded band, and its colour there.

    A closing by a ``size`` square (pixels, per channel; default LOCAL_PAPER_SIZE) removes
    thin lines and marks but keeps wide light regions: confidence bands of any arm, drawn with
    low opacity. Dark or paper-coloured closings are no band. Returns (band: bool (H, W),
    colours: (N, 3) float32 RGB of the band at its N pixels, row-major)."""
    import cv2

    size = LOCAL_PAPER_SIZE if size is None else int(size)
    bg = np.asarray(bg_rgb, np.float32)
    closed = cv2.morphologyEx(np.ascontiguousarray(rgb, np.uint8), cv2.MORPH_CLOSE,
                              np.ones((size, size), np.uint8))
    luma = cv2.cvtColor(closed, cv2.COLOR_RGB2GRAY)   # Y' = 0.299 R + 0.587 G + 0.114 B
    off = [cv2.absdiff(ch, float(b)) for ch, b in zip(cv2.split(closed), np.rint(bg))]
    off = cv2.max(cv2.max(off[0], off[1]), off[2])
    band = (luma >= float(bg @ LUMA) - BAND_MAX_DEFICIT) & (off > BAND_MIN_OFF)
    # bands are wide both ways: JPEG halos round a line's corners and plateaus are not
    wide = np.ones((BAND_MIN_SIZE, BAND_MIN_SIZE), np.uint8)
    band = cv2.morphologyEx(band.view(np.uint8), cv2.MORPH_OPEN, wide).view(bool)
    return band, closed[band].astype(np.float32)


#: band opacities tried when the bands are explained as stacks of the arms' fills
STACK_ALPHAS = np.arange(0.05, 0.61, 0.01)
#: a band colour is a stack's when within this distance (RGB units; ribbons are flat fills)
STACK_RGB = 5.0
#: the stacks must explain at least this share of the band pixels (weighted by area)
STACK_MIN_SHARE = 0.6
#: band colours with fewer pixels than this are left out of the fit (anti-aliased edges)
STACK_MIN_PIXELS = 20


def band_stacks(band_rgb: np.ndarray, bg_rgb, arm_rgbs, also: np.ndarray | None = None) -> tuple | None:
    """Transmittance of the bands over each band pixel, if the bands are the arms' own fills.

    General property (confidence ribbons): each arm's band is drawn in the arm's colour at one
    opacity ``alpha`` for all arms (one plotting call), in the arms' order; where bands overlap
    their fills composite. So every band colour is the paper composited with the fills of some
    subset of the arms, ``c <- (1 - alpha) c + alpha F_i`` in order, and a curve seen through
    that stack (ggplot draws ribbons over the lines) keeps ``(1 - alpha) ** |subset|`` of its
    contrast with the paper: its pixel is ``band + T (line - paper)``, not the line's colour.

    band_rgb: (N, 3) colours of the band under N pixels (:func:`local_paper`). Fits ``alpha``
    and the draw order (as given or reversed) that explain most band pixels within STACK_RGB.
    Returns (bool (N, K, K): whether a stack of n + 1 layers holding arm i's own band explains
    the pixel's band [:, i, n], so that arm i's curve there may be seen with transmittance
    ``(1 - alpha) ** (n + 1)``; alpha), or None when the stacks explain under STACK_MIN_SHARE
    of the band pixels (other shading). A curve lies inside its own confidence band: only
    stacks holding its band can lie over it. ``also``: more colours (M, 3) to read with the
    fitted stacks; their (M, K, K) map is returned third."""
    band_rgb = np.asarray(band_rgb, np.float32)
    k = len(arm_rgbs)
    if band_rgb.shape[0] == 0 or not 1 <= k <= 6:
        return None
    q = np.clip(np.rint(band_rgb), 0, 255).astype(np.int32)
    code, inv, counts = np.unique((q[:, 0] << 16) | (q[:, 1] << 8) | q[:, 2], return_inverse=True,
                                  return_counts=True)
    uniq = np.stack([code >> 16, (code >> 8) & 255, code & 255], axis=1)
    inv = inv.ravel()
    keep = counts >= STACK_MIN_PIXELS
    if not keep.any():
        return None
    cols, wts = uniq[keep].astype(np.float32), counts[keep].astype(np.float32)
    order = np.argsort(-wts)[:400]   # the commonest band colours carry the fit
    cols, wts = cols[order], wts[order]
    fills = np.asarray(arm_rgbs, np.float32)
    bg = np.asarray(bg_rgb, np.float32)
    subsets = [[i for i in range(k) if m >> i & 1] for m in range(1, 1 << k)]
    best: tuple = ((-1.0, 0.0), None)
    for seq in (list(range(k)), list(range(k))[::-1]):
        for alpha in STACK_ALPHAS:
            stack = np.empty((len(subsets), 3), np.float32)
            for j, sub in enumerate(subsets):
                c = bg.copy()
                for i in seq:
                    if i in sub:
                        c = (1.0 - alpha) * c + alpha * fills[i]
                stack[j] = c
            d = np.linalg.norm(cols[:, None, :] - stack[None, :, :], axis=2).min(axis=1)
            hit = d <= STACK_RGB
            # the most band area explained; of equals, the closest fit
            score = (round(float(wts[hit].sum() / wts.sum()), 3),
                     -float((wts[hit] * d[hit]).sum() / max(wts[hit].sum(), 1.0)))
            if best[1] is None or score > best[0]:
                best = (score, (alpha, stack))
    alpha, stack = best[1]
    # the share among all band pixels (the fit saw the common colours only)
    d_all = np.linalg.norm(uniq[:, None, :].astype(np.float32) - stack[None, :, :], axis=2)
    hit = d_all.min(axis=1) <= STACK_RGB
    if counts[hit].sum() < STACK_MIN_SHARE * counts.sum():
        return None
    # every stack explaining the colour: three grey ribbons can composite to within a unit of
    # one black ribbon's grey, and the pixels cannot tell which lies there
    def explained(colours: np.ndarray) -> np.ndarray:
        fits = np.linalg.norm(colours[:, None, :].astype(np.float32) - stack[None, :, :], axis=2) <= STACK_RGB
        ok = np.zeros((colours.shape[0], k, k), bool)
        for j, sub in enumerate(subsets):
            for i in sub:
                ok[:, i, len(sub) - 1] |= fits[:, j]
        return ok

    ok = explained(uniq)[inv]
    if also is None:
        return ok, float(alpha)
    return ok, float(alpha), explained(np.asarray(also, np.float32))


def arm_coverage(
    rgb: np.ndarray,
    lab: np.ndarray,
    bg_rgb: np.ndarray,
    arm_rgbs: list[tuple[int, int, int]],
    chroma_blur: int = CHROMA_BLUR,
    paper: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per arm k: coverage ``a_k`` (H, W) of each pixel by the arm's ink (projection on the segment
    paper -> arm colour; may exceed 1 slightly) and Delta E ``d_k`` to the nearest blend.

    For a coloured arm ``d_k`` is the smaller of the pixel's own distance and that of the
    ``chroma_blur`` x ``chroma_blur`` box mean around it, scaled from the mean's coverage to the
    pixel's: JPEG keeps colour at half resolution (4:2:0), so the core of a 1-2 px line keeps
    its lightness but loses much of its saturation and hue, while the local mean of the line and
    its neighbours still lies on the blend segment (at the mean coverage). Black and grey arms
    have no colour to lose and use the pixel alone.

    paper: optional shaded bands under the pixels (:func:`local_paper`). Over a band the blend
    runs from the band's colour to the arm's: a curve drawn over another arm's band keeps its
    colour, and the band itself is no ink (coverage 0).

    Returns (coverage (K, H, W) float32, distance (K, H, W) float32).
    """
    rgbf = np.asarray(rgb, np.float32)
    bg = np.asarray(bg_rgb, np.float32)
    h, w = rgbf.shape[:2]
    d = (rgbf.reshape(h, w * 3) - np.tile(bg, w)).reshape(h, w, 3)   # long rows: faster than broadcasting
    k = len(arm_rgbs)
    cov = np.empty((k,) + rgbf.shape[:2], np.float32)
    dist = np.empty_like(cov)
    levels = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    mean = None   # the chroma_blur box mean of the image, (H * W, 3), when first needed
    inked = None   # flat indices of band pixels with ink on them (unmixed against the band)
    if paper is not None and paper[0].any():
        band_idx = np.flatnonzero(paper[0])   # row-major, as the colours
        rgb_band = rgbf.reshape(-1, 3)[band_idx]
        ink = np.abs(rgb_band - paper[1]).max(axis=1) > BAND_MIN_OFF
        inked, bare = band_idx[ink], band_idx[~ink]
        paper_band, rgb_band = paper[1][ink], rgb_band[ink]
        lab_band = np.asarray(lab, np.float32).reshape(-1, 3)[inked]
        y = rgbf @ LUMA
        pad = np.pad(y, 1, mode="edge")
        core = (y <= np.minimum.reduce([pad[:-2, 1:-1], pad[2:, 1:-1], pad[1:-1, :-2], pad[1:-1, 2:]]) + 0.5)
        import cv2

        med = cv2.medianBlur(np.ascontiguousarray(rgb, np.uint8), BAND_MEDIAN).reshape(-1, 3)[inked]
        band_blend = _band_blends(rgb_band, lab_band, paper_band, paper[1], ink, core.reshape(-1)[inked],
                                  bg, arm_rgbs, med.astype(np.float32))

    def blend_distance(pixel_lab, a, lut):
        return lab_distance(pixel_lab, lut, np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.intp))

    for i, c in enumerate(arm_rgbs):
        v = np.asarray(c, np.float32) - bg
        n2 = float(v @ v)
        if n2 < 1.0:
            cov[i] = 0.0
            dist[i] = np.inf
            continue
        a = (d @ v) / n2
        # the blend's Lab depends on the clipped coverage only: a 256-entry lookup table
        lut = rgb_to_lab(bg[None, :] + levels[:, None] * v[None, :])
        dist[i] = blend_distance(lab, a, lut)
        cov[i] = a
        if inked is not None:
            # bare band: no arm's ink; inked band pixels: the blend from the band to the arm colour
            cov[i].reshape(-1)[bare] = 0.0
            dist[i].reshape(-1)[bare] = np.inf
            cov[i].reshape(-1)[inked], dist[i].reshape(-1)[inked] = band_blend[i]
        if chroma_blur > 1 and not is_neutral(c):
            if mean is None:
                import cv2

                mean = cv2.blur(rgbf, (chroma_blur, chroma_blur)).reshape(-1, 3)
            # only inked pixels the arm does not already explain can gain (a small fraction)
            flat = dist[i].reshape(-1)
            sel = (a.reshape(-1) >= 0.15) & (flat > 4.0)
            if inked is not None:   # the band pixels have their own blend
                sel &= ~paper[0].reshape(-1)
            idx = np.flatnonzero(sel)
            a_m = ((mean[idx] - bg) @ v) / n2
            # the mean's distance shrinks with its coverage (blends converge on the paper):
            # rescale it to the pixel's own coverage so faint dark ink nearby gains nothing
            scale = np.clip(a.reshape(-1)[idx], 0.0, 1.0) / np.maximum(np.clip(a_m, 0.0, 1.0), 0.05)
            d_m = blend_distance(rgb_to_lab(mean[idx]), a_m, lut) * np.maximum(scale, 1.0)
            flat[idx] = np.minimum(flat[idx], d_m)
    return cov, dist


#: a band pixel is explained by a blend within this Delta E (when choosing what was drawn on top)
UNDER_DE = 3.0
#: window (pixels) of the local median read as the band under crowded marks
BAND_MEDIAN = 15
#: ... at full coverage within this (a line's core)
CORE_SLACK = 0.15
#: curves are looked for under the bands when that alone explains this many line cores ...
UNDER_MIN_CORES = 50
#: ... and at least this many times as many as only the curves drawn over the bands explain
#: (less than one: survminer draws its censor marks over the ribbons, the curves under them.
#: Measured: lines under ribbons (R) 0.7-18; lines over bands (our generator, grey arms, JPEG)
#: at most 0.2, where chance matches of grey blends make up the first count)
UNDER_VS_OVER = 0.5


def band_under(ok_closed: np.ndarray, ok_median: np.ndarray, closed_px: np.ndarray, median_px: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(stacks explaining the band, band colour) under N pixels, from the two readings of the
    band there: the closing (:func:`local_paper`, ``closed_px``) and the local median
    (BAND_MEDIAN, ``median_px``), each (N, 3), with their :func:`band_stacks` maps (N, K, K).
    Where marks drawn over the bands crowd (lighter than a dark overlap: survminer's censor
    ticks), the closing reads them as the band; the median still sees the band, so it is taken
    wherever a stack explains it."""
    by_median = ok_median.any(axis=(1, 2))
    return (np.where(by_median[:, None, None], ok_median, ok_closed),
            np.where(by_median[:, None], median_px, closed_px))


def _blend_to(rgb_px, lab_px, base, v):
    """(coverage, Delta E to the nearest blend) of pixels (N, 3) on the segments base -> base + v."""
    a = ((rgb_px - base) * v).sum(axis=1) / np.maximum((v * v).sum(axis=1), 1.0)
    return a, lab_distance(lab_px, rgb_to_lab(base + np.clip(a, 0.0, 1.0)[:, None] * v))


def _band_blends(rgb_px, lab_px, band_px, band_all, inked, line_core, bg, arm_rgbs, median_px) -> list:
    """Per arm (coverage, Delta E) of the inked band pixels (colours ``rgb_px``/``lab_px``, band
    under them ``band_px``): the curve drawn over the band (blend band -> arm colour) or, when
    the bands are stacks of the arms' fills (:func:`band_stacks`), seen through them (blend
    band -> band + T (arm - paper)), whichever explains the pixel better. Plotting programs
    differ, and one figure can hold both: survminer draws the ribbons over the curves but the
    censor marks over the ribbons. The second reading is used only when it alone explains a
    fair number of line cores (``line_core``: bool per pixel, no lighter than its four
    neighbours) at full coverage: UNDER_MIN_CORES, and UNDER_VS_OVER times those only the
    first one explains. ``band_all``/``inked``: every band pixel's colour and which are inked (the stacks
    are fitted on all band pixels); ``median_px``: the local median colour (BAND_MEDIAN) at the
    inked band pixels, the band under them where a stack explains it."""
    over = [_blend_to(rgb_px, lab_px, band_px, np.asarray(c, np.float32)[None, :] - band_px) for c in arm_rgbs]
    fit = band_stacks(band_all, bg, arm_rgbs, also=median_px) if len(arm_rgbs) else None
    if fit is None:
        return over
    alpha = fit[1]
    ok, band_px = band_under(fit[0][inked], fit[2], band_px, median_px)
    known = ok.any(axis=(1, 2))
    if not known.any():
        return over
    under = []
    for i, c in enumerate(arm_rgbs):
        # the best of the layer counts the band allows
        a = np.zeros(int(known.sum()), np.float32)
        d = np.full(a.shape, np.inf, np.float32)
        for n in range(ok.shape[2]):
            sel = ok[known, i, n]
            if not sel.any():
                continue
            idx = np.flatnonzero(known)[sel]
            v = (1.0 - alpha) ** (n + 1) * (np.asarray(c, np.float32) - np.asarray(bg, np.float32))[None, :]
            an, dn = _blend_to(rgb_px[idx], lab_px[idx], band_px[idx], np.repeat(v, idx.size, axis=0))
            better = dn < d[sel]
            a[np.flatnonzero(sel)[better]], d[np.flatnonzero(sel)[better]] = an[better], dn[better]
        under.append((a, d))

    def cores(blends, sel) -> np.ndarray:
        # a line's core is its colour at full coverage: black and grey arms' blends are all one
        # line through the paper, so only coverage tells which drawing explains a pixel
        return np.any([(d[sel] <= UNDER_DE) & (np.abs(a[sel] - 1.0) <= CORE_SLACK) for a, d in blends],
                      axis=0) & line_core[known]

    by_over = cores(over, known)
    by_under = cores(under, slice(None))
    n_new = int(np.count_nonzero(by_under & ~by_over))
    n_old = int(np.count_nonzero(by_over & ~by_under))
    if n_new < max(UNDER_MIN_CORES, UNDER_VS_OVER * n_old):
        return over
    out = []
    for (a, d), (au, du) in zip(over, under):
        a, d = a.copy(), d.copy()
        better = du < d[known]
        idx = np.flatnonzero(known)[better]
        a[idx], d[idx] = au[better], du[better]
        out.append((a, d))
    return out


#: Delta E charged per unit of missing coverage when choosing an arm: breaks the tie between a
#: solid grey curve and the anti-aliased edge of a black one (both lie on the same blend line)
COVERAGE_TIE_WEIGHT = 3.0


#: one arm's colour is darker than another's if its L* is lower by more than this
DARKER_L = 5.0


def assign_arms(cov: np.ndarray, dist: np.ndarray, tolerances, arm_rgbs) -> np.ndarray:
    """Arm index per pixel (H, W): nearest blend, ties broken towards full coverage; then the
    anti-aliased rim of a solid line (pixels next to its core that its blend explains) goes to
    that line even if a lighter arm's colour matches it. -1 = no arm within tolerance."""
    import cv2

    tol = np.asarray(tolerances, np.float32)[:, None, None]
    # argmin over the arms of the score, one arm at a time (first minimum, as np.argmin)
    nearest = np.zeros(cov.shape[1:], np.intp)
    low = None
    for k in range(cov.shape[0]):
        score = np.where(dist[k] <= tol[k], dist[k] + COVERAGE_TIE_WEIGHT * np.abs(1.0 - cov[k]), np.inf)
        if low is None:
            low = score
            continue
        nearest[score < low] = k
        np.minimum(low, score, out=low)
    nearest[~np.isfinite(low)] = -1
    lightness = rgb_to_lab(np.asarray(arm_rgbs, float))[:, 0]
    kernel = np.ones((5, 5), np.uint8)
    for k in np.argsort(lightness):   # darkest first
        core = (nearest == k) & (cov[k] >= 0.7)
        if not core.any():
            continue
        rim = (cv2.dilate(core.astype(np.uint8), kernel) > 0) & (dist[k] <= tol[k]) & (cov[k] >= 0.15)
        ys, xs = np.nonzero(rim & (nearest != k))   # rim pixels another arm (or none) holds
        held = nearest[ys, xs]
        owner = np.where(held < 0, k, held)
        # a lighter arm's pixel that is not its own solid core: the darker line's rim
        lighter_rim = (lightness[owner] > lightness[k] + DARKER_L) & (cov[owner, ys, xs] < 0.85)
        steal = (held < 0) | lighter_rim
        nearest[ys[steal], xs[steal]] = k
    return nearest


def leaning_to_colour(nearest: np.ndarray, lab: np.ndarray, bg_lab, dist: np.ndarray, tolerances, arm_rgbs,
                      paper: tuple[np.ndarray, np.ndarray] | None = None, ink: np.ndarray | None = None,
                      share: float = LEAN_SHARE) -> np.ndarray:
    """Per pixel a black or grey arm holds (``nearest``; only where ``ink``, bool (H, W), e.g.
    :func:`foreground`): the coloured arm whose hue its colour leans towards from the paper under
    it (:func:`keeps_hue` at ``share``; ``paper``: :func:`local_paper`'s bands), within that
    arm's ``tolerances`` (Delta E; the nearest such arm); -1 elsewhere (int (H, W)). JPEG washes
    a thin coloured line (a dashed one above all) to grey, nearer a neutral arm's blend than its
    own, but its chroma still leans; a neutral line next to a coloured one leans too (JPEG
    spreads chroma over a few pixels): the caller tells them apart by where the neutral arms'
    traces run."""
    out = np.full(nearest.shape, -1, np.intp)
    neutral = np.array([is_neutral(c) for c in arm_rgbs])
    if neutral.all() or not neutral.any():
        return out
    held = (nearest >= 0) & neutral[np.clip(nearest, 0, None)]
    if ink is not None:
        held &= ink
    near = np.zeros(nearest.shape, bool)
    for j in np.flatnonzero(~neutral):
        near |= dist[j] <= tolerances[j]
    idx = np.flatnonzero(held & near)
    if idx.size == 0:
        return out
    ref = np.broadcast_to(np.asarray(bg_lab, np.float32), (idx.size, 3)).copy()
    if paper is not None and paper[0].any():
        pos = np.full(nearest.size, -1, np.int64)
        pos[np.flatnonzero(paper[0])] = np.arange(paper[1].shape[0])
        on = pos[idx] >= 0
        ref[on] = rgb_to_lab(paper[1][pos[idx[on]]])
    flat_lab = np.asarray(lab, np.float32).reshape(-1, 3)[idx]
    best = np.full(idx.size, np.inf, np.float32)
    for j in np.flatnonzero(~neutral):
        d = dist[j].reshape(-1)[idx]
        ok = (d <= tolerances[j]) & (d < best) & keeps_hue(flat_lab, arm_rgbs[j], ref, share)
        out.reshape(-1)[idx[ok]] = j
        best[ok] = d[ok]
    return out


#: pixels (about a JPEG block) around a darker line's solid core within which a light neutral
#: arm's faint ink may be that line's anti-aliasing or compression ringing
HALO_RADIUS = 8
#: ... if its mean coverage, in units of the darker arm's coverage, is below this
HALO_MAX_COVERAGE = 0.15


def darker_halos(nearest: np.ndarray, cov: np.ndarray, arm_rgbs, bg_rgb) -> list[np.ndarray | None]:
    """Per arm: float32 map (H, W) of the mean coverage (0-1, of the arm's colour) below which
    its ink within HALO_RADIUS pixels of a darker arm's solid core (pixels it holds with
    coverage >= 0.7) may be that darker line's halo: HALO_MAX_COVERAGE of the darker arm's
    coverage, converted (0 away from darker cores); None for coloured arms and the darkest.
    Every light grey pixel lies on a grey arm's blend line, and a faint rim of a much darker
    line is as dark as the light arm's solid ink."""
    import cv2

    rgbs = np.asarray(arm_rgbs, float)
    lightness = rgb_to_lab(rgbs)[:, 0]
    contrast = np.linalg.norm(rgbs - np.asarray(bg_rgb, float), axis=1)   # (RGB units)
    kernel = np.ones((2 * HALO_RADIUS + 1, 2 * HALO_RADIUS + 1), np.uint8)
    near: dict[int, np.ndarray] = {}
    out: list[np.ndarray | None] = []
    for k, c in enumerate(arm_rgbs):
        darker = np.flatnonzero(lightness < lightness[k] - DARKER_L)
        if not is_neutral(c) or darker.size == 0:
            out.append(None)
            continue
        level = np.zeros(nearest.shape, np.float32)
        for j in darker.tolist():
            if j not in near:
                core = ((nearest == j) & (cov[j] >= 0.7)).view(np.uint8)
                near[j] = cv2.dilate(core, kernel).view(bool)
            np.maximum(level, np.float32(HALO_MAX_COVERAGE * contrast[j] / max(contrast[k], 1.0)), out=level,
                       where=near[j])
        out.append(level)
    return out


def default_tolerance(arm_rgb, bg_rgb) -> float:
    """Adaptive Delta E tolerance for an arm colour: about half the distance to the nearest
    non-arm ink (black text/axes, grey grid), clamped to 10-30. Arms compete by nearest colour,
    so other arms' colours do not shrink it."""
    lab = rgb_to_lab(np.asarray(arm_rgb, float)[None])[0]
    refs = rgb_to_lab(np.array([[0, 0, 0], [128, 128, 128], [176, 176, 176]], float))
    dists = np.linalg.norm(refs - lab, axis=1)
    dists = dists[dists > 15.0]
    near = float(dists.min()) if dists.size else 60.0
    return float(np.clip(0.45 * near, 10.0, 30.0))


def top_hat(coverage: np.ndarray, size: int, band_max: float = 0.6, base: np.ndarray | None = None
            ) -> np.ndarray:
    """Coverage minus its grey opening by a ``size`` x ``size`` square (pixels) where that opening
    is fainter than ``band_max``, relative to the band's headroom: keeps thin lines and solid blobs,
    removes wide shaded regions (confidence bands, drawn with low opacity) of the same colour.

    ``base``: the coverage the band level is estimated from (default ``coverage``). Pass it
    before pixels were blanked out (grid lines, the frame, a user mask): a strip of band left
    between such a hole and the band's edge, thinner than the square, would otherwise keep its
    full coverage and look like a curve line.
    """
    import cv2

    if size < 3:
        return coverage
    kernel = np.ones((size, size), np.uint8)
    src = coverage if base is None else base
    opened = cv2.morphologyEx(src.astype(np.float32), cv2.MORPH_OPEN, kernel)
    # only faint wide regions are bands; solid wide ink (overlapping censor marks) stays.
    # A line over a band of level b has coverage b + c (1 - b): report c, the line's own.
    band = np.where(opened < band_max, opened, 0.0)
    return (coverage - band) / (1.0 - band)
