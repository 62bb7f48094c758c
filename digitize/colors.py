"""Find the curves' colours in a KM figure when the user gives none.

Curve ink is saturated or dark, thin, and spans a good part of the plot's width. Inside the plot
area (minus a border band holding the axes frame and inward ticks) light neutral grid lines,
faint shaded bands and wide blobs are dropped; the remaining ink colours are clustered in Lab
by repeatedly taking the densest colour bin, refining its centre (the most saturated/dark end:
line cores rather than anti-aliased edges) and removing it together with its blends with the
paper. A cluster counts as a curve when it spans enough columns and is not mostly short text.
"""
from __future__ import annotations

import numpy as np

from digitize.inkmask import (background_color, chroma, faint_grid_lines, foreground, frame_lines,
                              grid_lines, rgb_to_lab)

#: a curve's pixels cover at least this fraction of the plot's columns
MIN_COLUMN_SPAN = 0.25
#: colours closer than this (Delta E) are one cluster
CLUSTER_RADIUS = 14.0
#: anti-aliased edge pixels lie within this many pixels of their stroke's fully covered core
EDGE_REACH = 2
#: blend-coloured pixels apart from a colour's strokes are a curve of their own when at least
#: this share of them lies within :data:`SHARP_DE` of their commonest colour (measured: grey
#: curves 0.4-0.8 at 72-200 dpi; the anti-aliased pieces of thin black dotted lines 0.1-0.15)
SHARP_SHARE = 0.3
SHARP_DE = 1.5
#: ... widened by this many Delta E per unit of JPEG ringing above RINGING_FREE (digitize.jpeg.
#: ringing: lossless figures 0-0.09, JPEG quality 75 0.18-0.45), up to SHARP_DE_MAX: compression
#: noise spreads a grey curve's one colour over several units (a #7F7F7F arm at 72 dpi as JPEG:
#: 0.19 of its pixels within 1.5, 0.35 within 3)
RINGING_FREE = 0.1
RINGING_GAIN = 10.0
SHARP_DE_MAX = 4.0
#: ... and that commonest colour lies within this Delta E of the paper->colour blend line
SHARP_BLEND_DE = 5.0
#: ... and less than this share of them lies within DOT_GAP pixels of the colour's strokes
#: (measured: a dotted line's pale dots 0.7-0.8; grey curves beside black ones 0.02-0.34)
DOT_GAP = 4.0
DOT_GAP_SHARE = 0.5


#: a pixel's local paper differs from the figure's paper by more than this (Delta E): it lies on
#: a shaded band (a confidence ribbon, two ribbons overlapping, a tinted legend box)
BAND_DE = 4.0
#: ... and there it is ink when it differs from the band by more than this (Delta E)
BAND_INK_DE = 10.0


