"""Arms and risk tables as journals print them, and honesty about what could not be read:
legends split at their keys, names written beside the curves, survminer row labels that carry
the axis tick, "410 (0)" cells, a time row under the counts, every curve kept (unnamed ones
flagged), and `kmrecon extract` exiting 3 with REVIEW lines when a person must check."""
from __future__ import annotations

import shutil
import subprocess
import textwrap

import numpy as np
import pandas as pd
import pytest

from digitize.auto import detect_figure, ocr
from digitize.auto.detect import FigureDetection
from digitize.auto.legend import delta_e
from digitize.auto.risktable import cell_censored, cell_number, read_table
from digitize.auto.text import Token

needs_ocr = pytest.mark.skipif(not ocr.ocr_available()[0], reason="OCR (rapidocr) not installed")
needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")


def _tok(text, cx, cy, w=20, h=10, rgb=(0, 0, 0)):
    return Token((int(cx - w / 2), int(cy - h / 2), int(cx + w / 2), int(cy + h / 2)), len(text), text, 0.99, rgb)


def _value_at(px):
    return (np.asarray(px, float) - 100.0) / 80.0 * 12.0  # 80 px per 12 months from px 100


TICKS_V = np.array([0, 12, 24, 36, 48])
TICKS_P = 100 + TICKS_V / 12 * 80


# ---------------------------------------------------------------- risk-table cells and rows
def test_cells_with_censored_counts_in_brackets():
    assert cell_number("410 (0)") == 410 and cell_censored("410 (0)") == 0
    assert cell_number("1,024 (12)") == 1024 and cell_censored("1,024 (12)") == 12
    assert cell_number("23") == 23 and cell_censored("23") is None
    rows = [[_tok("Pembrolizumab", 40, 400, 60)] + [_tok(s, p, 400, 40) for s, p in
                                                    zip(["410 (0)", "377 (3)", "347 (9)", "278 (40)", "163 (98)"], TICKS_P)],
            # the count and its bracket read as two tokens ('8' '(120)'): still one cell
            [_tok("Placebo", 40, 420, 40)] + [_tok(s, p, 420, 40) for s, p in
                                              zip(["206 (0)", "183 (1)", "149 (5)", "104 (20)"], TICKS_P)]
            + [_tok("8", TICKS_P[4] - 14, 420, 8), _tok("(120)", TICKS_P[4] + 6, 420, 28)]]
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, 80.0)
    assert table.aligned, table.warnings
    assert table.rows[0].counts.tolist() == [410, 377, 347, 278, 163]
    assert table.rows[1].counts.tolist() == [206, 183, 149, 104, 8]
    assert table.rows[0].censored.tolist() == [0, 3, 9, 40, 98]


def test_time_row_under_the_counts_and_labels_carrying_the_axis_tick():
    """survminer: labels right-aligned against the table's axis, the tick read as a last
    character ('Lev1', 'Obs' misread as a number), the time row printed under the counts."""
    axis_x = 95.0
    rows = [[_tok("Obs1", 76, 400, 26)] + [_tok(s, p, 400) for s, p in zip(["315", "183", "78", "27", "9"], TICKS_P)],
            [_tok("Lev+5FU1", 64, 420, 50)] + [_tok(s, p, 420) for s, p in zip(["304", "225", "136", "80", "44"], TICKS_P)],
            [_tok(str(v), p, 440) for v, p in zip(TICKS_V, TICKS_P)]]
    table = read_table(rows, _value_at, TICKS_V, TICKS_P, 10.0, axis_x)
    assert table.time_row and table.aligned, table.warnings
    assert [r.label for r in table.rows] == ["Obs", "Lev+5FU"]
    assert table.rows[0].counts.tolist() == [315, 183, 78, 27, 9]
    assert len(table.rows) == 2  # the time row is not a row of counts


