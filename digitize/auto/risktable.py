"""Read the "Number at risk" table printed under a KM plot.

Rows are text rows under the x tick labels holding two or more numbers; a row of strictly
increasing numbers is the table's own time row. Columns are aligned with that time row when
present, else with the x-axis ticks (through the calibration); counts are validated (never
increasing over time) and a cell that breaks this is re-read, then blanked and flagged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from digitize.auto.text import Token, is_wordy, parse_number
from digitize.inkmask import is_neutral

_TIME_WORDS = re.compile(r"time|month|year|day|week|^t$", re.I)


@dataclass
class TableRow:
    label: str | None                       # row label as printed (None when absent)
    rgb: tuple[int, int, int] | None        # colour of the label (or of the counts)
    counts: np.ndarray                      # per column; NaN = blank or rejected cell
    cells: list[Token | None]
    cy: float
    censored: np.ndarray | None = None      # "410 (12)" cells: the bracketed numbers censored
    label_score: float = 1.0                # OCR score of the label (its least sure word)


@dataclass
class TableRead:
    times: np.ndarray                       # x-axis units
    rows: list[TableRow]
    time_row: bool
    aligned: bool
    confidence: float
    warnings: list[str] = field(default_factory=list)
    bbox: tuple[int, int, int, int] | None = None

    def cells(self) -> list[dict]:
        """Every cell as read: {"row", "time", "text", "value", "bbox"} (JSON-safe)."""
        out = []
        for r in self.rows:
            for t, tok, v in zip(self.times, r.cells, r.counts):
                out.append({"row": r.label, "time": float(t), "text": tok.text if tok else "",
                             "value": None if np.isnan(v) else int(v),
                             "bbox": list(tok.bbox) if tok else None})
        return out


#: a number at risk with the cumulative number censored after it in brackets: "410 (0)"
_WITH_CENSORED = re.compile(r"^\s*(\S+?)\s*[\(\[{]\s*([\dOoIl]+)\s*[\)\]}]?\s*$")


def cell_number(text: str) -> float | None:
    """The number at risk in a cell as printed: '410', '1,024', or '410 (12)' (a count
    followed by the number censored so far, as JAMA and Lancet print them)."""
    m = _WITH_CENSORED.match(text or "")
    if m and parse_number(m.group(1)) is not None:
        return parse_number(m.group(1))
    return parse_number(text)


def cell_censored(text: str) -> float | None:
    """The bracketed number censored in a '410 (12)' cell, else None."""
    m = _WITH_CENSORED.match(text or "")
    return parse_number(m.group(2)) if m and parse_number(m.group(1)) is not None else None


def _is_num(t: Token) -> bool:
    v = cell_number(t.text)
    return v is not None and v >= 0 and not is_wordy(t.text.split("(")[0])


def _has_word(text: str) -> bool:
    """A row label holds a word: two letters in a row ('Obs' even when OCR made it '0bs')."""
    return re.search(r"[A-Za-z]{2}", text or "") is not None


def _letter_and_tick(text: str) -> bool:
    """One letter followed by what reads as the axis' tick mark ('A -|' read 'AI', 'B1'): a
    one-letter row label touching the y axis (survminer's risk table, R's strata 'A', 'B')."""
    m = _TICK_TAIL.search(text or "")
    return m is not None and re.fullmatch(r"[A-Za-z]", text[:m.start()].strip()) is not None


def _is_name_glyph(t: Token, th: float) -> bool:
    """A row label token that can name an arm: a word, or one letter as tall as the text and
    not wider than tall ('A', 'B': R's default strata names). A coloured bar standing for the
    arm (survminer without y text) is a horizontal stroke, wider than tall and thinner than
    the text, whatever OCR reads it as; a stroke taller than the text (the table's own axis
    beside two overlapping rows, read 'l') is no letter either."""
    if _has_word(t.text):
        return True
    return (re.fullmatch(r"[A-Za-z]", (t.text or "").strip()) is not None
            and 0.6 * th <= t.h <= 1.4 * th and t.w <= 1.3 * t.h)


def _join_censored(row: list[Token], th: float) -> list[Token]:
    """Join a number and the bracketed count right after it ('2' '(29)' -> '2 (29)'): one
    cell, centred as a whole under its time."""
    out: list[Token] = []
    for t in row:
        p = out[-1] if out else None
        if (p is not None and t.text.strip().startswith("(") and parse_number(p.text) is not None
                and "(" not in p.text and 0 <= t.bbox[0] - p.bbox[2] <= 1.0 * th):
            out[-1] = Token((p.bbox[0], min(p.bbox[1], t.bbox[1]), t.bbox[2], max(p.bbox[3], t.bbox[3])),
                            p.n_parts + t.n_parts, f"{p.text} {t.text}", min(p.score, t.score), p.rgb)
        else:
            out.append(t)
    return out


#: a tick mark the row label touches (survminer: "Obs -|") read as a trailing character
_TICK_TAIL = re.compile(r"(\s*[-–—_|1lI!{}\[\]]|\s+H)$")


def _nice(step: float) -> float:
    if step <= 0:
        return step
    e = 10 ** np.floor(np.log10(step))
    for m in (1, 2, 2.5, 3, 4, 5, 6, 10):
        if abs(step - m * e) <= 0.08 * step:
            return m * e
    return step


def _longest_nonincreasing(v: np.ndarray) -> np.ndarray:
    """Boolean mask of a longest non-increasing subsequence of the finite values."""
    idx = [i for i in range(v.size) if np.isfinite(v[i])]
    n = len(idx)
    best = [1] * n
    prev = [-1] * n
    for a in range(n):
        for b in range(a):
            if v[idx[b]] >= v[idx[a]] and best[b] + 1 > best[a]:
                best[a], prev[a] = best[b] + 1, b
    keep = np.zeros(v.size, bool)
    if n:
        k = int(np.argmax(best))
        while k >= 0:
            keep[idx[k]] = True
            k = prev[k]
    return keep


@dataclass
class CellPixels:
    """The figure's pixels behind a risk table, for cells the token boxes got wrong.

    Journals set risk tables tight: at 72-150 dpi neighbouring numbers often print closer
    than the gap between two digits of one number, so the ink splits into tokens that hold
    several numbers ('128120', '373 366 363') or part of one ('1' '69'). Knowing the columns,
    such tokens are cut at the least-ink pixel column near each column boundary, or joined,
    and the pieces read again here. image: RGB uint8; ink: bool mask of the same size;
    pad: rows of margin above and below a cell (never sideways: a neighbour's edge would be
    read as a digit)."""

    image: np.ndarray
    ink: np.ndarray
    pad: int = 1

    def _crop(self, bbox) -> np.ndarray:
        x0, y0, x1, y1 = bbox
        return self.image[max(0, y0 - self.pad):y1 + self.pad, max(0, x0):x1]

    def read(self, boxes, height: int | None = None, binarize: bool = False) -> list[tuple[str, float]]:
        """OCR of each box: [(text, score), ...] (see digitize.auto.ocr.read_crops)."""
        from digitize.auto import ocr  # noqa: PLC0415  (OCR is optional)

        return ocr.read_crops([self._crop(b) for b in boxes], height or ocr.TARGET_HEIGHT, binarize)

    def readings(self, bbox) -> list[str]:
        """Further readings of one cell: upscaled to two other text heights, and binarized
        (Otsu) at three, one batch each. Small JPEG-smeared digits ('8' / '6' / '3') often
        read right in one of them."""
        out = []
        for h, b in ((28, False), (48, False), (36, True), (48, True), (24, True)):
            out += [t for t, _ in self.read([bbox], h, b)]
        return out

    def cut_near(self, bbox, x: float, half: float) -> int:
        """Pixel column with the least ink within ``x ± half`` inside bbox (the gap between
        two numbers); among equals the one nearest x."""
        x0, y0, x1, y1 = bbox
        lo, hi = max(x0 + 1, int(np.floor(x - half))), min(x1 - 1, int(np.ceil(x + half)))
        if hi < lo:
            return int(round(x))
        prof = self.ink[y0:y1, lo:hi + 1].sum(axis=0)
        cand = np.nonzero(prof == prof.min())[0] + lo
        return int(cand[np.argmin(np.abs(cand - x))])

    def trim(self, bbox) -> tuple[int, int, int, int] | None:
        """bbox shrunk to the ink inside it (None when it holds none)."""
        x0, y0, x1, y1 = bbox
        m = self.ink[y0:y1, x0:x1]
        if not m.any():
            return None
        cols, rws = np.nonzero(m.any(axis=0))[0], np.nonzero(m.any(axis=1))[0]
        return (x0 + int(cols[0]), y0 + int(rws[0]), x0 + int(cols[-1]) + 1, y0 + int(rws[-1]) + 1)


def _plain_number(text: str) -> bool:
    """One number as a whole cell or part of it: digits (or their usual misreadings), no
    space, no bracket."""
    t = (text or "").strip()
    return bool(t) and not re.search(r"[\s()\[\]{}]", t) and parse_number(t) is not None


def _n_numbers(text: str) -> int:
    """How many numbers a token's text holds, separated by spaces ('373 366 363' -> 3);
    a bracketed censored count is part of its cell, not a number of its own."""
    return sum(_plain_number(p) for p in (text or "").split())


def _numberish(text: str) -> bool:
    """Text that is mostly digits (several numbers read as one token, with a stray mark)."""
    t = re.sub(r"\s", "", text or "")
    d = sum(c.isdigit() for c in t)
    return d >= 2 and d >= 0.7 * len(t)


def _join_boxes(a: Token, b: Token) -> tuple[int, int, int, int]:
    return (min(a.bbox[0], b.bbox[0]), min(a.bbox[1], b.bbox[1]), max(a.bbox[2], b.bbox[2]),
            max(a.bbox[3], b.bbox[3]))


def _joined(a: Token, b: Token, pixels: CellPixels | None) -> Token:
    """One cell from two neighbouring pieces: read again as a whole when the pixels are at
    hand, else the two readings side by side."""
    box = _join_boxes(a, b)
    text, score = f"{a.text}{b.text}", min(a.score, b.score)
    if pixels is not None:
        t2, s2 = pixels.read([box])[0]
        if _plain_number(t2) or cell_number(t2) is not None:
            text, score = t2, s2
    return Token(box, a.n_parts + b.n_parts, text, score, a.rgb, dict(a.extra))


def _join_fragments(row: list[Token], y_axis_x: float | None, pixels: CellPixels | None,
                    pitch: float) -> list[Token]:
    """Join the pieces of one number that the token finder split: digits of the same height
    on one baseline whose gap is at most 0.4 of their height (inside a number digits are set
    closer than that in any font; the space between two cells of a table is wider, about a
    digit's width). R draws a '1' with wide side bearings, so at 150-200 dpi '169' came as
    '1' '69'. Joined, they are narrower than the usual distance between neighbouring numbers
    (``pitch``, px; two cells of a tight table side by side are wider). Row labels (left of
    the y axis) are left alone."""
    out: list[Token] = []
    for t in row:
        p = out[-1] if out else None
        if (p is not None and _plain_number(p.text) and _plain_number(t.text)
                and (y_axis_x is None or p.cx > y_axis_x)
                and 0 <= t.bbox[0] - p.bbox[2] <= 0.4 * max(p.h, t.h)
                and (pitch <= 0 or t.bbox[2] - p.bbox[0] < pitch)
                and min(p.h, t.h) >= 0.75 * max(p.h, t.h) and abs(p.cy - t.cy) <= 0.25 * max(p.h, t.h)):
            out[-1] = _joined(p, t, pixels)
        else:
            out.append(t)
    return out


#: a label's line that goes on to the next: it ends in a joining word or sign
_GOES_ON = re.compile(r"(\b(plus|and|with|or|vs\.?|versus)|[+&/,-])$", re.I)


def _label_goes_on(labels: list[Token], below: list[Token], y_axis_x: float | None, th: float) -> list[Token]:
    """The second line of a row label set on two lines ('Nivolumab plus' over
    'chemotherapy'): the next text row holds only words left of the y axis, a line under the
    label (centres at most 1.6 text heights apart), starting within a text height of the
    label's left edge (or ending at its right edge), and it goes on from the first line (a
    lower-case word, or a first line ending in 'plus', 'and', '+'). Returns its tokens, or []."""
    if not below or y_axis_x is None or any(t.bbox[2] >= y_axis_x or not _has_word(t.text) for t in below):
        return []
    first = " ".join(t.text for t in labels).strip()
    nxt = " ".join(t.text for t in below).strip()
    x0, x1 = min(t.bbox[0] for t in labels), max(t.bbox[2] for t in labels)
    b0, b1 = min(t.bbox[0] for t in below), max(t.bbox[2] for t in below)
    cy, ncy = np.mean([t.cy for t in labels]), np.mean([t.cy for t in below])
    aligned = abs(b0 - x0) <= th or abs(b1 - x1) <= th
    goes_on = nxt[:1].islower() or _GOES_ON.search(first) is not None
    return list(below) if (0 < ncy - cy <= 1.6 * th and aligned and goes_on) else []


def _pitch(count_rows, time_row) -> float:
    """Typical distance (px) between neighbouring columns: the time row's spacing, else the
    median distance between neighbouring numbers of a row (robust to a few merged tokens)."""
    if time_row is not None and len(time_row) >= 2:
        return float(np.median(np.diff([t.cx for t in time_row])))
    d = [b.cx - a.cx for _, nums, _ in count_rows for a, b in zip(nums[:-1], nums[1:])]
    return float(np.median(d)) if d else 0.0


def _fill_columns(centres: np.ndarray, times: np.ndarray, spans: list[tuple[int, int]],
                  tick_values: np.ndarray, tick_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns hidden inside tokens holding several numbers. Risk tables print counts at a
    regular time step: where the columns found step regularly, every grid time whose pixel x
    (linear fit of the columns found, or the tick when the time is a tick's) falls inside
    such a token is a column too. With fewer than two columns found, the ticks inside those
    tokens are the columns."""
    if not spans:
        return centres, times
    c, t = list(centres), list(times)
    def add(x, v):  # noqa: E306
        if not any(abs(v - u) <= 1e-6 * max(1.0, abs(v)) for u in t):
            c.append(float(x))
            t.append(float(v))
    if centres.size >= 2:
        o = np.argsort(times)
        d = np.diff(times[o])
        if (d <= 0).any():
            return centres, times
        step = float(d.min())
        k = d / step
        if np.abs(k - np.round(k)).max() > 0.1:
            return centres, times
        b, a = np.polyfit(times, centres, 1)
        if b <= 0:
            return centres, times
        for x0, x1 in spans:
            for g in np.arange(np.ceil((x0 - a) / b / step), np.floor((x1 - 1 - a) / b / step) + 1):
                v = round(float(g * step), 9)
                if v < 0:
                    continue
                j = np.nonzero(np.isclose(tick_values, v))[0] if tick_pos.size else []
                add(tick_pos[j[0]] if len(j) else a + b * v, v)
    elif tick_pos.size >= 2:
        for x0, x1 in spans:
            for x, v in zip(tick_pos, tick_values):
                if x0 <= x <= x1 - 1:
                    add(x, v)
    c, t = np.asarray(c, float), np.asarray(t, float)
    o = np.argsort(t)
    return c[o], t[o]


def _split_token(t: Token, centres: np.ndarray, pixels: CellPixels | None) -> list[Token]:
    """A token holding the numbers of several columns, cut into one piece per column: at the
    least-ink pixel column near each boundary between two column centres inside it, each
    piece trimmed to its ink and read again. Without pixels, the reading's own spaces cut it
    when they give one number per column. Returns [t] when it spans fewer than two columns."""
    inside = np.sort(centres[(centres >= t.bbox[0]) & (centres <= t.bbox[2] - 1)])
    if inside.size < 2:
        return [t]
    x0, y0, x1, y1 = t.bbox
    if pixels is None:
        parts = t.text.split()
        if len(parts) != inside.size or not all(_plain_number(p) for p in parts):
            return [t]
        edges = [x0] + [int(round((a + b) / 2)) for a, b in zip(inside[:-1], inside[1:])] + [x1]
        return [Token((edges[i], y0, edges[i + 1], y1), 1, parts[i], t.score, t.rgb)
                for i in range(len(parts))]
    cuts = [pixels.cut_near(t.bbox, (a + b) / 2, 0.35 * (b - a)) for a, b in zip(inside[:-1], inside[1:])]
    edges = [x0] + cuts + [x1]
    boxes = [pixels.trim((edges[i], y0, edges[i + 1], y1)) for i in range(len(edges) - 1)]
    boxes = [b for b in boxes if b is not None and b[2] - b[0] >= 1]
    return [Token(b, 1, txt, sc, t.rgb, {"split": True}) for b, (txt, sc) in zip(boxes, pixels.read(boxes))]


#: a printed time's centre vs the calibration's position of that time, in column spacings
_TIME_TOL = 0.08


def _reads_as_times(nums: list[Token], vals: np.ndarray, value_at, th: float) -> bool:
    """A row of numbers that are, at least three and three in five of them, the time the x
    calibration gives at their own position (:func:`_time_matches`; printed times are exact
    and centred on their ticks): the table's time row with a label or two misread
    ('6' read '0', '0' read 'o', '60' read '6'). Counts at risk fall while time grows: a row of
    counts matches the times at two columns at most."""
    match = _time_matches(nums, vals, value_at, th)
    return match is not None and int(match.sum()) >= max(3, int(np.ceil(0.6 * len(nums))))


def _time_matches(nums: list[Token], vals: np.ndarray, value_at, th: float) -> np.ndarray | None:
    """Per number: is it the time at its own centre (the calibration's, within 8 % of the
    row's spacing and 0.4 text height: '1' for a '0' is off by a step's 1/24 or 1/12)? None
    for a row whose times do not grow left to right."""
    cx = np.array([n.cx for n in nums], float)
    t = np.asarray(value_at(cx), float)
    if t.size < 2 or not np.median(np.diff(t)) > 0:
        return None
    px_per_t = float(np.median(np.diff(cx)) / np.median(np.diff(t)))
    tol_px = min(_TIME_TOL * float(np.median(np.diff(cx))), max(2.0, 0.4 * th))
    return np.isfinite(vals) & (np.abs(vals - t) * px_per_t <= tol_px)


def _as_time_row(nums: list[Token], vals: np.ndarray, value_at, tick_values, tick_pos,
                 th: float) -> list[Token]:
    """The time row's tokens (a row :func:`_reads_as_times` accepts), each misread time (one
    off the time at its position) replaced by the time there: the x tick label's within
    ``max(3, 1.2 th)`` px, else the calibration's, rounded to the row's time step."""
    t = np.asarray(value_at(np.array([n.cx for n in nums], float)), float)
    grid = _nice(float(np.median(np.diff(t))))
    match = _time_matches(nums, vals, value_at, th)
    tick_values, tick_pos = np.asarray(tick_values, float), np.asarray(tick_pos, float)
    out = []
    for n, v, tt, ok in zip(nums, vals, t, match):
        if not ok:
            d = np.abs(tick_pos - n.cx) if tick_pos.size else np.array([np.inf])
            j = int(d.argmin())
            v = tick_values[j] if d[j] <= max(3.0, 1.2 * th) else round(tt / grid) * grid
            n = Token(n.bbox, n.n_parts, f"{v:g}", n.score, n.rgb, {**n.extra, "time_from_axis": True})
        out.append(n)
    return out


def _missed_time_labels(centres: np.ndarray, times: np.ndarray, cells: list[Token], value_at,
                        tick_values, tick_pos, tol_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Columns whose label the time row lost (joined to a count above it through a tick mark,
    say): counts that lie in no column of the time row but under an x-axis tick (within
    ``tol_px``), or at a time the calibration puts on the time row's step (within 12 % of a
    step), make that time a column."""
    tick_values, tick_pos = np.asarray(tick_values, float), np.asarray(tick_pos, float)
    c, t = list(map(float, centres)), list(map(float, times))
    ok = np.isfinite(times)
    step = float(np.min(np.diff(np.sort(times[ok])))) if ok.sum() >= 2 else 0.0
    for tok in cells:
        if np.min(np.abs(np.asarray(c) - tok.cx)) <= max(tol_px, 0.6 * tok.w + 2):
            continue
        v = None
        if tick_pos.size:
            j = int(np.argmin(np.abs(tick_pos - tok.cx)))
            if abs(tick_pos[j] - tok.cx) <= tol_px:
                v, x = float(tick_values[j]), float(tick_pos[j])
        if v is None and step > 0:
            tt = float(value_at(tok.cx))
            g = round(tt / step) * step
            if abs(g - tt) <= 0.12 * step and g >= 0:
                v, x = g, tok.cx
        if v is not None and not any(abs(v - u) <= 1e-6 * max(1.0, abs(v)) for u in t):
            c.append(x)
            t.append(v)
    o = np.argsort(t)
    return np.asarray(c, float)[o], np.asarray(t, float)[o]


def read_table(rows: list[list[Token]], value_at, tick_values: np.ndarray, tick_pos: np.ndarray,
               th: float, y_axis_x: float | None, reread=None,
               pixels: CellPixels | None = None) -> TableRead | None:
    """Build the table from OCR'd token rows found below the x tick labels.

    value_at: pixel x -> time (the x calibration); tick_values/tick_pos: x-axis tick labels
    (time units) and their pixel x; th: text height (px); y_axis_x: pixel x of the y axis
    (row labels lie left of it); reread(token) -> list of alternative texts for a cell;
    pixels: the figure behind the tokens, to cut numbers printed too close together (read as
    one token) at the column boundaries and read the pieces, and to re-read doubtful cells at
    several scales and binarizations. Returns None when no row has two or more numbers.
    """
    count_rows: list[tuple[list[Token], list[Token]]] = []
    time_row: list[Token] | None = None
    rows = [_join_censored(r, th) for r in rows]
    # the pitch of the numbers before any joining: a number is narrower than it
    d0 = [b.cx - a.cx for r in rows for a, b in zip(r[:-1], r[1:])
          if (y_axis_x is None or a.cx > y_axis_x) and _is_num(a) and _is_num(b)]
    pitch0 = float(np.median(d0)) if d0 else 0.0
    rows = [_join_fragments(r, y_axis_x, pixels, pitch0) for r in rows]
    for ri, row in enumerate(rows):
        # a token wholly left of the plot's y axis is a row label, even when it reads like a
        # number ('Obs' -> 0b5); the table's columns lie under the time axis
        left_of_axis = (lambda t: y_axis_x is not None and (  # noqa: E731
            t.bbox[2] < y_axis_x - 0.3 * th or (t.cx < y_axis_x and _has_word(t.text))
            or (t.cx < y_axis_x - 0.5 * th and _letter_and_tick(t.text))))
        nums = [t for t in row if (_is_num(t) or _numberish(t.text)) and not left_of_axis(t)]
        if len(nums) < 2:
            continue
        first_num_x = nums[0].bbox[0]
        labels = [t for t in row if t not in nums and t.bbox[2] <= first_num_x + 1]
        vals = np.array([np.nan if cell_number(t.text) is None else cell_number(t.text) for t in nums], float)
        label_text = " ".join(t.text for t in labels)
        # numbers at risk never increase: a strictly increasing row is the table's own time
        # row, above the counts or below them (survminer), labelled with a time word or not;
        # so is a row printing the times at its own positions, a label or two misread
        unlabelled = not labels or _TIME_WORDS.search(label_text) or not is_wordy(label_text)
        as_times = time_row is None and len(nums) >= 3 and unlabelled and _reads_as_times(nums, vals, value_at, th)
        if time_row is None and len(nums) >= 3 and unlabelled and (as_times or np.all(np.diff(vals) > 0)):
            time_row = _as_time_row(nums, vals, value_at, tick_values, tick_pos, th) if as_times else nums
            if count_rows:
                break  # a time row under the counts closes the table
            continue
        # the label is the run of words ending next to the numbers; what lies farther left
        # after a gap, and single letters before a word, are stray marks (a rotated 'Strata')
        k = len(labels) - 1
        while k > 0 and labels[k].bbox[0] - labels[k - 1].bbox[2] <= 1.0 * th:
            k -= 1
        labels = labels[k:]
        while len(labels) > 1 and len(labels[0].text.strip()) <= 2 and _has_word(labels[-1].text):
            labels = labels[1:]
        # a label touching the axis carries the axis' tick mark as its last character
        if labels and y_axis_x is not None and labels[-1].bbox[2] >= y_axis_x - 0.3 * th - 3:
            stripped = _TICK_TAIL.sub("", labels[-1].text)
            if stripped != labels[-1].text and _has_word(stripped):
                labels[-1].text = stripped.rstrip()
            elif _letter_and_tick(labels[-1].text):  # 'A -|' read 'AI': R's strata name 'A'
                labels[-1] = Token(labels[-1].bbox, labels[-1].n_parts, stripped.strip(), labels[-1].score,
                                   labels[-1].rgb, {**labels[-1].extra, "letter": True})
        # a label that holds no word or letter (a coloured bar standing for the arm) is no name
        if labels and not any(_is_name_glyph(t, th) or t.extra.get("letter") for t in labels):
            count_rows.append(([], nums, labels))  # its colour still names the arm
            continue
        if labels and ri + 1 < len(rows):
            labels = labels + _label_goes_on(labels, rows[ri + 1], y_axis_x, th)
        count_rows.append((labels, nums, labels))
    if not count_rows:
        return None
    warnings: list[str] = []
    # ---------------------------------------------------------------- columns and their times
    tol_px = max(3.0, 1.2 * th)
    aligned = True
    pitch = _pitch(count_rows, time_row)
    # a token wider than the column pitch, or read as several numbers, holds the numbers of
    # several columns (a tight table at low resolution): it says nothing about where one
    # column is, and is cut at the columns below
    wide = (lambda t: pitch > 0 and (t.w > 1.15 * pitch or (_n_numbers(t.text) >= 2  # noqa: E731
                                                              and t.w > 0.7 * pitch)))
    if time_row is not None:
        centres = np.array([t.cx for t in time_row])
        times = np.array([cell_number(t.text) for t in time_row], float)
        centres, times = _missed_time_labels(centres, times, [t for _, nums, _ in count_rows for t in nums
                                                             if not wide(t)], value_at, tick_values, tick_pos, tol_px)
    else:
        xs = np.sort(np.concatenate([[t.cx for t in nums if not wide(t)] for _, nums, _ in count_rows]))
        groups = np.split(xs, np.nonzero(np.diff(xs) > tol_px)[0] + 1) if xs.size else []
        centres = np.array([g.mean() for g in groups])
        times = np.asarray(value_at(centres), float) if centres.size else np.zeros(0)
        snapped = np.full(times.size, np.nan)
        if tick_pos.size and centres.size:
            d = np.abs(centres[:, None] - tick_pos[None, :])
            j = d.argmin(axis=1)
            ok = d[np.arange(centres.size), j] <= tol_px
            snapped[ok] = tick_values[j[ok]]
        if np.isnan(snapped).any() and times.size >= 2:
            # columns between ticks (e.g. every 6 months with ticks every 12): a round grid
            step = _nice(float(np.median(np.diff(times))))
            g = np.round(times / step) * step
            spacing_px = float(np.median(np.diff(centres)))
            px_step = abs(spacing_px / max(np.median(np.diff(times)), 1e-12)) * step
            close = np.abs(g - times) <= 0.12 * step if px_step > 0 else np.zeros(times.size, bool)
            fill = np.isnan(snapped) & close
            snapped[fill] = g[fill]
        bad = np.isnan(snapped)
        if bad.any():
            aligned = False
            where = ", ".join(f"x={c:.0f}px" for c in centres[bad])
            warnings.append(
                f"risk table: column(s) at {where} do not line up with the x-axis ticks; their "
                "times were estimated from the calibration - check them")
            snapped[bad] = times[bad]
        times = snapped
        spans = [(t.bbox[0], t.bbox[2]) for _, nums, _ in count_rows for t in nums if wide(t)]
        centres, times = _fill_columns(centres, times, spans, np.asarray(tick_values, float),
                                       np.asarray(tick_pos, float))
    if times.size == 0:
        return None
    order = np.argsort(times)
    centres, times = centres[order], times[order]
    if np.unique(np.round(times, 9)).size != times.size:
        aligned = False
        warnings.append("risk table: two columns map to the same time; check the column times")
    # ---------------------------------------------------------------- cells
    out_rows: list[TableRow] = []
    n_flag = 0
    for labels, nums, marks in count_rows:
        # numbers merged into one token are cut at the columns; the pieces of one number
        # (nearest the same column, side by side) are joined
        nums = [p for t in nums for p in (_split_token(t, centres, pixels) if wide(t) else [t])]
        nums = [t for t in nums if _is_num(t)]
        near = [int(np.abs(centres - t.cx).argmin()) for t in nums]
        joined: list[Token] = []
        for k, t in enumerate(nums):
            p = joined[-1] if joined else None
            if (p is not None and near[k] == near[k - 1] and "(" not in p.text + t.text
                    and 0 <= t.bbox[0] - p.bbox[2] <= 0.6 * max(p.h, t.h)
                    and max(t.bbox[2], p.bbox[2]) - min(t.bbox[0], p.bbox[0]) <= max(1.15 * pitch, 0)):
                joined[-1] = _joined(p, t, pixels)
            else:
                joined.append(t)
        nums = [t for t in joined if _is_num(t)]
        if not nums:
            continue
        counts = np.full(times.size, np.nan)
        censored = np.full(times.size, np.nan)
        cells: list[Token | None] = [None] * times.size
        for t in nums:
            d = np.abs(centres - t.cx)
            j = int(d.argmin())
            if d[j] > max(tol_px, 0.6 * t.w + 2):
                aligned = False
                warnings.append(f"risk table: number '{t.text}' at x={t.cx:.0f}px is in no column")
                continue
            if cells[j] is not None:
                warnings.append(f"risk table: two numbers in the column at time {times[j]:g}")
                aligned = False
                continue
            cells[j] = t
            counts[j] = cell_number(t.text)
            c = cell_censored(t.text)
            censored[j] = np.nan if c is None else c
        label = " ".join(t.text for t in labels).strip() or None
        # the row's colour: its label's (or its swatch's), else its counts' (coloured numbers)
        rgb = marks[-1].rgb if marks else None
        if rgb is None or is_neutral(rgb, 12.0):
            cnt_rgb = tuple(int(v) for v in np.median([t.rgb for t in nums], axis=0))
            if rgb is None or not is_neutral(cnt_rgb, 12.0):
                rgb = cnt_rgb
        name = label or f"row {len(out_rows) + 1}"
        # validation: counts never increase over time
        keep = _longest_nonincreasing(counts)
        for j in np.nonzero(np.isfinite(counts) & ~keep)[0]:
            lo = np.nanmin(np.where(keep[:j], counts[:j], np.nan)) if keep[:j].any() else np.inf
            hi = np.nanmax(np.where(keep[j + 1:], counts[j + 1:], np.nan)) if keep[j + 1:].any() else 0
            fixed = None
            alts: list[str] = []
            if cells[j] is not None:
                alts = (pixels.readings(cells[j].bbox) if pixels is not None else []) + \
                    (list(reread(cells[j])) if reread is not None else [])
            if alts:
                for alt in alts:
                    v = cell_number(alt)
                    if v is not None and hi <= v <= lo:
                        fixed = v
                        break
            if fixed is not None:
                warnings.append(f"risk table: row '{name}' at time {times[j]:g}: read "
                                f"'{cells[j].text}', corrected to {fixed:g} on a second reading")
                counts[j] = fixed
            else:
                n_flag += 1
                shown = cells[j].text if cells[j] is not None else ""
                warnings.append(f"risk table: row '{name}' at time {times[j]:g}: '{shown}' breaks the "
                                "never-increasing order; left blank - type the printed number")
                counts[j] = np.nan
        if np.isnan(counts[0]):
            n_flag += 1
            warnings.append(f"risk table: row '{name}' has no number at the first time {times[0]:g} (N)")
        # a number lost inside the row (read cells on both sides: tables print every cell) is
        # never a silent blank
        read = np.array([c is not None for c in cells])
        for j in range(1, times.size - 1):
            if not read[j] and read[:j].any() and read[j + 1:].any():
                n_flag += 1
                warnings.append(f"risk table: row '{name}' at time {times[j]:g}: no number read between "
                                "its neighbours; type the printed number")
        out_rows.append(TableRow(label, rgb, counts, cells, float(np.mean([t.cy for t in nums])),
                                 censored if np.isfinite(censored).any() else None,
                                 min((t.score for t in labels), default=1.0)))
    scores = [t.score for r in out_rows for t in r.cells if t is not None]
    conf = float(np.clip(min(scores, default=0.0), 0, 1))
    conf = min(conf, 1.0 - 0.25 * n_flag)
    if not aligned:
        conf = min(conf, 0.4)
    toks = [t for r in out_rows for t in r.cells if t is not None] + (time_row or [])
    bbox = (min(t.bbox[0] for t in toks), min(t.bbox[1] for t in toks),
            max(t.bbox[2] for t in toks), max(t.bbox[3] for t in toks))
    return TableRead(times, out_rows, time_row is not None, aligned, max(conf, 0.0), warnings, bbox)
