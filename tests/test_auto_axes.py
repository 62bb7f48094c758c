"""Zero-click axis calibration on figures styled like published and ggplot2 figures, checked
against the renderer's own transform (matplotlib's transData; markers drawn by R): every axis
end within 1.5 px. Styles the synthetic generator does not draw: a frame around the whole
figure (NEJM), a grey panel with white grid lines and no axis lines (ggplot theme_grey), a
light grid without axis lines or ticks (theme_minimal), a truncated y axis in percent with minor
ticks, labels with units ("12 mo"), small serif labels at 72 dpi in JPEG."""
import io
import shutil
import subprocess

import numpy as np
import pytest

from digitize.auto import detect_figure, ocr

pytestmark = pytest.mark.skipif(not ocr.ocr_available()[0], reason="OCR (rapidocr) not installed")

TOL_PX = 1.5


def _steps(rng, n, scale):
    t = np.sort(rng.exponential(scale, n))
    s = 1.0 - np.arange(1, n + 1) / (n + 4)
    return np.r_[0, t], np.r_[1.0, s]


def _render(*, dpi=100, size=(6.0, 4.0), frame=False, panel=None, spines=True, ticks=True,
            ylim=(0.0, 1.0), yticks=None, percent=False, minor=False, xfmt="{:g}", serif=False,
            fontsize=9, jpeg=None, ytrunc_from=None):
    """A two-arm KM-like figure; returns (RGB image, [(px, py, t, s), ...] for the axis ends).

    panel: None | "grey" (filled #EBEBEB, white grid) | "grid" (light grid on white)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    from PIL import Image

    rc = {"font.family": "serif" if serif else "sans-serif", "font.size": fontsize}
    with plt.rc_context(rc):
        fig = plt.figure(figsize=size, dpi=dpi)
        ax = fig.add_axes([0.14, 0.2, 0.8, 0.72])
        rng = np.random.default_rng(3)
        lo = ylim[0]
        for c, sc in (("#1f77b4", 20.0), ("#d62728", 12.0)):
            t, s = _steps(rng, 40, sc)
            s = lo + (ylim[1] - lo) * s if ytrunc_from is None else ytrunc_from + (1 - ytrunc_from) * s
            ax.step(np.minimum(t, 36), s * (100 if percent else 1), where="post", color=c, lw=1.5)
        ax.set_xlim(0, 36)
        top = 100 if percent else 1
        ax.set_ylim(ylim[0] * top, ylim[1] * top)
        ax.set_xticks(np.arange(0, 37, 6))
        ax.set_xticklabels([xfmt.format(v) for v in np.arange(0, 37, 6)])
        if yticks is not None:
            ax.set_yticks(np.asarray(yticks) * top)
        if minor:
            ax.minorticks_on()
            ax.tick_params(which="minor", length=2)
        ax.tick_params(direction="out", length=4 if ticks else 0, color="#333333")
        if not spines:
            for sp in ax.spines.values():
                sp.set_visible(False)
        if panel == "grey":
            ax.set_facecolor("#EBEBEB")
            ax.grid(True, color="white", lw=1.0)
            ax.set_axisbelow(True)
        elif panel == "grid":
            ax.grid(True, color="#E0E0E0", lw=0.8)
            ax.set_axisbelow(True)
        ax.set_xlabel("Months")
        ax.set_ylabel("Survival (%)" if percent else "Survival probability")
        if frame:  # a box around the whole figure, as journals print artwork
            fig.patches.append(Rectangle((0.01, 0.01), 0.98, 0.98, transform=fig.transFigure,
                                         fill=False, lw=1.2, edgecolor="#444444"))
        fig.canvas.draw()
        W, H = fig.canvas.get_width_height()
        pts = []
        for t, s in ((0, ylim[0] * top), (36, ylim[0] * top), (0, ylim[1] * top)):
            x, y = ax.transData.transform((t, s))
            pts.append((x - 0.5, H - y - 0.5, t, s / top))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        plt.close(fig)
    im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if jpeg:
        out = io.BytesIO()
        im.save(out, format="JPEG", quality=jpeg)
        im = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    return np.asarray(im), pts


def _max_error_px(det, pts) -> float:
    cal = det.calibration
    assert cal is not None, det.warnings
    errs = []
    for px, py, t, s in pts:
        qx, qy = cal.to_pixel(np.array([float(t)]), np.array([float(s)]))
        errs.append(float(np.hypot(qx[0] - px, qy[0] - py)))
    return max(errs)


def test_frame_around_the_whole_figure_is_not_the_axes():
    """NEJM/JCO artwork: a box around the whole figure; the axes are the lines with ticks."""
    img, pts = _render(frame=True)
    det = detect_figure(img)
    assert _max_error_px(det, pts) <= TOL_PX


def test_small_serif_labels_at_72_dpi_in_jpeg_inside_a_frame():
    img, pts = _render(dpi=72, serif=True, fontsize=8, frame=True, jpeg=60)
    det = detect_figure(img)
    assert _max_error_px(det, pts) <= TOL_PX


def test_grey_panel_with_white_grid_and_no_axis_lines():
    """ggplot theme_grey: the panel's edges stand in for the axes; grid lines are no axes."""
    img, pts = _render(panel="grey", spines=False)
    det = detect_figure(img)
    assert _max_error_px(det, pts) <= TOL_PX
    x0, y0, x1, y1 = det.plot_area
    assert abs(x0 - pts[0][0]) <= 3 and abs(y1 - pts[0][1]) <= 3  # matplotlib: no padding


