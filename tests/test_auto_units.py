"""Zero-click building blocks without OCR: number parsing, robust axis fits, axis lines and
tick marks on drawn images, risk-table assembly/validation, and the no-OCR / blank-image paths."""
import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from digitize.auto import detect_figure, ocr  # noqa: E402
from digitize.auto.axes import find_frame, find_ticks, ink_masks  # noqa: E402
from digitize.auto.legend import blend_distance, clean_name, match_names, NamedColour  # noqa: E402
from digitize.auto.risktable import read_table  # noqa: E402
from digitize.auto.text import Token, find_tokens, parse_number  # noqa: E402
from digitize.auto.ticklabels import fit_axis  # noqa: E402


@pytest.mark.parametrize("text,value", [
    ("0.8", 0.8), ("80%", 80.0), ("1,000", 1000.0), ("0,8", 0.8), ("O", 0.0), ("1O5", 105.0),
    ("l2", 12.0), ("12", 12.0), ("2.5", 2.5), ("Control", None), ("Arm A", None), ("", None),
    ("-", None), ("Time (months)", None),
])
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_fit_axis_rejects_a_misread_label_and_handles_uneven_labels():
    # x axis: 0..60 every 12 at 80 px per 12 months starting at px 100; '48' misread as '18'
    pos = np.array([100, 180, 260, 340, 420, 500], float)
    vals = [0, 12, 24, 36, 18, 60]
    fit = fit_axis(pos, vals, [True] * 6, [str(v) for v in vals], True)
    assert fit is not None and not fit.log
    assert fit.rejected == ["18"]
    assert fit.pos_of(60.0) == pytest.approx(500, abs=1e-6)
    assert fit.value_at(420) == pytest.approx(48, abs=1e-6)
    # y axis (pixels grow downwards), uneven truncated labels 0.3 0.5 0.7 0.9 1.0
    yv = np.array([0.3, 0.5, 0.7, 0.9, 1.0])
    ypx = 400 - (yv - 0.3) * 500
    fit = fit_axis(ypx, yv, [False] * 5, [str(v) for v in yv], False, allow_log=False)
    assert fit is not None and fit.rejected == []
    assert fit.pos_of(1.0) == pytest.approx(50, abs=1e-6)
    assert fit.confidence > 0.9


def test_fit_axis_recognises_a_log_axis_and_refuses_disagreeing_labels():
    pos = np.array([50, 150, 250, 350], float)
    vals = [1, 10, 100, 1000]
    fit = fit_axis(pos, vals, [True] * 4, list(map(str, vals)), True)
    assert fit.log and fit.value_at(200) == pytest.approx(10 ** 1.5)
    # two labels whose order contradicts the axis direction: no fit
    assert fit_axis([100, 200], [10, 0], [True, True], ["10", "0"], True) is None
    assert fit_axis([100], [0], [True], ["0"], True) is None


