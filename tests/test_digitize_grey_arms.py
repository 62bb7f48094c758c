"""Regression tests for grey arms missed entirely (hard benchmark tier, events off by ~77 %):

- a light grey dashed curve next to a black one over shaded bands (JPEG): every light grey pixel
  lies on the grey arm's blend line, so the black curve's halo (anti-aliasing, JPEG ringing at
  the band's edge) is as much "grey ink" as the grey line, and it is continuous while the grey
  line is dashed and faint: the trace followed the black curve's halo instead;
- a grey curve drawn under a black one for a long stretch: both traces share that line, the
  grey arm was traced again without the black line's band, and a legend frame near the left
  edge (as long and as grey) replaced the grey arm's own line, seen where it leaves the black.
"""
from __future__ import annotations

import pandas as pd

from digitize.accuracy import curve_errors
from simulate.figure import render_figure
from test_digitize_extract import _extract, _ipd, _style


def _iae(fig, arms) -> dict[str, float]:
    return {a.name: curve_errors(a.time, a.survival, *fig.truth.km(a.name))["iae"] for a in arms}


def test_light_grey_dashed_arm_beside_black_over_bands():
    """150 dpi, JPEG 54: the light grey arm's IAE was 0.29 (the black curve's halo traced)."""
    names = ("Low risk", "Very high risk")
    ipd = _ipd(names, n=(300, 30), seed=1, months=27.0, dropout=0.02, medians=(40.0, 10.0))
    fig = render_figure(ipd, _style(names, colors=("#000000", "#bdbdbd"), line_styles=("solid", "dashed"),
                                    dpi=150, width_in=5.0, height_in=4.2, line_width_px=3.0,
                                    censor_mark="|", censor_size_pt=5.5, bands=True, band_alpha=0.14,
                                    jpeg_quality=54, noise_sigma=3.0, seed=1))
    _, arms = _extract(fig)
    iae = _iae(fig, arms)
    assert iae["Very high risk"] <= 0.005, iae
    assert iae["Low risk"] <= 0.002, iae


def test_grey_arm_hidden_under_black_keeps_its_own_line():
    """73 dpi, framed legend at the left: the grey arm coincides with the black one up to 20
    months (its later patients censored), then runs on as a plateau of its own; its IAE was 0.2
    (the legend frame traced)."""
    names = ("Low risk", "Intermediate")
    black = _ipd(names[:1], n=(150,), seed=0, months=36.0, dropout=0.01, medians=(20.0,))
    grey = black.assign(arm=names[1])
    grey.loc[grey.time > 20.0, "event"] = 0
    fig = render_figure(pd.concat([black, grey], ignore_index=True),
                        _style(names, colors=("#000000", "#8c8c8c"), line_styles=("solid", "dashed"),
                               dpi=73, width_in=5.0, height_in=4.0, line_width_px=2.24,
                               legend_loc="center left", legend_frame=True))
    _, arms = _extract(fig)
    iae = _iae(fig, arms)
    assert iae["Intermediate"] <= 0.005, iae
    assert iae["Low risk"] <= 0.005, iae
