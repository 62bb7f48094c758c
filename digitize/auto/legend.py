"""Arm names: legend entries (text beside a coloured line swatch) and coloured risk-table row
labels, matched to the curves' colours.

Colour distances are CIE76 ΔE in Lab (as for curve extraction); matching is a minimum-cost
assignment (Hungarian algorithm, scipy.optimize.linear_sum_assignment) so two entries never
claim the same curve.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from digitize.inkmask import is_neutral, rgb_to_lab
from digitize.auto.text import Token, core_colour, is_wordy

#: entries farther than this (Lab ΔE) from every curve colour are not matched by colour
MAX_MATCH_DE = 40.0


@dataclass
class NamedColour:
    """A name printed in/next to a colour; ``source`` is "legend" or "risk_table"."""

    name: str
    rgb: tuple[int, int, int] | None
    source: str
    bbox: tuple[int, int, int, int]
    score: float
    n: int | None = None        # patients printed with the name ("Drug A (n=120)")
    #: how its legend key is drawn, when read: {"dashes": runs on the key's line (1 = solid),
    #: "thickness": px, "marker": ink off the line (a glyph on it)}; for line-style matching
    key: dict | None = None


def delta_e(a, b) -> float:
    """CIE76 ΔE between two RGB colours (0-255)."""
    return float(np.linalg.norm(rgb_to_lab(np.asarray(a, float)) - rgb_to_lab(np.asarray(b, float))))


_N_SUFFIX = re.compile(r"\s*[\(\[]?\s*[nN]\s*[=:]\s*[\dOoIl,]+\s*[\)\]]?\s*$")


def clean_name(text: str) -> tuple[str, int | None]:
    """Strip a trailing '(n=120)' from a label; return (name, n or None)."""
    m = _N_SUFFIX.search(text)
    n = None
    if m:
        digits = re.sub(r"\D", "", m.group(0).translate(str.maketrans("OoIl", "0011")))
        n = int(digits) if digits else None
        text = text[: m.start()]
    return text.strip(" :;-"), n


def merge_phrases(row: list[Token], max_gap: float, stop=None) -> list[Token]:
    """Join neighbouring word tokens of one row into phrases ("Drug A", "High dose");
    tokens for which ``stop(token)`` is true are never joined (table cells)."""
    out: list[Token] = []
    for t in row:
        p = out[-1] if out else None
        if (p is not None and t.bbox[0] - p.bbox[2] <= max_gap and is_wordy(p.text.split(" ")[0])
                and not (stop and stop(t))):
            bbox = (p.bbox[0], min(p.bbox[1], t.bbox[1]), t.bbox[2], max(p.bbox[3], t.bbox[3]))
            out[-1] = Token(bbox, p.n_parts + t.n_parts, f"{p.text} {t.text}".strip(),
                            min(p.score, t.score), p.rgb, {"parts": p.extra.get("parts", [p]) + [t]})
        else:
            out.append(t)
    return out


def is_swatch(ink: np.ndarray, tok: Token, th: float) -> bool:
    """A legend key drawn as a short line (with or without a marker on it: '—', '-+-', '-o-'):
    a token at least 1.2 text heights wide, one ink row of which runs across at least 80 % of
    its width, and no taller than a capital (letters never hold such a long straight run)."""
    x0, y0, x1, y1 = tok.bbox
    w = x1 - x0
    if w < 1.2 * th or (y1 - y0) > 1.3 * th or tok.n_parts > 3:
        return False
    m = ink[y0:y1, x0:x1]
    if m.size == 0:
        return False
    best = 0
    for row in m:  # longest unbroken run of ink on any one row
        r = np.concatenate([[0], row.astype(np.int8), [0]])
        e = np.flatnonzero(np.diff(r))
        if e.size:
            best = max(best, int((e[1::2] - e[::2]).max()))
    return best >= 0.8 * w


def split_at_swatches(phrases: list[Token], tokens: list[Token], ink: np.ndarray, th: float,
                      max_gap: float, tol: float) -> tuple[list[Token], list[Token]]:
    """Split phrases that run through legend swatches ('Strata -+- Obs -+- Lev' is three
    entries, not one name) into the words between the swatches. Returns (phrases, swatches)."""
    from digitize.auto.text import merge_boxes  # noqa: PLC0415

    sw = [t for t in tokens if is_swatch(ink, t, th)]
    if not sw:
        return phrases, []
    inside = lambda t, p: (p.bbox[0] <= t.bbox[0] and t.bbox[2] <= p.bbox[2]  # noqa: E731
                           and p.bbox[1] <= t.bbox[1] and t.bbox[3] <= p.bbox[3])
    out = []
    for p in phrases:
        if not any(inside(t, p) for t in sw):
            out.append(p)
            continue
        words = [t for t in tokens if inside(t, p) and not any(t is s for s in sw)]
        out.extend(q for q in merge_boxes(words, max_gap, tol) if q.w >= 1.0 * th)
    return out, sw


def swatch_colour(image: np.ndarray, ink: np.ndarray, tok: Token, th: float
                  ) -> tuple[int, int, int] | None:
    """Colour of a legend line swatch left of a text token (None when there is none).

    The swatch is the pixel row with the longest ink run in a strip left of the text (a
    legend frame's vertical edge or a marker adds only a few pixels per row)."""
    x1 = tok.bbox[0] - max(2, int(0.3 * th))
    x0 = max(0, tok.bbox[0] - int(4.5 * th))
    y0 = max(0, int(tok.cy - 0.6 * th))
    y1 = int(tok.cy + 0.6 * th) + 1
    if x1 - x0 < 3:
        return None
    m = ink[y0:y1, x0:x1].copy()
    if m.size == 0:
        return None
    m = off_key_fill(image[y0:y1, x0:x1], m, th)
    m[:, m.mean(axis=0) >= 0.7] = False  # vertical lines: the legend frame's edge
    m[_passing_rows(ink, x0, y0, y1, th)] = False
    per_row = m.sum(axis=1)
    r = int(np.argmax(per_row))
    if per_row[r] < max(4, 1.2 * th):
        return None
    # the swatch: runs of ink at least 3 px long on that row (dashes included), not the
    # legend frame's vertical edge
    row = np.concatenate([[0], m[r].astype(int), [0]])
    edges = np.flatnonzero(np.diff(row))
    starts, ends = edges[::2], edges[1::2]
    keep = (ends - starts) >= 3
    if (ends - starts)[keep].sum() < max(4, 1.0 * th):
        return None
    cols = np.zeros(m.shape[1], bool)
    for a, b in zip(starts[keep], ends[keep]):
        cols[a:b] = True
    # a key is a thin line (a marker adds a little ink above and below): the neighbouring
    # word's letters put as much ink in the rows around their horizontal strokes
    k = int(np.argmax(ends - starts))  # the longest run: the key itself, not a letter's stroke
    if starts[k] == 0 and x0 > 0:
        # a line running on well past the strip's left end is a curve passing by, not a key
        yy = min(r + y0, ink.shape[0] - 1)
        band = ink[max(0, yy - 1):yy + 2, max(0, x0 - int(2 * th)):x0].any(axis=0)[::-1]
        run = int(np.argmin(band)) if not band.all() else band.size
        if run >= 1.5 * th:
            return None
    lc = slice(starts[k], ends[k])
    fill = m[:, lc].mean(axis=1)
    line_rows = fill >= 0.7            # the line's own rows (it may be several pixels thick)
    on_line = m[line_rows, lc].sum()
    around = m[~line_rows, lc].sum()
    # (a key line whose edge rows are partly inked, with a marker across it: most of its
    # columns still hold only a thin band, where a letter's columns are x-height tall)
    col_h = m[:, lc].sum(axis=0)
    tall = col_h > max(3.0, 0.3 * th)
    thin_key = np.mean(~tall) >= 0.75 or _one_marker(tall)
    if around > 0.6 * on_line and not thin_key:
        return None
    rows = slice(max(0, r - 1), r + 2)
    sel = m[rows] & cols[None, :]
    px = image[y0:y1, x0:x1][rows][sel].astype(float)
    return core_colour(px, 90)


#: a filled key box is at least this many text heights wide (a legend frame's edge is a few px)
KEY_BOX_WIDTH = 0.8
#: ink within this Delta E of a key box's fill is the fill, not the key's line
KEY_FILL_DE = 15.0


def off_key_fill(strip_rgb: np.ndarray, m: np.ndarray, th: float) -> np.ndarray:
    """The ink map ``m`` of a key strip (bool, its pixels ``strip_rgb``) without the fill of a
    key box, if the key is drawn over one.

    General property: ggplot/survminer legends of a plot with confidence bands draw each key as
    a square filled with the band's colour, the arm's line across it (and its censor mark):
    every column of the square is inked, so the square read as a frame's vertical edges (and
    was removed with the line) or as a line of the band's pale colour. A filled box is a block
    of columns at least :data:`KEY_BOX_WIDTH` text heights wide, each at least 70 % inked; its
    fill is the median colour of those columns' ink, and ink within :data:`KEY_FILL_DE` of it is
    dropped (the line, its marker and the box's edge stay)."""
    cols = m.mean(axis=0) >= 0.7 if m.size else np.zeros(0, bool)
    if cols.sum() < max(3, KEY_BOX_WIDTH * th):
        return m
    # the widest block of such columns (a frame's edges are apart, a box's columns adjoin)
    e = np.flatnonzero(np.diff(np.concatenate([[0], cols.astype(np.int8), [0]])))
    run = int(np.max(e[1::2] - e[::2]))
    if run < max(3, KEY_BOX_WIDTH * th):
        return m
    box = m & cols[None, :]
    lab = rgb_to_lab(strip_rgb[..., :3].astype(float))
    fill = np.median(lab[box], axis=0)
    return m & (np.linalg.norm(lab - fill, axis=2) > KEY_FILL_DE)


def _passing_rows(ink: np.ndarray, x0: int, y0: int, y1: int, th: float) -> np.ndarray:
    """Rows y0..y1-1 of a key strip starting at column ``x0`` that a curve passes along (bool
    per row): ink at the strip's left edge running on left of it for 1.5 text heights or more.

    General property: a legend key is a short line ending inside its strip (a few text heights
    long, left of its text); a curve is a line running across the plot. A legend placed where
    the curves run (bottom right over the tails, top left over their start at S = 1) has a
    curve's plateau crossing the strip a few pixels above or below the key; that row holds
    the strip's longest ink run, and taking it for the key lost the entry (seed-0 R figure 2's
    'Drug'). Such rows are left out and the key is looked for in the others."""
    out = np.zeros(max(0, y1 - y0), bool)
    if x0 <= 0 or out.size == 0:
        return out
    w = int(1.5 * th)
    left = ink[y0:y1, max(0, x0 - w):x0 + 1]
    if left.shape[1] < w:
        return out
    # a pixel's tolerance for a step of the curve (anti-aliased rows): the row or a neighbour
    near = left.copy()
    near[1:] |= left[:-1]
    near[:-1] |= left[1:]
    out = ink[y0:y1, x0].astype(bool) & near.all(axis=1)
    return out


def _one_marker(tall: np.ndarray) -> bool:
    """Whether the tall columns of a key line (bool per column) are one marker drawn across
    its middle (base R's ``legend(pch = ...)``: a circle or triangle a text height wide on a
    line a few times longer): one run of columns (gaps of a pixel bridged), at most half the
    line, centred within its middle half. A word's letters stand over the whole strip."""
    idx = np.flatnonzero(tall)
    n = tall.size
    if idx.size == 0 or n < 6:
        return False
    if np.any(np.diff(idx) > 2):
        return False
    a, b = int(idx[0]), int(idx[-1]) + 1
    mid = 0.5 * (a + b)
    return (b - a) <= 0.5 * n and 0.25 * n <= mid <= 0.75 * n


def leading_swatch(image: np.ndarray, ink: np.ndarray, tok: Token, th: float
                   ) -> tuple[int, int, int] | None:
    """Colour of a legend key drawn so close to its text that both are one token: a thin
    horizontal line (at most 3 px tall, at least 1.2 text heights long) starting at the token's
    left edge. None when the token starts with a letter."""
    x0, y0, x1, y1 = tok.bbox
    m = ink[y0:y1, x0:min(x1, x0 + int(4.5 * th))]
    if m.size == 0:
        return None
    cols = m.any(axis=0)
    if not cols[:2].any():
        return None
    # columns from the left edge whose ink is one thin horizontal band
    n = 0
    band = None
    for j in range(m.shape[1]):
        rows = np.flatnonzero(m[:, j])
        if rows.size == 0 or rows[-1] - rows[0] > 2:
            break
        lo, hi = int(rows[0]), int(rows[-1])
        if band is not None and (lo > band[1] + 1 or hi < band[0] - 1):
            break
        band = (lo, hi) if band is None else (min(band[0], lo), max(band[1], hi))
        n += 1
    if n < 1.2 * th or band is None or band[1] - band[0] > 3:
        return None
    sub = m[band[0]:band[1] + 1, :n]
    px = image[y0 + band[0]:y0 + band[1] + 1, x0:x0 + n][sub].astype(float)
    return core_colour(px, 90) if px.size else None


def key_style(ink: np.ndarray, tok: Token, th: float, image: np.ndarray | None = None) -> dict | None:
    """How the legend key left of a text token is drawn: the number of ink runs on its line
    (1 = solid, more = dashed or dotted), the line's thickness (px) and whether a marker sits
    on it. None when there is no line key. Given the RGB ``image``, a key drawn over a filled
    box (:func:`off_key_fill`) is read without the fill."""
    x1 = tok.bbox[0] - max(2, int(0.3 * th))
    x0 = max(0, tok.bbox[0] - int(4.5 * th))
    y0 = max(0, int(tok.cy - 0.6 * th))
    y1 = int(tok.cy + 0.6 * th) + 1
    m = ink[y0:y1, x0:x1].copy()
    if m.size == 0 or x1 - x0 < 3:
        return None
    if image is not None:
        m = off_key_fill(np.asarray(image)[y0:y1, x0:x1], m, th)
    m[_passing_rows(ink, x0, y0, y1, th)] = False   # a curve passing by, not the key
    per_row = m.sum(axis=1)
    r = int(np.argmax(per_row))
    if per_row[r] < max(4, 1.0 * th):
        return None
    row = np.concatenate([[0], m[r].astype(int), [0]])
    e = np.flatnonzero(np.diff(row))
    all_runs = [(int(a), int(b)) for a, b in zip(e[::2], e[1::2])]
    k = int(np.argmax([b - a for a, b in all_runs]))
    line_rows = m[:, all_runs[k][0]:all_runs[k][1]].mean(axis=1) >= 0.7

    def thin(a, b) -> bool:  # a piece of the key's line, not a letter's stroke
        on = m[line_rows, a:b].sum()
        return on > 0 and m[~line_rows, a:b].sum() <= 0.6 * on

    # the key: the longest run and the thin runs chained to it by dash-sized gaps
    runs = [all_runs[k]]
    for step in (-1, 1):
        j = k + step
        while 0 <= j < len(all_runs):
            a, b = all_runs[j]
            near = (runs[0][0] - b) if step < 0 else (a - runs[-1][1])
            if near > 0.8 * th or not thin(a, b) or b - a < 2:
                break
            runs = [(a, b)] + runs if step < 0 else runs + [(a, b)]
            j += step
    cols = np.zeros(m.shape[1], bool)
    for a, b in runs:
        cols[a:b] = True
    fill = m[:, cols].mean(axis=1)
    thick = int((fill >= 0.7).sum())
    off = m[fill < 0.7][:, cols].sum()
    return {"dashes": len(runs), "thickness": thick, "marker": bool(off >= 4)}


def blend_distance(curve_rgb, printed_rgb, bg_rgb, dilution_cost: float = 0.0) -> float:
    """ΔE from a printed colour to the nearest anti-aliased blend ``bg + a (curve - bg)``,
    a in [0.35, 1]: a thin legend swatch or small text shows its colour diluted by the paper.
    ``dilution_cost`` adds that many ΔE units per unit of (1 - a), so that of two curves a
    print could be a blend of (black and grey), the less diluted explanation wins."""
    c = np.asarray(curve_rgb, float)
    bg = np.asarray(bg_rgb, float)
    a = np.linspace(0.35, 1.0, 14)
    blends = bg[None, :] + a[:, None] * (c - bg)[None, :]
    printed = rgb_to_lab(np.asarray(printed_rgb, float))
    d = np.linalg.norm(rgb_to_lab(blends) - printed[None], axis=1) + dilution_cost * (1.0 - a)
    return float(np.min(d))


def match_names(colours: list[tuple[int, int, int]], named: list[NamedColour], bg_rgb=(255, 255, 255)
                ) -> dict[int, NamedColour]:
    """Assign named colours to curve colours (index -> entry), minimising the total
    :func:`blend_distance`; pairs farther than :data:`MAX_MATCH_DE` stay unassigned."""
    from scipy.optimize import linear_sum_assignment  # noqa: PLC0415

    named = [e for e in named if e.rgb is not None]
    if not colours or not named:
        return {}
    cost = np.array([[blend_distance(c, e.rgb, bg_rgb, 10.0) for e in named] for c in colours])
    # a chromatic print never comes from a grey/black curve (the reverse happens: JPEG
    # washes the colour out of thin swatches)
    neutral_curve = np.array([is_neutral(c, 8.0) for c in colours])
    chromatic_print = np.array([not is_neutral(e.rgb, 15.0) for e in named])
    cost += 30.0 * (neutral_curve[:, None] & chromatic_print[None, :])
    r, c = linear_sum_assignment(cost)
    out = {int(i): named[j] for i, j in zip(r, c) if cost[i, j] <= MAX_MATCH_DE}
    return _darkness_order(out, colours, bg_rgb)


def _darkness_order(pairs: dict[int, NamedColour], colours, bg_rgb) -> dict[int, NamedColour]:
    """Re-pair neutral prints with neutral curves in order of darkness. Every grey lies on
    black's blend line with the paper, so a thin swatch's colour cannot say whether it is a
    grey line or a diluted black one (at 72 dpi a 0.75 px black key reads #888888). Keys drawn
    alike are diluted alike, so the darker key is the darker curve's: the pairs keep their
    colours and prints, re-sorted so that both run from dark to light."""
    idx = [i for i, e in pairs.items() if is_neutral(colours[i], 8.0) and is_neutral(e.rgb, 15.0)]
    if len(idx) < 2:
        return pairs
    bg = rgb_to_lab(np.asarray(bg_rgb, float)[None])[0, 0]
    light = lambda rgb: abs(float(rgb_to_lab(np.asarray(rgb, float)[None])[0, 0]) - bg)  # noqa: E731
    by_curve = sorted(idx, key=lambda i: -light(colours[i]))
    by_print = sorted((pairs[i] for i in idx), key=lambda e: -light(e.rgb))
    out = dict(pairs)
    out.update(zip(by_curve, by_print))
    return out


def abbreviates(short: str, full: str) -> bool:
    """True when ``short`` is ``full`` cut short: its leading words, each whole or a prefix of
    three or more letters ('TTFields' for 'TTFields + temozolomide', 'Lev' for 'Levamisole').
    Risk tables often print such shortened names of the legend's arms."""
    ws, wf = short.lower().split(), full.lower().split()
    if not ws or len(ws) > len(wf) or ws == wf:
        return False
    for x, y in zip(ws, wf):
        x = x.rstrip(".")
        if x != y and not (len(x) >= 3 and y.startswith(x)):
            return False
    return True


def squashed(name: str) -> str:
    """``name`` lower-cased without spaces: how names are compared (case and spaces ignored)."""
    return re.sub(r"\s+", "", name.lower())


def similar(a: str, b: str) -> float:
    """String similarity 0-1 ignoring case and spaces (for matching table rows to legend names);
    a name cut short (:func:`abbreviates`) scores 0.9."""
    if abbreviates(a, b) or abbreviates(b, a):
        return 0.9
    return difflib.SequenceMatcher(None, squashed(a), squashed(b)).ratio()


def refine_colour(image: np.ndarray, plot_area, rgb, exclude: np.ndarray | None = None
                  ) -> tuple[int, int, int]:
    """Snap a printed colour (a legend swatch, a label) to the curve ink in the plot area.

    Anti-aliased ink is a blend ``bg + a (c - bg)`` of the paper and the line colour, so the
    plot pixels near the ray from the paper colour through ``rgb`` are that line's pixels; the
    line's own colour is the median of the farthest tenth of them along the ray (its core),
    looking no farther than 1.3 times the printed colour (beyond lie blends with other ink).
    Returns ``rgb`` unchanged when fewer than 30 plot pixels lie on the ray.
    """
    from digitize.inkmask import background_color  # noqa: PLC0415

    x0, y0, x1, y1 = (int(v) for v in plot_area)
    sub = image[y0 + 3:y1 - 2, x0 + 3:x1 - 2, :3].reshape(-1, 3).astype(float)
    if exclude is not None:
        sub = sub[~exclude[y0 + 3:y1 - 2, x0 + 3:x1 - 2].ravel()]
    if sub.shape[0] < 30:
        return tuple(int(v) for v in rgb)
    bg = background_color(image)
    d = np.asarray(rgb, float) - bg
    dd = float(d @ d)
    # the ray goes from the paper through the printed colour
    if dd < 400:  # printed colour too close to the paper to define a direction
        return tuple(int(v) for v in rgb)
    v = sub - bg
    a = v @ d / dd
    perp = np.linalg.norm(v - a[:, None] * d[None, :], axis=1)
    near = (a >= 0.7) & (a <= 1.3) & (perp <= 0.15 * np.sqrt(dd) + 6)
    target_chroma = float(np.hypot(*rgb_to_lab(np.asarray(rgb, float))[1:]))
    if target_chroma >= 15:  # a coloured print: grey/black ink is not its line
        lab = rgb_to_lab(sub[near])
        ok = np.hypot(lab[:, 1], lab[:, 2]) >= 0.5 * target_chroma
        near[np.flatnonzero(near)[~ok]] = False
    if near.sum() < 30:
        return tuple(int(v) for v in rgb)
    an = a[near]
    core = sub[near][an >= np.percentile(an, 90)]
    return tuple(int(v) for v in np.clip(np.median(core, axis=0), 0, 255))


_ROMAN = re.compile(r"^(?:I{1,3}|IV|V|VI{0,3}|IX|X)$")
_ROMAN_LIKE = {"1": "I", "l": "I", "|": "I", "11": "II", "ll": "II", "111": "III", "lll": "III",
               "1V": "IV", "lV": "IV", "V1": "VI"}


def harmonise_names(names: list[str]) -> list[str]:
    """Undo OCR turning a Roman numeral into digits when its siblings are Roman
    ('Stage 1', 'Stage II' -> 'Stage I', 'Stage II')."""
    parts = [n.rsplit(" ", 1) if " " in n else [n, ""] for n in names]
    out = []
    for prefix, suffix in parts:
        roman_sibling = any(p == prefix and _ROMAN.match(s) for p, s in parts if s != suffix)
        if roman_sibling and suffix in _ROMAN_LIKE:
            out.append(f"{prefix} {_ROMAN_LIKE[suffix]}")
        else:
            out.append(f"{prefix} {suffix}".strip())
    # 'Stage I', 'Stage II', 'Stage II', 'Stage IV' (a serif III read as II): names listed in
    # order with Roman numbers are I, II, III, ... - a duplicate takes its position's numeral
    seq = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]
    parts = [n.rsplit(" ", 1) if " " in n else [n, ""] for n in out]
    sufs = [p[1] for p in parts]
    if (2 <= len(out) <= len(seq) and len({p[0] for p in parts}) == 1 and len(set(sufs)) < len(sufs)
            and all(x in seq for x in sufs)):
        dup = {x for x in sufs if sufs.count(x) > 1}
        expected = seq[:len(out)]
        if all(x == e or x in dup for x, e in zip(sufs, expected)):
            out = [f"{parts[0][0]} {e}" for e in expected]
    return out
