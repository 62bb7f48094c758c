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
    the text, whatever OCR reads it as."""
    if _has_word(t.text):
        return True
    return (re.fullmatch(r"[A-Za-z]", (t.text or "").strip()) is not None
            and t.h >= 0.6 * th and t.w <= 1.3 * t.h)


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
_TICK_TAIL = re.compile(r"\s*[-–—_|1lI]$")


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


def read_table(rows: list[list[Token]], value_at, tick_values: np.ndarray, tick_pos: np.ndarray,
               th: float, y_axis_x: float | None, reread=None) -> TableRead | None:
    """Build the table from OCR'd token rows found below the x tick labels.

    value_at: pixel x -> time (the x calibration); tick_values/tick_pos: x-axis tick labels
    (time units) and their pixel x; th: text height (px); y_axis_x: pixel x of the y axis
    (row labels lie left of it); reread(token) -> list of alternative texts for a cell.
    Returns None when no row has two or more numbers.
    """
    count_rows: list[tuple[list[Token], list[Token]]] = []
    time_row: list[Token] | None = None
    rows = [_join_censored(r, th) for r in rows]
    for row in rows:
        # a token wholly left of the plot's y axis is a row label, even when it reads like a
        # number ('Obs' -> 0b5); the table's columns lie under the time axis
        left_of_axis = (lambda t: y_axis_x is not None and (  # noqa: E731
            t.bbox[2] < y_axis_x - 0.3 * th or (t.cx < y_axis_x and _has_word(t.text))
            or (t.cx < y_axis_x - 0.5 * th and _letter_and_tick(t.text))))
        nums = [t for t in row if _is_num(t) and not left_of_axis(t)]
        if len(nums) < 2:
            continue
        first_num_x = nums[0].bbox[0]
        labels = [t for t in row if t not in nums and t.bbox[2] <= first_num_x + 1]
        vals = np.array([cell_number(t.text) for t in nums])
        label_text = " ".join(t.text for t in labels)
        # numbers at risk never increase: a strictly increasing row is the table's own time
        # row, above the counts or below them (survminer), labelled with a time word or not
        if (time_row is None and len(nums) >= 3 and np.all(np.diff(vals) > 0)
                and (not labels or _TIME_WORDS.search(label_text) or not is_wordy(label_text))):
            time_row = nums
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
        count_rows.append((labels, nums, labels))
    if not count_rows:
        return None
    warnings: list[str] = []
    # ---------------------------------------------------------------- columns and their times
    tol_px = max(3.0, 1.2 * th)
    aligned = True
    if time_row is not None:
        centres = np.array([t.cx for t in time_row])
        times = np.array([cell_number(t.text) for t in time_row], float)
    else:
        xs = np.sort(np.concatenate([[t.cx for t in nums] for _, nums, _ in count_rows]))
        groups = np.split(xs, np.nonzero(np.diff(xs) > tol_px)[0] + 1)
        centres = np.array([g.mean() for g in groups])
        times = np.asarray(value_at(centres), float)
        snapped = np.full(times.size, np.nan)
        if tick_pos.size:
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
    order = np.argsort(times)
    centres, times = centres[order], times[order]
    if np.unique(np.round(times, 9)).size != times.size:
        aligned = False
        warnings.append("risk table: two columns map to the same time; check the column times")
    # ---------------------------------------------------------------- cells
    out_rows: list[TableRow] = []
    n_flag = 0
    for labels, nums, marks in count_rows:
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
            if reread is not None and cells[j] is not None:
                for alt in reread(cells[j]):
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
        out_rows.append(TableRow(label, rgb, counts, cells, float(np.mean([t.cy for t in nums])),
                                 censored if np.isfinite(censored).any() else None))
    scores = [t.score for r in out_rows for t in r.cells if t is not None]
    conf = float(np.clip(min(scores, default=0.0), 0, 1))
    conf = min(conf, 1.0 - 0.25 * n_flag)
    if not aligned:
        conf = min(conf, 0.4)
    toks = [t for r in out_rows for t in r.cells if t is not None] + (time_row or [])
    bbox = (min(t.bbox[0] for t in toks), min(t.bbox[1] for t in toks),
            max(t.bbox[2] for t in toks), max(t.bbox[3] for t in toks))
    return TableRead(times, out_rows, time_row is not None, aligned, max(conf, 0.0), warnings, bbox)
