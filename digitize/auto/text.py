"""Text tokens from connected components, and parsing of what OCR read in them.

A token is one word or number: character components on a common baseline with gaps smaller
than about half the text height. Finding tokens from the ink (rather than with an OCR text
detector) is fast and gives the exact label extent needed to align labels with ticks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Token:
    """A word/number box (x0, y0, x1, y1) in image pixels (x1, y1 exclusive) and its reading."""

    bbox: tuple[int, int, int, int]
    n_parts: int = 1
    text: str = ""
    score: float = 0.0
    rgb: tuple[int, int, int] = (0, 0, 0)
    extra: dict = field(default_factory=dict)

    @property
    def cx(self) -> float:
        return (self.bbox[0] + self.bbox[2] - 1) / 2.0

    @property
    def cy(self) -> float:
        return (self.bbox[1] + self.bbox[3] - 1) / 2.0

    @property
    def w(self) -> int:
        return self.bbox[2] - self.bbox[0]

    @property
    def h(self) -> int:
        return self.bbox[3] - self.bbox[1]

    @property
    def number(self) -> float | None:
        return parse_number(self.text)


class _DSU:
    def __init__(self, n):
        self.p = list(range(n))

    def find(self, i):
        while self.p[i] != i:
            self.p[i] = self.p[self.p[i]]
            i = self.p[i]
        return i

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.p[max(a, b)] = min(a, b)


def find_tokens(ink: np.ndarray, exclude: np.ndarray | None = None, gap_factor: float = 0.45,
                text_height: float | None = None) -> tuple[list[Token], float]:
    """Group ink components into word tokens.

    ink: bool HxW; exclude: bool HxW, True where nothing is text (axis lines, curves).
    Returns (tokens, typical character height in pixels).
    """
    import cv2  # noqa: PLC0415

    m = ink if exclude is None else ink & ~exclude
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
    H, W = ink.shape
    if text_height is not None and text_height >= 3:
        m2 = _split_touching_rows(m, lab, stats, float(text_height))
        if m2 is not None:
            m = m2
            n, _, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, w, h, a = stats[i]
        if h > 0.12 * H or w > 0.25 * W or (h <= 1 and w <= 1):
            continue
        boxes.append((x, y, x + w, y + h, a))
    if not boxes:
        return [], 0.0
    b = np.asarray(boxes, float)
    hs = b[:, 3] - b[:, 1]
    if text_height is None:
        big = hs[hs >= 4]
        text_height = float(np.median(big)) if big.size else float(np.median(hs))
    th = max(text_height, 3.0)
    ws = b[:, 2] - b[:, 0]
    fill = b[:, 4] / np.maximum(ws * hs, 1)
    # no characters: taller than three text lines, or large and hollow (legend frames, boxes),
    # or a thin upright stroke taller than any glyph (a risk table's own short y axis, which
    # would join every row label through its tick marks)
    keep = (hs <= 3.0 * th) & ~((np.maximum(ws, hs) > 2.5 * th) & (fill < 0.25)) \
        & ~((hs > 1.8 * th) & (ws <= 0.2 * hs))
    b = b[keep, :4]
    hs = hs[keep]
    gap = max(2.0, gap_factor * th)
    order = np.argsort(b[:, 0])
    b = b[order]
    hs = hs[order]
    dsu = _DSU(len(b))
    stacked: list[tuple[int, int]] = []
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            if b[j, 0] - b[i, 2] > max(gap, gap_factor * min(hs[i], hs[j])) and b[j, 0] > b[i, 2]:
                # sorted by x0, but an earlier wide box may still reach further; cheap bound
                if b[j, 0] - b[i, 2] > 3 * th:
                    break
                continue
            xov = min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0])
            yov = min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1])
            hmin = min(hs[i], hs[j])
            same_line = yov >= 0.3 * hmin
            small_mark = not same_line and (
                # small marks (dots, '%' parts, commas) within the taller box's vertical span
                hmin <= 0.45 * th and b[j, 1] >= min(b[i, 1], b[j, 1]) - 0.2 * th
                and b[j, 3] <= max(b[i, 3], b[j, 3]) + 0.3 * th and yov > -0.3 * th
            )
            # glyphs of a larger font than the typical text (a survminer risk table's numbers)
            # are spaced in proportion to their own height: '1' + '88' is one number
            g = max(gap, gap_factor * hmin)
            if same_line and xov > -g:
                dsu.union(i, j)
            elif small_mark and xov > -gap:
                stacked.append((i, j))  # (a tick mark under a number is one too: see below)
            elif (xov > 0.5 * min(b[i, 2] - b[i, 0], b[j, 2] - b[j, 0]) and yov > -0.25 * th
                  and (hmin <= 0.5 * th or max(hs[i], hs[j]) <= 0.9 * th)):
                # i-dots and accents (small), and the glyphs of a rotated label (each as tall
                # as an upright glyph is wide): stacked within a character width and close.
                # Two upright full-height glyphs stacked are two rows of a tight risk table.
                stacked.append((i, j))
    # a small mark stacked between two full-height upright glyphs (not wider than tall), one
    # above and one below it, is no i-dot or accent (those have a glyph on one side only): it
    # is a tick mark of a table's own axis between a number and its time label (survminer
    # tables whose bottom row touches the axis). It joins neither, so the number and the
    # label stay two tokens. So is a mark between runs of touching glyphs as tall as text
    # ('360' over the tick over '0'), unless the two runs span the same columns: the digits
    # of a rotated label ('0.2' read upwards: the decimal point between them) share one
    # baseline and one height, so their x extents agree.
    near: dict[int, list[int]] = {}
    for i, j in stacked:
        for sm_, o in ((i, j), (j, i)):
            if hs[sm_] <= 0.5 * th and hs[o] >= 0.6 * th:
                near.setdefault(sm_, []).append(o)

    def _upright(o: int) -> bool:
        return hs[o] >= 0.9 * (b[o, 2] - b[o, 0])

    def _tick(sm_: int) -> bool:
        above = [o for o in near.get(sm_, []) if b[o, 1] < b[sm_, 1] and (_upright(o) or hs[o] >= 0.8 * th)]
        below = [o for o in near.get(sm_, []) if b[o, 1] > b[sm_, 1] and (_upright(o) or hs[o] >= 0.8 * th)]
        return any(_upright(a) and _upright(c) or abs(b[a, 0] - b[c, 0]) > 1 or abs(b[a, 2] - b[c, 2]) > 1
                   for a in above for c in below)

    ticks = {k for k in near if _tick(k)}
    for i, j in stacked:
        if i not in ticks and j not in ticks:
            dsu.union(i, j)
    groups: dict[int, list[int]] = {}
    for i in range(len(b)):
        groups.setdefault(dsu.find(i), []).append(i)
    tokens = []
    for idx in groups.values():
        g = b[idx]
        bbox = (int(g[:, 0].min()), int(g[:, 1].min()), int(g[:, 2].max()), int(g[:, 3].max()))
        tokens.append(Token(bbox, len(idx)))
    return tokens, th


def _split_touching_rows(m: np.ndarray, lab: np.ndarray, stats: np.ndarray, th: float
                         ) -> np.ndarray | None:
    """Cut glyphs of two text rows set so tight that they touch (a risk table at 72-96 dpi:
    the '1' of '138' standing on the '1' of '120' below it is one component, two text heights
    tall). Such a component, 1.6-3 text heights tall and at most four wide, narrows in its
    middle (leaving at least 0.6 text height above and below) to a row with at most half the
    ink of its typical row: the faint pixel where the glyphs touch. A drawn stroke (a table's
    own y axis, a curve's drop) keeps its width all along and is left whole. Returns the mask
    with those rows cleared, or None when nothing was cut."""
    out = None
    lo_h, hi_h = 1.6 * th, 3.0 * th
    cand = np.nonzero((stats[:, 3] >= lo_h) & (stats[:, 3] <= hi_h) & (stats[:, 2] <= 4 * th))[0]
    for i in cand:
        if i == 0:
            continue
        x, y, w, h, _ = stats[i]
        own = lab[y:y + h, x:x + w] == i
        rows = own.sum(axis=1)
        a, b = int(np.ceil(0.6 * th)), int(h - np.ceil(0.6 * th))
        if b <= a:
            continue
        k = a + int(np.argmin(rows[a:b]))
        typical = float(np.median(rows))
        if rows[k] > max(1.0, 0.5 * typical) or rows[k] >= typical:  # (a 1-px stroke never narrows)
            continue
        if out is None:
            out = m.copy()
        out[y + k, x:x + w] &= ~own[k]
    return out


def ink_colour(image: np.ndarray, ink: np.ndarray, bbox, pad: int = 0) -> tuple[int, int, int]:
    """Median colour of the ink pixels inside bbox (the colour text is printed in)."""
    x0, y0, x1, y1 = bbox
    x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
    sub = image[y0:y1 + pad, x0:x1 + pad, :3]
    m = ink[y0:y1 + pad, x0:x1 + pad]
    if m.sum() == 0:
        return (0, 0, 0)
    px = sub[m].astype(float)
    return core_colour(px)


def core_colour(px: np.ndarray, percentile: float = 75) -> tuple[int, int, int]:
    """Colour of thin ink from its pixels (N x 3): anti-aliased edges blend with the
    background, so take the median of the pixels farthest from white (above ``percentile``),
    or of the most saturated ones for coloured ink."""
    from digitize.inkmask import chroma, rgb_to_lab  # noqa: PLC0415

    c = chroma(rgb_to_lab(px))
    if c.size and np.percentile(c, percentile) >= 15:
        # coloured ink: its most saturated pixels (JPEG mixes neighbouring black text and
        # white paper into the rest)
        sel = px[c >= np.percentile(c, percentile)]
    else:
        dist = np.sqrt(((255.0 - px) ** 2).sum(axis=1))
        sel = px[dist >= np.percentile(dist, percentile)]
    return tuple(int(v) for v in np.median(sel, axis=0))


def merge_boxes(tokens: list[Token], max_gap: float, tol: float) -> list[Token]:
    """Join tokens of one text row whose horizontal gap is at most ``max_gap`` pixels into
    phrases (geometry only, before OCR: "Stage" + "II" -> "Stage II")."""
    out = []
    for row in rows_of(tokens, tol):
        cur = None
        for t in row:
            if cur is not None and t.bbox[0] - cur.bbox[2] <= max_gap:
                cur = Token((cur.bbox[0], min(cur.bbox[1], t.bbox[1]), max(cur.bbox[2], t.bbox[2]),
                             max(cur.bbox[3], t.bbox[3])), cur.n_parts + t.n_parts)
            else:
                if cur is not None:
                    out.append(cur)
                cur = t
        if cur is not None:
            out.append(cur)
    return out


def rows_of(tokens: list[Token], tol: float) -> list[list[Token]]:
    """Cluster tokens into text rows by vertical centre (within ``tol`` pixels), top to bottom;
    each row sorted left to right."""
    rows: list[list[Token]] = []
    for t in sorted(tokens, key=lambda t: t.cy):
        if rows and abs(np.mean([r.cy for r in rows[-1]]) - t.cy) <= tol:
            rows[-1].append(t)
        else:
            rows.append([t])
    return [sorted(r, key=lambda t: t.cx) for r in rows]


_OCR_FIX = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1",
                          "i": "1", "!": "1", "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2",
                          "g": "9", "q": "9", "b": "6", "G": "6", "T": "7", ",": ".", "·": ".",
                          "−": "-", "–": "-"})


#: a time unit printed after an axis label ("12 mo", "6 months", "2 yr", "30 d")
_UNIT_WORD = re.compile(r"(mo|mos|mth|mths|months?|m|yrs?|years?|y|wks?|weeks?|w|d|days?)\.?", re.I)


def is_unit_word(text: str) -> bool:
    """True for a time unit written after a tick label ('mo', 'months', 'yr', 'd')."""
    return bool(text) and _UNIT_WORD.fullmatch(text.strip()) is not None


def attach_units(row: list[Token], max_gap: float) -> list[Token]:
    """Join each number with a unit word right after it ('12' + 'mo' -> '12 mo', one box): the
    label as a whole is centred on its tick, so its position is the joined box's centre."""
    out: list[Token] = []
    for t in row:
        prev = out[-1] if out else None
        if (prev is not None and is_unit_word(t.text) and parse_number(prev.text) is not None
                and not is_unit_word(prev.text) and 0 <= t.bbox[0] - prev.bbox[2] <= max_gap):
            b = (prev.bbox[0], min(prev.bbox[1], t.bbox[1]), t.bbox[2], max(prev.bbox[3], t.bbox[3]))
            out[-1] = Token(b, prev.n_parts + t.n_parts, f"{prev.text} {t.text}", min(prev.score, t.score),
                            prev.rgb, dict(prev.extra))
        else:
            out.append(t)
    return out


def parse_number(text: str) -> float | None:
    """A number as printed ('0.8', '80%', '1,000', '0,8', '1e+02', '10²', '12 mo') or None.

    Common OCR confusions (O->0, l->1, S->5) are undone. A thousands separator ('1,250') is
    told from a decimal comma ('0,8') by the three digits after it. A time unit after a space
    ('12 mo', '6 months') is dropped."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\S+)\s+(\S+)\s*", text)
    if m and is_unit_word(m.group(2)) and re.search(r"\d", m.group(1)):
        text = m.group(1)
    s = text.strip().replace(" ", "")
    s = s.rstrip("%").rstrip("‰")
    if re.fullmatch(r"\d{1,3}([,.]\d{3})+", s) and not re.fullmatch(r"0[,.]\d{3}", s):
        s = s.replace(",", "").replace(".", "")
    if not re.search(r"\d", s) and not (len(s) <= 2 and all(c in "Oo" for c in s)):
        return None  # a lone 'o'/'O' is a misread zero; other digit-free text is a word
    s = s.translate(_OCR_FIX)
    s = s.strip(".-") if not s.startswith("-") else "-" + s[1:].strip(".")
    if re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", s):
        try:
            return float(s)
        except ValueError:
            return None
    return None


def is_wordy(text: str) -> bool:
    """True for text with at least two letters (names, titles), not a number."""
    return len(re.findall(r"[A-Za-z]", text or "")) >= 2 and parse_number(text) is None


def _segment_distance(px: np.ndarray, bg: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Distance (RGB units) of pixels (N x 3) from the blend line paper -> ink colour: text
    anti-aliased against the paper lies on it at every coverage."""
    d = rgb - bg
    a = np.clip(((px - bg) @ d) / max(float(d @ d), 1e-9), 0.0, 1.0)
    return np.sqrt(((px - (bg + a[:, None] * d)) ** 2).sum(axis=1))


def split_by_colour(image: np.ndarray, ink: np.ndarray, tok: Token, th: float,
                    bg) -> list[Token]:
    """A token holding two rows of text in two colours, one over the other, cut into one
    token per colour.

    Risk tables print each arm's counts (and row label) in the arm's colour; squeezed under a
    small figure, neighbouring rows overlap and their glyphs join into one token two rows
    tall ('251' over '229'). The token's strongly inked chromatic pixels fall into two
    clusters of distinct colour (Lab Delta E >= 25, each >= 15 % of them) whose vertical
    centres lie at least 0.35 text heights apart (two colours side by side on one line - a
    coloured swatch and its label - are left alone). Each piece is the box of its colour's
    ink, with ``extra["ink_rgb"]`` (and the other's, ``"other_rgb"``) set: crops for OCR paint
    the other colour out (:func:`keep_colour`). Returns [tok] when the token is not such a pair."""
    from digitize.inkmask import chroma, rgb_to_lab  # noqa: PLC0415

    x0, y0, x1, y1 = tok.bbox
    if y1 - y0 < 1.3 * th:
        return [tok]
    sub = image[y0:y1, x0:x1, :3].astype(float)
    m = ink[y0:y1, x0:x1]
    ys, xs = np.nonzero(m)
    if ys.size < 20:
        return [tok]
    bg = np.asarray(bg, float)
    px = sub[ys, xs]
    strength = np.sqrt(((px - bg) ** 2).sum(axis=1))
    lab = rgb_to_lab(px)
    # clearly inked, clearly coloured pixels (a pale row colour never reaches the strength of
    # a dark one: no threshold relative to the token's darkest pixel)
    core = (strength >= 80) & (chroma(lab) >= 20)
    if core.sum() < 10:
        return [tok]
    import cv2  # noqa: PLC0415

    ab = lab[core][:, 1:3].astype(np.float32)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, lbl, _ = cv2.kmeans(ab, 2, None, crit, 3, cv2.KMEANS_PP_CENTERS)
    lbl = lbl.ravel()
    if min((lbl == 0).mean(), (lbl == 1).mean()) < 0.15:
        return [tok]
    cols = [np.median(px[core][lbl == k], axis=0) for k in (0, 1)]
    from digitize.auto.legend import delta_e  # noqa: PLC0415

    if delta_e(tuple(cols[0]), tuple(cols[1])) < 25:
        return [tok]
    dist = np.stack([_segment_distance(px, bg, c) for c in cols], axis=1)
    who = dist.argmin(axis=1)
    cy = [ys[who == k].mean() for k in (0, 1)]
    if abs(cy[0] - cy[1]) < 0.35 * th:
        return [tok]
    out = []
    for k in (0, 1):
        sel = (who == k) & (dist[:, k] <= 60)
        # the box of the colour's ink, stray edge pixels of the other glyphs left out: rows
        # and columns holding at least two of its pixels
        rr = np.bincount(ys[sel], minlength=y1 - y0)
        cc = np.bincount(xs[sel], minlength=x1 - x0)
        r_ok, c_ok = np.nonzero(rr >= 2)[0], np.nonzero(cc >= 2)[0]
        if r_ok.size == 0 or c_ok.size == 0:
            return [tok]
        rgb = tuple(int(v) for v in cols[k])
        other = tuple(int(v) for v in cols[1 - k])
        out.append(Token((x0 + int(c_ok[0]), y0 + int(r_ok[0]), x0 + int(c_ok[-1]) + 1, y0 + int(r_ok[-1]) + 1),
                         tok.n_parts, "", 0.0, rgb, {**tok.extra, "ink_rgb": rgb, "other_rgb": other}))
    return sorted(out, key=lambda t: t.cy)


def keep_colour(crop: np.ndarray, rgb, bg, other=None, tol: float = 60.0) -> np.ndarray:
    """The crop with the ink of another row painted the paper's colour: pixels nearer the
    paper -> ``other`` blend line than the paper -> ``rgb`` one (without ``other``: pixels
    farther than ``tol`` RGB units from the ``rgb`` line). Grey rules and the glyphs' own
    edges blended with them stay (painting them out cuts strokes: '7' read '(')."""
    c = np.array(crop[..., :3], copy=True)
    flat = c.reshape(-1, 3).astype(float)
    bg = np.asarray(bg, float)
    d = _segment_distance(flat, bg, np.asarray(rgb, float))
    far = d > tol if other is None else _segment_distance(flat, bg, np.asarray(other, float)) < d
    c.reshape(-1, 3)[far] = np.asarray(bg, np.uint8)
    return c