def shaded_paper(rgb: np.ndarray, bg_lab: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(bool (H, W): pixels on a shaded band, Lab (H, W, 3) of the local paper there).

    The local paper is the closing of the image by a ``size`` square (pixels, per channel):
    thin dark lines and marks vanish into what surrounds them, wide regions stay - confidence
    bands and their overlaps whatever their darkness (black ribbons at alpha 0.3 overlap to
    #7E7E7E, darker than a grey curve). Unlike :func:`digitize.inkmask.local_paper` (the
    tracing's: light bands only, a curve drawn over them) no darkness limit applies: finding
    colours needs only where a line stands out from its own surroundings."""
    import cv2

    closed = cv2.morphologyEx(np.ascontiguousarray(rgb, np.uint8), cv2.MORPH_CLOSE,
                              np.ones((size, size), np.uint8))
    closed_lab = rgb_to_lab(closed)
    return np.linalg.norm(closed_lab - bg_lab, axis=2) > BAND_DE, closed_lab


def _own_colour_share(lab_px: np.ndarray, sharp_de: float = SHARP_DE) -> tuple[float, np.ndarray]:
    """(share of pixels (Lab rows) within ``sharp_de`` of their commonest colour (2-unit Lab
    bins), which pixels those are): high for pixels drawn in one colour, low for blends at
    every coverage."""
    q = np.round(lab_px / 2.0).astype(np.int64)
    _, inv, counts = np.unique(q, axis=0, return_inverse=True, return_counts=True)
    mode = lab_px[inv.ravel() == int(np.argmax(counts))].mean(axis=0)
    at_mode = np.linalg.norm(lab_px - mode, axis=1) <= sharp_de
    return float(np.mean(at_mode)), at_mode


def blend_distances(lab_px: np.ndarray, rgb_px: np.ndarray, colour: np.ndarray, bg: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(Delta E to the nearest paper->colour blend, coverage) for pixel rows (N, 3)."""
    v = colour - bg
    n2 = max(float(v @ v), 1.0)
    a = ((rgb_px - bg) @ v) / n2
    blend = bg + np.clip(a, 0, 1)[:, None] * v
    return np.linalg.norm(rgb_to_lab(blend) - lab_px, axis=1), a


def find_arm_colors(image, plot_area: tuple[int, int, int, int], max_arms: int = 6
                    ) -> list[tuple[int, int, int]]:
    """RGB colours of the curves drawn inside ``plot_area`` (x0, y0, x1, y1 pixels), most
    prominent first (at most ``max_arms``). Black and grey curves are found too."""
    import cv2

    img = np.asarray(image)
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in plot_area)
    x0, x1 = max(0, min(x0, x1)), min(w - 1, max(x0, x1))
    y0, y1 = max(0, min(y0, y1)), min(h - 1, max(y0, y1))
    crop = img[y0:y1 + 1, x0:x1 + 1]
    ch, cw = crop.shape[:2]
    if ch < 10 or cw < 10:
        return []
    lab = rgb_to_lab(crop)
    bg = background_color(crop)
    bg_lab = rgb_to_lab(bg[None])[0]
    size = max(7, int(round(0.012 * cw)) | 1)
    fg = foreground(lab, bg_lab, 20.0)
    c = chroma(lab)
    # solid ink only: dark or saturated, not faint shading
    solid_px = (lab[..., 0] < 70.0) | (c > 25.0)
    banded, band_lab = shaded_paper(crop, bg_lab, size)
    if banded.any():
        # over shaded bands (and their overlaps, however dark) ink is what stands out from the
        # band itself: a line under a dark band overlap is no blob of the band's
        rel = np.linalg.norm(lab[banded] - band_lab[banded], axis=1)
        fg[banded] = rel > BAND_INK_DE
        solid_px[banded] = True
    border = max(3, int(round(0.012 * cw)))
    frame, _ = frame_lines(lab, max(border, int(0.04 * min(ch, cw))))
    ink = fg & ~grid_lines(lab, foreground(lab, bg_lab)) & ~frame
    # grid lines seen through confidence bands: as dark as a grey curve there, in short pieces
    ink &= ~faint_grid_lines(lab[..., 0], c)
    ink[:border, :] = ink[-border:, :] = False
    ink[:, :border] = ink[:, -border:] = False
    ink &= solid_px
    # thin structures only (curves): remove what survives an opening (wide blobs, bold fills)
    blobs = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((size, size), np.uint8)) > 0
    solid = ink.copy()
    ink &= ~blobs
    ys, xs = np.nonzero(ink)
    if ys.size == 0:
        return []
    from digitize.jpeg import ringing

    ring = ringing(crop)
    jpeg = ring > RINGING_FREE
    sharp_de = min(SHARP_DE_MAX, SHARP_DE + RINGING_GAIN * max(0.0, ring - RINGING_FREE))
    pl = lab[ys, xs].astype(np.float64)
    pr = crop[ys, xs].astype(np.float64)
    alive = np.ones(ys.size, bool)
    found: list[tuple[int, int, int]] = []
    masks: list[np.ndarray] = []
    min_pixels = max(20, int(0.15 * cw))
    for _ in range(max_arms * 3):
        if len(found) >= max_arms or alive.sum() < min_pixels:
            break
        q = np.floor(pl[alive] / 6.0).astype(np.int64)
        q -= q.min(axis=0)
        dims = q.max(axis=0) + 1
        code = (q[:, 0] * dims[1] + q[:, 1]) * dims[2] + q[:, 2]
        counts = np.bincount(code)
        top = int(np.argmax(counts))
        sel_alive = np.nonzero(alive)[0]
        seed = pl[sel_alive[code == top]].mean(axis=0)
        near = np.linalg.norm(pl[sel_alive] - seed, axis=1) < CLUSTER_RADIUS
        members = sel_alive[near]
        # the colour as drawn: the members farthest from the paper (line cores, not edges)
        dpaper = np.linalg.norm(pl[members] - bg_lab, axis=1)
        core = members[dpaper >= np.percentile(dpaper, 60)]
        colour = np.median(pr[core], axis=0)
        # remove the colour and its blends with the paper (anti-aliased edges). A grey curve is
        # such a blend of black too (#7F7F7F = half-covered black) and vanished whenever the
        # black curve was found first: blends apart from the colour's own strokes stay when
        # they are mostly one colour (a curve's fully covered core), not the even spread of
        # coverages a thin line's anti-aliased pieces take
        dist, a = blend_distances(pl[sel_alive], pr[sel_alive], colour, bg)
        is_blend = (dist < CLUSTER_RADIUS) & (a > 0.2)
        own = np.zeros((ch, cw), np.uint8)
        own[ys[members], xs[members]] = 1
        own = cv2.dilate(own, np.ones((2 * EDGE_REACH + 1, 2 * EDGE_REACH + 1), np.uint8)) > 0
        far = is_blend & ~own[ys[sel_alive], xs[sel_alive]]
        if np.count_nonzero(far) >= min_pixels:
            share, at_mode = _own_colour_share(pl[sel_alive[far]], sharp_de)
            # (the commonest colour a true blend of this one: not a grey rule near a red's blends;
            # mostly away from the colour's strokes: a dotted line's pale dots, one sub-pixel
            # position alike, lie a dot's gap from its fully covered ones)
            gap = cv2.distanceTransform((~own).view(np.uint8), cv2.DIST_L2, 3)
            by_strokes = np.mean(gap[ys[sel_alive[far]], xs[sel_alive[far]]] <= DOT_GAP)
            if (share >= SHARP_SHARE and np.median(dist[far][at_mode]) <= SHARP_BLEND_DE
                    and by_strokes < DOT_GAP_SHARE):
                is_blend &= ~far
        claimed = np.union1d(sel_alive[is_blend], members)
        alive[claimed] = False
        cols = np.unique(xs[claimed])
        span = cols.size / float(cw)
        if span < MIN_COLUMN_SPAN or claimed.size < min_pixels:
            continue
        # a curve is about one vertical run per column; text and legend boxes have several
        m = np.zeros((ch, cw), bool)
        m[ys[claimed], xs[claimed]] = True
        m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 1), np.uint8)) > 0
        starts = np.count_nonzero(np.diff(m.astype(np.int8), axis=0, prepend=0) == 1, axis=0)
        # (or one per curve: black-and-white figures draw two or three curves in one colour,
        # told apart by line style, across most of the plot; a column of text or a box's two
        # edges beside them has more runs, over a short stretch)
        few = (starts >= 1) & (starts <= 3)
        if np.count_nonzero(starts == 1) < 0.6 * MIN_COLUMN_SPAN * cw and (
                np.count_nonzero(few) < 2.0 * MIN_COLUMN_SPAN * cw
                or np.count_nonzero(starts >= 4) > 0.35 * np.count_nonzero(starts >= 1)) \
                and not falls_like_curves(m):
            continue
        if _fill_colour(lab, solid, rgb_to_lab(colour[None])[0], size):
            continue
        if jpeg and jpeg_fringe(colour, bg):
            continue
        rgb = tuple(int(round(v)) for v in colour)
        if any(np.linalg.norm(rgb_to_lab(np.array([rgb], float))[0] - rgb_to_lab(np.array([f], float))[0])
               < 10.0 for f in found):
            continue
        found.append(rgb)
        masks.append(m)
    found, masks = drop_seen_through_bands(crop, lab, bg, found, masks)
    return merge_stroke_tints(found, masks, bg, jpeg=jpeg)


