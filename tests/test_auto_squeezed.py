"""Small figures squeezed by the journal (72-96 dpi, risk tables a few pixels a row), read
zero-click against known truth: a thin grey panel border drawn across a pixel boundary (ggplot
theme_bw at 72 dpi: two pale columns, neither dark) is still the axis; glyphs of two table rows
set so tight that they touch ('1' standing on '1') are cut apart; rows printed in the arms'
colours that overlap are cut by colour; a table's time row with misread labels is still its
time row. The mechanisms on hand-made pixels and tokens, then on figures R draws (skipped
without R)."""
import shutil

import cv2
import numpy as np
import pytest

from digitize.auto import detect_figure, ocr
from digitize.auto.axes import find_frame, ink_masks
from digitize.auto.risktable import read_table
from digitize.auto.text import Token, find_tokens, keep_colour, split_by_colour
from test_auto_risktable import _tok

needs_ocr = pytest.mark.skipif(not ocr.ocr_available()[0], reason="OCR (rapidocr) not installed")
needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")


# ---------------------------------------------------------------- axes: a split grey border
def _bw_panel() -> np.ndarray:
    """A theme_bw-like panel at 72 dpi: grey border, its left edge at x = 49.5 anti-aliased
    into columns 49 (188) and 50 (213); dark tick marks outside it; a coloured curve."""
    img = np.full((240, 360, 3), 255, np.uint8)
    img[10:151, 49] = 188
    img[10:151, 50] = 213
    img[10, 49:301] = 146
    img[150, 49:301] = 146
    img[10:151, 300] = 149
    for y in (20, 50, 80, 110, 140):          # y ticks, outside left, darkening the border
        img[y, 45:49] = 34                    # where they meet it (as R draws them)
        img[y + 1, 45:49] = 204
        img[y, 49:51] = np.array([77, 200])[:, None]
        img[y + 1, 49:51] = np.array([162, 210])[:, None]
    for x in range(70, 300, 40):              # x ticks, outside below
        img[151:154, x] = 31
        img[151:154, x - 1] = 206
    ys = np.linspace(20, 120, 240).astype(int)
    for k, x in enumerate(range(55, 295)):    # a falling curve
        img[ys[k // 2 * 2]:ys[k // 2 * 2] + 2, x] = (0, 191, 196)
    return img


def test_grey_border_split_across_two_pixel_columns_is_the_y_axis():
    """Neither pale column is dark on its own; together they are the panel's left edge, with
    the ticks on it: the y axis is found there, not at the panel's right edge."""
    img = _bw_panel()
    ink, dark, darkness = ink_masks(img)
    frame = find_frame(dark, darkness, img)
    assert frame.y_axis is not None and frame.x_axis is not None
    assert abs(float(frame.y_axis.at(80)) - 49.4) <= 0.6
    assert abs(float(frame.x_axis.at(150)) - 150.0) <= 0.6
    x0, y0, x1, y1 = frame.plot_area
    assert abs(x0 - 49) <= 1 and abs(x1 - 300) <= 1 and abs(y1 - 150) <= 1


def test_paper_beside_a_crisp_line_stays_paper():
    """Only a pair of partly inked pixels with paper either side makes up a split line: the
    paper beside a crisp dark line is not dark (the line is not widened), nor is a filled
    mid-grey area (confidence bands of two colours overlapping: no line at its edges)."""
    img = np.full((100, 100, 3), 255, np.uint8)
    img[:, 40] = 30
    img[:, 41] = 250                      # a faint rim: below 0.1 dark
    img[60:90, 60:95] = (196, 172, 168)   # two bands overlapping
    _, dark, _ = ink_masks(img)
    assert dark[:, 40].all() and not dark[:, 39].any() and not dark[:, 41].any()
    assert not dark[:, 55:].any()


# ---------------------------------------------------------------- touching rows
def _glyph(m, x0, y0, w=5, h=11):
    """A hollow box standing for a digit (1 px strokes)."""
    m[y0, x0:x0 + w] = m[y0 + h - 1, x0:x0 + w] = True
    m[y0:y0 + h, x0] = m[y0:y0 + h, x0 + w - 1] = True


def test_glyphs_of_two_rows_that_touch_are_cut_apart_a_table_axis_is_not():
    """'138' over '120' with the two '1's touching at one pixel: two tokens, one per row,
    each starting at its '1' (before, the two '1's were one thin stroke two rows tall and
    dropped as no text: '38', '20'). The table's own y axis beside them, a stroke of
    constant width with tick marks, is not cut into text."""
    m = np.zeros((300, 300), bool)
    m[200:211, 60:62] = True                  # upper '1'
    m[211, 61] = True                         # where it touches the lower one
    m[212:223, 60:62] = True                  # lower '1'
    for x in (64, 71):
        _glyph(m, x, 200)
        _glyph(m, x, 212)
    m[198:226, 50:52] = True                  # the table's y axis...
    m[205, 47:50] = m[217, 47:50] = True      # ...and its tick marks
    toks, th = find_tokens(m, text_height=11.0)
    rows = sorted((t for t in toks if t.bbox[0] >= 55), key=lambda t: t.cy)
    assert [t.bbox for t in rows] == [(60, 200, 76, 211), (60, 212, 76, 223)]
    assert not any(t.bbox[0] <= 51 < t.bbox[2] and t.h < 2.2 * th for t in toks)


@needs_ocr
def test_rows_in_two_colours_that_overlap_are_cut_by_colour():
    """A squeezed table printing each arm's counts in its colour: '251' (salmon) over '229'
    (cyan), overlapping by two pixels, is one token; cut by colour, each piece reads right
    once the other colour is painted out (as one crop it reads '228')."""
    img = np.full((200, 300, 3), 255, np.uint8)
    for txt, x in (("251", 20), ("189", 90)):
        cv2.putText(img, txt, (x, 105), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (248, 118, 109), 1, cv2.LINE_AA)
    for txt, x in (("229", 20), ("184", 90)):
        cv2.putText(img, txt, (x, 114), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 191, 196), 1, cv2.LINE_AA)
    ink, _, _ = ink_masks(img)
    toks, th = find_tokens(ink, text_height=9.0)
    assert len(toks) == 2 and all(t.h > 1.6 * th for t in toks)
    bg = (255, 255, 255)
    got = []
    for t in sorted(toks, key=lambda t: t.cx):
        parts = split_by_colour(img, ink, t, th, bg)
        assert len(parts) == 2 and parts[0].cy < parts[1].cy
        assert parts[0].extra["ink_rgb"][0] > 200 and parts[1].extra["ink_rgb"][0] < 100
        crops = [keep_colour(img[p.bbox[1] - 1:p.bbox[3] + 1, p.bbox[0] - 1:p.bbox[2] + 1], p.extra["ink_rgb"], bg,
                             p.extra["other_rgb"]) for p in parts]
        got += [txt for txt, _ in ocr.read_crops(crops)]
    assert got == ["251", "229", "189", "184"]


def test_one_colour_or_two_colours_side_by_side_are_not_cut():
    """A swatch and its label in two colours on one line, and a tall token in one colour,
    stay whole."""
    img = np.full((200, 300, 3), 255, np.uint8)
    cv2.line(img, (20, 100), (40, 100), (0, 191, 196), 2)
    cv2.putText(img, "Arm", (43, 106), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (248, 118, 109), 1, cv2.LINE_AA)
    cv2.putText(img, "88", (120, 105), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 191, 196), 1, cv2.LINE_AA)
    cv2.putText(img, "88", (120, 114), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 191, 196), 1, cv2.LINE_AA)
    ink, _, _ = ink_masks(img)
    for box in ((18, 92, 80, 110), (118, 94, 140, 116)):
        t = Token(box)
        assert split_by_colour(img, ink, t, 9.0, (255, 255, 255)) == [t]


