"""The level polish (reconstruct.polish) and twin drops near risk times (reconstruct.plan):
reconstructions of curves read off pixels follow the traced levels with integer counts, so
they come closer to the true KM than the trace itself; perfect input and D stay exact."""
import numpy as np
import pandas as pd
import pytest

import reconstruct.exact as exact
from kmrecon.data import ArmData
from kmrecon.km import km_table
from reconstruct import reconstruct
from reconstruct.diagnostics import curve_distance
from reconstruct.preprocess import preprocess_curve
from simulate.ipd import km_corners, number_at_risk, simulate_arm


def _pixel_arm(ipd, rng, width=600, height=400, lw=2.0):
    """The arm's KM read off a width x height px plot: both coordinates of every corner jittered
    by +-0.5 px and rounded to the pixel, with the corner sd the digitizer reports for a line
    ``lw`` px wide; risk table every 6 time units."""
    t, s = km_corners(ipd["time"], ipd["event"])
    t_max = float(ipd["time"].max())
    x_max = 12.0 * np.ceil(t_max / 12.0)
    tx = np.rint(t / x_max * width + rng.uniform(-0.5, 0.5, t.size)) * x_max / width
    sy = np.rint(s * height + rng.uniform(-0.5, 0.5, s.size)) / height
    tx[0], sy[0] = 0.0, 1.0
    sd_px = float(np.sqrt(1 / 12 + (lw / 4) ** 2))
    rt = np.arange(0.0, t_max, 6.0)
    return ArmData("A", np.maximum(tx, 0), np.clip(sy, 0, 1), risk_times=rt,
                   n_risk=number_at_risk(ipd["time"], rt), time_sd=sd_px * x_max / width,
                   survival_sd=sd_px / height)


def _iae_vs_truth(ipd, time, event):
    truth = preprocess_curve(*km_corners(ipd["time"], ipd["event"]))
    return curve_distance(truth, np.asarray(time), np.asarray(event))[0]


def _trace_iae(ipd, arm):
    """IAE of the traced step curve itself against the true KM, on the reconstruction's scale."""
    truth = preprocess_curve(*km_corners(ipd["time"], ipd["event"]))
    cur = preprocess_curve(arm.time, arm.survival)
    grid = np.unique(np.concatenate([truth.time, cur.time]))
    grid = grid[grid <= truth.t_end]
    diff = np.abs(truth.evaluate(grid) - cur.evaluate(grid))
    return float(np.sum(diff[:-1] * np.diff(grid)) / truth.t_end)


def test_pixel_trace_reconstructs_closer_to_truth_than_the_trace(monkeypatch):
    rng = np.random.default_rng(3)
    rec_iae, trace_iae, unpolished = [], [], []
    for _ in range(6):
        ipd = simulate_arm(int(rng.integers(60, 400)), rng, dropout_rate=0.02)
        arm = _pixel_arm(ipd, rng)
        rec = reconstruct([arm])
        assert rec.diagnostics["A"].risk_matched
        rec_iae.append(_iae_vs_truth(ipd, rec.ipd["time"], rec.ipd["event"]))
        trace_iae.append(_trace_iae(ipd, arm))
        with monkeypatch.context() as m:
            m.setattr(exact, "POLISH", False)
            old = reconstruct([arm]).ipd
        unpolished.append(_iae_vs_truth(ipd, old["time"], old["event"]))
    rec_iae, trace_iae, unpolished = map(np.asarray, (rec_iae, trace_iae, unpolished))
    # the integer solve that follows the levels removes pixel noise instead of adding to it
    assert np.median(rec_iae) < np.median(trace_iae)
    assert np.mean(rec_iae < trace_iae) >= 0.5
    assert np.median(rec_iae) < 0.9 * np.median(unpolished)
    assert np.mean(rec_iae) < np.mean(unpolished)


def _at_risk_at_events(time, event):
    tab = km_table(time, event)
    tab = tab[tab["events"] > 0]
    return tab["n_risk"].to_numpy(), tab["survival"].to_numpy()


def test_a_cluster_of_events_merged_across_a_risk_time_is_split_by_its_levels():
    """Events at 9.97 (before the risk time 10) and two at 10.05 after it, traced as one drop at
    10.03: no single side fits (1 - 3/n), the twin drop lets 1 event go before 10 and 2 after,
    and the level after the drop is the true one (integer counts, not the pixel row)."""
    times = np.array([1.0, 3.0, 4.0, 6.0, 9.97, 10.05, 10.05, 12, 14, 16, 18, 19, 21, 24, 26, 28, 30, 30, 30, 30])
    event = np.array([1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0])
    t, s = km_corners(times, event)
    # the trace: the three events at one pixel column, levels on whole pixel rows of a 300 px plot
    drop_t = t[(t > 9.9) & (t < 10.1)]
    keep = ~((t > 9.9) & (t < 10.1))
    hi, lo = float(s[t < 9.9].min()), float(s[t > 10.1].max())
    t = np.concatenate([t[keep], [10.03, 10.03]])
    s = np.concatenate([s[keep], [hi, lo]])
    o = np.lexsort((-s, t))
    t, s = t[o], np.round(s[o] * 300) / 300
    assert drop_t.size == 4
    rt = np.array([0, 10, 20, 30.0])
    arm = ArmData("A", t, s, risk_times=rt, n_risk=number_at_risk(times, rt), time_sd=0.05,
                  survival_sd=0.5 / 300)
    rec = reconstruct([arm])
    _, s_true = _at_risk_at_events(times, event)
    n_rec, s_rec = _at_risk_at_events(rec.ipd["time"], rec.ipd["event"])
    level_true = float(s_true[np.searchsorted(np.unique(times[event == 1]), 10.05)])
    level_rec = float(s_rec[np.searchsorted(np.sort(np.unique(rec.ipd.loc[rec.ipd.event == 1, "time"])), 10.03)])
    assert level_rec == pytest.approx(level_true, abs=1e-12)
    assert rec.diagnostics["A"].risk_matched
    assert any("risk-table time 10 to just before it" in n for n in rec.diagnostics["A"].notes)