def test_review_items_arms_first_and_generic_items_for_low_confidence():
    det = FigureDetection(None, None, confidence={"calibration_x": 1.0, "calibration_y": 0.5,
                                                  "arms": 0.9, "risk_table": 0.9})
    det.flag("risk_table", "risk table: row 3 ('X') matches no arm")
    det.flag("arms", "arms: a curve drawn in #ff0000 has no printed name")
    items = det.review_items
    assert [i["piece"] for i in items] == ["arms", "risk_table", "calibration_y"]
    assert det.needs_review == ["arms", "risk_table", "calibration_y"]
    assert "#ff0000" in items[0]["reason"] and "low confidence" in items[2]["reason"]
    assert det.to_dict()["review"] == items


# ---------------------------------------------------------------- R-rendered figures
_R = textwrap.dedent('''
    suppressMessages({library(survival); library(survminer)})
    a <- commandArgs(TRUE); set.seed(as.integer(a[5])); k <- as.integer(a[3])
    nm <- c("Obs", "Lev", "Lev+5FU")[1:k]; n <- c(315, 310, 304)[1:k]; r <- c(0.06, 0.045, 0.03)[1:k]
    d <- do.call(rbind, lapply(1:k, function(i) {t <- rexp(n[i], r[i]); c <- runif(n[i], 10, 60)
      data.frame(time=pmin(t, c), status=as.integer(t <= c), rx=nm[i])}))
    d$rx <- factor(d$rx, levels=nm); fit <- survfit(Surv(time, status) ~ rx, data=d)
    if (a[2] == "base") {
      png(a[1], width=800, height=600, res=110); cols <- c("#1b9e77", "#d95f02", "#7570b3")[1:k]
      plot(fit, col=cols, lwd=2, xlab="Months", ylab="Survival probability")
      s <- summary(fit, times=45)
      for (i in 1:k) text(46, s$surv[i] + 0.04, nm[i], adj=0)
      invisible(dev.off())
    } else {
      p <- ggsurvplot(fit, data=d, risk.table=TRUE, risk.table.col="strata", tables.y.text=a[4] == "1",
                      legend=a[2], legend.labs=nm, break.time.by=10)
      png(a[1], width=800, height=700, res=110); print(p); invisible(dev.off())
    }
    s <- summary(fit, times=seq(0, 60, 10), extend=TRUE)
    write.csv(data.frame(arm=sub("rx=", "", s$strata), time=s$time, n_risk=s$n.risk), a[6], row.names=FALSE)
''')


def _render_r(tmp_path, legend, k, y_text, seed=1):
    script = tmp_path / "fig.R"
    script.write_text(_R)
    png, truth = tmp_path / "fig.png", tmp_path / "risk.csv"
    subprocess.run(["Rscript", str(script), str(png), legend, str(k), "1" if y_text else "0", str(seed),
                    str(truth)], check=True, timeout=120, capture_output=True)
    from digitize.image import load_image
    return load_image(png), pd.read_csv(truth)


_HUE = {"Obs": (248, 118, 109), "Lev": (0, 186, 56), "Lev+5FU": (97, 156, 255)}   # ggplot2 hue_pal(3)


@needs_ocr
@needs_r
@pytest.mark.parametrize("legend,y_text", [("top", True), ("bottom", False)])
def test_survminer_legend_keys_split_the_row_into_named_arms(tmp_path, legend, y_text):
    """'Strata -+- Obs -+- Lev -+- Lev+5FU' on one row is three arms; the risk table's rows (labels
    ending in the axis tick, or only coloured bars) are matched to them."""
    image, truth = _render_r(tmp_path, legend, 3, y_text)
    det = detect_figure(image)
    assert sorted(a.name for a in det.arms) == sorted(_HUE), det.warnings
    for a in det.arms:
        assert delta_e(a.rgb, _HUE[a.name]) < 12, (a.name, a.rgb)
    rt = det.risk_table
    assert rt is not None and rt.times.tolist() == [0, 10, 20, 30, 40, 50, 60]
    for name in _HUE:
        want = truth[truth.arm == name].n_risk.tolist()
        assert rt.n_risk[name].tolist() == want, (name, rt.n_risk[name])
    assert "arms" not in det.needs_review, det.review_items