#: a colour is another's seen through bands when this share of its pixels is so explained
THROUGH_SHARE = 0.5
#: ... each within this distance (RGB units) of that colour seen through the band's stack
THROUGH_RGB = 8.0
#: pixels within this Delta E of a found colour are its (for the test above)
THROUGH_OWN_DE = 6.0


def drop_seen_through_bands(crop: np.ndarray, lab: np.ndarray, bg, found: list, masks: list
                            ) -> tuple[list, list]:
    """Drop found colours that are only other found colours seen through translucent bands.

    General property: ggplot (survminer) draws the confidence ribbons over the curves, each in
    its arm's colour at one opacity; where the bands are such stacks of the found colours'
    fills (digitize.inkmask.band_stacks), a curve of colour L under a stack of n layers shows
    ``band + (1 - alpha) ** n (L - paper)`` - black under a pale grey ribbon is #383838, a
    colour no arm has. A found colour most of whose pixels (within THROUGH_OWN_DE of it, in its
    ink map ``masks[j]``: bool crop) are another found colour seen through a stack holding that
    colour's band (a curve lies inside its own band) is that curve, not an arm. A colour seen
    on bare paper is never so explained. ``crop``: RGB plot area, ``lab`` its Lab."""
    if len(found) < 2:
        return found, masks
    import cv2

    from digitize.inkmask import BAND_MEDIAN, band_stacks, band_under, local_paper

    band, closed = local_paper(crop, bg)
    if not band.any():
        return found, masks
    owns = []
    for j, c in enumerate(found):
        own = masks[j] & (np.linalg.norm(lab - rgb_to_lab(np.array([c], float))[0], axis=2) < THROUGH_OWN_DE)
        owns.append(np.nonzero(own))
    pos = np.full(band.shape, -1, np.int64)
    pos[band] = np.arange(int(band.sum()))
    # the band under each tested pixel: the local median (crowded marks over the bands) where a
    # stack explains it, else the closing
    ys = np.concatenate([o[0] for o in owns])
    xs = np.concatenate([o[1] for o in owns])
    p = pos[ys, xs]
    on = p >= 0
    if not on.any():
        return found, masks
    r0, r1, c0, c1 = ys[on].min(), ys[on].max() + 1, xs[on].min(), xs[on].max() + 1
    pad = BAND_MEDIAN
    ra, ca = max(0, r0 - pad), max(0, c0 - pad)
    med = cv2.medianBlur(np.ascontiguousarray(crop[ra:r1 + pad, ca:c1 + pad], np.uint8), BAND_MEDIAN)
    med_px = med[ys[on] - ra, xs[on] - ca].astype(np.float32)
    fit = band_stacks(closed, bg, found, also=med_px)
    if fit is None:
        return found, masks
    ok_closed, alpha, ok_med = fit
    ok = np.zeros((ys.size,) + ok_med.shape[1:], bool)
    base = np.zeros((ys.size, 3), np.float32)
    ok[on], base[on] = band_under(ok_closed[p[on]], ok_med, closed[p[on]], med_px)
    x = crop[ys, xs].astype(np.float32)
    bgf = np.asarray(bg, np.float32)
    starts = np.cumsum([0] + [o[0].size for o in owns])
    drop: set[int] = set()
    for j in range(len(found)):
        seg = slice(starts[j], starts[j + 1])
        n_own = starts[j + 1] - starts[j]
        if n_own == 0 or not on[seg].any():
            continue
        for i, f in enumerate(found):
            if i == j or i in drop:
                continue
            hit = np.zeros(n_own, bool)
            for n in range(ok.shape[2]):
                sel = ok[seg, i, n]
                if not sel.any():
                    continue
                pred = base[seg][sel] + (1.0 - alpha) ** (n + 1) * (np.asarray(f, np.float32) - bgf)
                hit[sel] |= np.linalg.norm(x[seg][sel] - pred, axis=1) <= THROUGH_RGB
            if hit.sum() >= THROUGH_SHARE * n_own:
                drop.add(j)
                break
    if not drop:
        return found, masks
    keep = [k for k in range(len(found)) if k not in drop]
    return [found[k] for k in keep], [masks[k] for k in keep]


