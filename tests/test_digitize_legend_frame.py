"""Regression tests for a black curve traced along a legend's frame (hard benchmark tier, held-out
seeds: events off by 13-20 %): a framed legend's edges are long dark lines as black as the curve.
A curve passing right under the legend's bottom edge was traced along that edge to the legend's
right end; a curve ending above a legend (its drop to the frame hidden by its band) went on along
the frame's top edge and down its right edge (or, without the frame, on through the legend's grey
text). Drawn boxes, frame and inside, are now taken out of black and grey arms' ink like the axes
(:func:`digitize.inkmask.drawn_boxes`)."""
from __future__ import annotations

import numpy as np

from digitize.accuracy import curve_errors
from digitize.inkmask import drawn_boxes, rgb_to_lab
from simulate.figure import render_figure
from test_digitize_extract import _extract, _ipd, _style


def test_drawn_box_found_but_not_a_staircase():
    """A tilted rectangle outline is found with its inside; a black staircase touching it, with
    censor marks of equal height on one plateau (vertical lines sharing both ends), a patch of
    ink (overlapping thick curves) and the axes drawn as a box are not."""
    import cv2

    img = np.full((240, 320, 3), 255, np.uint8)
    box = np.array([[170, 40], [300, 41], [300, 111], [170, 110]], np.int32)
    cv2.polylines(img, [box], True, (68, 68, 68), 1, cv2.LINE_AA)
    stairs = np.array([[10, 20], [120, 20], [120, 60], [160, 60], [160, 112], [310, 113], [310, 200]])
    cv2.polylines(img, [stairs.astype(np.int32)], False, (0, 0, 0), 2, cv2.LINE_AA)
    for x in (40, 70, 100):   # "|" marks on the first plateau
        cv2.line(img, (x, 8), (x, 32), (0, 0, 0), 2)
    cv2.rectangle(img, (20, 150), (80, 200), (40, 40, 40), -1)
    cv2.rectangle(img, (1, 1), (318, 238), (0, 0, 0), 1)   # the axes drawn as a box
    out = drawn_boxes(rgb_to_lab(img), 16, slopes=(0.008, 0.0))
    assert out[40, 235] and out[111, 235] and out[75, 170] and out[75, 300] and out[75, 235]
    assert not out[20, 60] and not out[8:33, 40].any() and not out[85, 160] and not out[150, 310]
    assert not out[:, :150].any() and not out[120, 1] and not out[220, 250]


def test_black_curve_ending_above_framed_legend():
    """150 dpi, bands, framed legend in the lower right below the black curve's end: the trace
    went down through the band onto the frame and along it (IAE 0.013)."""
    names = ("Observation", "Treatment")
    ipd = _ipd(names, n=(30, 120), seed=5, months=30.0, dropout=0.03, medians=(22.0, 60.0))
    fig = render_figure(ipd, _style(names, colors=("#000000", "#d62728"), dpi=150, width_in=5.0,
                                    height_in=4.2, line_width_px=1.5, bands=True, band_alpha=0.2,
                                    legend_loc="lower right", legend_frame=True, legend_avoid_curves=False,
                                    censor_mark="none"))
    _, arms = _extract(fig)
    for a in arms:
        t, s = fig.truth.km(a.name)
        assert curve_errors(a.time, a.survival, t, s)["iae"] <= 0.002, a.name
        assert abs(a.time[-1] - t[-1]) <= 0.01 * 30.0, (a.name, a.time[-1], t[-1])


def test_coloured_ink_draws_no_box_and_a_coloured_arm_skips_the_legend():
    """A legend's frame is black or grey: the same rectangle in a curve's colour (two coloured
    curves' plateaus joined by their censor ticks) is no box (the traces of seed 0 typical #7
    stopped there). A red dashed curve ending above a framed legend (seed 7 hard #11) is not
    traced on into the legend's red swatch (its last drop went 60 days on, 7.9 % of events)."""
    import cv2
    from benchmarks.bench_digitize import TIER_SEEDS
    from simulate.styles import random_case

    for colour, found in (((66, 181, 64), False), ((90, 90, 90), True)):
        img = np.full((120, 200, 3), 255, np.uint8)
        cv2.rectangle(img, (40, 30), (160, 70), colour, 1)
        assert drawn_boxes(rgb_to_lab(img), 16)[50, 100] == found, colour

    ipd, style = random_case(np.random.default_rng([7, 11, TIER_SEEDS["hard"]]), "hard")
    fig = render_figure(ipd, style)
    _, arms = _extract(fig)
    for a in arms:
        t, s = fig.truth.km(a.name)
        assert curve_errors(a.time, a.survival, t, s)["iae"] <= 0.003, a.name
    t, s = fig.truth.km("Arm B")
    assert abs(arms[1].time[-1] - t[-1]) <= 0.01 * fig.truth.x_range[1], (arms[1].time[-1], t[-1])
