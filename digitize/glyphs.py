"""Censor-mark glyphs: tell curves of one colour and one line style apart by their marks.

Black-and-white figures often draw two solid curves alike and mark their censorings with
different symbols (base R ``pch = c(1, 2)``: circles and triangles; SAS and Stata: circles,
crosses, squares), the legend key showing each arm's symbol on its line. A key's symbol is
found as the one compact blob of columns taller than the line (:func:`key_glyph`); where that
symbol is drawn in the plot is found by normalised cross-correlation of every key's template
over the plot's ink, scored by how much better it matches there than any other key's symbol
(:func:`glyph_points`). A mark sits on its curve, so that point tells the tracer which of the
same-styled curves is the arm's (extract: ``ArmSpec.at``).

Pure functions on numpy arrays (image pixels; bool or float ink maps).
"""
from __future__ import annotations

import numpy as np

#: a key's marker must match at least this well (normalised correlation; on base R figures at
#: 120 dpi every match at 0.45 or above that beat the other symbol by 0.2 was a true mark)
MIN_SCORE = 0.45
#: ... and better than every other key's marker there by at least this much
MIN_MARGIN = 0.2
#: share of a symbol's ink above its line, and of its ink below, that a match must find inked
MIN_PART_INK = 0.4
#: two keys whose markers correlate above this (best alignment) show the same symbol
SAME_GLYPH = 0.8


def key_glyph(ink: np.ndarray, box: tuple[int, int, int, int], line_width: float = 1.0) -> np.ndarray | None:
    """Float template (rows, cols; 1 = ink) of the marker drawn across a legend key's line, or
    None when the key has no marker. ``ink``: bool image map; ``box``: the key's strip
    (x0, y0, x1, y1 image pixels, inclusive). The marker is the one run of columns holding
    more ink than the line's own rows (gaps of a pixel bridged), cropped with a pixel's margin,
    the line's own rows blanked."""
    x0, y0, x1, y1 = (int(v) for v in box)
    h, w = ink.shape
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w - 1, x1), min(h - 1, y1)
    m = np.asarray(ink[y0:y1 + 1, x0:x1 + 1], bool)
    if m.shape[0] < 3 or m.shape[1] < 6:
        return None
    m[:, m.mean(axis=0) >= 0.7] = False      # a legend frame's vertical edge
    per_row = m.sum(axis=1)
    r = int(np.argmax(per_row))
    line_rows = m.mean(axis=1) >= 0.7 * m[r].mean()
    col_h = m[~line_rows].sum(axis=0)
    tall = col_h >= max(2.0, line_width + 1.0)
    idx = np.flatnonzero(tall)
    # (one column is a '+' across the line: its bar)
    if idx.size < 1 or np.any(np.diff(idx) > 2) or idx[-1] - idx[0] + 1 > 0.6 * m.shape[1]:
        return None
    a, b = max(0, int(idx[0]) - 1), min(m.shape[1], int(idx[-1]) + 2)
    rows = np.flatnonzero(m[:, a:b].any(axis=1))
    ra, rb = max(0, int(rows[0]) - 1), min(m.shape[0], int(rows[-1]) + 2)
    t = m[ra:rb, a:b].astype(np.float32)
    # the symbol alone: the line's rows are every key's (and every plateau's), so they only
    # make a bare corner or plateau look like any symbol
    t[line_rows[ra:rb]] = 0.0
    return t


def same_glyph(t1: np.ndarray, t2: np.ndarray) -> bool:
    """Whether two key templates show the same symbol: their best normalised correlation over
    small shifts (the smaller padded inside the larger) is above :data:`SAME_GLYPH`."""
    import cv2

    hh, ww = max(t1.shape[0], t2.shape[0]) + 2, max(t1.shape[1], t2.shape[1]) + 2
    big = np.zeros((hh + 4, ww + 4), np.float32)
    big[2:2 + t1.shape[0], 2:2 + t1.shape[1]] = t1
    s = cv2.matchTemplate(big, t2.astype(np.float32), cv2.TM_CCOEFF_NORMED)
    return float(np.nanmax(s)) >= SAME_GLYPH