@needs_ocr
@needs_r
def test_names_written_beside_the_curves_name_them(tmp_path):
    """Base R plot with the arm names written at the curves' ends (no legend, no table)."""
    image, _ = _render_r(tmp_path, "base", 2, True, seed=3)
    det = detect_figure(image)
    cols = {"Obs": (27, 158, 119), "Lev": (217, 95, 2)}
    got = {a.name: a.rgb for a in det.arms}
    assert set(got) == set(cols), (got, det.details.get("curve_labels"))
    for name, rgb in cols.items():
        assert delta_e(got[name], rgb) < 15
    # each name is clearly nearest its own curve: confident
    assert "arms" not in det.needs_review, det.review_items


# ---------------------------------------------------------------- CLI honesty
@needs_ocr
def test_legend_with_fewer_names_than_curves_exits_3_with_review_lines(tmp_path, capsys):
    from kmrecon.cli import main
    from simulate.figure import FigureStyle, render_figure
    from simulate.ipd import simulate_arm
    from simulate.styles import PALETTES

    rng = np.random.default_rng(5)
    names = ("Placebo", "Drug A", "Drug B")
    frames = []
    for name, med in zip(names, (10.0, 20.0, 35.0)):
        df = simulate_arm(120, rng, median=med, follow_up=48.0, accrual=24.0)
        df.insert(0, "arm", name)
        frames.append(df)
    style = FigureStyle(dpi=120, arm_names=names, colors=PALETTES["tab10"], legend_loc="upper right",
                        legend_frame=False, risk_table=False, height_in=4.5)
    fig = render_figure(pd.concat(frames, ignore_index=True), style)
    img = fig.image.copy()
    gone = fig.truth.legend["entries"][2]    # erase the third legend entry: text and key
    for key in ("bbox", "handle_bbox"):
        x0, y0, x1, y1 = (int(round(v)) for v in gone[key])
        img[max(0, y0 - 2):y1 + 3, max(0, x0 - 2):x1 + 3] = 255
    from PIL import Image
    Image.fromarray(img).save(tmp_path / "fig.png")
    out = tmp_path / "ipd.csv"
    rc = main(["extract", str(tmp_path / "fig.png"), "--out", str(out)])
    lines = capsys.readouterr().out.splitlines()
    review = [ln for ln in lines if ln.startswith("REVIEW: ")]
    assert rc == 3 and out.exists(), lines
    assert review and review[0].startswith("REVIEW: arms:"), review
    # the third curve is kept, unnamed and flagged - never dropped
    import json
    side = json.loads((tmp_path / "ipd.json").read_text())
    assert len(side["arms"]) == 3
    assert any(r["piece"] == "arms" and "no printed name" in r["reason"] for r in side["review"])


