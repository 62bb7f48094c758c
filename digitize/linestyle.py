"""Line-style signatures: tell curves of one colour apart by how they are drawn.

A solid curve is one long connected stroke (its drops join its plateaus); a dashed one is a
chain of short strokes of one length (the dash), a dotted one a chain of dots about a line
width long; dash-dot alternates both; a thick solid line is a solid one drawn markedly wider
than the colour's thinnest line (base R ``lwd = c(1, 3)``). So the connected pieces of one
colour's ink, measured by their stroke length (bounding box width + height: a dash bent round a step corner keeps its
length), fall into one length class per line style. Where curves cross or run together, their
pieces merge into the longer class; the tracer bridges those stretches by continuity (ink of
another curve on top), never by jumping (:mod:`digitize.trace`).

Pure functions on numpy arrays (crop pixels, bool ink maps).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

STYLES = ("solid", "dashed", "dotted", "dashdot", "thick")
#: styles by the typical length of their pieces (shortest first)
BY_LENGTH = ("dotted", "dashdot", "dashed", "solid", "thick")
#: a thick line holds its width over at least this share of the columns it spans
THICK_COVER = 0.8
#: styles drawn as one unbroken stroke (no dash gaps to bridge)
SOLID_LIKE = ("solid", "thick")
#: a population of short pieces is a dashed or dotted curve if it has at least this many
#: pieces ...
MIN_PIECES = 12
#: ... spread over at least this share of the plot's width ...
MIN_SPAN_SHARE = 0.3
#: ... and falls left to right (Spearman's rho of x and image y at least this): a KM curve
#: never rises; text and legend glyphs are local and unordered
MIN_FALL_RHO = 0.6
#: a short piece is at most this many times the median short piece's length (a dash with a
#: censor mark on it is 2-3 dashes long); longer ones are strokes of a solid line
LONG_FACTOR = 6.0
#: ... and at most this share of the plot's width (a cluster of censor marks on a dashed line
#: is as long as a few dashes; a solid curve's stroke spans a good part of the plot)
LONG_SHARE = 0.06


def pieces(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, stats) of the 8-connected pieces of a bool ink map: labels (H, W) int32 (0 =
    none), stats rows per label (x, y, w, h, area) as cv2.connectedComponentsWithStats."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(np.asarray(ink, np.uint8), connectivity=8)
    return labels, stats[:, :5]


def stroke_length(stats: np.ndarray) -> np.ndarray:
    """Stroke length (pixels) of each piece: bounding-box width + height - 1."""
    return (stats[:, 2] + stats[:, 3] - 1).astype(float)


def _kmeans_1d(v: np.ndarray, centres: np.ndarray, iters: int = 30) -> np.ndarray:
    """Class (index into ``centres``, sorted ascending) of each value, by 1-D k-means."""
    c = np.sort(np.asarray(centres, float))
    for _ in range(iters):
        lab = np.argmin(np.abs(v[:, None] - c[None, :]), axis=1)
        new = np.array([v[lab == j].mean() if (lab == j).any() else c[j] for j in range(c.size)])
        if np.allclose(new, c):
            break
        c = np.sort(new)
    return np.argmin(np.abs(v[:, None] - c[None, :]), axis=1)


def piece_classes(stats: np.ndarray, n_classes: int, line_width: float) -> np.ndarray:
    """Length class 0..n_classes-1 (shortest first) of each piece (row 0, the background, gets
    -1); pieces too small to be ink (under a line width's square) get -1 too.

    The longest class takes the long strokes (longer than LONG_FACTOR x the median piece: a
    solid line's), the others split the rest by 1-D k-means on log length (dash vs dot)."""
    length = stroke_length(stats)
    out = np.full(length.size, -1, np.int64)
    real = np.arange(length.size) > 0
    real &= stats[:, 4] >= max(1.0, 0.5 * line_width * line_width)
    idx = np.flatnonzero(real)
    if idx.size == 0 or n_classes < 1:
        return out
    if n_classes == 1:
        out[idx] = 0
        return out
    lv = np.log(length[idx])
    cent = np.quantile(lv, np.linspace(0.1, 1.0, n_classes))
    cent[-1] = lv.max()
    out[idx] = _kmeans_1d(lv, cent)
    return out


def _short_classes(stats: np.ndarray, n: int, line_width: float) -> np.ndarray:
    """Class 0..n-1 (shortest first) of short pieces (stats rows) of ``n`` dashed/dotted
    styles. Censor marks on those lines (and pieces merged where lines touch) are longer than
    any dash: one more length class takes them, and each of its pieces joins the class of the
    nearest piece of the others (the line it sits on)."""
    if n <= 1 or stats.shape[0] <= n:
        return np.zeros(stats.shape[0], np.int64)
    lv = np.log(stroke_length(stats))
    cls = _kmeans_1d(lv, np.quantile(lv, np.linspace(0.05, 1.0, n + 1)))
    extra = cls == n
    if extra.any() and (~extra).any():
        # distance to each class's nearest piece in units of that class's own spacing (dots lie
        # closer together than dashes: a mark on a dashed line is nearer a dash than its pitch)
        c = np.column_stack([stats[:, 0] + stats[:, 2] / 2.0, stats[:, 1] + stats[:, 3] / 2.0])
        score = np.full((int(extra.sum()), n), np.inf)
        for j in range(n):
            cj = c[cls == j]
            if cj.shape[0] == 0:
                continue
            dj = np.linalg.norm(cj[:, None] - cj[None], axis=2)
            np.fill_diagonal(dj, np.inf)
            pitch = float(np.median(dj.min(axis=1))) if cj.shape[0] > 1 else 1.0
            score[:, j] = np.linalg.norm(c[extra][:, None] - cj[None], axis=2).min(axis=1) / max(pitch, 1.0)
        cls[extra] = np.argmin(score, axis=1)
    return np.minimum(cls, n - 1)


def split_by_style(ink: np.ndarray, styles: list[str], line_width: float) -> dict[str, np.ndarray]:
    """Bool map per style in ``styles`` (distinct, any order): the ink pieces whose stroke length
    falls in that style's class (a thick line: :func:`thick_part`, the others split the ink left
    over). ``ink``: bool (H, W) map of one colour's ink."""
    if "thick" in styles:
        thick = thick_part(ink, line_width, check=False)
        if thick is None:
            thick = np.zeros(np.shape(ink), bool)
        others = [s for s in dict.fromkeys(styles) if s != "thick"]
        out = split_by_style(thin_part(ink, thick, line_width), others, line_width) if others else {}
        out["thick"] = thick
        return out
    labels, stats = pieces(ink)
    order = sorted(set(styles), key=BY_LENGTH.index)
    if "solid" in order and len(order) > 1:
        # the solid class is the long strokes; the rest split among the others
        length = stroke_length(stats)
        short = np.arange(length.size) > 0
        short &= stats[:, 4] >= max(1.0, 0.5 * line_width * line_width)
        med = float(np.median(length[short])) if short.any() else 1.0
        cls = np.full(length.size, -1, np.int64)
        long_ = short & (length > max(LONG_FACTOR * med, 6.0 * line_width + 6.0, LONG_SHARE * ink.shape[1]))
        rest = short & ~long_
        cls[long_] = len(order) - 1
        if len(order) > 2 and rest.any():
            cls[rest] = _short_classes(stats[rest], len(order) - 1, line_width)
        else:
            cls[rest] = 0
    else:
        real = (np.arange(stats.shape[0]) > 0) & (stats[:, 4] >= max(1.0, 0.5 * line_width * line_width))
        cls = np.full(stats.shape[0], -1, np.int64)
        if real.any():
            cls[real] = _short_classes(stats[real], len(order), line_width)
    lut = np.asarray(cls)
    return {s: lut[labels] == i for i, s in enumerate(order)}


def _thick_kernel(line_width: float) -> int:
    """Side (pixels) of the square that fits inside a thick line's stroke and not inside a line
    of ``line_width`` pixels, nor where two such lines run side by side or cross (at most two
    widths): 2 widths + 1, at least 3."""
    return int(max(3, round(2.0 * float(line_width)) + 1))


def thick_part(ink: np.ndarray, line_width: float, check: bool = True) -> np.ndarray | None:
    """Bool map of the ink of a line drawn markedly thicker than ``line_width`` (the colour's
    thinnest line, pixels), or None if there is none.

    A square of :func:`_thick_kernel` pixels fits inside a thick stroke everywhere (plateaus and
    drops alike) and nowhere inside a thin one, its censor marks, or two thin lines touching; so
    a morphological opening keeps the thick line alone (its anti-aliased edge added back by a
    pixel's dilation). With ``check``, the kept ink must also be a curve: pieces reaching across
    :data:`MIN_SPAN_SHARE` of the width, thick in :data:`THICK_COVER` of the columns they span,
    falling left to right (a thick legend key, a blob where lines cross or a cluster of censor
    marks is not), and the thin ink left over must be a curve too (else there is one line of
    one width: plain solid)."""
    import cv2

    k = _thick_kernel(line_width)
    m = np.asarray(ink, np.uint8)
    opened = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    if not opened.any():
        return None
    thick = (cv2.dilate(opened, np.ones((3, 3), np.uint8)) > 0) & np.asarray(ink, bool)
    if not check:
        return thick
    w = ink.shape[1]
    cols = np.flatnonzero(thick.any(axis=0))
    if cols.size < MIN_SPAN_SHARE * w:
        return None
    # a thick line is thick all along: clusters of censor marks, or a curve's limits where
    # they run together, are thick in stretches only
    if cols.size < THICK_COVER * (cols[-1] - cols[0] + 1):
        return None
    _, st = pieces(cv2.morphologyEx(thick.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)))
    st = st[1:]
    big = st[stroke_length(st) >= 0.05 * w]
    if big.shape[0] == 0 or (big[:, 0] + big[:, 2]).max() - big[:, 0].min() < MIN_SPAN_SHARE * w:
        return None
    cy, cx = thick.nonzero()
    if cx.size > 2 and not _falls(cx, cy):
        return None
    # the thin line: a long stroke, or a chain of pieces falling like a curve (its ink read
    # within a colour distance breaks at corners and drops, which anti-aliasing makes paler);
    # short pieces touching the thick line (its censor marks' ends) are not it
    rest = thin_part(ink, thick, line_width)
    labels, st = pieces(rest)
    length = stroke_length(st)
    if (length[1:] > max(0.1 * w, LONG_SHARE * w)).any():
        return thick
    near = cv2.dilate(thick.astype(np.uint8), np.ones((3 * k, 3 * k), np.uint8)) > 0
    touch = np.zeros(st.shape[0], bool)
    touch[np.unique(labels[near & rest])] = True
    keep = ~touch & (st[:, 4] >= 2)
    keep[0] = False
    if not falls_as_a_curve(st[keep], w):
        return None
    return thick


def thin_part(ink: np.ndarray, thick: np.ndarray, line_width: float) -> np.ndarray:
    """``ink`` without a thick line's ink (:func:`thick_part`) and a rim of a kernel's width
    round it (where a thin line touches or crosses the thick one it is hidden; the tracer
    bridges that by continuity)."""
    import cv2

    k = _thick_kernel(line_width)
    near = cv2.dilate(np.asarray(thick, np.uint8), np.ones((k, k), np.uint8)) > 0
    return np.asarray(ink, bool) & ~near


def with_weak_ink(ink: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """``ink`` (bool map) grown by hysteresis: the 8-connected pieces of ``weak`` ink (pixels
    at least half covered by the colour) that hold some of ``ink``.

    General property: a thin solid line's core dips in darkness over stretches where it falls
    between two pixel rows (anti-aliasing halves it) and compression lightens it further (JPEG's
    quantised luma), so strict ink breaks it into short pieces that read as dashes; the half-
    covered pixels keep it whole. A dash gap's middle is not half covered, and weak specks
    touching no strict ink (ringing) are dropped."""
    import cv2

    w = np.asarray(weak, bool) | np.asarray(ink, bool)
    n, labels = cv2.connectedComponents(w.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[np.asarray(ink, bool)])] = True
    keep[0] = False
    return keep[labels]


def gaps_filled(ink: np.ndarray, gap: int) -> np.ndarray:
    """Bool map of the pixels in a dashed/dotted line's gaps: closing of ``ink`` along rows and
    along columns over ``gap`` pixels, minus the ink (for the tracer these are the line's
    own drawing, not bare paper)."""
    import cv2

    g = int(max(1, gap))
    m = np.asarray(ink, np.uint8)
    h = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((1, g + 2), np.uint8))
    v = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((g + 2, 1), np.uint8))
    return ((h | v) > 0) & ~np.asarray(ink, bool)


