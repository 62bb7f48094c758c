"""Synthetic KM figure generator: exact pixel truth, consistent tables, every style renders."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulate.figure import (FigureSpecError, FigureStyle, FigureTruth, generate_set, load_saved,
                             random_case, render_figure, render_pdf, scale_truth)
from simulate.ipd import km_table, number_at_risk, simulate_arm
from simulate.styles import PALETTES, available_fonts

RED = "#d62728"


def _designed_ipd() -> pd.DataFrame:
    """100 patients: 50 events at t=10, 50 censored at t=30 -> S=1 to 10, 0.5 to 30, ends at 30."""
    return pd.DataFrame({"arm": "A", "time": [10.0] * 50 + [30.0] * 50,
                         "event": [1] * 50 + [0] * 50})


def _base_style(**kw) -> FigureStyle:
    d = dict(width_in=5.0, height_in=4.0, dpi=100, colors=(RED,), line_width_px=3.0,
             x_max=40, x_step=10, axis_pad=0.05, spines="L")
    d.update(kw)
    return FigureStyle(**d)


def _weight_red(img):
    """Ink of the red curve: 0 on white, about 1 on the line (green channel is low on red)."""
    return np.clip((255.0 - img[..., 1].astype(float)) / (255.0 - 39.0), 0, 1) * \
        (img[..., 0].astype(float) > 150)


def _centroid(profile, centre, half=6):
    lo, hi = int(round(centre)) - half, int(round(centre)) + half + 1
    w = profile[lo:hi]
    idx = np.arange(lo, hi)
    assert w.sum() > 0.5, "no ink found near the expected position"
    return float((w * idx).sum() / w.sum())


def _check_curve_geometry(img, truth: FigureTruth, tol=0.35, end_tol=1.0):
    """The drawn plateau (S=1), drop (t=10) and end (t=30) sit where the truth maps them."""
    w = _weight_red(img)
    # plateau at S=1: column at t=5
    px, py = truth.to_pixel(5.0, 1.0)
    col = int(round(float(px)))
    assert abs(_centroid(w[:, col], float(py)) - float(py)) < tol
    # vertical drop at t=10: row halfway down the drop (S=0.75)
    px, py = truth.to_pixel(10.0, 0.75)
    row = int(round(float(py)))
    # with rotation the drop is slanted: expected px on this exact row
    px_row = float(truth.to_pixel(10.0, truth.to_data(px, row)[1])[0])
    assert abs(_centroid(w[row, :], px_row) - px_row) < tol
    # curve ends at t=30 (butt cap): the ink stops within 1 px of the end point
    px, py = truth.to_pixel(30.0, 0.5)
    row = int(round(float(py)))
    inked = np.nonzero(w[row, :] > 0.5)[0]
    assert abs(inked.max() - float(px)) <= end_tol


def _check_axes_geometry(img, truth: FigureTruth, tol=0.35):
    """The y-axis line passes through y1/y2 and the x-axis line through x1/x2 (sub-pixel)."""
    dark = 1.0 - img.mean(axis=2) / 255.0
    cal = truth.calibration
    for a, b in (("x1", "x2"),):
        for k in (a, b):
            p = cal[k]
            # sample the x axis line a few px to the right of the tick (avoid the tick mark)
            c = int(round(p["px"])) + 4 if k == "x1" else int(round(p["px"])) - 4
            assert abs(_centroid(dark[:, c], p["py"], 3) - p["py"]) < tol
    for k in ("y1", "y2"):
        p = cal[k]
        r = int(round(p["py"])) - 4 if k == "y1" else int(round(p["py"])) + 4
        assert abs(_centroid(dark[r, :], p["px"], 3) - p["px"]) < tol


def test_calibration_truth_is_exact():
    fig = render_figure(_designed_ipd(), _base_style())
    t = fig.truth
    assert t.calibration["x1"]["value"] == 0 and t.calibration["x2"]["value"] == 40
    assert t.calibration["y1"]["value"] == 0 and t.calibration["y2"]["value"] == 1
    # the calibration points are consistent with the pixel->data affine
    for k, ax in (("x1", 0), ("x2", 0), ("y1", 1), ("y2", 1)):
        p = t.calibration[k]
        d = t.to_data(p["px"], p["py"])
        assert abs(float(d[ax]) - p["value"]) < 1e-9
    _check_curve_geometry(fig.image, t)
    _check_axes_geometry(fig.image, t)
    # the arm colour is drawn exactly (3 px line: fully covered pixels exist)
    rgb = np.array(t.colors["A"])
    assert (np.all(fig.image == rgb, axis=2)).sum() > 100


def test_percent_axis_values_as_printed():
    fig = render_figure(_designed_ipd(), _base_style(y_percent=True))
    t = fig.truth
    assert t.y_percent and t.calibration["y_percent"] is True
    assert t.calibration["y2"]["value"] == 100
    assert [tk["label"] for tk in t.y_ticks] == ["0", "20", "40", "60", "80", "100"]
    px, py = t.to_pixel(5.0, 100.0)
    w = _weight_red(fig.image)
    assert abs(_centroid(w[:, int(round(float(px)))], float(py)) - float(py)) < 0.35


@pytest.mark.parametrize("deg", [1.0, -0.7])
def test_rotation_keeps_truth_consistent(deg):
    fig = render_figure(_designed_ipd(), _base_style(rotation_deg=deg))
    _check_curve_geometry(fig.image, fig.truth, tol=0.5)
    _check_axes_geometry(fig.image, fig.truth, tol=0.5)
    flat = render_figure(_designed_ipd(), _base_style())
    # the plot area moved/grew a little, and pixel_to_data differs by the rotation
    assert fig.truth.plot_area != flat.truth.plot_area
    assert not np.allclose(fig.truth.pixel_to_data, flat.truth.pixel_to_data)


def test_jpeg_and_noise_keep_geometry():
    fig = render_figure(_designed_ipd(), _base_style(jpeg_quality=60, noise_sigma=3.0, seed=4))
    flat = render_figure(_designed_ipd(), _base_style())
    assert fig.encoded is not None and fig.encoded[:2] == b"\xff\xd8"
    assert np.allclose(fig.truth.pixel_to_data, flat.truth.pixel_to_data)
    assert not np.array_equal(fig.image, flat.image)
    # JPEG chroma subsampling (4:2:0) smears colour over 2x2 blocks, so the end is blurred
    _check_curve_geometry(fig.image, fig.truth, tol=0.6, end_tol=4.0)


def test_truncated_axis_uneven_ticks():
    ipd = _designed_ipd()
    fig = render_figure(ipd, _base_style(y_min=0.3, y_ticks=(0.3, 0.5, 0.7, 0.9, 1.0)))
    t = fig.truth
    assert [tk["value"] for tk in t.y_ticks] == [0.3, 0.5, 0.7, 0.9, 1.0]
    assert t.calibration["y1"]["value"] == 0.3
    assert t.y_range[0] < 0.3 < t.y_range[1]
    _check_curve_geometry(fig.image, t)


def _ink_inside(img, bbox, grow=1.0):
    """(ink inside bbox grown by `grow` px, ink in a 2 px ring around that)."""
    dark = img.mean(axis=2) < 128
    h, w = dark.shape
    x0, y0, x1, y1 = bbox
    inner = dark[max(0, int(np.floor(y0 - grow))):int(np.ceil(y1 + grow)) + 1,
                 max(0, int(np.floor(x0 - grow))):int(np.ceil(x1 + grow)) + 1].sum()
    outer = dark[max(0, int(np.floor(y0 - grow - 2))):int(np.ceil(y1 + grow + 2)) + 1,
                 max(0, int(np.floor(x0 - grow - 2))):int(np.ceil(x1 + grow + 2)) + 1].sum()
    return inner, outer - inner


def test_text_boxes_hold_their_ink_and_align_with_ticks():
    rng = np.random.default_rng(3)
    arms = {"Control": 150, "Treatment": 120}
    ipd = pd.concat([simulate_arm(n, rng, median=m, follow_up=48).assign(arm=a)
                     for (a, n), m in zip(arms.items(), (12, 24))], ignore_index=True)
    style = FigureStyle(arm_names=tuple(arms), risk_table=True, risk_time_row=True,
                        legend_loc="upper right", legend_frame=False, risk_label_colored=False,
                        dpi=120, height_in=5.5, censor_mark="|", colors=PALETTES["lancet"])
    fig = render_figure(ipd, style)
    t = fig.truth
    for tk in t.x_ticks:
        x0, y0, x1, y1 = tk["bbox"]
        assert abs((x0 + x1) / 2 - tk["px"]) < 1.0 and y0 > tk["py"]
        inner, ring = _ink_inside(fig.image, tk["bbox"])
        assert inner > 0 and ring == 0, tk
    for tk in t.y_ticks:
        x0, y0, x1, y1 = tk["bbox"]
        # matplotlib centres y tick labels on the baseline-centre, not the box centre
        assert abs((y0 + y1) / 2 - tk["py"]) < 0.2 * (y1 - y0) and x1 < tk["px"]
    # risk cells centred on their times' ticks and hold exactly their text's ink
    tick_px = {tk["value"]: tk["px"] for tk in t.x_ticks}
    for cell in t.risk_cells + t.risk_time_row:
        x0, y0, x1, y1 = cell["bbox"]
        assert abs((x0 + x1) / 2 - tick_px[cell["time"]]) < 1.0
        assert y0 > t.plot_area[3]
        inner, ring = _ink_inside(fig.image, cell["bbox"])
        assert inner > 0 and ring == 0, cell
    assert [r["text"] for r in t.risk_row_labels] == list(arms)
    assert all(r["rgb"] == (0, 0, 0) for r in t.risk_row_labels)
    for r in t.risk_row_labels:
        assert r["bbox"][2] < min(c["bbox"][0] for c in t.risk_cells if c["arm"] == r["arm"])
    # legend entries: text ink inside, handle holds the arm colour
    assert t.legend is not None and [e["arm"] for e in t.legend["entries"]] == list(arms)
    for e in t.legend["entries"]:
        x0, y0, x1, y1 = (int(round(v)) for v in e["handle_bbox"])
        patch = fig.image[y0 - 2:y1 + 3, x0:x1 + 1].reshape(-1, 3).astype(float)
        darkest = patch[np.argsort(patch.sum(axis=1))[:5]].mean(axis=0)
        nearest = min(t.arms, key=lambda a: np.abs(darkest - np.array(t.colors[a])).sum())
        assert nearest == e["arm"]
    # every box lies inside the image
    w, h = t.image_size
    for b in [c["bbox"] for c in t.risk_cells] + [tk["bbox"] for tk in t.x_ticks + t.y_ticks]:
        assert 0 <= b[0] < b[2] <= w and 0 <= b[1] < b[3] <= h


def test_risk_table_and_censor_truth_match_ipd():
    for seed in range(4):
        rng = np.random.default_rng(seed)
        ipd, style = random_case(rng, "typical")
        style.risk_table = True
        style.censor_mark = "+"
        fig = render_figure(ipd, style)
        t = fig.truth
        assert t.risk_table is not None
        ticks = [tk["value"] for tk in t.x_ticks]
        if style.risk_step_factor == 1.0:
            np.testing.assert_array_equal(t.risk_table.times, ticks)
        else:
            assert set(ticks) <= set(t.risk_table.times.tolist())
        # every printed cell sits centred on its time's x position
        for cell in t.risk_cells + t.risk_time_row:
            x0, y0, x1, y1 = cell["bbox"]
            px, _ = t.to_pixel(cell["time"], t.y_range[0])
            assert abs((x0 + x1) / 2 - float(px)) < 1.0
        for arm in t.arms:
            g = ipd[ipd["arm"] == arm]
            expect = number_at_risk(g["time"].to_numpy(), t.risk_table.times)
            np.testing.assert_array_equal(t.risk_table.n_risk[arm], expect)
            cells = [c for c in t.risk_cells if c["arm"] == arm]
            assert [c["text"] for c in cells] == [str(int(n)) for n in expect]
            assert expect[0] == len(g)
            np.testing.assert_array_equal(t.censor_times[arm],
                                          np.unique(g.loc[g["event"] == 0, "time"]))
            # the curve's end is the arm's last follow-up time
            kt, ks = t.km(arm)
            assert kt[-1] == g["time"].max()
            tab = km_table(g["time"], g["event"])
            assert ks[-1] == pytest.approx(tab["survival"].iloc[-1])
        # the x axis covers the whole follow-up
        assert t.x_range[1] >= ipd["time"].max()


def test_custom_risk_times_and_half_step_columns():
    ipd = _designed_ipd()
    fig = render_figure(ipd, _base_style(risk_table=True, height_in=5.0), risk_times=[0, 5, 20])
    rt = fig.truth.risk_table
    np.testing.assert_array_equal(rt.times, [0, 5, 20])
    np.testing.assert_array_equal(rt.n_risk["A"], [100, 100, 50])
    fig = render_figure(ipd, _base_style(risk_table=True, height_in=5.0, risk_time_row=True,
                                         risk_step_factor=0.5))
    np.testing.assert_array_equal(fig.truth.risk_table.times, [0, 5, 10, 15, 20, 25, 30, 35, 40])
    assert [c["text"] for c in fig.truth.risk_time_row] == \
        ["0", "5", "10", "15", "20", "25", "30", "35", "40"]
    assert [c["text"] for c in fig.truth.risk_cells] == \
        ["100", "100", "100", "50", "50", "50", "50", "0", "0"]


def test_colours_recorded_as_drawn():
    rng = np.random.default_rng(11)
    ipd = pd.concat([simulate_arm(200, rng, median=20).assign(arm=a) for a in ("x", "y")])
    style = FigureStyle(colors=("#000000", "#8c8c8c"), line_width_px=3.0, dpi=100)
    fig = render_figure(ipd, style)
    assert fig.truth.colors == {"x": (0, 0, 0), "y": (140, 140, 140)}
    for rgb in fig.truth.colors.values():
        assert np.all(fig.image == np.array(rgb), axis=2).sum() > 50


SMALL = dict(width_in=4.0, height_in=3.2, dpi=60, font_size_pt=8)
COMBOS = [
    {},
    {"censor_mark": "+", "censor_size_pt": 7},
    {"censor_mark": "|", "line_width_px": 0.8},
    {"bands": True, "band_alpha": 0.2},
    {"grid": True, "grid_style": "dotted"},
    {"grid": True, "grid_style": "dashed", "spines": "box", "tick_direction": "in"},
    {"legend_loc": "lower left", "legend_frame": False, "legend_show_n": True},
    {"legend_loc": "upper right", "legend_avoid_curves": False},
    {"risk_table": True, "height_in": 4.2},
    {"risk_table": True, "height_in": 4.4, "risk_time_row": True, "risk_title": None,
     "risk_label_colored": False, "risk_cells_colored": True},
    {"risk_table": True, "height_in": 4.4, "risk_time_row": True, "risk_step_factor": 0.5,
     "width_in": 6.0},
    {"y_percent": True, "y_percent_sign": True},
    {"y_percent": True, "y_min": 0.3, "y_ticks": (0.3, 0.5, 0.7, 0.9, 1.0)},
    {"y_label_format": "%g", "y_step": 0.25},
    {"time_unit": "days"},
    {"time_unit": "years"},
    {"title": "Overall survival"},
    {"colors": PALETTES["black_grey"], "line_styles": ("solid", "dashed", "dotted", "solid")},
    {"colors": PALETTES["near_blues"]},
    {"font": available_fonts()[-1], "font_size_pt": 7},
    {"dpi": 72, "jpeg_quality": 40, "rotation_deg": 1.0, "noise_sigma": 4.0},
    {"dpi": 150, "line_width_px": 2.5, "axis_pad": 0.04},
]


@pytest.mark.parametrize("n_arms", [1, 4])
@pytest.mark.parametrize("combo", COMBOS, ids=[",".join(c) or "base" for c in COMBOS])
def test_every_style_renders(combo, n_arms):
    rng = np.random.default_rng(n_arms)
    names = ("A", "B", "C", "D")[:n_arms]
    unit = combo.get("time_unit", "months")
    scale = {"days": 30.44, "months": 1.0, "years": 1 / 12}[unit]
    ipd = pd.concat([simulate_arm(60, rng, median=10 + 6 * i, follow_up=40).assign(arm=a)
                     for i, a in enumerate(names)], ignore_index=True)
    ipd["time"] *= scale
    style = FigureStyle(arm_names=names, **{**SMALL, **combo})
    fig = render_figure(ipd, style)
    h, w = fig.image.shape[:2]
    assert fig.image.dtype == np.uint8 and (w, h) == fig.truth.image_size
    assert (w, h) == (round(style.width_in * style.dpi), round(style.height_in * style.dpi))
    x0, y0, x1, y1 = fig.truth.plot_area
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert (fig.truth.legend is not None) == bool(style.legend_loc)
    assert (fig.truth.risk_table is not None) == style.risk_table
    if style.risk_table:
        assert len(fig.truth.risk_row_labels) == n_arms
        n_cols = len(fig.truth.risk_table.times)
        assert len(fig.truth.risk_cells) == n_arms * n_cols
        assert n_cols == (2 * len(fig.truth.x_ticks) - 1 if style.risk_step_factor == 0.5
                          else len(fig.truth.x_ticks))


@pytest.mark.parametrize("tier", ["clean", "typical", "hard"])
def test_random_case_tiers(tier):
    for seed in range(3):
        ipd, style = random_case(np.random.default_rng([seed, 99]), tier)
        n_arms = ipd["arm"].nunique()
        lo, hi = {"clean": (1, 2), "typical": (1, 3), "hard": (2, 4)}[tier]
        assert lo <= n_arms <= hi and style.tier == tier
        assert ipd.groupby("arm").size().between(30, 500).all()
        if n_arms > 1:  # the arms can be named from the figure
            assert style.legend_loc or (style.risk_table and style.risk_label_colored)
        if tier == "clean":
            assert style.dpi == 150 and not style.bands and style.censor_mark == "none"
            assert style.jpeg_quality is None and not style.y_percent
        if tier == "typical":
            assert style.risk_table and style.censor_mark != "none" and style.legend_loc
            assert 100 <= style.dpi <= 200
        if tier == "hard":
            assert style.dpi <= 100 or (style.jpeg_quality is not None
                                        and 40 <= style.jpeg_quality <= 70)
            assert abs(style.rotation_deg) <= 1.0
        style.dpi = min(style.dpi, 80)  # keep the test fast
        style.jpeg_quality = style.jpeg_quality and 60
        render_figure(ipd, style)


def test_generate_set_is_reproducible():
    a = [f.truth.to_dict() for f in generate_set(2, seed=5, tiers=("clean",))]
    b = [f.truth.to_dict() for f in generate_set(2, seed=5, tiers=("clean",))]
    assert a == b and a[0] != a[1]


def test_save_and_truth_roundtrip(tmp_path):
    import cv2

    ipd, style = random_case(np.random.default_rng(7), "typical")
    style.dpi = 90
    style.jpeg_quality = 70
    fig = render_figure(ipd, style)
    paths = fig.save(tmp_path)
    assert paths["image"].name == "figure.jpg" and paths["truth"].name == "truth.json"
    img = cv2.cvtColor(cv2.imread(str(paths["image"])), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(img, fig.image)
    d = json.loads(paths["truth"].read_text())
    assert FigureStyle.from_dict(d["style"]) == style
    back = FigureTruth.from_dict(d)
    assert json.loads(json.dumps(back.to_dict())) == json.loads(json.dumps(fig.truth.to_dict()))
    pd.testing.assert_frame_equal(pd.read_csv(paths["ipd"]), fig.truth.ipd, check_dtype=False)
    risk = pd.read_csv(paths["risk"])
    for arm in fig.truth.arms:
        np.testing.assert_array_equal(risk.loc[risk["arm"] == arm, "n_risk"],
                                      fig.truth.risk_table.n_risk[arm])
    curves = pd.read_csv(paths["curves"])
    assert set(curves["arm"]) == set(fig.truth.arms)
    back = load_saved(tmp_path)
    np.testing.assert_array_equal(back.image, fig.image)
    assert back.style == style and back.encoded == fig.encoded
    with pytest.raises(FigureSpecError, match="no saved figure"):
        load_saved(tmp_path / "nowhere")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "figure.png").write_bytes(b"not a png")
    (tmp_path / "bad" / "truth.json").write_text("{}")
    with pytest.raises(FigureSpecError, match="not a valid figure truth"):
        load_saved(tmp_path / "bad")
    # PNG path and a non-default stem
    style.jpeg_quality = None
    paths = render_figure(ipd, style).save(tmp_path, stem="case1")
    assert paths["image"].name == "case1.png" and paths["truth"].name == "case1_truth.json"
    img = cv2.cvtColor(cv2.imread(str(paths["image"])), cv2.COLOR_BGR2RGB)
    assert img.shape[:2] == (fig.truth.image_size[1], fig.truth.image_size[0])


def test_pdf_truth_matches_rasterised_page(tmp_path):
    import pypdfium2 as pdfium

    style = _base_style(dpi=100)
    truth = render_pdf(_designed_ipd(), style, tmp_path / "fig.pdf")
    pdf = pdfium.PdfDocument(str(tmp_path / "fig.pdf"))
    img = np.asarray(pdf[0].render(scale=style.dpi / 72).to_pil().convert("RGB"))
    assert (img.shape[1], img.shape[0]) == truth.image_size
    _check_curve_geometry(img, truth, tol=0.5)
    _check_axes_geometry(img, truth, tol=0.5)
    # the same page at 150 dpi matches the scaled truth
    img2 = np.asarray(pdf[0].render(scale=150 / 72).to_pil().convert("RGB"))
    t2 = scale_truth(truth, 150 / style.dpi)
    assert (img2.shape[1], img2.shape[0]) == t2.image_size
    _check_curve_geometry(img2, t2, tol=0.5)


def test_bad_inputs_raise_clear_errors():
    ipd = _designed_ipd()
    with pytest.raises(ValueError, match="arm_names"):
        render_figure(ipd, _base_style(arm_names=("B",)))
    with pytest.raises(ValueError, match="too small"):
        render_figure(ipd, _base_style(width_in=1.0, height_in=1.0, font_size_pt=14))
    with pytest.raises(ValueError, match="columns"):
        render_figure(ipd.drop(columns="event"), _base_style())
    with pytest.raises(ValueError, match="censor_mark"):
        FigureStyle(censor_mark="x")