def test_polish_keeps_d_and_the_risk_table_exact():
    rng = np.random.default_rng(8)
    for _ in range(3):
        ipd = simulate_arm(int(rng.integers(80, 300)), rng, dropout_rate=0.03)
        arm = _pixel_arm(ipd, rng)
        arm.total_events = int(ipd["event"].sum())
        rec = reconstruct([arm])
        diag = rec.diagnostics["A"]
        assert diag.events == arm.total_events
        assert diag.risk_matched
        assert len(rec.ipd) == len(ipd)


def test_exact_corners_are_left_alone_by_the_polish(monkeypatch):
    rng = np.random.default_rng(4)
    ipd = simulate_arm(120, rng, dropout_rate=0.03)
    t, s = km_corners(ipd["time"], ipd["event"])
    rt = np.arange(0.0, float(ipd["time"].max()), 6.0)
    calls = []
    monkeypatch.setattr(exact, "polish_levels", lambda *a, **k: calls.append(1) or (a[1], a[2], 0))
    rec = reconstruct([ArmData("A", t, s, risk_times=rt, n_risk=number_at_risk(ipd["time"], rt),
                               time_sd=0.05, survival_sd=0.001)])
    # exact: every event time and the number at risk at each (censoring times between risk
    # times are not in the corners; only where they fall between drops is)
    n_rec, s_rec = _at_risk_at_events(rec.ipd["time"], rec.ipd["event"])
    n_true, s_true = _at_risk_at_events(ipd["time"], ipd["event"])
    np.testing.assert_array_equal(n_rec, n_true)
    np.testing.assert_allclose(s_rec, s_true, atol=1e-12)
    np.testing.assert_allclose(np.sort(rec.ipd.loc[rec.ipd.event == 1, "time"]),
                               np.sort(ipd.loc[ipd.event == 1, "time"]))
    assert not calls


def _late_dropout_arm(seed: int):
    """225 patients with dense events (hazard 0.025 per month) and a wave of 30 drop-outs late
    in the first 24-month risk interval (months 18-24), read off a 500 x 400 px plot of 60
    months with a 1 px line; risk table every 24 months. Returns (true IPD, ArmData)."""
    rng = np.random.default_rng(seed)
    n = 225
    t_ev = rng.exponential(1 / 0.025, n)
    t_c = rng.uniform(24, 60, n)
    late = rng.choice(n, 30, replace=False)
    t_c[late] = rng.uniform(18, 24, 30)
    ipd = pd.DataFrame({"time": np.round(np.minimum(t_ev, t_c), 2), "event": (t_ev <= t_c).astype(int)})
    t, s = km_corners(ipd["time"], ipd["event"])
    width, height, x_max = 500, 400, 60.0
    tx = np.rint(t / x_max * width + rng.uniform(-0.5, 0.5, t.size)) * x_max / width
    sy = np.rint(s * height + rng.uniform(-0.5, 0.5, s.size)) / height
    tx[0], sy[0] = 0.0, 1.0
    sd_px = float(np.sqrt(1 / 12 + (1.0 / 4) ** 2))
    rt = np.arange(0.0, float(ipd["time"].max()), 24.0)
    arm = ArmData("A", np.maximum(tx, 0), np.clip(sy, 0, 1), risk_times=rt,
                  n_risk=number_at_risk(ipd["time"], rt), time_sd=sd_px * x_max / width,
                  survival_sd=sd_px / height)
    return ipd, arm


@pytest.mark.parametrize("seed", [3, 8])
def test_censorings_the_heights_place_late_in_a_long_interval_are_found(seed):
    """Drop-outs bunched late in a long risk interval under dense events: the traced heights
    (1 - d / n) say the number at risk stays high until then, but the level-tracking re-solves
    spread the censorings early and the local polish cannot move 30 of them across 100 drops
    while trading events for them -- 4-6 events too few (a band solve around the heights' own
    path finds the lower level cost, :func:`reconstruct.exact._raw_start`). Events within one
    of the truth, the numbers at risk exact."""
    ipd, arm = _late_dropout_arm(seed)
    rec = reconstruct([arm])
    diag = rec.diagnostics["A"]
    # the first risk interval [0, 24) holds the wave: its events within one of the truth; the
    # whole arm within two (seed 3 reads one too few in [24, 48) and, since the tie prior of
    # tests/test_reconstruct_ties.py, the true 7 after 48 where it read 8, which had made up for it)
    first = lambda f: int(f.loc[f["time"] < 24.0, "event"].sum())  # noqa: E731
    assert abs(first(rec.ipd) - first(ipd)) <= 1
    assert abs(diag.events - int(ipd["event"].sum())) <= 2
    assert diag.risk_matched
    assert len(rec.ipd) == len(ipd)