def gap_length(ink: np.ndarray) -> int:
    """Typical gap (pixels) between a dashed/dotted line's pieces: the median gap from each
    piece's box to the next piece to its right on the same rows (a plateau's next dash). Gaps
    between pieces merely consecutive in x are shorter: at a step the next dash starts lower,
    part of the gap spent going down, and on a steep stretch pieces overlap in x; taking those
    made the gaps of survminer's dashes (7 px at lwd 1.6) read as 4-5, so that the tracer ended
    a long flat tail at its first gaps as bare paper."""
    _, stats = pieces(ink)
    st = stats[1:]
    if st.shape[0] < 3:
        return 4
    st = st[np.argsort(st[:, 0])]
    x0, x1 = st[:, 0], st[:, 0] + st[:, 2]
    y0, y1 = st[:, 1], st[:, 1] + st[:, 3]
    same_row = []
    for i in range(st.shape[0]):
        j = np.arange(i + 1, min(i + 9, st.shape[0]))   # the next few pieces along x
        ok = (x0[j] >= x1[i]) & (y0[j] < y1[i]) & (y1[j] > y0[i])
        if ok.any():
            same_row.append(int((x0[j[ok]] - x1[i]).min()))
    same_row = [g for g in same_row if g > 0]
    if len(same_row) >= 3:
        return int(np.clip(np.median(same_row), 2, 40))
    gaps = x0[1:] - x1[:-1]
    gaps = gaps[gaps > 0]
    return int(np.clip(np.median(gaps) if gaps.size else 4, 2, 40))


