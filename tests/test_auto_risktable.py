"""Risk tables as journals print them, read zero-click from rendered figures with known numbers:
tight tables at low resolution whose neighbouring numbers touch (one token holding several
cells, cut at the columns the time axis gives), numbers R draws with a wide '1' (one number
found as two pieces, joined), a table whose bottom row touches its own axis (the tick mark
under a number is not part of it); and the same mechanisms on hand-made tokens."""
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from digitize.auto import detect_figure, ocr
from digitize.auto.risktable import read_table
from digitize.auto.text import Token, find_tokens

needs_ocr = pytest.mark.skipif(not ocr.ocr_available()[0], reason="OCR (rapidocr) not installed")


def _cells_wrong(truth_table, det) -> list:
    """(arm, time, printed, read) of every printed cell the detection got wrong or missed."""
    got = det.risk_table
    wrong = []
    for arm, printed in truth_table.n_risk.items():
        for t, n in zip(truth_table.times, printed):
            v = None
            if got is not None and arm in got.n_risk:
                k = np.nonzero(np.isclose(got.times, t))[0]
                v = got.n_risk[arm][k[0]] if k.size else None
            if v is None or v != n:
                wrong.append((arm, float(t), float(n), v))
    return wrong


# ---------------------------------------------------------------- tight tables (NEJM-like)
def _tight_ipd() -> pd.DataFrame:
    from simulate.ipd import simulate_arm

    rng = np.random.default_rng(4)
    frames = []
    for name, k, med in (("Deruxtecan", 373, 23.0), ("Physician", 184, 16.0)):
        d = simulate_arm(k, rng, median=med, follow_up=34.0, accrual=20.0)
        d.insert(0, "arm", name)
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


@needs_ocr
@pytest.mark.parametrize("dpi,width_in,font_pt", [(100, 9.0, 8.0), (120, 8.0, 7.0)])
def test_tight_table_numbers_that_touch_are_cut_at_the_columns(dpi, width_in, font_pt):
    """35 columns, one a month, 3-digit counts: at 100 dpi neighbouring numbers sit closer
    than two digits of one number, so several cells come as one token ('373364351'); at
    120 dpi / 7 pt a whole row's first 24 cells touch. Every printed cell is read."""
    from simulate.figure import render_figure
    from simulate.styles import PALETTES, FigureStyle

    style = FigureStyle(dpi=dpi, width_in=width_in, height_in=3.6, font_size_pt=font_pt,
                        arm_names=("Deruxtecan", "Physician"), colors=PALETTES["tab10"], x_step=1.0,
                        x_max=34.0, risk_table=True, risk_title="No. at Risk", risk_label_colored=False,
                        legend_loc="upper right")
    fig = render_figure(_tight_ipd(), style)
    det = detect_figure(fig.image)
    assert len(fig.truth.risk_table.times) == 35
    assert _cells_wrong(fig.truth.risk_table, det) == []
    assert not [w for w in det.warnings if w.startswith("risk table")]


# ---------------------------------------------------------------- R's survminer tables
@needs_ocr
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_survminer_tables_with_wide_ones_and_a_row_on_the_axis(tmp_path):
    """survminer at 150 and 200 dpi: '169' is found as '1' + '69' (R's '1' has wide side
    bearings); a squeezed table puts the bottom row on the table's axis, its tick marks
    between the numbers and the time labels. Every cell R printed is read."""
    from simulate.ipd import simulate_arm
    from simulate.rfigures import RSpec, r_available, render_r_figures

    if not r_available():
        pytest.skip("R with survival + survminer not installed")
    rng = np.random.default_rng(11)

    def ipd(names, ns, meds):
        fr = []
        for nm, k, med in zip(names, ns, meds):
            d = simulate_arm(k, rng, median=med, follow_up=60.0, accrual=24.0)
            d.insert(0, "arm", nm)
            fr.append(d)
        return pd.concat(fr, ignore_index=True)

    jobs = [(ipd(["Arm A", "Arm B"], [367, 192], [22.0, 8.0]),
             RSpec(engine="survminer", names=["Arm A", "Arm B"], colours=["#BC3C29", "#0072B5"], legend="top",
                   res=150, width=1175, height=1023, theme="classic", risk_table_col=True, censor="|")),
            (ipd(["Control", "Experimental"], [329, 130], [30.0, 14.0]),
             RSpec(engine="survminer", names=["Control", "Experimental"], colours=["#E7B800", "#2E9FDF"],
                   legend="none", res=200, width=1276, height=995, percent=True, censor="none"))]
    for fig in render_r_figures(jobs, tmp_path):
        det = detect_figure(fig.load_image())
        assert _cells_wrong(fig.truth.risk_table, det) == [], fig.truth.spec


# ---------------------------------------------------------------- the mechanisms, token level
def _tok(text, x0, x1, cy=400, h=10):
    return Token((int(x0), int(cy - h / 2), int(x1), int(cy + h / 2)), len(text), text, 0.99)


def _value_at(px):
    return (np.asarray(px, float) - 100.0) / 20.0  # 20 px a month from px 100


TICKS_V = np.arange(0, 9, 1.0)
TICKS_P = 100 + 20 * TICKS_V