#: pixels within this Delta E of a colour are drawn in it (fills are flat; JPEG adds a few units)
FILL_DE = 6.0
#: cuts (pixels) through a fill closed before its width is judged: lines drawn across it
FILL_CUT = 5
#: a colour is a fill when at least this share of its pixels lies in regions wider both ways
#: than two blob sizes (find_arm_colors: 1.2 % of the plot's width, at least 7 px) ...
FILL_SHARE = 0.25


def _fill_colour(lab: np.ndarray, solid: np.ndarray, colour_lab: np.ndarray, size: int) -> bool:
    """Whether a colour found in thin ink is only a fill's: at least FILL_SHARE of its pixels
    (within FILL_DE of ``colour_lab``, among the ``solid`` ink of the crop: bool (H, W); lab
    (H, W, 3)) lie in regions of it wider than 2 x ``size`` pixels (the blob size) both ways,
    and its pieces apart from those regions (not connected to them) span less than
    MIN_COLUMN_SPAN of the columns.

    General property: where two translucent confidence bands overlap, their blend (black bands
    at alpha 0.3: 179 alone, 126 both) is a flat fill over wide stretches, and a thin strip only
    where the bands' edges run close - such strips pass every thin-ink test of a curve, but they
    hang on the fill. A curve's pixels lie in lines; dense censor marks close into blobs no
    taller than a mark (at 72 dpi about the blob size), never twice its size both ways; a curve
    whose colour a fill happens to share (a grey line seen through ribbons) still runs across
    the plot in pieces of its own.
    """
    import cv2

    own = (solid & (np.linalg.norm(lab - colour_lab, axis=2) < FILL_DE)).view(np.uint8)
    n = int(np.count_nonzero(own))
    if n == 0:
        return False
    # the fill is cut by what is drawn over or under it (curves, grid lines): closed first
    whole = cv2.morphologyEx(own, cv2.MORPH_CLOSE, np.ones((FILL_CUT, FILL_CUT), np.uint8))
    wide = cv2.morphologyEx(whole, cv2.MORPH_OPEN, np.ones((2 * size, 2 * size), np.uint8)) > 0
    if np.count_nonzero(wide & (own > 0)) < FILL_SHARE * n:
        return False
    _, comp = cv2.connectedComponents(whole, connectivity=8)
    apart = (comp > 0) & ~np.isin(comp, np.unique(comp[wide])) & (own > 0)
    return np.unique(np.nonzero(apart)[1]).size < MIN_COLUMN_SPAN * own.shape[1]