def test_light_grid_without_axis_lines_or_ticks():
    """theme_minimal: no axis line, no tick mark; labels' positions calibrate."""
    img, pts = _render(panel="grid", spines=False, ticks=False)
    det = detect_figure(img)
    assert _max_error_px(det, pts) <= TOL_PX


def test_truncated_percent_axis_with_minor_ticks_and_unit_labels():
    """y from 40 to 100 %, minor ticks between the labelled ones, x labels '12 mo'."""
    img, pts = _render(ylim=(0.4, 1.0), yticks=[0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], percent=True,
                       minor=True, xfmt="{:g} mo", ytrunc_from=0.45)
    det = detect_figure(img)
    assert _max_error_px(det, pts) <= TOL_PX
    assert det.calibration.y_percent


_R_GREY = r"""
suppressPackageStartupMessages(library(ggplot2))
set.seed(1)
d <- data.frame(t = c(0, sort(rexp(30, 0.08))), s = seq(1, 0.05, length.out = 31))
for (mk in c(FALSE, TRUE)) {
  p <- ggplot(d, aes(t, s)) + geom_step(colour = "#F8766D", linewidth = 0.8) +
    scale_x_continuous(breaks = seq(0, 40, 10)) + coord_cartesian(xlim = c(0, 40), ylim = c(0, 1)) +
    theme_grey() + labs(x = "Time", y = "Survival probability")
  if (mk) p <- p + annotate("point", x = c(0, 40, 0), y = c(0, 0, 1), colour = "#FF00FF",
                            size = 0.3, shape = 15)
  png(file.path(OUT, if (mk) "markers.png" else "figure.png"), width = 6, height = 4, units = "in", res = 100)
  print(p); invisible(dev.off())
}
"""


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R (Rscript) not installed")
def test_ggplot_theme_grey_rendered_by_r(tmp_path):
    """A real ggplot2 theme_grey figure; truth from magenta marks R draws at (0,0), (40,0),
    (0,1) in a second rendering of the same plot."""
    from PIL import Image
    from scipy import ndimage

    script = _R_GREY.replace("OUT", repr(str(tmp_path)))
    r = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not (tmp_path / "markers.png").is_file():
        pytest.skip(f"ggplot2 could not render: {r.stderr[-300:]}")
    a = np.asarray(Image.open(tmp_path / "figure.png").convert("RGB")).astype(int)
    b = np.asarray(Image.open(tmp_path / "markers.png").convert("RGB")).astype(int)
    diff = np.abs(a - b).sum(axis=2) > 30
    lab, n = ndimage.label(diff)
    cs = sorted(ndimage.center_of_mass(diff, lab, range(1, n + 1)), key=lambda c: (c[1], -c[0]))
    assert len(cs) == 3
    (y00, x00), (y01, x01) = cs[0], cs[1]
    (y40, x40) = cs[2]
    pts = [(x00, y00, 0, 0.0), (x40, y40, 40, 0.0), (x01, y01, 0, 1.0)]
    det = detect_figure(a.astype(np.uint8))
    assert _max_error_px(det, pts) <= TOL_PX


def test_fit_reads_labels_that_lost_their_decimal_point():
    """'08' and '04' (OCR lost the point of 0.8 and 0.4) are read as 0.8 and 0.4 because the
    other labels agree with that reading; a label no reading fits ('7') is named as ignored."""
    from digitize.auto.detect import _readings
    from digitize.auto.ticklabels import fit_axis

    texts = ["1.0", "08", "0.6", "04", "0.2", "0.0", "7"]
    pos = [50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 175.0]
    fit = fit_axis(pos, [_readings(t) for t in texts], [True] * 7, texts, False, allow_log=False)
    assert sorted(np.round(fit.values, 3)) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert fit.rejected == ["7"]
    assert abs(fit.pos_of(0.5) - 175.0) < 1e-6


def test_labels_with_units_parse_and_join():
    from digitize.auto.text import Token, attach_units, parse_number

    assert [parse_number(t) for t in ("12 mo", "6 months", "2 yr", "mo", "Arm 2")] == [12, 6, 2, None, None]
    row = [Token((10, 0, 20, 10), text="12"), Token((23, 0, 40, 10), text="mo"),
           Token((90, 0, 100, 10), text="24"), Token((103, 0, 120, 10), text="mo")]
    joined = attach_units(row, 6)
    assert [t.text for t in joined] == ["12 mo", "24 mo"] and joined[0].cx == 24.5


def test_tick_labels_alone_calibrate():
    """No axis line, no tick mark, no grid, no panel: the labels' own positions calibrate."""
    img, pts = _render(spines=False, ticks=False)
    det = detect_figure(img)
    assert _max_error_px(det, pts) <= TOL_PX


def test_y_labels_whose_decimal_point_is_too_faint_to_join_them():
    """72 dpi serif in JPEG on a grey panel: '0.6' comes apart into '0' and '6' (the point is
    paler than the ink threshold); a y label is one number per row, so the pieces are one."""
    img, pts = _render(dpi=72, serif=True, fontsize=8, jpeg=50, panel="grey", spines=False)
    det = detect_figure(img)
    assert _max_error_px(det, pts) <= TOL_PX
    ys = [t for t in det.details["y_labels"] if t["inlier"]]
    assert sorted(t["value"] for t in ys) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