def falls_as_a_curve(stats: np.ndarray, width: int) -> bool:
    """The pieces (stats rows) form a KM curve's chain: enough of them, spread across the plot,
    falling left to right (Spearman's rho of centre x and image y)."""
    if stats.shape[0] < MIN_PIECES:
        return False
    cx = stats[:, 0] + stats[:, 2] / 2.0
    cy = stats[:, 1] + stats[:, 3] / 2.0
    if cx.max() - cx.min() < MIN_SPAN_SHARE * width:
        return False
    return _falls(cx, cy)


def _falls(x: np.ndarray, y: np.ndarray) -> bool:
    """Points (x, image y) fall left to right: Spearman's rho of x and y at least
    :data:`MIN_FALL_RHO` (False when either is constant)."""
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    if rx.std() == 0 or ry.std() == 0:
        return False
    return float(np.corrcoef(rx, ry)[0, 1]) >= MIN_FALL_RHO


def propose_styles(ink: np.ndarray, line_width: float) -> list[str]:
    """The line styles drawn in one colour's ink (bool crop map), longest first: 'solid' if a
    long stroke is there, 'dashed' / 'dotted' for chains of short pieces that fall like a KM
    curve (two chains if their lengths differ by more than 2.5x); 'thick' and 'solid' for a
    solid line drawn markedly wider than another solid one (:func:`thick_part`; then only these
    two)."""
    if thick_part(ink, line_width) is not None:
        # (the thin line's stretches between its touches with the thick one are short pieces
        # falling like a curve: not read as a dashed third line here)
        return ["solid", "thick"]
    labels, stats = pieces(ink)
    length = stroke_length(stats)
    real = (np.arange(length.size) > 0) & (stats[:, 4] >= max(1.0, 0.5 * line_width * line_width))
    if not real.any():
        return []
    w = ink.shape[1]
    med = float(np.median(length[real]))
    cut = max(LONG_FACTOR * med, 6.0 * line_width + 6.0, LONG_SHARE * w)
    long_ = real & (length > cut) & (length > 0.1 * w)
    out = ["solid"] if long_.any() else []
    short = real & (length <= cut)
    if not falls_as_a_curve(stats[short], w):
        return out or ["solid"]
    lv = np.log(length[short])
    cls = _kmeans_1d(lv, np.quantile(lv, [0.1, 0.9]))
    c0, c1 = (np.exp(lv[cls == j].mean()) if (cls == j).any() else 0.0 for j in (0, 1))
    st = stats[short]
    if c0 > 0 and c1 > 2.5 * c0 and falls_as_a_curve(st[cls == 0], w) and falls_as_a_curve(st[cls == 1], w) \
            and (_own_neighbours(st, cls) >= 0.6 or _two_chains(st, cls, line_width)):
        return out + ["dashed", "dotted"]
    dotted = med <= 2.0 * line_width + 1.0
    return out + ["dotted" if dotted else "dashed"]