def test_a_proposed_arm_with_no_curve_is_left_out_with_a_review_line(tmp_path, monkeypatch, capsys):
    """An automatically proposed colour that no curve is drawn in must not stop the figure:
    the other arms are written and the dropped one is reported (exit 3)."""
    import json
    import sys
    import types

    from digitize.calibrate import Calibration
    from digitize.extract import ArmSpec
    from kmrecon.cli import main
    from simulate.figure import FigureStyle, render_figure
    from simulate.ipd import simulate_arm

    rng = np.random.default_rng(3)
    frames = []
    for name, med in (("Placebo", 10.0), ("Drug", 24.0)):
        df = simulate_arm(80, rng, median=med, follow_up=48.0, accrual=24.0)
        df.insert(0, "arm", name)
        frames.append(df)
    fig = render_figure(pd.concat(frames, ignore_index=True),
                        FigureStyle(arm_names=("Placebo", "Drug"), dpi=100, colors=("#1f77b4", "#d62728")))
    path = fig.save(tmp_path)["image"]
    det = FigureDetection(Calibration.from_dict(fig.truth.calibration), tuple(fig.truth.plot_area),
                          arms=[ArmSpec("Placebo", (31, 119, 180)), ArmSpec("Drug", (214, 39, 40)),
                                ArmSpec("Arm 3", (20, 200, 20))],
                          confidence={k: 1.0 for k in ("arms", "risk_table", "calibration_x", "calibration_y")})
    fake = types.ModuleType("digitize.auto")
    fake.detect_figure = lambda image: det
    monkeypatch.setitem(sys.modules, "digitize.auto", fake)
    out = tmp_path / "ipd.csv"
    rc = main(["extract", str(path), "--out", str(out)])
    lines = capsys.readouterr().out.splitlines()
    assert rc == 3 and out.exists(), lines
    assert any(ln.startswith("REVIEW: arms: no curve could be traced for 'Arm 3'") for ln in lines), lines
    side = json.loads((tmp_path / "ipd.json").read_text())
    assert [a["name"] for a in side["arms"]] == ["Placebo", "Drug"]
    assert side["review"][0]["piece"] == "arms"


