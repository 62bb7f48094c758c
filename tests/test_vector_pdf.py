"""Vector PDFs read from their own drawing (digitize.vector): figures written from known IPD by
matplotlib (simulate.figure.render_pdf) and by R (simulate.pdf_figure, skipped without R) come
back with their exact axes, arm names, censor marks, risk table and event counts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from digitize.accuracy import curve_errors
from digitize.vector.route import pick_figure, run_vector, survey_pdf
from kmrecon.errors import KMReconError
from simulate.figure import FigureStyle, render_figure, render_pdf
from simulate.ipd import km_corners, simulate_arm

R_AVAILABLE = None


def _have_r() -> bool:
    global R_AVAILABLE
    if R_AVAILABLE is None:
        from simulate.pdf_figure import have_r
        R_AVAILABLE = have_r()
    return R_AVAILABLE


def _ipd(seed: int = 3, arms=("Control", "Treatment"), n=(120, 90)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for a, k, hz in zip(arms, n, (0.05, 0.03, 0.04)):
        t = np.round(rng.exponential(1 / hz, k), 2) + 0.01
        c = np.round(rng.uniform(5, 40, k), 2)
        parts.append(pd.DataFrame({"arm": a, "time": np.minimum(t, c), "event": (t <= c).astype(int)}))
    return pd.concat(parts, ignore_index=True)


def _style(**kw) -> FigureStyle:
    d = dict(width_in=6.0, height_in=5.5, dpi=100, colors=("#1f77b4", "#d62728", "#2ca02c"),
             line_styles=("solid", "solid", "solid"), arm_names=("Control", "Treatment"),
             censor_mark="+", legend_loc="upper right", risk_table=True, x_max=40, x_step=10)
    d.update(kw)
    return FigureStyle(**d)


def _read(path, **kw):
    fig, notes = pick_figure(survey_pdf(path), str(path), **kw)
    det, res = run_vector(fig, 200)
    return fig, det, res, notes


def _events(ipd, arm):
    return int(ipd[ipd["arm"] == arm]["event"].sum())


# --------------------------------------------------------------------------- matplotlib

def test_matplotlib_pdf_reads_back_its_ipd(tmp_path):
    ipd = _ipd()
    truth = render_pdf(ipd, _style(), tmp_path / "fig.pdf")
    fig, det, res, _ = _read(tmp_path / "fig.pdf")
    assert fig.source == "vector"
    assert [a.name for a in res.arms] == ["Control", "Treatment"]
    # the printed risk table, exactly
    assert res.risk_table is not None
    for arm in truth.arms:
        t, n = truth.risk_table.for_arm(arm)
        rt, rn = res.risk_table.for_arm(arm)
        np.testing.assert_array_equal(rt, t)
        np.testing.assert_array_equal(rn, n)
    for a in res.arms:
        g = ipd[ipd["arm"] == a.name]
        # the read curve is the true KM (matplotlib merges drops closer than 1/9 pixel)
        kt, ks = km_corners(g["time"].to_numpy(), g["event"].to_numpy())
        assert curve_errors(a.time, a.survival, kt, ks)["iae"] < 2e-4
        # one censor mark per distinct censored time, at that time
        ct = np.unique(g["time"][g["event"] == 0])
        assert a.censor_times.size == ct.size
        np.testing.assert_allclose(np.sort(a.censor_times), ct, atol=0.01)
        assert _events(res.ipd, a.name) == _events(ipd, a.name)
    # calibration in page pixels at 200 dpi maps the ticks to their values
    cal = det.calibration
    assert cal.no_rotation and not cal.y_percent


def test_percent_axis_and_risk_time_row_and_no_marks(tmp_path):
    ipd = _ipd(seed=5)
    render_pdf(ipd, _style(y_percent=True, censor_mark="none", risk_time_row=True),
               tmp_path / "fig.pdf")
    _, det, res, _ = _read(tmp_path / "fig.pdf")
    assert det.calibration.y_percent
    for a in res.arms:
        assert a.survival.max() <= 1.0 and a.survival.max() > 0.99
        assert a.censor_times.size == 0
    assert set(res.risk_table.arms) == {"Control", "Treatment"}     # the time row is not an arm
    for arm in ("Control", "Treatment"):
        assert _events(res.ipd, arm) == _events(ipd, arm)


def test_two_plots_on_a_page_are_listed_and_picked(tmp_path):
    from matplotlib.figure import Figure

    ipd = _ipd(seed=7)
    f = Figure(figsize=(9, 4))
    for k, arm in enumerate(("Control", "Treatment")):
        ax = f.add_subplot(1, 2, k + 1)
        g = ipd[ipd["arm"] == arm]
        t, s = km_corners(g["time"].to_numpy(), g["event"].to_numpy())
        ax.plot(t, s, color="#1f77b4", label=arm)
        ax.set_xlim(0, 40)
        ax.set_ylim(0, 1.05)
        ax.set_xticks([0, 10, 20, 30, 40])
        ax.legend(loc="upper right")
    f.savefig(tmp_path / "two.pdf")
    survey = survey_pdf(tmp_path / "two.pdf")
    assert [x.index for x in survey.figures] == [1, 2]
    fig, notes = pick_figure(survey, "two.pdf")
    assert "holds 2 figures" in notes[0] and fig.index == 1
    fig2, _ = pick_figure(survey, "two.pdf", panel=2)
    assert [c.name for c in fig2.vector.curves] == ["Treatment"]
    with pytest.raises(KMReconError, match="holds 2 figure"):
        pick_figure(survey, "two.pdf", panel=3)


def test_blank_pages_are_named_when_no_figure(tmp_path):
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    doc.new_page(300, 300)
    doc.new_page(300, 300)
    doc.save(tmp_path / "blank.pdf")
    survey = survey_pdf(tmp_path / "blank.pdf")
    assert survey.blank_pages == [0, 1] and not survey.figures
    with pytest.raises(KMReconError, match=r"blank page\(s\): 0, 1"):
        pick_figure(survey, "blank.pdf")


def test_cli_extracts_a_vector_pdf_and_reports_blank_pages(tmp_path, capsys):
    from kmrecon.cli import main

    ipd = _ipd(seed=11)
    render_pdf(ipd, _style(), tmp_path / "fig.pdf")
    out = tmp_path / "ipd.csv"
    assert main(["extract", str(tmp_path / "fig.pdf"), "--out", str(out)]) == 0
    got = pd.read_csv(out)
    for arm in ("Control", "Treatment"):
        assert _events(got, arm) == _events(ipd, arm)
        assert (got["arm"] == arm).sum() == (ipd["arm"] == arm).sum()
    import json
    side = json.loads((tmp_path / "ipd.json").read_text())
    assert side["settings"]["auto"]["details"]["source"] == "vector"
    from digitize.sidecar import rerun
    again = rerun(tmp_path / "ipd.json").ipd.reset_index(drop=True)
    pd.testing.assert_frame_equal(again, got, check_dtype=False)
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    doc.new_page(300, 300)
    doc.save(tmp_path / "blank.pdf")
    assert main(["extract", str(tmp_path / "blank.pdf"), "--out", str(out)]) == 2
    assert "blank page(s): 0" in capsys.readouterr().err


def test_embedded_bitmap_is_read_at_native_resolution(tmp_path):
    """A pasted image: the survey hands back its own pixels (not a re-render)."""
    import pypdfium2 as pdfium

    ipd = _ipd(seed=13)
    fig = render_figure(ipd, _style(dpi=110))
    img = fig.image
    h, w = img.shape[:2]
    doc = pdfium.PdfDocument.new()
    page = doc.new_page(w * 0.6, h * 0.6)
    pim = pdfium.PdfImage.new(doc)
    from PIL import Image

    pim.set_bitmap(pdfium.PdfBitmap.from_pil(Image.fromarray(img)))
    pim.set_matrix(pdfium.PdfMatrix().scale(w * 0.6, h * 0.6))
    page.insert_obj(pim)
    page.gen_content()
    doc.save(tmp_path / "bitmap.pdf")
    survey = survey_pdf(tmp_path / "bitmap.pdf")
    assert len(survey.figures) == 1 and survey.figures[0].source == "bitmap"
    np.testing.assert_array_equal(survey.figures[0].bitmap, img)
    # so kmrecon extract on the PDF gives what it gives on the PNG of the same pixels
    import cv2

    from kmrecon.cli import main

    cv2.imwrite(str(tmp_path / "fig.png"), img[:, :, ::-1])
    assert main(["extract", str(tmp_path / "bitmap.pdf"), "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["extract", str(tmp_path / "fig.png"), "--out", str(tmp_path / "b.csv")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))
    from digitize.sidecar import rerun                  # the rerun reads the same pixels again
    again = rerun(tmp_path / "a.json").ipd.reset_index(drop=True)
    pd.testing.assert_frame_equal(again, pd.read_csv(tmp_path / "a.csv"), check_dtype=False)


# --------------------------------------------------------------------------- R

@pytest.mark.parametrize("style", ["survminer", "survminer_percent", "survminer_ci", "base", "base_ci"])
def test_r_pdfs_read_back_their_ipd(tmp_path, style):
    if not _have_r():
        pytest.skip("Rscript with survival/survminer not installed")
    from simulate.pdf_figure import write_r_pdf

    ipd = _ipd(seed=17)
    truth = write_r_pdf(ipd, style, tmp_path / "fig.pdf", time_step=10)
    fig, det, res, notes = _read(tmp_path / "fig.pdf")
    if not style.startswith("base"):
        assert fig.page == 1 and "skipped blank page(s) 0" in notes[0]
        assert det.calibration.y_percent == (style == "survminer_percent")
        for arm in truth.arms:
            rt, rn = res.risk_table.for_arm(arm)
            np.testing.assert_array_equal(rt, truth.risk_times[: rt.size])
            np.testing.assert_array_equal(rn, truth.n_risk(arm, rt))
    assert sorted(a.name for a in res.arms) == sorted(truth.arms)
    for a in res.arms:
        g = truth.ipd[truth.ipd["arm"] == a.name]
        assert a.censor_times.size == np.unique(g["time"][g["event"] == 0]).size
        assert _events(res.ipd, a.name) == _events(truth.ipd, a.name)
        # base R prints no N: it is read from the drops and marks, and two patients censored
        # at one time share one mark (Control has one such tie here)
        slack = 1 if style.startswith("base") else 0
        assert abs((res.ipd["arm"] == a.name).sum() - len(g)) <= slack


# --------------------------------------------------------------------------- app

def _blank_then_figure(tmp_path):
    """A two-page PDF: a blank page, then a matplotlib KM figure (as survminer's pdf() output)."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    from simulate.figure import _Scene  # the generator's own figure, drawn onto page 2

    ipd = _ipd(seed=19)
    path = tmp_path / "two_pages.pdf"
    scene = _Scene(ipd, _style(), None)
    with PdfPages(path) as pp:
        pp.savefig(Figure(figsize=(6, 5.5)))
        pp.savefig(scene.fig)
    return path, ipd


def test_app_page_picker_shows_figures_and_opens_the_vector_reading(qtbot, tmp_path, monkeypatch):
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from gui.dialogs import PdfPageDialog
    from gui.main_window import MainWindow

    path, ipd = _blank_then_figure(tmp_path)
    dlg = PdfPageDialog(str(path), 2, dpi=200)
    qtbot.addWidget(dlg)
    assert dlg.page.value() == 2                                  # opens on the figure's page
    assert dlg.thumbs.count() == 2 and "blank" in dlg.thumbs.item(0).text()
    assert "Control" in dlg.found.text() and "risk table" in dlg.found.text()
    dlg.resize(900, 700)
    dlg.show()
    qtbot.waitExposed(dlg)
    dlg.grab().save(str(tmp_path / "picker.png"))
    dlg.thumbs.setCurrentRow(0)
    assert dlg.page.value() == 1 and "blank" in dlg.found.text()

    w = MainWindow(settings_path=str(tmp_path / "s.ini"), recovery_dir=str(tmp_path / "rec"),
                   autosave_seconds=3600, auto_propose=False)
    w.confirm_discard = lambda: "discard"
    qtbot.addWidget(w)
    monkeypatch.setattr(w, "pick_pdf_page", lambda p, n: (1, (30, 40, 1100, 1000)))
    w.open_file(str(path))
    qtbot.waitUntil(lambda: w.doc.image is not None and "open" not in w.busy, timeout=20000)
    w.propose_axes()
    qtbot.waitUntil(lambda: "auto" not in w.busy, timeout=30000)
    # the proposal is the exact vector reading, in the cropped page's pixels
    fig, _ = pick_figure(survey_pdf(path), "x")
    from digitize.vector.route import vector_detection
    det = vector_detection(fig, 200, (30, 40, 1100, 1000))
    assert w.doc.project.calibration["x1"] == det.calibration.to_dict()["x1"]
    assert [a.name for a in w.doc.arms_copy()] == ["Control", "Treatment"]
    assert w.doc.project.risk_table.rows["Control"][0] == str((ipd["arm"] == "Control").sum())


def test_truncated_survival_axis_reads_the_visible_part(tmp_path):
    """y axis from 0.5: the curves run on below it, cut by the plot's clip path."""
    ipd = _ipd(seed=23)
    render_pdf(ipd, _style(y_min=0.5, y_step=0.1), tmp_path / "fig.pdf")
    fig, _ = pick_figure(survey_pdf(tmp_path / "fig.pdf"), "fig.pdf")
    assert any("outside the plot region" in w for w in fig.vector.warnings)
    from digitize.vector.read import PixelFrame, to_extracted

    for a in to_extracted(fig.vector, PixelFrame.of(fig.drawing, 200)):
        g = ipd[ipd["arm"] == a.name]
        kt, ks = km_corners(g["time"].to_numpy(), g["event"].to_numpy())
        assert a.survival.min() >= 0.5 - 0.02             # nothing read below the axis
        seen = kt <= a.time.max()
        t_end = float(kt[seen & (ks >= 0.5)].max())
        assert curve_errors(a.time, a.survival, kt, ks, t_end=t_end)["iae"] < 2e-4


def test_figure_placed_in_a_page_as_a_scaled_form(tmp_path):
    """Journal PDFs place the figure as a form XObject, scaled, on the article page."""
    import pypdfium2 as pdfium

    ipd = _ipd(seed=29)
    render_pdf(ipd, _style(), tmp_path / "fig.pdf")
    src = pdfium.PdfDocument(str(tmp_path / "fig.pdf"))
    dst = pdfium.PdfDocument.new()
    page = dst.new_page(612, 792)
    po = src.page_as_xobject(0, dst).as_pageobject()
    po.transform(pdfium.PdfMatrix().scale(0.7, 0.7).translate(60, 380))
    page.insert_obj(po)
    page.gen_content()
    dst.save(tmp_path / "article.pdf")
    _, _, res, _ = _read(tmp_path / "article.pdf")
    assert [a.name for a in res.arms] == ["Control", "Treatment"]
    for a in res.arms:
        g = ipd[ipd["arm"] == a.name]
        assert a.censor_times.size == np.unique(g["time"][g["event"] == 0]).size
        assert _events(res.ipd, a.name) == _events(ipd, a.name)


def test_curve_drawn_one_segment_per_path(tmp_path):
    """Stata-like output: every step edge and every '|' mark is its own line object."""
    from matplotlib.figure import Figure

    ipd = _ipd(seed=31, arms=("Control",), n=(80,))
    f = Figure(figsize=(6, 4.5))
    ax = f.add_subplot(1, 1, 1)
    g = ipd[ipd["arm"] == "Control"]
    t, s = km_corners(g["time"].to_numpy(), g["event"].to_numpy())
    for a, b in zip(range(len(t) - 1), range(1, len(t))):
        if (t[a], s[a]) != (t[b], s[b]):
            ax.plot([t[a], t[b]], [s[a], s[b]], color="#1f77b4", lw=1)
    ct = np.unique(g["time"][g["event"] == 0])
    for c in ct:
        sv = s[np.searchsorted(t, c, side="right") - 1]
        ax.plot([c, c], [sv - 0.015, sv + 0.015], color="#1f77b4", lw=1)
    ax.set_xlim(0, 45)
    ax.set_ylim(0, 1.05)
    f.savefig(tmp_path / "segments.pdf")
    _, _, res, _ = _read(tmp_path / "segments.pdf")
    (a,) = res.arms
    assert a.censor_times.size == ct.size
    np.testing.assert_allclose(np.sort(a.censor_times), ct, atol=0.01)
    assert _events(res.ipd, a.name) == _events(ipd, "Control")


def test_label_and_cell_parsing():
    from digitize.vector.roles import _count, parse_number

    assert parse_number("0.25") == (0.25, False) and parse_number("80%") == (80.0, True)
    assert parse_number("\u22125") == (-5.0, False) and parse_number("1,000") == (1000.0, False)
    assert parse_number("Months") is None and parse_number("n=12") is None
    assert _count("120") == 120 and _count("1,204") == 1204
    assert _count("60 (100)") == 60 and _count("16 (27%)") == 16
    assert _count("0.5") is None and _count("-3") is None and _count("Drug A") is None