#: two chains: this share of each class's pieces has a piece of its own class a dash gap away
CHAIN_SHARE = 0.9
#: a dash gap is at most this many line widths (+ 3 px): R's line types leave gaps of 1-4
#: widths (lty 2 '44', 3 '13', 4 '1343', 5 '73', 6 '2262'), matplotlib's 1.6-1.7
DASH_GAP_WIDTHS = 5.0


def _two_chains(stats: np.ndarray, cls: np.ndarray, line_width: float) -> bool:
    """Whether the two length classes of short pieces (0 = shorter) are two line styles drawn
    as chains, however crowded: nearly every piece (:data:`CHAIN_SHARE`) has a piece of its
    own class a dash gap away (centre distance minus the piece's extent at most
    :data:`DASH_GAP_WIDTHS` line widths + 3 px), and the shorter pieces are dots, at least a
    line width across both ways (stroke length 2 widths - 1, and 3 px), not anti-aliasing
    fragments a pixel or two long.

    General property: several lines of each style in one colour (base R ``conf.int = TRUE``
    draws each arm's confidence limits in its line type: nine black lines, three per style)
    run through each other, so a dash's nearest piece is often another line's dot and
    :func:`_own_neighbours` fails although each style's chain is intact. Censor marks on a
    dashed line are no chain: they stand at the censoring times, their spacing tied to no
    line width (survminer's '+' marks 11 px wide, 35 px apart, on a 1 px line)."""
    c = np.column_stack([stats[:, 0] + stats[:, 2] / 2.0, stats[:, 1] + stats[:, 3] / 2.0])
    length = stroke_length(stats)
    if not ((cls == 0).any() and (cls == 1).any()):
        return False
    if float(np.median(length[cls == 0])) < max(3.0, 2.0 * float(line_width) - 1.0):
        return False
    for j in (0, 1):
        m = cls == j
        if m.sum() < 2:
            return False
        # nearest other piece of the class (a k-d tree: a page of dots holds thousands)
        d = cKDTree(c[m]).query(c[m], k=2)[0][:, 1]
        gap = d - np.maximum(stats[m, 2], stats[m, 3])
        if float(np.mean(gap <= DASH_GAP_WIDTHS * float(line_width) + 3.0)) < CHAIN_SHARE:
            return False
    return True