# ---------------------------------------------------------------- a misread time row
def _value_at(px):
    return (np.asarray(px, float) - 100.0) / 5.0  # 5 px a month from px 100


TICKS_V = np.arange(0, 61, 12.0)
TICKS_P = 100 + 5 * TICKS_V


def test_time_row_under_the_counts_with_misread_labels_is_the_time_row():
    """survminer prints the table's own times under its rows; '0' read as '1' and '60' as
    '6' make it neither increasing nor a row of counts. It is the time row (its times are the
    calibration's at their positions: '1' is off by 5 px, a twelfth of the spacing), so the
    table has the two count rows only, at the times printed."""
    counts = [["314", "189", "112", "70", "20", "0"], ["385", "190", "99", "53", "9", "0"]]
    rows = [[_tok("Arm A", 20, 60, 400)] + [_tok(s, p - 8, p + 8, 400) for s, p in zip(counts[0], TICKS_P)],
            [_tok("Arm B", 20, 60, 420)] + [_tok(s, p - 8, p + 8, 420) for s, p in zip(counts[1], TICKS_P)],
            [_tok(s, p - 4 - 2 * len(s), p + 4 + 2 * len(s), 440) for s, p in
             zip(["1", "12", "24", "36", "48", "6"], TICKS_P)]]
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, 80.0)
    assert table.time_row and table.times.tolist() == TICKS_V.tolist()
    assert [r.label for r in table.rows] == ["Arm A", "Arm B"]
    assert [r.counts.tolist() for r in table.rows] == [[float(v) for v in c] for c in counts]
    assert not table.warnings


