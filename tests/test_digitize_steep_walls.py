"""Regression tests for a steep stretch read as a staircase (hard benchmark tier, events off by
5.6 %): a grey arm's drop, a 2 px plateau and a double drop (three deaths within 3 px at 75 dpi,
JPEG 43), one wall crossed by another arm's curve. Column by column the first wall's JPEG
smear into its left neighbour, the plateau column's ringing beside the next wall and the
crossing (which leaves only the wall's lower part traced) made a staircase of five part drops,
the double drop placed a column early, before a censoring: one death too many."""
from __future__ import annotations

import numpy as np

from digitize.steps import steep_walls
from digitize.trace import Runs


def test_steep_stretch_read_row_by_row():
    """Walls at columns 11 and 13 with a plateau at row 40 between them (column 12, whose traced
    run holds the next wall's ringing down to row 55), the second wall crossed at rows 56-63
    (only rows 64-79 traced): column levels from the rows' ink columns are the first wall's
    middle, the plateau and the second wall's middle, and column 12 is a plateau."""
    ink = np.zeros((100, 30))
    ink[20, :12] = 1.0
    ink[21:40, 11] = 0.7
    ink[21:40, [10, 12]] = 0.3                  # anti-aliasing, JPEG ringing either side
    ink[40, 11:14] = 0.9                        # the short plateau's line
    ink[41:80, 13] = 0.7
    ink[41:80, [12, 14]] = 0.35
    ink[56:64, 12:15] = 0.0                     # a crossing curve (another arm's ink)
    ink[80, 13:] = 1.0
    rows = [(c, 20, 20) for c in range(11)] + [(11, 20, 40), (12, 40, 55), (13, 64, 79)]
    rows += [(c, 80, 80) for c in range(14, 30)]
    col, top, bot = (np.array(v) for v in zip(*rows))
    w = np.array([ink[t:b + 1, c].sum() for c, t, b in rows])
    path = Runs(col, top, bot, 0.5 * (top + bot), w)
    level, flat = steep_walls(path, ink, 1.0, np.zeros(col.size, bool))
    i = np.searchsorted(col, [11, 12, 13])
    assert np.isnan(np.delete(level, i)).all()
    assert np.allclose(level[i], [30.0, 40.0, 60.0], atol=1.5), level[i]
    assert flat[i].tolist() == [False, True, False]


def test_steep_stretch_before_a_censoring():
    """The benchmark case (seed 0, hard #16, 75 dpi): the grey arm's deaths at 46.04, 46.46 and
    46.53 months (a patient censored at 46.42 between them) came out as drops at 45.67, 45.97,
    46.15, 46.31 and 46.48 months (S 0.41 at 46.25 for 0.43) and 19 deaths were reconstructed
    for 18."""
    from benchmarks.bench_digitize import TIER_SEEDS
    from digitize.accuracy import step_value
    from digitize.calibrate import Calibration
    from digitize.extract import ArmSpec, extract_arms
    from reconstruct import reconstruct
    from simulate.figure import render_figure
    from simulate.styles import random_case

    ipd, style = random_case(np.random.default_rng([0, 16, TIER_SEEDS["hard"]]), "hard")
    fig = render_figure(ipd, style)
    tr = fig.truth
    arms = extract_arms(fig.image, Calibration.from_dict(tr.calibration),
                        [ArmSpec(a, tr.colors[a]) for a in tr.arms])
    arm = next(a for a in arms if a.name == "Intermediate")
    t_true, s_true = tr.km(arm.name)
    at = np.array([46.25])
    assert abs(step_value(arm.time, arm.survival, at) - step_value(t_true, s_true, at))[0] <= 0.01
    rec = reconstruct([arm.to_arm_data(tr.risk_table)], extend_to_risk_times=True)
    assert int(rec.ipd.event.sum()) == int(tr.ipd.loc[tr.ipd.arm == arm.name, "event"].sum())