def _halves(t: np.ndarray) -> list[np.ndarray]:
    """A symbol template split at its line's blank rows into the part above and the part below
    (same size, the rest blank): a mark on a plateau has ink on both sides of the line, a
    curve's corner (a plateau and its drop) on one. The whole template if it has no blank
    middle rows."""
    ink_rows = np.flatnonzero(t.sum(axis=1) > 0)
    if ink_rows.size == 0:
        return [t]
    inner = np.arange(ink_rows[0], ink_rows[-1] + 1)
    blank = inner[t[inner].sum(axis=1) == 0]
    if blank.size == 0:
        return [t]
    top, bottom = t.copy(), t.copy()
    top[blank[0]:] = 0.0
    bottom[:blank[-1] + 1] = 0.0
    return [p for p in (top, bottom) if p.std() > 0] or [t]


def glyph_points(ink: np.ndarray, templates: list[np.ndarray], exclude: np.ndarray | None = None
                 ) -> list[np.ndarray]:
    """For each template (:func:`key_glyph`), the centres (x, y pixels of ``ink``; array (n, 2),
    best first) of the places in ``ink`` (float or bool map of the curves' colour) where that
    symbol is drawn: local maxima of its normalised correlation at least :data:`MIN_SCORE`
    and at least :data:`MIN_MARGIN` above every other template's there (a symbol matching all
    keys alike - a bare plateau, a drop - tells nothing), one per symbol-sized neighbourhood,
    with :data:`MIN_PART_INK` of the symbol's ink found both above and below its line
    (:func:`_halves`).
    ``exclude`` (bool, same shape): pixels a match may not cover (the legend itself, text)."""
    import cv2

    # (unblurred: blurring both by a pixel let drops and corners match every symbol)
    img = np.asarray(ink, np.float32)
    templates = [np.pad(np.asarray(t, np.float32), 2) for t in templates]
    H, W = img.shape
    th = max(t.shape[0] for t in templates)
    tw = max(t.shape[1] for t in templates)
    empty = np.zeros((0, 2))
    if H < th + 2 or W < tw + 2 or len(templates) < 2:
        return [empty] * len(templates)
    # scores at each template's centre, on one grid for all templates
    scores = np.full((len(templates), H, W), -1.0, np.float32)
    for k, t in enumerate(templates):
        if t.std() == 0:
            continue
        sc = np.nan_to_num(cv2.matchTemplate(img, t, cv2.TM_CCOEFF_NORMED), nan=-1.0)
        cy, cx = t.shape[0] // 2, t.shape[1] // 2
        scores[k, cy:cy + sc.shape[0], cx:cx + sc.shape[1]] = sc
    if exclude is not None:
        near = cv2.dilate(np.asarray(exclude, np.uint8), np.ones((th + 2, tw + 2), np.uint8)) > 0
        scores[:, near] = -1.0
    out = []
    for k in range(len(templates)):
        others = np.max(np.delete(scores, k, axis=0), axis=0)
        margin = np.where(scores[k] >= MIN_SCORE, scores[k] - others, -1.0).astype(np.float32)
        peak = margin >= cv2.dilate(margin, np.ones((th, tw), np.uint8))
        ys, xs = np.nonzero(peak & (margin >= MIN_MARGIN))
        # the symbol's ink both above and below the line (a corner has it on one side only)
        t = templates[k]
        cy, cx = t.shape[0] // 2, t.shape[1] // 2
        ok = np.ones(ys.size, bool)
        for part in _halves(t):
            m = part > 0
            for n, (y, x) in enumerate(zip(ys, xs)):
                win = img[y - cy:y - cy + t.shape[0], x - cx:x - cx + t.shape[1]]
                if win.shape != t.shape or float(win[m].mean()) < MIN_PART_INK:
                    ok[n] = False
        ys, xs = ys[ok], xs[ok]
        order = np.argsort(-margin[ys, xs])
        out.append(np.column_stack([xs[order], ys[order]]).astype(float) if ys.size else empty)
    return out