def test_merged_cells_are_split_and_split_numbers_joined_at_the_columns():
    """Without pixels: a token read as '373 366 363' spanning three columns becomes three
    cells (its own spaces cut it); its columns, hidden in the other row too, come from the
    regular time step of the columns found; '1' + '69' side by side in one column is 169."""
    row1 = [_tok("Arm A", 30, 70), _tok("373 366 363", 92, 148)] + \
        [_tok(s, p - 8, p + 8) for s, p in zip(["357", "351", "344", "338", "326", "315"], TICKS_P[3:])]
    row2 = [_tok("Arm B", 30, 70, 420), _tok("184 171", 92, 128, 420), _tok("1", 134, 137, 420),
            _tok("69", 140, 152, 420)] + [_tok(s, p - 8, p + 8, 420) for s, p in
                                          zip(["157", "153", "146", "138", "128", "120"], TICKS_P[3:])]
    table = read_table([row1, row2], _value_at, TICKS_V, TICKS_P, 10.0, 80.0)
    assert table.times.tolist() == TICKS_V.tolist()
    assert table.rows[0].counts.tolist() == [373, 366, 363, 357, 351, 344, 338, 326, 315]
    assert table.rows[1].counts.tolist() == [184, 171, 169, 157, 153, 146, 138, 128, 120]
    assert table.aligned, table.warnings


def test_merged_cells_that_cannot_be_cut_are_flagged_not_guessed():
    """'309296' with no space and no pixels to cut it: its two columns stay blank and the
    row is flagged (never one number 309296 in one column)."""
    row = [_tok("Arm A", 30, 70)] + [_tok(s, p - 8, p + 8) for s, p in zip(["373", "366", "363"], TICKS_P[:3])] + \
        [_tok("309296", 152, 188)] + [_tok(s, p - 8, p + 8) for s, p in zip(["287", "276", "254", "223"], TICKS_P[5:])]
    table = read_table([row, [_tok("Arm B", 30, 70, 420)] + [_tok(str(200 - 10 * k), p - 8, p + 8, 420)
                                                         for k, p in enumerate(TICKS_P)]],
                       _value_at, TICKS_V, TICKS_P, 10.0, 80.0)
    c = table.rows[0].counts
    assert c[:3].tolist() == [373, 366, 363] and c[5:].tolist() == [287, 276, 254, 223]
    assert not (c == 309296).any()
    assert table.confidence < 0.8 and table.warnings


def test_tick_mark_under_a_number_joins_neither_it_nor_the_label_below():
    """A table row touching its axis: '130', the axis' tick mark under it, the time label '0'
    under that. Three tokens, not one 3-line-tall blob (which is dropped as no text)."""
    img = np.full((300, 300, 3), 255, np.uint8)
    cv2.putText(img, "130", (30, 34), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    cv2.line(img, (0, 36), (299, 36), (0, 0, 0), 2)          # the table's axis line
    cv2.rectangle(img, (46, 38), (48, 44), (0, 0, 0), -1)    # its tick mark
    cv2.putText(img, "0", (40, 64), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    ink = img[..., 0] < 128
    axis = np.zeros_like(ink)
    axis[35:38, :] = True
    toks, th = find_tokens(ink, axis, text_height=18.0)
    tall = [t for t in toks if t.h > 1.6 * 18]
    assert not tall, [t.bbox for t in toks]
    number = [t for t in toks if t.bbox[3] <= 36]
    assert len(number) == 1 and number[0].w > 40                     # '130' as one token


def test_curve_name_on_two_lines_is_one_name_two_names_stacked_stay_two():
    """NEJM prints a curve's name beside it on two lines ('Nivolumab plus' over
    'chemotherapy'): one name, as the risk table's row prints it. Two arms' names stacked
    ('Arm A' over 'Arm B') are two."""
    from digitize.auto.detect import _join_label_lines
    from digitize.auto.legend import NamedColour

    def lab(name, x0, y0, x1, th=20):
        return NamedColour(name, None, "curve_label", (x0, y0, x1, y0 + th), 0.9)

    got = _join_label_lines([lab("Nivolumab plus", 1161, 135, 1345), lab("chemotherapy", 1170, 168, 1335),
                             lab("Chemotherapy alone", 1099, 332, 1337)], 20.0)
    assert [e.name for e in got] == ["Nivolumab plus chemotherapy", "Chemotherapy alone"]
    assert got[0].bbox == (1161, 135, 1345, 188)
    got = _join_label_lines([lab("Arm A", 500, 100, 560), lab("Arm B", 500, 128, 560)], 20.0)
    assert [e.name for e in got] == ["Arm A", "Arm B"]
    # a name ending in a joining sign goes on, even when the next line is capitalised
    got = _join_label_lines([lab("Pembrolizumab +", 500, 100, 660), lab("Chemotherapy", 505, 127, 650)], 20.0)
    assert [e.name for e in got] == ["Pembrolizumab + Chemotherapy"]
    # lines far apart, or not one under the other, are separate labels
    got = _join_label_lines([lab("Nivolumab plus", 500, 100, 660), lab("chemotherapy", 505, 160, 650),
                             lab("alone", 800, 121, 850)], 20.0)
    assert len(got) == 3


def test_row_label_on_two_lines_is_one_name():
    """A row label set on two lines ('Nivolumab plus' / 'chemotherapy', the numbers on the
    first line's baseline) names the row in full; the table's header above stays out."""
    counts = [["179", "176", "166", "163", "156", "148", "146", "143", "122"],
              ["179", "172", "165", "161", "154", "148", "133", "123", "108"]]
    rows = [[_tok("No. at Risk", 20, 75, 380)],
            [_tok("Nivolumab plus", 10, 75, 400)] + [_tok(s, p - 8, p + 8, 400) for s, p in zip(counts[0], TICKS_P)],
            [_tok("chemotherapy", 12, 73, 412)],
            [_tok("Chemotherapy alone", 5, 75, 430)] + [_tok(s, p - 8, p + 8, 430) for s, p in zip(counts[1], TICKS_P)]]
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, 80.0)
    assert [r.label for r in table.rows] == ["Nivolumab plus chemotherapy", "Chemotherapy alone"]
    assert table.rows[1].counts.tolist() == [float(v) for v in counts[1]]