def test_a_row_of_counts_is_never_taken_for_the_time_row():
    """Counts that happen to equal the time at one column stay counts."""
    rows = [[_tok(s, p - 8, p + 8, 400) for s, p in zip(["60", "48", "30", "20", "8", "0"], TICKS_P)],
            [_tok(s, p - 8, p + 8, 420) for s, p in zip(["70", "50", "24", "10", "4", "0"], TICKS_P)]]
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, 80.0)
    assert not table.time_row and len(table.rows) == 2
    assert table.rows[1].counts.tolist() == [70, 50, 24, 10, 4, 0]


# ---------------------------------------------------------------- figures R draws
def _r_figures(tmp_path, specs, seed):
    from simulate.rfigures import r_available, render_r_figures, simulate_trial

    if not r_available():
        pytest.skip("R with survival + survminer not installed")
    rng = np.random.default_rng(seed)
    return render_r_figures([(simulate_trial(rng, s.names), s) for s in specs], tmp_path)


def _calibration_error_px(fig, det) -> float:
    from digitize.calibrate import Calibration

    truth = Calibration.from_dict(fig.truth.calibration)
    t = np.array([0.0, float(fig.truth.x_range[1]), 0.0])
    s = np.array([0.0, 0.0, 1.0])
    return float(np.abs(np.array(det.calibration.to_pixel(t, s)) - np.array(truth.to_pixel(t, s))).max())


def _raw_rows(det, times) -> list[list]:
    """The risk table's rows as read (before pairing with arms), at the printed ``times``:
    [[count or None, ...], ...] (None: no cell read at that time)."""
    cells = det.details.get("risk_cells") or []
    n = len({c["time"] for c in cells})
    rows = [{round(c["time"], 6): c["value"] for c in cells[k:k + n]} for k in range(0, len(cells), max(n, 1))]
    return [[r.get(round(float(t), 6)) for t in times] for r in rows]


@needs_ocr
@needs_r
def test_survminer_table_at_96_dpi_whose_rows_touch(tmp_path):
    """survminer at 96 dpi with its table squeezed to a pixel between rows: the '1's of two
    rows touch, the bottom row sits on the table's axis. Every printed cell is read, under
    the arm it belongs to."""
    from simulate.rfigures import RSpec

    names = ["Surgery alone", "Surgery + chemo"]
    spec = RSpec(engine="survminer", names=names, colours=["#00468B", "#ED0000"], legend="right",
                 censor="|", percent=True, break_time_by=24.0, lwd=0.8, width=715, height=480, res=96)
    for fig in _r_figures(tmp_path, [spec, spec], 0):
        det = detect_figure(fig.load_image())
        assert _calibration_error_px(fig, det) <= 1.0
        rt = fig.truth.risk_table
        assert _raw_rows(det, rt.times) == [list(v) for v in rt.n_risk.values()]


