"""Reconstruction from digitized corners with known pixel uncertainty (ArmData.time_sd,
survival_sd) and censor marks of known reliability (ArmData.censor_reliability): drops read
just past a risk-table time may belong before it, marks read in ribbons are soft evidence,
and perfect input stays exact."""
import numpy as np
import pandas as pd

from kmrecon.data import ArmData
from kmrecon.km import km_table
from reconstruct import reconstruct
from reconstruct.diagnostics import curve_distance
from reconstruct.preprocess import preprocess_curve
from simulate.ipd import km_corners, number_at_risk, simulate_arm

# 13 patients; an event at 9.97, just before the risk-table time 10 (10 at risk there, 9 after)
TIMES = np.array([2.0, 5.0, 6.0, 9.97, 14, 16, 18, 22, 25, 27, 30, 30, 30])
EVENT = np.array([1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0])
RISK_T = np.array([0, 10, 20, 30.0])


def _traced_13(time_sd):
    """The 13-patient KM traced from a 400 x 300 px plot of 0-40 time units: survival on
    whole pixel rows, the drop at 9.97 read half a pixel (0.05) after the risk time 10."""
    t, s = km_corners(TIMES, EVENT)
    t = np.where(np.isclose(t, 9.97), 10.03, t)
    s = np.round(s * 300) / 300
    return ArmData("A", t, s, risk_times=RISK_T, n_risk=number_at_risk(TIMES, RISK_T),
                   time_sd=time_sd, survival_sd=None if time_sd is None else 0.5 / 300)


def _at_risk_at_events(ipd):
    tab = km_table(ipd["time"], ipd["event"])
    tab = tab[tab["events"] > 0]
    return tab["n_risk"].to_numpy(), tab["survival"].to_numpy()


def test_a_drop_read_half_a_pixel_after_a_risk_time_keeps_its_number_at_risk():
    true_n, true_s = _at_risk_at_events(pd.DataFrame({"time": TIMES, "event": EVENT}))
    rec = reconstruct([_traced_13(time_sd=0.058)])  # 0.58 px: pixel rounding and a 2 px line
    n, s = _at_risk_at_events(rec.ipd)
    # the drop has 10 at risk (1 - 1/10), not 9 after an invented censoring (1 - 1/9), and the
    # curve after it is the true one to the end
    np.testing.assert_array_equal(n, true_n)
    np.testing.assert_allclose(s, true_s, atol=1e-12)
    assert rec.diagnostics["A"].risk_matched
    assert any("moved the drop read at time 10.03 to just before the risk-table time 10" in note
               for note in rec.diagnostics["A"].notes)
    # without the time uncertainty the trace is taken as read (and the step gets 9 at risk)
    n_read, _ = _at_risk_at_events(reconstruct([_traced_13(time_sd=None)]).ipd)
    assert not np.array_equal(n_read, true_n)


def test_perfect_input_stays_exact_with_a_time_uncertainty_and_reliable_marks():
    rng = np.random.default_rng(11)
    ipd = simulate_arm(150, rng, dropout_rate=0.03)
    t, s = km_corners(ipd["time"], ipd["event"])
    rt = np.arange(0.0, float(ipd["time"].max()), 6.0)
    cens = ipd.loc[ipd["event"] == 0, "time"].to_numpy()
    rec = reconstruct([ArmData("A", t, s, risk_times=rt, n_risk=number_at_risk(ipd["time"], rt),
                               censor_times=cens, censor_reliability=np.ones(cens.size),
                               time_sd=0.1, survival_sd=0.002)])
    got = rec.ipd.sort_values(["time", "event"])[["time", "event"]].to_numpy()
    want = ipd.sort_values(["time", "event"])[["time", "event"]].to_numpy()
    np.testing.assert_allclose(got, want)


def test_marks_read_in_a_ribbon_are_discounted():
    """A 300-patient arm traced off pixels with its true marks (clear) plus 25 marks read in a
    ribbon where no patient was censored: as ribbon marks (reliability 0.3) the solver drops
    them and says so; taken as clear marks they pull the curve off the truth (less since the
    level polish weighs even clear marks against the traced levels)."""
    rng = np.random.default_rng(5)
    ipd = simulate_arm(300, rng, dropout_rate=0.01)
    t, s = km_corners(ipd["time"], ipd["event"])
    t_max = float(ipd["time"].max())
    tx = np.round(t / t_max * 600) * t_max / 600
    sy = np.round(s * 400) / 400
    rt = np.arange(0.0, t_max, 6.0)
    cens = ipd.loc[ipd["event"] == 0, "time"].to_numpy()
    ev = np.sort(ipd.loc[ipd["event"] == 1, "time"].to_numpy())
    false = np.linspace(ev[5], ev[40], 25)  # a ribbon over the early drops
    marks = np.concatenate([cens, false])
    truth = preprocess_curve(t, s)
    out = {}
    for rel in (0.3, 1.0):
        r = np.concatenate([np.ones(cens.size), np.full(false.size, rel)])
        rec = reconstruct([ArmData("A", tx, sy, risk_times=rt, n_risk=number_at_risk(ipd["time"], rt),
                                   censor_times=marks, censor_reliability=r)])
        sub = rec.ipd
        out[rel] = (curve_distance(truth, sub["time"].to_numpy(), sub["event"].to_numpy())[0],
                    rec.diagnostics["A"])
    iae_soft, diag_soft = out[0.3]
    iae_hard, _ = out[1.0]
    assert iae_soft < iae_hard
    assert iae_soft < 0.004
    assert any(note.startswith("discounted") for note in diag_soft.notes)
    assert abs(diag_soft.events - int(ipd["event"].sum())) <= 0.02 * ipd["event"].sum()