def _own_neighbours(stats: np.ndarray, cls: np.ndarray) -> float:
    """Smaller of the two classes' shares of pieces whose nearest piece is of their own class:
    two lines' pieces neighbour their own kind; censor marks on a dashed line neighbour dashes."""
    c = np.column_stack([stats[:, 0] + stats[:, 2] / 2.0, stats[:, 1] + stats[:, 3] / 2.0])
    d = np.linalg.norm(c[:, None] - c[None], axis=2)
    np.fill_diagonal(d, np.inf)
    same = cls[np.argmin(d, axis=1)] == cls
    return min(float(same[cls == j].mean()) for j in (0, 1))


def style_at(ink: np.ndarray, styles_map: dict[str, np.ndarray], point: tuple[float, float],
             radius: int = 6) -> str | None:
    """The style whose ink (``styles_map`` from :func:`split_by_style`) holds the ink pixel
    nearest ``point`` (x, y crop pixels) within ``radius`` pixels; None if no ink is there."""
    p = snap_to_ink(ink, point, radius)
    if p is None:
        return None
    x, y = p
    for s, m in styles_map.items():
        if m[y, x]:
            return s
    return None


def snap_to_ink(ink: np.ndarray, point: tuple[float, float], radius: int = 6) -> tuple[int, int] | None:
    """(x, y) of the ink pixel nearest ``point`` (x, y pixels) within ``radius`` pixels (a
    user's click lands a pixel or two off a thin line), or None."""
    h, w = ink.shape
    x, y = int(round(point[0])), int(round(point[1]))
    ya, yb, xa, xb = max(0, y - radius), min(h, y + radius + 1), max(0, x - radius), min(w, x + radius + 1)
    if ya >= yb or xa >= xb:
        return None
    ys, xs = np.nonzero(ink[ya:yb, xa:xb])
    if ys.size == 0:
        return None
    d = (ys + ya - y) ** 2 + (xs + xa - x) ** 2
    j = int(np.argmin(d))
    return int(xs[j] + xa), int(ys[j] + ya)