#: a paler colour is a tint of a fuller one when it lies within this Delta E of a paper->colour
#: blend ...
TINT_BLEND_DE = 10.0
#: ... at least this share of its pixels lie in pieces touching the fuller colour's ink ...
TINT_TOUCH_SHARE = 0.9
#: ... and at least this share within 3 px of it
TINT_NEAR_SHARE = 0.5


def _blends(full, bgf: np.ndarray, jpeg: bool) -> np.ndarray:
    """Lab (N, 3) of the colours a stroke of ``full`` (RGB) takes on paper ``bgf``: its blends
    with the paper at coverage 0.3-1, and in a JPEG also those blends with their chroma cut to
    40-100 %: subsampling takes a thin line's colour into the paper beside it and keeps its
    brightness (digitize.jpeg), so parts of one curve read duller than others."""
    from digitize.jpeg import TO_YCC, FROM_YCC

    a = np.linspace(0.3, 1.0, 15)
    v = np.asarray(full, float) - bgf
    if not jpeg:
        return rgb_to_lab(bgf[None] + a[:, None] * v[None])
    dy = TO_YCC.astype(float) @ v
    keep = np.linspace(0.4, 1.0, 7)
    steps = np.array([[ai * dy[0], ai * b * dy[1], ai * b * dy[2]] for ai in a for b in keep])
    rgb = bgf[None] + steps @ FROM_YCC.astype(float).T
    return rgb_to_lab(np.clip(rgb, 0, 255))


