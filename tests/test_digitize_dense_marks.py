"""Censor marks where censoring is dense: at low dpi the marks of a grey curve overlap into one
solid ribbon as tall as a mark, with no plateau column left to measure them against; and the
line width read off all of a grey arm's ink (faint anti-aliased pixels) was too thin for any
plateau to pass as one. Both left such arms with almost no marks (hard benchmark tier)."""
from __future__ import annotations

import numpy as np

from digitize.accuracy import match_times
from digitize.censor import find_marks
from digitize.trace import Runs
from simulate.figure import render_figure
from test_digitize_extract import _extract, _ipd, _style


def _path(cols):
    """Runs from (col, top, bot, weight) rows (the centre is the run's middle)."""
    c, t, b, w = (np.array(v) for v in zip(*cols))
    return Runs(c.astype(np.int64), t.astype(np.int64), b.astype(np.int64), 0.5 * (t + b), w.astype(float))


def _ticks_then_ribbon(solidity: float):
    """Three isolated ticks (12 px tall on a 2 px line), then 24 columns (46-69) of overlapping
    ticks sinking a pixel every 2 columns (drops under the ribbon), inked over ``solidity`` of
    their height."""
    rows = []
    for k in range(3):
        x = 12 * k
        rows += [(c, 100, 101, 2.0) for c in range(x, x + 10)]
        rows += [(x + 10, 95, 106, 10.0), (x + 11, 95, 106, 10.0)]
    rows += [(c, 100, 101, 2.0) for c in range(36, 46)]
    rows += [(c, 95 + (c - 46) // 2, 106 + (c - 46) // 2, solidity * 12.0) for c in range(46, 70)]
    rows += [(c, 112, 113, 2.0) for c in range(70, 80)]
    return _path(rows)


def test_ribbon_of_overlapping_marks_is_read_as_marks():
    groups, is_mark = find_marks(_ticks_then_ribbon(0.95), 2.0)
    ribbon = groups[groups[:, 2] >= 46]
    assert is_mark[47:69].all()                      # the ribbon's inner columns
    assert ribbon.shape[0] >= 6                      # one per mark pitch (line width + 1 px)
    assert np.all((ribbon[:, 2] >= 46) & (ribbon[:, 2] <= 69))


def test_pale_ribbon_is_no_marks():
    """Curves running together blend into a pale, not solid, ribbon."""
    groups, is_mark = find_marks(_ticks_then_ribbon(0.5), 2.0)
    assert not is_mark[56:69].any()                  # (its first columns are centred on the line)


def test_grey_curve_dense_marks_low_dpi():
    """Dark grey, 78 dpi, '+' marks 5.8 pt, heavy drop-out: the old code found no mark on the
    dark arm; every mark found must be a true one."""
    names = ("Control", "Treatment")
    ipd = _ipd(names, n=(150, 150), seed=1, months=36.0, dropout=0.04, medians=(30.0, 12.0))
    fig = render_figure(ipd, _style(names, colors=("#4d4d4d", "#bdbdbd"), dpi=78, line_width_px=2.66,
                                    censor_mark="+", censor_size_pt=5.8, width_in=5.5, height_in=4.2))
    _, arms = _extract(fig)
    tr = fig.truth
    tol = 0.006 * (tr.x_range[1] - tr.x_range[0])
    found = {}
    for a in arms:
        matched, missed, extra = match_times(a.censor_times, tr.censor_times[a.name], tol)
        assert extra <= 1, a.name
        found[a.name] = matched
    assert found["Control"] >= 10