def swatch_style(ink: np.ndarray, line_width: float, thick: bool = False) -> str | None:
    """Line style drawn in a legend swatch (bool ink map of the swatch's box): one stroke as
    long as the box is solid (thick if ``thick`` - a thick line is drawn in that colour - and a
    square of :func:`_thick_kernel` fits in it); several pieces are dashed, or dotted if they
    are dots (at most two line widths and a pixel long); None if no ink."""
    _, stats = pieces(ink)
    st = stats[1:]
    st = st[st[:, 4] >= 1]
    if st.shape[0] == 0:
        return None
    length = stroke_length(st)
    if st.shape[0] == 1 or length.max() >= 0.7 * (st[:, 0] + st[:, 2]).max() - st[:, 0].min():
        if thick and thick_part(ink, line_width, check=False) is not None:
            return "thick"
        return "solid"
    return "dotted" if np.median(length) <= 2.0 * line_width + 1.0 else "dashed"


def styles_for_arms(image, plot_area, arms: list, legend_boxes: dict | None = None,
                    exclude: np.ndarray | None = None, add_unnamed: bool = True) -> tuple[list, list[str]]:
    """Zero-click: arms (extract.ArmSpec) with line styles where several curves share a colour.

    For each colour, its ink in the plot area (within Delta E 25 of it, off the paper; minus
    ``exclude``, bool image map of text and axes) is split into the styles drawn
    (:func:`propose_styles`). Arms of that colour named from legend entries take the style their
    swatch shows (``legend_boxes``: arm name -> swatch box x0, y0, x1, y1 image pixels); others
    take the remaining styles in R's line-type order. With ``add_unnamed`` (no arm names are
    printed), a black or grey drawn in more styles than it has arms gets one arm per extra
    style ("Arm k"). Returns (arms, notes)."""
    from digitize.extract import ArmSpec, _colour_groups
    from digitize.inkmask import background_color, is_neutral, rgb_to_lab
    from digitize.trace import line_width_guess

    img = np.asarray(image)
    x0, y0, x1, y1 = (int(v) for v in plot_area)
    b = 3
    crop = img[y0 + b:y1 - b, x0 + b:x1 - b]
    if crop.size == 0 or not arms:
        return list(arms), []
    lab = rgb_to_lab(crop)
    paper = rgb_to_lab(background_color(crop)[None].astype(float))[0]
    off_paper = np.linalg.norm(lab - paper, axis=2) > 25.0
    if exclude is not None:
        off_paper &= ~np.asarray(exclude, bool)[y0 + b:y1 - b, x0 + b:x1 - b]
    reps, colour_of = _colour_groups(list(arms))
    out = list(arms)
    notes: list[str] = []
    # each pixel to the nearest arm colour: a grey curve's ink is not a black curve's dashes
    d_rep = np.stack([np.linalg.norm(lab - rgb_to_lab(np.array([r.rgb], float))[0], axis=2) for r in reps])
    nearest = np.argmin(d_rep, axis=0)
    for k, rep in enumerate(reps):
        members = [i for i, c in enumerate(colour_of) if c == k]
        ink = off_paper & (d_rep[k] < 25.0) & (nearest == k)
        if ink.sum() < 50:
            continue
        lw = line_width_guess(ink.astype(np.float32))
        found = propose_styles(ink, lw)
        if "solid" not in found:
            # no solid stroke in strict ink: a thin solid line broken where its core is
            # lightened (with_weak_ink) is whole again with its half-covered pixels. Only then:
            # where a solid line is read, those pixels would join stacked dashes and dots
            # (nine black limits and estimates at 200 dpi) into longer pieces
            v = rgb_to_lab(np.array([rep.rgb], float))[0] - paper
            cover = ((lab - paper) @ v) / max(float(v @ v), 1e-6)
            whole = propose_styles(with_weak_ink(ink, off_paper & (cover >= 0.5) & (nearest == k)), lw)
            if "solid" in whole:
                found = whole
        # black-and-white figures tell curves apart by style; a coloured curve's chains of
        # short pieces are its own dashes (its style needs no arm of its own)
        if len(members) < 2 and (len(found) < 2 or not is_neutral(rep.rgb) or not add_unnamed):
            continue
        styles: dict[int, str] = {}
        for i in members:
            box = (legend_boxes or {}).get(arms[i].name)
            if box is not None:
                bx0, by0, bx1, by1 = (int(v) for v in box)
                sw = img[max(0, by0):by1 + 1, max(0, bx0):bx1 + 1]
                if sw.size:
                    sl = rgb_to_lab(sw)
                    if is_neutral(rep.rgb):
                        # a black key drawn dashed or dotted at 72-100 dpi is never fully
                        # covered: it reads grey, far from the curve's black - any neutral ink
                        sink = (np.linalg.norm(sl - paper, axis=2) > 25.0) & \
                            (np.hypot(sl[..., 1], sl[..., 2]) < 12.0)
                    else:
                        sink = (np.linalg.norm(sl - paper, axis=2) > 25.0) & \
                            (np.linalg.norm(sl - rgb_to_lab(np.array([rep.rgb], float))[0], axis=2) < 25.0)
                    st = swatch_style(sink, lw, thick="thick" in found)
                    if st is not None and st not in styles.values():
                        styles[i] = st
        order = found + [s for s in STYLES[:4] if s not in found]
        for i in members:
            if i not in styles:
                free = [s for s in order if s not in styles.values()]
                styles[i] = free[0] if free else "solid"
                if len(members) > 1:
                    notes.append(f"arms: '{arms[i].name}' shares colour {rep.hex} with another arm; its "
                                 f"line style was taken as {styles[i]} by order; check it")
        for i in members:
            a = arms[i]
            out[i] = ArmSpec(a.name, a.rgb, a.tolerance, style=styles[i], at=a.at)
        for s in found if add_unnamed else ():
            if s not in styles.values():
                name = f"Arm {len(out) + 1}"
                out.append(ArmSpec(name, rep.rgb, rep.tolerance, style=s))
                notes.append(f"arms: a {s} curve of colour {rep.hex} matches no printed arm name; "
                             f"added as '{name}'")
    return out, notes


