"""Multi-panel raster figures: each Kaplan-Meier plot is found (axes meeting at a corner, with
tick marks), a risk table drawn under a plot with its own axes is not a plot, ``--panel K``
reads plot K (calibration in the whole image's pixels, checked against matplotlib's transform)
and without it a figure with several plots stops with exit status 2 listing them."""
import io

import numpy as np
import pytest

from digitize.auto import ocr
from digitize.auto.panels import find_km_panels, select_panel, shift_detection
from kmrecon.errors import KMReconError


def _figure(layout: str):
    """layout 'two': plots A and B side by side; 'table': one plot with a risk-table axes under
    it (same x extent, own axis lines and ticks). Returns (RGB image, per plot the true axis
    ends [(px, py, t, s)])."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig = plt.figure(figsize=(9, 3.6) if layout == "two" else (6, 4.5), dpi=100)
    if layout == "two":
        axes = [fig.add_axes([0.07, 0.18, 0.39, 0.74]), fig.add_axes([0.58, 0.18, 0.39, 0.74])]
    else:
        axes = [fig.add_axes([0.14, 0.45, 0.8, 0.5])]
        tab = fig.add_axes([0.14, 0.06, 0.8, 0.25])
        tab.set_xlim(0, 36)
        tab.set_xticks(np.arange(0, 37, 6))
        tab.set_yticks([0, 1, 2])
        tab.set_yticklabels(["C", "B", "A"])
        for k, row in enumerate(([120, 90, 61, 40, 22, 9, 2], [118, 80, 50, 29, 15, 6, 1],
                                 [119, 85, 55, 35, 18, 7, 1])):
            for t, n in zip(np.arange(0, 37, 6), row):
                tab.text(t, k, str(n), ha="center", va="center", fontsize=8)
        tab.set_ylim(-0.6, 2.6)
    rng = np.random.default_rng(5)
    for ax in axes:
        for c, sc in (("#1f77b4", 20.0), ("#d62728", 11.0)):
            t = np.r_[0, np.sort(rng.exponential(sc, 30))]
            s = np.r_[1.0, 1 - np.arange(1, 31) / 34]
            ax.step(np.minimum(t, 36), s, where="post", color=c, lw=1.4)
        ax.set_xlim(0, 36)
        ax.set_ylim(0, 1)
        ax.set_xticks(np.arange(0, 37, 6))
        if layout == "table":  # as many y ticks as the table has rows: ticks alone cannot tell
            ax.set_yticks([0, 0.5, 1])
        ax.set_xlabel("Months")
    fig.canvas.draw()
    W, H = fig.canvas.get_width_height()
    truth = []
    for ax in axes:
        pts = []
        for t, s in ((0, 0.0), (36, 0.0), (0, 1.0)):
            x, y = ax.transData.transform((t, s))
            pts.append((x - 0.5, H - y - 0.5, t, s))
        truth.append(pts)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")), truth


def test_two_plots_side_by_side_are_found_in_reading_order():
    img, truth = _figure("two")
    panels = find_km_panels(img)
    assert len(panels) == 2
    for p, pts in zip(panels, truth):
        x0, y0, x1, y1 = p.plot
        assert abs(x0 - pts[0][0]) <= 2 and abs(y1 - pts[0][1]) <= 2 and abs(x1 - pts[1][0]) <= 2
        rx0, ry0, rx1, ry1 = p.region
        assert rx0 <= x0 - 30 and rx1 >= x1 and ry0 <= y0 and ry1 >= y1 + 20
    assert panels[0].region[2] < panels[1].plot[0] - 30  # B's y labels are not in A's crop
    with pytest.raises(KMReconError, match="--panel 2"):
        select_panel(img, None)
    with pytest.raises(KMReconError, match="holds 2"):
        select_panel(img, 3)


def test_a_risk_table_with_its_own_axes_is_not_a_second_plot():
    img, truth = _figure("table")
    panels = find_km_panels(img)
    assert len(panels) == 1
    sub, panel, _ = select_panel(img, None)
    assert panel is None and sub is img
    # and the axes read are the plot's, not the table's (the larger ticked box)
    from digitize.auto.axes import find_frame, ink_masks

    _, dark, darkness = ink_masks(img)
    x0, y0, x1, y1 = find_frame(dark, darkness, img).plot_area
    pts = truth[0]
    assert abs(x0 - pts[0][0]) <= 2 and abs(y1 - pts[0][1]) <= 2 and abs(y0 - pts[2][1]) <= 2


@pytest.mark.skipif(not ocr.ocr_available()[0], reason="OCR (rapidocr) not installed")
def test_panel_two_is_calibrated_in_whole_image_pixels():
    from digitize.auto import detect_figure

    img, truth = _figure("two")
    sub, panel, _ = select_panel(img, 2)
    det = shift_detection(detect_figure(sub), panel.region[0], panel.region[1])
    cal = det.calibration
    assert cal is not None, det.warnings
    for px, py, t, s in truth[1]:
        qx, qy = cal.to_pixel(np.array([float(t)]), np.array([float(s)]))
        assert np.hypot(qx[0] - px, qy[0] - py) <= 1.5


def test_cli_stops_with_exit_2_listing_the_plots(tmp_path, capsys):
    from PIL import Image

    from kmrecon.cli import main

    img, _ = _figure("two")
    f = tmp_path / "two.png"
    Image.fromarray(img).save(f)
    assert main(["extract", str(f), "--out", str(tmp_path / "ipd.csv")]) == 2
    err = capsys.readouterr().err
    assert "--panel 1" in err and "--panel 2" in err
    assert not (tmp_path / "ipd.csv").exists()
