"""Arms of one hue (dark and light blue) told apart by line darkness: truth-based regressions."""
from __future__ import annotations

from digitize.accuracy import curve_errors
from simulate.figure import render_figure
from test_digitize_extract import _extract, _ipd, _style


def _errors(fig, arms):
    out = {}
    for a in arms:
        t_true, s_true = fig.truth.km(a.name)
        out[a.name] = curve_errors(a.time, a.survival, t_true, s_true)
    return out


def test_legend_text_and_axes_do_not_set_the_line_width():
    """Thin (1.1 px) dashed dark blue and solid light blue under JPEG 42, with a title, a legend
    and the axes in the plot area: the grey rims of the black text and spines put down about
    1.4 line widths of dark-blue ink per column and used to win the two-cluster width fit, so the
    dark line's dashes went to the light arm (dark arm confidence 0.27, IAE 0.02: missed)."""
    names = ("Dark", "Light")
    ipd = _ipd(names, n=(120, 200), seed=2, medians=(20.0, 30.0))
    fig = render_figure(ipd, _style(names, dpi=200, width_in=5.0, height_in=4.2, line_width_px=1.1,
                                    jpeg_quality=42, noise_sigma=1.7, colors=("#1f4e9c", "#3498db"),
                                    line_styles=("dashed", "solid"), legend_loc="upper right",
                                    font_size_pt=11.0, title="Kaplan-Meier estimate"))
    cal, arms = _extract(fig)
    err = _errors(fig, arms)
    assert arms[0].confidence >= 0.5, arms[0].confidence
    for name in names:
        assert err[name]["iae"] <= 0.003, (name, err[name])


def test_dashed_light_blue_over_bands_keeps_its_curve():
    """Dashed dark and light blue (1.5 px, 100 dpi, rotated) with shaded bands and an orange arm:
    where the blue bands overlap, their pixels go to either blue arm in small patches that the
    light arm's band removal (top-hat) used to leave as ink, and the light line's drops over the
    orange band look dark blue against white paper; the light trace used to leave its curve
    there (IAE 0.0064, max 0.052)."""
    names = ("Control", "Treatment", "High dose")
    ipd = _ipd(names, n=(200, 90, 230), seed=2, medians=(24.0, 40.0, 28.0))
    fig = render_figure(ipd, _style(names, dpi=100, width_in=6.0, height_in=4.8, line_width_px=1.5,
                                    colors=("#1f4e9c", "#4a90d9", "#e8702a"),
                                    line_styles=("dashed", "dashed", "solid"), bands=True, band_alpha=0.21,
                                    rotation_deg=0.85, legend_loc="upper right"))
    cal, arms = _extract(fig)
    err = _errors(fig, arms)
    for name in names:
        assert err[name]["iae"] <= 0.003, (name, err[name])
        assert err[name]["max_abs"] <= 0.03, (name, err[name])


def test_thin_grey_lines_told_apart_by_their_ink():
    """Black, dark grey, grey and light grey 0.95 px lines at 200 dpi, JPEG 63 and noise, dense
    "|" marks: no pixel of a thin line reaches its colour, so a dark line's anti-aliased pixels
    match a lighter grey as well as its own; the grey arms traced the next darker curve (IAE up
    to 0.2). The ink summed across each line (about the width times the colour's depth) tells
    them apart."""
    from digitize.shades import grey_groups

    names = ("Stage I", "Stage II", "Stage III", "Stage IV")
    colors = ("#000000", "#8c8c8c", "#4d4d4d", "#bdbdbd")
    ipd = _ipd(names, n=(300, 300, 300, 300), seed=1, medians=(22.0, 70.0, 30.0, 45.0), dropout=0.1)
    fig = render_figure(ipd, _style(names, dpi=200, width_in=6.1, height_in=4.1, line_width_px=0.95,
                                    jpeg_quality=63, noise_sigma=4.5, censor_mark="|", rotation_deg=-0.56,
                                    colors=colors, legend_loc="lower left", spines="L", legend_frame=False))
    (group, levels), = grey_groups([fig.truth.colors[a] for a in names], (255, 255, 255))
    assert group == (0, 2, 1, 3) and levels[0] == 1.0 and all(levels[1:] < levels[:-1])
    cal, arms = _extract(fig)
    for name, err in _errors(fig, arms).items():
        assert err["iae"] <= 0.003, (name, err)
    # one grey arm, or greys too alike to tell apart by depth: no group
    assert grey_groups([(0, 0, 0), (214, 39, 40)], (255, 255, 255)) == []
    assert grey_groups([(0, 0, 0), (20, 20, 20)], (255, 255, 255)) == []