def _axes_image(rotation=0.0, tick_dir=+1):
    """White image, L-shaped black axes 2 px thick, ticks every 80 px on x and 60 px on y."""
    img = np.full((400, 600, 3), 255, np.uint8)
    cv2.line(img, (100, 320), (560, 320), (0, 0, 0), 2)
    cv2.line(img, (100, 40), (100, 320), (0, 0, 0), 2)
    for x in range(100, 561, 80):
        cv2.line(img, (x, 320), (x, 320 + 6 * tick_dir), (0, 0, 0), 1)
    for y in range(320, 39, -60):
        cv2.line(img, (100, y), (100 - 6 * tick_dir, y), (0, 0, 0), 1)
    if rotation:
        m = cv2.getRotationMatrix2D((300, 200), rotation, 1.0)
        img = cv2.warpAffine(img, m, (600, 400), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    return img


def test_axis_lines_and_ticks_are_found_to_subpixel():
    img = _axes_image()
    ink, dark, darkness = ink_masks(img)
    frame = find_frame(dark)
    assert frame.x_axis is not None and frame.y_axis is not None
    assert float(frame.x_axis.at(300)) == pytest.approx(320, abs=1.0)
    assert float(frame.y_axis.at(200)) == pytest.approx(100, abs=1.0)
    xt, xlen = find_ticks(darkness, frame.x_axis, +1)
    assert np.allclose(xt, [100, 180, 260, 340, 420, 500], atol=0.6)
    assert 3 <= xlen <= 7
    yt, _ = find_ticks(darkness, frame.y_axis, -1)
    assert np.allclose(sorted(yt), [80, 140, 200, 260, 320], atol=0.6)


def test_rotated_axes_are_fitted_as_lines():
    img = _axes_image(rotation=0.8)
    _, dark, darkness = ink_masks(img)
    frame = find_frame(dark)
    assert frame.x_axis is not None
    assert abs(frame.x_axis.slope + np.tan(np.radians(0.8))) < 0.003
    xt, _ = find_ticks(darkness, frame.x_axis, +1)
    assert len(xt) >= 4


def test_tokens_group_characters_into_words():
    img = np.full((300, 400, 3), 255, np.uint8)
    cv2.putText(img, "150", (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    cv2.putText(img, "78", (150, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    ink, _, _ = ink_masks(img)
    toks, th = find_tokens(ink)
    assert len(toks) == 2
    assert sorted(t.n_parts for t in toks) == [2, 3]


def _tok(text, cx, cy, w=20, h=10, rgb=(0, 0, 0)):
    t = Token((int(cx - w / 2), int(cy - h / 2), int(cx + w / 2), int(cy + h / 2)), len(text), text, 0.99, rgb)
    return t


def _value_at(px):
    return (np.asarray(px, float) - 100.0) / 80.0 * 12.0  # 80 px per 12 months from px 100


TICKS_V = np.array([0, 12, 24, 36, 48])
TICKS_P = 100 + TICKS_V / 12 * 80


def test_risk_table_rows_columns_and_validation():
    rows = [
        [_tok("Control", 40, 400, 50)] + [_tok(s, p + 0.5, 400) for s, p in zip(["150", "98", "60", "31", "8"], TICKS_P)],
        [_tok("Drug", 40, 420, 40)] + [_tok(s, p, 420) for s, p in zip(["148", "120", "97", "99", "20"], TICKS_P)],
    ]
    # '99' (printed 59) breaks the never-increasing order; a second reading fixes it
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, 100.0,
                       reread=lambda tok: ["59"] if tok.text == "99" else [tok.text])
    assert table.aligned and not table.time_row
    assert np.array_equal(table.times, TICKS_V)
    assert [r.label for r in table.rows] == ["Control", "Drug"]
    assert table.rows[0].counts.tolist() == [150, 98, 60, 31, 8]
    assert table.rows[1].counts.tolist() == [148, 120, 97, 59, 20]
    assert any("corrected to 59" in w for w in table.warnings)
    # without a second reading the cell is blanked and flagged, confidence drops
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, 100.0)
    assert np.isnan(table.rows[1].counts[3])
    assert any("Drug" in w and "36" in w for w in table.warnings)
    assert table.confidence < 0.8


def test_risk_table_with_its_own_time_row_and_columns_between_ticks():
    times = [0, 6, 12, 18, 24]
    px = 100 + np.array(times) / 12 * 80
    rows = [[_tok("Months", 40, 380, 50)] + [_tok(str(t), p, 380) for t, p in zip(times, px)],
            [_tok("A", 40, 400)] + [_tok(s, p, 400) for s, p in zip(["50", "40", "30", "20", "10"], px)]]
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, 100.0)
    assert table.time_row and table.aligned
    assert table.times.tolist() == times
    # same columns, no time row: half-step columns snap to the 6-month grid
    table = read_table(rows[1:], _value_at, TICKS_V, TICKS_P, 10.0, 100.0)
    assert table.aligned and table.times.tolist() == times


def test_risk_table_columns_that_cannot_be_aligned_are_flagged():
    px = [100, 150, 230, 330, 357]  # irregular, off the ticks and off any round grid
    rows = [[_tok("A", 40, 400)] + [_tok(s, p, 400) for s, p in zip(["50", "40", "30", "20", "10"], px)]]
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, 100.0)
    assert table is not None and not table.aligned
    assert table.confidence <= 0.4
    assert any("do not line up" in w for w in table.warnings)
    assert table.rows[0].counts.tolist() == [50, 40, 30, 20, 10]   # partial result kept
    assert read_table([[_tok("Number", 40, 380, 60)]], _value_at, TICKS_V, TICKS_P, 10.0, 100.0) is None


def test_names_and_colours():
    assert clean_name("Drug A (n=120)") == ("Drug A", 120)
    assert clean_name("Placebo") == ("Placebo", None)
    # a thin swatch shows a diluted colour: still matched to its curve, not to the other one
    red, blue = (214, 39, 40), (31, 119, 180)
    diluted_red = tuple(int(255 + 0.55 * (c - 255)) for c in red)
    assert blend_distance(red, diluted_red, (255, 255, 255)) < 3
    m = match_names([blue, red], [NamedColour("Treatment", diluted_red, "legend", (0, 0, 0, 0), 1.0),
                                  NamedColour("Control", blue, "legend", (0, 0, 0, 0), 1.0)])
    assert m[0].name == "Control" and m[1].name == "Treatment"


def test_without_ocr_detection_is_partial_with_a_message(monkeypatch):
    monkeypatch.setattr(ocr, "_engine", lambda: "OCR is not installed (test); install it with: pip install rapidocr onnxruntime")
    det = detect_figure(_axes_image())
    assert det.calibration is None and det.plot_area is not None
    assert any("pip install rapidocr onnxruntime" in w for w in det.warnings)
    assert set(det.needs_review) == {"calibration_x", "calibration_y", "arms", "risk_table"}
    d = det.to_dict()
    assert d["calibration"] is None and d["warnings"]


def test_blank_image_gives_warnings_not_errors():
    det = detect_figure(np.full((300, 400, 3), 255, np.uint8))
    assert det.calibration is None and det.plot_area is None and det.arms == []
    assert any("no x axis line" in w for w in det.warnings)
    with pytest.raises(ValueError):
        detect_figure(np.zeros((5, 5), np.uint8))


def test_roman_numerals_misread_as_digits_are_restored():
    from digitize.auto.legend import harmonise_names

    assert harmonise_names(["Stage 1", "Stage II", "Stage III"]) == ["Stage I", "Stage II", "Stage III"]
    assert harmonise_names(["Arm 1", "Arm 2"]) == ["Arm 1", "Arm 2"]   # real digits stay
    # a serif 'III' read as 'II': listed in order, the duplicate takes its position's numeral
    assert harmonise_names(["Stage I", "Stage II", "Stage II", "Stage IV"])[2] == "Stage III"


def test_ocr_decodes_latin_characters_only():
    chars = ["blank", "4", "主", "A", " "]
    wrapped = ocr._LatinOnly(lambda x: np.array([[[0.0, 0.3, 0.6, 0.1, 0.0]]]), chars)
    out = wrapped(None)
    assert out[0, 0].argmax() == 1 and out[0, 0, 2] == 0   # '主' can no longer win