@needs_ocr
@needs_r
def test_theme_bw_at_72_dpi_with_overlapping_coloured_rows(tmp_path):
    """survminer theme_bw at 72 dpi (506 x 324 px): the panel's grey border falls between
    pixel columns and the two coloured table rows overlap. The axes calibrate within a
    pixel; the table has one row per arm, in the arms' order, nearly every cell right (a
    digit clipped by the table's panel can still be misread)."""
    from simulate.rfigures import RSpec

    names = ["Surgery alone", "Surgery + chemo"]
    spec = RSpec(engine="survminer", names=names, colours=["#F8766D", "#00BFC4"], legend="bottom",
                 risk_table_col=True, conf_int=True, percent=True, break_time_by=6.0, theme="bw", lwd=0.8,
                 width=506, height=324, res=72)
    ok = total = 0
    for fig in _r_figures(tmp_path, [spec, spec, spec], 3):
        det = detect_figure(fig.load_image())
        assert det.calibration is not None and _calibration_error_px(fig, det) <= 1.0
        rows = _raw_rows(det, fig.truth.risk_table.times)
        truth = list(fig.truth.risk_table.n_risk.values())
        assert len(rows) == len(truth)
        ok += sum(a == b for r, t in zip(rows, truth) for a, b in zip(r, t))
        total += sum(len(t) for t in truth)
    assert ok >= 0.9 * total, (ok, total)


# ---------------------------------------------------------------- one black ink, two styles
@needs_ocr
@needs_r
def test_black_arms_whose_keys_read_grey_share_the_found_ink(tmp_path):
    """Two black arms, solid and dashed (base R, and survminer theme_grey with a bottom
    legend): the dashed key reads dark grey (#202020-#444444: anti-aliasing), which is the
    black curve's ink, not a colour missing from the plot. No review says an arm 'took its
    colour from the legend'; the honest one stays (two arms in one colour: check the traces),
    and each name gets its own line style."""
    from simulate.rfigures import RSpec

    specs = [RSpec(engine="base", names=["Surgery alone", "Surgery + chemo"], colours=["#000000", "#000000"],
                   linetypes=[1, 2], legend="right", base_axis="las1", lwd=1.5, width=847, height=566, res=96),
             RSpec(engine="survminer", names=["Placebo", "Drug"], colours=["#000000", "#000000"], linetypes=[1, 2],
                   legend="bottom", risk_table=False, censor="none", percent=True, theme="grey", lwd=0.5,
                   width=652, height=438, res=96)]
    for fig in _r_figures(tmp_path, specs, 5):
        det = detect_figure(fig.load_image())
        spec = fig.truth.spec
        assert [a.name for a in det.arms] == spec.names
        assert [a.style for a in det.arms] == ["solid", "dashed"]
        reasons = [r["reason"] for r in det.review]
        assert not [r for r in reasons if "took its colour" in r], reasons
        assert any("same colour" in r for r in reasons)


def test_a_cell_missing_between_two_read_ones_is_flagged():
    """A number the reading lost inside a row (its neighbours either side read) is never a
    silent blank: the row is flagged at that time, and the table's confidence drops."""
    counts = ["314", "189", "112", "70", "20", "0"]
    rows = [[_tok("Arm A", 20, 60, 400)] + [_tok(s, p - 8, p + 8, 400) for s, p in zip(counts, TICKS_P)],
            [_tok("Arm B", 20, 60, 420)] + [_tok(s, p - 8, p + 8, 420) for k, (s, p) in
                                            enumerate(zip(["385", "190", "99", "53", "9", "0"], TICKS_P)) if k != 2]]
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, 80.0)
    assert np.isnan(table.rows[1].counts[2])
    assert [w for w in table.warnings if "'Arm B' at time 24" in w and "no number" in w]
    assert table.confidence < 0.8


def test_a_table_axis_stroke_two_rows_tall_is_no_one_letter_row_label():
    """survminer without row names: each row is labelled by a coloured bar; the table's own
    y axis beside them, cut into a stroke two text heights tall, is read 'l'. It names no
    row (a one-letter name, R's strata 'A', is as tall as the text)."""
    counts = [["118", "50", "0"], ["252", "64", "0"]]
    p3 = TICKS_P[[0, 2, 4]]
    v3 = TICKS_V[[0, 2, 4]]
    rows = [[_tok("_", 40, 60, 400, 4), _tok("l", 74, 78, 405, 20)] + [_tok(s, p - 8, p + 8, 400) for s, p in zip(counts[0], p3)],
            [_tok("_", 40, 60, 410, 4)] + [_tok(s, p - 8, p + 8, 410) for s, p in zip(counts[1], p3)]]
    table = read_table(rows, _value_at, v3, p3, 10.0, 80.0)
    assert [r.label for r in table.rows] == [None, None]