def style_at_point(image, plot_area, rgb, point: tuple[float, float], styles: list[str],
                   radius: int = 6) -> str | None:
    """Which of ``styles`` (two or more line styles of one colour) the curve drawn at ``point``
    (x, y image pixels: a user's click, snapped to the nearest ink within ``radius`` pixels) has:
    the colour's ink in ``plot_area`` (x0, y0, x1, y1 image pixels; within Delta E 25 of ``rgb``,
    off the paper) is split by :func:`split_by_style` and read at the point. None when no ink of
    that colour is there or fewer than two styles are asked."""
    from digitize.inkmask import background_color, rgb_to_lab
    from digitize.trace import line_width_guess

    styles = [s for s in dict.fromkeys(styles) if s in STYLES]
    if len(styles) < 2:
        return None
    img = np.asarray(image)
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in plot_area)
    x0, x1 = max(0, min(x0, x1)), min(w, max(x0, x1) + 1)
    y0, y1 = max(0, min(y0, y1)), min(h, max(y0, y1) + 1)
    crop = img[y0:y1, x0:x1, :3]
    if crop.size == 0:
        return None
    lab = rgb_to_lab(crop)
    paper = rgb_to_lab(background_color(crop)[None].astype(float))[0]
    ink = (np.linalg.norm(lab - paper, axis=2) > 25.0) & \
        (np.linalg.norm(lab - rgb_to_lab(np.array([rgb], float))[0], axis=2) < 25.0)
    if ink.sum() < 50:
        return None
    lw = line_width_guess(ink.astype(np.float32))
    maps = split_by_style(ink, styles, lw)
    return style_at(ink, maps, (point[0] - x0, point[1] - y0), radius)