#: a channel brighter than the paper by more than this (8-bit units) is no ink on it: drawn
#: lines darken every channel
FRINGE_OVER = 12.0
#: ... nor is a colour whose luma lies within this of the paper's: a visible curve darkens its
#: paper more (a pale band over grey is 15+ darker)
FRINGE_LUMA = 8.0


def jpeg_fringe(rgb, paper) -> bool:
    """Whether ``rgb`` (found in a figure that rings like a JPEG) is a colour fringe, not ink on
    ``paper`` (RGB): chromatic, no brighter than the paper overall, but brighter in a channel
    or nearly as light (luma within :data:`FRINGE_LUMA`).

    General property: ink on paper darkens every channel, and a visible curve darkens it
    clearly; compression overshoots a saturated line's chroma onto the paper beside it at the
    paper's brightness (#FFE5B3 and #FFC1BD beside orange and red lines on theme_grey's #EBEBEB
    panel; #FFFECA beside a yellow line on white). Restoring the subsampled chroma
    (digitize.jpeg) clears most of that, not all: on white paper the decoder clipped part of the
    spread, on a grey panel the overshoot stays. (Light curves on a dark panel are brighter
    overall: not fringes.)"""
    from digitize.inkmask import LUMA, is_neutral

    c, p = np.asarray(rgb, float), np.asarray(paper, float)
    if is_neutral(tuple(int(v) for v in c), 12.0):
        return False
    darker = float(p @ LUMA) - float(c @ LUMA)
    return darker >= 0.0 and (float(np.max(c - p)) > FRINGE_OVER or darker < FRINGE_LUMA)