# ---------------------------------------------------------------- marks are not curves; names pair 1:1
def _steps(img, rgb, y_of_x, x0, x1, thick=3, dotted=False):
    for x in range(x0, x1):
        if dotted and (x // 4) % 2:
            continue
        y = int(y_of_x(x))
        img[y - thick // 2:y + thick // 2 + 1, x] = rgb


def test_black_censor_ticks_on_coloured_curves_are_not_a_curve():
    """Journals draw censoring ticks in black over coloured curves (CONFIRM, JCO): the black
    pieces all sit on another curve, so black is marks, not a third arm. A black curve of its
    own (touching the others only where they start together) stays an arm."""
    from digitize.auto.detect import _drop_mark_colours

    gold, blue, black = (217, 182, 75), (41, 114, 168), (26, 25, 25)
    img = np.full((420, 620, 3), 255, np.uint8)
    top = lambda x: 60 + 250 * (1 - np.exp(-(x - 50) / 300.0)) // 20 * 20 / 250 * 250  # noqa: E731
    low = lambda x: 60 + min(330, 1.4 * (x - 50)) // 25 * 25  # noqa: E731
    _steps(img, gold, top, 50, 600, thick=5)
    _steps(img, blue, low, 50, 600, thick=3, dotted=True)
    ticks = img.copy()
    for x in range(80, 600, 37):   # black ticks on both curves
        for f in (top, low):
            y = int(f(x))
            ticks[y - 7:y + 8, x:x + 2] = black
    pa = (40, 40, 610, 410)
    assert _drop_mark_colours(ticks, pa, [gold, blue, black]) == [gold, blue]
    curve = img.copy()
    _steps(curve, black, lambda x: 60 + min(340, 0.8 * (x - 50)) // 30 * 30, 50, 600, thick=3)
    assert _drop_mark_colours(curve, pa, [gold, blue, black]) == [gold, blue, black]


def test_thin_black_line_is_not_marks_on_its_own_anti_aliasing():
    """At 72 dpi a 0.75 px black line reads black only where it falls on one pixel row or
    column (its drops, its '|' marks) and #888888 where it straddles two (its plateaus): the
    black pieces all touch that grey, which is the line's own dilution, not another curve.
    Black stays a curve colour; black ticks on a chromatic curve are still marks."""
    from digitize.auto.detect import _drop_mark_colours

    black, grey, blue = (20, 20, 20), (137, 137, 137), (41, 114, 168)
    img = np.full((420, 620, 3), 255, np.uint8)
    y = 60
    for x0 in range(50, 590, 18):   # plateaus straddling two rows, drops crisp
        img[y, x0:x0 + 18] = (136, 136, 136)
        img[y + 1, x0:x0 + 18] = (170, 170, 170)
        img[y:y + 9, x0 + 17] = black
        img[y - 4:y + 5, x0 + 8] = black    # a '|' censor mark
        y += 8
    for x0 in range(50, 590, 8):    # the other arm: #7F7F7F, dashed, diluted to #A1A1A1
        img[300 + (x0 - 50) // 20, x0:x0 + 5] = (161, 161, 161)
    pa = (40, 40, 610, 410)
    assert _drop_mark_colours(img, pa, [grey, black]) == [grey, black]
    marks = np.full_like(img, 255)
    _steps(marks, blue, lambda x: 60 + min(330, 1.4 * (x - 50)) // 25 * 25, 50, 600, thick=3)
    for x in range(80, 600, 37):
        yy = int(60 + min(330, 1.4 * (x - 50)) // 25 * 25)
        marks[yy - 7:yy + 8, x:x + 2] = black
    assert _drop_mark_colours(marks, pa, [blue, black]) == [blue]


def test_neutral_keys_pair_with_neutral_curves_in_order_of_darkness():
    """Every grey lies on black's blend line, so a thin key's grey cannot tell a grey curve
    from a diluted black one; keys drawn alike are diluted alike, so the darker key names the
    darker curve (72 dpi: black key #888888, #7F7F7F key #A1A1A1; curves #141414, #898989)."""
    from digitize.auto.legend import NamedColour, match_names

    keys = [NamedColour("Arm A", (136, 136, 136), "legend", (0, 0, 0, 0), 1.0),
            NamedColour("Arm B", (161, 161, 161), "legend", (0, 0, 0, 0), 1.0)]
    for colours in ([(137, 137, 137), (20, 20, 20)], [(20, 20, 20), (137, 137, 137)]):
        got = {e.name: colours[i] for i, e in match_names(colours, keys).items()}
        assert got == {"Arm A": (20, 20, 20), "Arm B": (137, 137, 137)}, got
    # chromatic pairs keep their nearest match
    keys2 = [NamedColour("Red", (230, 60, 60), "legend", (0, 0, 0, 0), 1.0),
             NamedColour("Grey", (150, 150, 150), "legend", (0, 0, 0, 0), 1.0)]
    got = {e.name: i for i, e in match_names([(128, 128, 128), (220, 30, 30)], keys2).items()}
    assert got == {"Grey": 0, "Red": 1}, got


def test_table_row_differing_by_a_dose_is_its_own_arm():
    """Arm names often differ in one number ('Fulvestrant 500 mg' / '250 mg'). Legend entries
    and table rows pair one to one, so a row the (partly read) legend does not pair with is an
    arm of its own, named from the table, not swallowed by the similar legend entry."""
    from digitize.auto.detect import _name_arms
    from digitize.auto.legend import NamedColour
    from digitize.auto.risktable import TableRead, TableRow

    gold, blue = (217, 182, 75), (41, 114, 168)
    img = np.full((420, 620, 3), 255, np.uint8)
    _steps(img, gold, lambda x: 60 + (x - 50) // 3, 50, 600, thick=5)
    _steps(img, blue, lambda x: 80 + (x - 50) // 2, 50, 600, thick=3)
    det = FigureDetection(None, (40, 40, 610, 410))
    legend = [NamedColour("Fulvestrant 500 mg", gold, "legend", (400, 50, 560, 66), 1.0)]
    rows = [TableRow(lab, (26, 25, 25), np.array([n, n // 2, n // 4], float), [None] * 3, cy)
            for lab, n, cy in (("Fulvestrant 500 mg", 362, 500), ("Fulvestrant 250 mg", 374, 520))]
    table = TableRead(np.array([0.0, 12.0, 24.0]), rows, False, True, 1.0)
    warnings: list[str] = []
    _name_arms(det, [gold, blue], legend, table, warnings, img, np.zeros(img.shape[:2], bool))
    assert {a.name: a.rgb for a in det.arms} == {"Fulvestrant 500 mg": gold, "Fulvestrant 250 mg": blue}
    assert det.risk_table.n_risk["Fulvestrant 250 mg"][0] == 374