def hidden_start_along(arm, solids: list, calibration, line_width: float, nearest: bool = False):
    """A dashed or dotted arm (extract.ExtractedArm) whose trace begins well right of its
    curve's start (more than 3 line widths + 3 px) because its first stretch runs together with
    a solid curve of the same colour (their pieces merge into the solid line's strokes, left to
    that arm): over the hidden stretch it is taken along that curve (which hides it), kept
    between 1 and the arm's first traced level, rather than held at 1 until the first traced
    column (a stretch of drops read as one late drop). The solid arm is one whose trace starts
    with the arm's and reaches the row of the arm's first traced pixel (within 3 line widths +
    3 px) or below left of it: where the arm left it. ``nearest``: ``solids`` are all the
    colour's other curves traced so far (three or more curves of one colour: the hidden stretch
    could run under any of them): the one whose trace passes nearest the arm's first traced
    pixel, within 3 line widths + 3 px, is the one it left. Returns the arm, changed or not (a
    warning says so)."""
    import dataclasses

    if arm.empty or arm.trace_px.shape[0] == 0 or arm.time.size < 2:
        return arm
    near = 3.0 * float(line_width) + 3.0
    fx, fy = (float(v) for v in arm.trace_px[0])
    x_start = float(np.asarray(calibration.to_pixel(float(arm.time[0]), 1.0)[0]))
    if fx - x_start <= near:
        return arm
    # the first traced level: the first corner below 1 from the first traced column on (the
    # step there sits a line cap right of the column)
    t_px = float(np.asarray(calibration.to_data(fx - near, fy)[0]))
    below = np.flatnonzero((arm.time >= t_px) & (arm.survival < 1.0 - 1e-9))
    if below.size == 0:
        return arm
    t_f, s_b = float(arm.time[below[0]]), float(arm.survival[below[0]])
    solids = [sol for sol in solids if not sol.empty and sol.trace_px.shape[0] > 0]
    if nearest:
        # on a steep start the curves part quickly: the distance is taken in the image plane,
        # not along the column
        gap = [float(np.hypot(sol.trace_px[:, 0] - fx, sol.trace_px[:, 1] - fy).min()) for sol in solids]
        solids = [solids[j] for j in np.argsort(gap, kind="stable") if gap[j] <= near]
    for sol in solids:
        cols, rows = sol.trace_px[:, 0], sol.trace_px[:, 1]
        if nearest:
            # its corners start with the arm's (its own hidden start already taken along another)
            if float(sol.time[0]) > float(arm.time[0]) + 1e-9:
                continue
        elif cols.min() > x_start + near or not np.any((cols <= fx) & (rows >= fy - near)):
            continue
        pre = sol.time < t_f
        if not pre.any():
            continue
        pre_t = np.asarray(sol.time, float)[pre]
        pre_s = np.clip(np.asarray(sol.survival, float)[pre], s_b, 1.0)
        rest = arm.time >= t_f
        rest_t, rest_s = np.asarray(arm.time, float)[rest], np.asarray(arm.survival, float)[rest]
        lead = np.cumprod(rest_s > s_b + 1e-9).astype(bool)   # the held-at-1 stub's end
        rest_t, rest_s = rest_t[~lead], rest_s[~lead]
        time = np.maximum.accumulate(np.r_[float(arm.time[0]), pre_t, t_f, rest_t])
        surv = np.minimum.accumulate(np.r_[1.0, pre_s, pre_s[-1], rest_s])
        warns = [w for w in arm.warnings if "the traced curve starts at time" not in w]
        warns.append(f"arm '{arm.name}': its curve up to time {t_f:.3g} runs together with arm '{sol.name}' "
                     "(same colour) and was taken along it; check that stretch")
        return dataclasses.replace(arm, time=time, survival=surv, warnings=warns)
    return arm