def merge_stroke_tints(colours: list, masks: list, bg, jpeg: bool = False) -> list:
    """Drop colours that are only the anti-aliased tint of another found colour's strokes.

    General property: a line about 1-2 px wide (72-100 dpi figures, lwd 1-1.5) has no fully
    covered pixels in some of its pieces - a vertical drop or a censor tick one pixel off the
    grid is drawn in the colour blended with the paper (e.g. #489aca for #0072b5, the same
    coverage throughout), so the colour clustering finds two colours for one curve. Such a tint
    (a) lies on the paper->colour blend line of the fuller colour, (b) has almost all of its
    pixels in pieces that touch the fuller colour's ink (drops and ticks hang off the curve's
    horizontal runs) and (c) mostly lies within 3 px of that ink. A separate paler curve (grey
    beside black, light beside dark blue) fails (c): it touches the other curve only where they
    start together or cross. ``masks``: each colour's ink (bool, plot crop); ``bg``: paper RGB;
    ``jpeg``: the figure rings like a JPEG (duller tints count too, :func:`_blends`).
    """
    import cv2

    from digitize.inkmask import rgb_to_lab

    if len(colours) < 2:
        return colours
    lab = [rgb_to_lab(np.array([c], float))[0] for c in colours]
    bgf = np.asarray(bg, float)
    bg_lab = rgb_to_lab(bgf[None])[0]
    drop: set[int] = set()
    for i, pale in enumerate(colours):
        for j, full in enumerate(colours):
            if i == j or j in drop:
                continue
            # the fuller colour lies farther from the paper; in a JPEG it may instead be as dark
            # and more saturated (the tint is the line's own colour with chroma lost)
            farther = np.linalg.norm(lab[j] - bg_lab) >= np.linalg.norm(lab[i] - bg_lab) + 5
            if not farther and not (jpeg and np.hypot(*lab[j][1:]) >= np.hypot(*lab[i][1:]) + 5):
                continue
            blends = _blends(full, bgf, jpeg)
            if np.min(np.linalg.norm(blends - lab[i], axis=1)) > TINT_BLEND_DE:
                continue
            pm, fm = masks[i], masks[j]
            n_pale = np.count_nonzero(pm)
            if n_pale == 0:
                continue
            n, comp = cv2.connectedComponents(pm.astype(np.uint8), connectivity=8)
            touch_zone = cv2.dilate(fm.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            touching = np.unique(comp[touch_zone & pm])
            touch_share = np.count_nonzero(np.isin(comp, touching[touching > 0])) / n_pale
            near = cv2.dilate(fm.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
            near_share = np.count_nonzero(near & pm) / n_pale
            if touch_share >= TINT_TOUCH_SHARE and near_share >= TINT_NEAR_SHARE:
                drop.add(i)
                break
    if not drop:
        return colours
    # the fuller colour takes the tint's place in the order of prominence
    out: list = []
    for i, c in enumerate(colours):
        if i in drop:
            continue
        out.append(c)
    return out


#: the top of a colour's ink may climb above its running lowest point in at most this share of
#: its columns (censor marks, a stray label) and still fall like KM curves ...
MAX_RISE_SHARE = 0.1
#: ... by at least this share of the plot's height
MIN_FALL_SHARE = 0.1


def falls_like_curves(m: np.ndarray) -> bool:
    """True when the ink ``m`` (bool crop) falls from left to right like KM curves: the upper
    envelope of any number of survival curves (several arms, each with its confidence limits,
    in one colour: a black-and-white base R figure with conf.int) does not climb back, and it
    drops over the plot. Text, boxes and legends have many runs per column too, but their tops
    climb back up or stay flat. Top row per column (pixels, down), bridging a dashed line's
    gaps (2 % of the width); a climb is more than 2 % of the height plus 2 px (censor marks
    sticking up) above the lowest top of the preceding 5 % of the columns (an upper limit may
    creep up late in follow-up); lines entering at the top inked row (S = 1, or a clipped
    border) do not climb. The ink must hold drawn lines: a connected piece across a quarter of
    the plot's width."""
    import cv2

    ch = m.shape[0]
    cols = np.flatnonzero(m.any(axis=0))
    if cols.size < MIN_COLUMN_SPAN * m.shape[1]:
        return False
    # drawn lines, not scattered pixels (a curve's darker anti-aliased core, a paler blend):
    # one connected piece runs across a quarter of the plot at least
    _, _, st, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
    if st.shape[0] < 2 or st[1:, 2].max() < MIN_COLUMN_SPAN * m.shape[1]:
        return False
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    top = np.argmax(m[:, cols], axis=0).astype(float)
    # the envelope bridges a dashed line's gaps (2 % of the width): the next line down shows
    # through them
    top = minimum_filter1d(top, size=max(3, int(0.02 * m.shape[1])) | 1)
    # the lowest top over the preceding 5 % of the inked columns: an upper confidence limit
    # may creep up a little late in follow-up, which counts over that window only
    win = max(3, int(0.05 * cols.size))
    prev = maximum_filter1d(top, size=win, origin=(win - 1) // 2)
    # (lines entering at the highest inked row - S = 1, or from above a clipped top border -
    # are where every curve starts, not a climb)
    climbs = (prev - top > 0.02 * ch + 2.0) & (top > top.min() + 2)
    fall = np.maximum.accumulate(top)[-1] - top[0]
    return bool(np.mean(climbs) <= MAX_RISE_SHARE and fall >= MIN_FALL_SHARE * ch)


#: a pixel this far (Delta E) from the local paper colour is ink
INK_DE = 12.0
#: a pick this near (Delta E) another arm's colour matches that arm
MATCH_DE = 6.0
#: the stroke a pick reads its colour from: ink within this Delta E of the clicked core (a
#: line's own blends with the paper; not another curve of another shade that touches it)
STROKE_DE = 25.0


def ink_colour_at(image, point: tuple[float, float], radius: int = 6,
                  others: dict[str, tuple[int, int, int]] | None = None
                  ) -> tuple[tuple[int, int, int], tuple[int, int] | None, list[str]]:
    """The colour of the curve a user clicked: (RGB, (x, y) pixel it was read at, warnings).

    A click on a thin line lands a pixel or two off its core (on paper, or on its anti-aliased
    rim), so the pick snaps to the nearest ink pixel within ``radius`` pixels (ink: farther
    than INK_DE from the paper colour around the click) and then to the core of that stroke:
    the pixel in its 5x5 neighbourhood farthest from the paper. Never returns the paper's
    colour without saying so; warns when the colour is within MATCH_DE of an arm in ``others``
    (name -> RGB)."""
    img = np.asarray(image)
    h, w = img.shape[:2]
    x, y = int(round(point[0])), int(round(point[1]))
    warnings: list[str] = []
    if not (0 <= x < w and 0 <= y < h):
        return (255, 255, 255), None, [f"the point ({x}, {y}) is outside the image"]
    win = 30
    ya, yb, xa, xb = max(0, y - win), min(h, y + win + 1), max(0, x - win), min(w, x + win + 1)
    patch = img[ya:yb, xa:xb]
    lab = rgb_to_lab(patch)
    paper = rgb_to_lab(background_color(patch)[None].astype(float))[0]
    de = np.linalg.norm(lab - paper, axis=2)
    ink = de > INK_DE
    cy, cx = y - ya, x - xa
    r0, r1, c0, c1 = max(0, cy - radius), min(ink.shape[0], cy + radius + 1), \
        max(0, cx - radius), min(ink.shape[1], cx + radius + 1)
    ys, xs = np.nonzero(ink[r0:r1, c0:c1])
    if ys.size == 0:
        rgb = tuple(int(v) for v in img[y, x])
        return rgb, None, [f"no curve within {radius} pixels of ({x}, {y}): the pick is the paper's colour; "
                           "click on the curve"]
    j = int(np.argmin((ys + r0 - cy) ** 2 + (xs + c0 - cx) ** 2))
    ny, nx = int(ys[j] + r0), int(xs[j] + c0)
    s0, s1, t0, t1 = max(0, ny - 2), min(ink.shape[0], ny + 3), max(0, nx - 2), min(ink.shape[1], nx + 3)
    sub = np.where(ink[s0:s1, t0:t1], de[s0:s1, t0:t1], -1.0)
    k = np.unravel_index(int(np.argmax(sub)), sub.shape)
    py, px = int(k[0] + s0), int(k[1] + t0)
    # a line a pixel or so wide shows its full colour only where it sits on the pixel grid: the
    # colour is read where the stroke (its ink connected to the pick, in the window) is most
    # covered, i.e. farthest from the paper
    import cv2

    _, labels = cv2.connectedComponents(ink.astype(np.uint8), connectivity=8)
    # (only ink like the pick's core: a grey curve touching a black one is not black)
    stroke = (labels == labels[ny, nx]) & (np.linalg.norm(lab - lab[py, px], axis=2) < STROKE_DE)
    k = np.unravel_index(int(np.argmax(np.where(stroke, de, -1.0))), de.shape)
    rgb = tuple(int(v) for v in patch[k])
    for name, other in (others or {}).items():
        d = float(np.linalg.norm(rgb_to_lab(np.array([rgb], float))[0] - rgb_to_lab(np.array([other], float))[0]))
        if d < MATCH_DE:
            warnings.append(f"the picked colour #%02x%02x%02x matches arm '{name}' (Delta E {d:.1f}); arms of one "
                            "colour are told apart by line style: click on the curve itself" % rgb)
    return rgb, (px + xa, py + ya), warnings
