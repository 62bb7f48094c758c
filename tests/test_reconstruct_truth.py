"""Reconstruction against known truth: simulated IPD -> exact KM corners (+ risk table, D,
censor marks) -> reconstructed IPD, compared with the IPD the curve came from.

Tolerances (default mode, perfect coordinates): IAE < 0.005 -- about 3x the median 0.0017
that Guyot et al. report for their method on perfect coordinates, so a regression to
Guyot-level accuracy on a hard case still passes but a broken solve does not -- and
max |dS| < 0.03, about one event's step at 35 patients at risk.
"""
import zlib

import numpy as np
import pandas as pd
import pytest

from kmrecon.data import ArmData
from reconstruct import KMReconstructor, reconstruct
from reconstruct.diagnostics import curve_distance
from reconstruct.preprocess import preprocess_curve
from simulate.ipd import km_corners, km_table, number_at_risk, simulate_arm

IAE_TOL = 0.005
MAX_DEV_TOL = 0.03

CASES = {
    # name: (n, simulate_arm keyword arguments)
    "tiny": (10, dict(median=12.0)),
    "small-heavy-censoring": (40, dict(median=30.0, dropout_rate=0.05)),
    "early-events": (150, dict(median=3.0, shape=0.7)),
    "late-events-ties": (300, dict(median=40.0, shape=2.0, decimals=1)),
    "light-censoring": (800, dict(median=8.0, follow_up=120.0, accrual=6.0)),
    "large-ties": (2000, dict(median=10.0, dropout_rate=0.02, decimals=1)),
    "largest": (5000, dict(median=15.0, dropout_rate=0.01)),
}


def _arm(ipd, *, risk=True, n_total=None, total_events=None, marks=False, step=6.0, name="A"):
    t, s = km_corners(ipd["time"], ipd["event"])
    kw = dict(name=name, time=t, survival=s, n_total=n_total, total_events=total_events)
    if risk:
        rt = np.arange(0.0, ipd["time"].max() + 1e-9, step)
        kw.update(risk_times=rt, n_risk=number_at_risk(ipd["time"], rt))
    if marks:
        kw["censor_times"] = ipd.loc[ipd["event"] == 0, "time"].to_numpy()
    return ArmData(**kw)


def _truth_distance(ipd, rec_ipd):
    """(IAE, max |dS|) of the reconstructed KM against the true KM."""
    t, s = km_corners(ipd["time"], ipd["event"])
    return curve_distance(preprocess_curve(t, s), rec_ipd["time"].to_numpy(), rec_ipd["event"].to_numpy())[:2]


def _simulate(name, seed=0):
    n, kw = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()) + seed)  # stable across processes
    return simulate_arm(n, rng, **kw)


@pytest.mark.parametrize("case", list(CASES))
def test_risk_table_matches_truth(case):
    ipd = _simulate(case)
    rec = reconstruct([_arm(ipd)])
    iae, max_dev = _truth_distance(ipd, rec.ipd)
    assert iae < IAE_TOL
    assert max_dev < MAX_DEV_TOL
    diag = rec.diagnostics["A"]
    assert diag.risk_matched, diag.intervals
    assert diag.n_total == len(ipd)
    assert (rec.ipd["time"] >= 0).all() and set(rec.ipd["event"]) <= {0, 1}


@pytest.mark.parametrize("case", list(CASES))
def test_total_events_matched_exactly(case):
    ipd = _simulate(case, seed=1)
    D = int(ipd["event"].sum())
    rec = reconstruct([_arm(ipd, total_events=D)])
    assert int(rec.ipd["event"].sum()) == D
    assert rec.diagnostics["A"].events == D == rec.diagnostics["A"].events_target
    assert rec.diagnostics["A"].risk_matched


@pytest.mark.parametrize("case", ["tiny", "small-heavy-censoring", "late-events-ties", "large-ties"])
def test_all_censor_marks_recover_ipd_exactly(case):
    ipd = _simulate(case, seed=2)
    rec = reconstruct([_arm(ipd, marks=True)])
    got = rec.ipd.sort_values(["time", "event"]).reset_index(drop=True)
    want = ipd.sort_values(["time", "event"]).reset_index(drop=True)
    assert len(got) == len(want)
    np.testing.assert_allclose(got["time"], want["time"], atol=1e-9)
    np.testing.assert_array_equal(got["event"], want["event"])


def test_all_censor_marks_with_n_only_recover_ipd_exactly():
    ipd = _simulate("small-heavy-censoring", seed=3)
    rec = reconstruct([_arm(ipd, risk=False, n_total=len(ipd), marks=True)])
    got = km_table(rec.ipd["time"], rec.ipd["event"])
    want = km_table(ipd["time"], ipd["event"])
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_n_only_with_d_matches_events_and_curve():
    ipd = _simulate("early-events", seed=4)
    D = int(ipd["event"].sum())
    rec = reconstruct([_arm(ipd, risk=False, n_total=len(ipd), total_events=D)])
    assert int(rec.ipd["event"].sum()) == D
    assert len(rec.ipd) == len(ipd)
    iae, max_dev = _truth_distance(ipd, rec.ipd)
    assert iae < IAE_TOL and max_dev < MAX_DEV_TOL


def test_unknown_n_is_estimated_and_flagged():
    rng = np.random.default_rng(11)
    ipd = simulate_arm(120, rng, median=10.0, dropout_rate=0.005)
    rec = reconstruct([_arm(ipd, risk=False)])
    diag = rec.diagnostics["A"]
    assert diag.n_estimated
    assert diag.n_total == len(ipd)  # exact step heights identify N
    assert any("estimated" in note for note in diag.notes)


def test_unknown_n_with_risk_table_after_zero_is_estimated():
    rng = np.random.default_rng(12)
    ipd = simulate_arm(200, rng, median=10.0)
    t, s = km_corners(ipd["time"], ipd["event"])
    rt = np.arange(6.0, ipd["time"].max(), 6.0)
    arm = ArmData("A", t, s, risk_times=rt, n_risk=number_at_risk(ipd["time"], rt))
    rec = reconstruct([arm])
    diag = rec.diagnostics["A"]
    assert diag.n_estimated and abs(diag.n_total - len(ipd)) <= 2
    assert diag.risk_matched


def test_default_no_worse_than_guyot_on_average():
    rng = np.random.default_rng(2024)
    iae = {"default": [], "guyot": []}
    for _ in range(16):
        ipd = simulate_arm(int(rng.integers(20, 400)), rng, median=rng.uniform(5, 25),
                           shape=rng.uniform(0.7, 1.5), dropout_rate=rng.choice([0.0, 0.02]),
                           decimals=rng.choice([None, 1]))
        arm = _arm(ipd)
        for method in iae:
            iae[method].append(_truth_distance(ipd, reconstruct([arm], method=method).ipd)[0])
    assert np.mean(iae["default"]) <= np.mean(iae["guyot"])
    assert np.median(iae["default"]) <= 0.001


def test_noisy_digitized_curve_stays_close_and_matches_risk_table():
    """A realistic digitization (click jitter in time and survival, rounding) of a known KM."""
    rng = np.random.default_rng(5)
    ipd = simulate_arm(200, rng, median=12.0, dropout_rate=0.01, decimals=2)
    t, s = km_corners(ipd["time"], ipd["event"])
    t_n = np.round(np.maximum(t + rng.normal(0, 0.05, t.size) * (t > 0), 0), 3)
    s_n = np.round(np.clip(s + rng.normal(0, 0.002, s.size) * (t > 0), 0, 1), 4)
    rt = np.arange(0.0, ipd["time"].max(), 6.0)
    arm = ArmData("A", t_n, s_n, risk_times=rt, n_risk=number_at_risk(ipd["time"], rt))
    for method in ("default", "guyot"):
        rec = reconstruct([arm], method=method)
        iae, _ = _truth_distance(ipd, rec.ipd)
        assert iae < 0.01, method
    assert reconstruct([arm]).diagnostics["A"].risk_matched


def test_two_arms_fitter_and_km():
    rng = np.random.default_rng(8)
    arms = [_arm(simulate_arm(80, rng, median=m), name=name) for name, m in (("C", 8.0), ("T", 14.0))]
    fitter = KMReconstructor().fit(arms)
    assert set(fitter.ipd_["arm"]) == {"C", "T"}
    assert list(fitter.ipd_.columns) == ["arm", "time", "event"]
    t, s = fitter.reconstruction_.km("C")
    np.testing.assert_allclose(t[:1], [0.0])
    assert np.all(np.diff(s) <= 1e-12) and s[0] == 1.0
    np.testing.assert_allclose((t, s), (arms[0].time, arms[0].survival), atol=1e-12)
    d = fitter.diagnostics_["T"].to_dict()
    import json

    json.dumps(d)  # JSON-safe
    assert "C:" in fitter.summary() and "IAE" in fitter.summary()


def test_progress_callback_reports_each_arm():
    rng = np.random.default_rng(9)
    arms = [_arm(simulate_arm(30, rng), name=n) for n in "AB"]
    seen = []
    reconstruct(arms, progress=seen.append)
    assert seen == [0.5, 1.0]


def test_median_on_plateau_is_flagged():
    # 4 patients, events at 1 and 2: S = 0.75, 0.5 (flat until 5) -> knife-edge median
    time = np.array([1.0, 2.0, 5.0, 5.0])
    event = np.array([1, 1, 0, 0])
    t, s = km_corners(time, event)
    rec = reconstruct([ArmData("A", t, s, n_total=4, censor_times=[5.0, 5.0])])
    diag = rec.diagnostics["A"]
    assert diag.median == 2.0 and diag.median_on_plateau


def test_guyot_reference_mode_on_perfect_coordinates():
    """Guyot's published algorithm: close to the truth, N kept, loops always terminate."""
    for seed, n in ((21, 50), (22, 400)):
        ipd = simulate_arm(n, np.random.default_rng(seed), median=12.0, dropout_rate=0.02)
        rec = reconstruct([_arm(ipd)], method="guyot")
        iae, _ = _truth_distance(ipd, rec.ipd)
        assert iae < 0.01
        assert len(rec.ipd) == n and rec.diagnostics["A"].method == "guyot"


def test_risk_time_just_past_the_last_click_extends_the_curve():
    ipd = _simulate("small-heavy-censoring", seed=6)
    assert ipd.loc[ipd["time"].idxmax(), "event"] == 0  # the curve ends flat at a censoring
    t, s = km_corners(ipd["time"], ipd["event"])
    t_end = float(t[-1])
    rt = np.array([0.0, t_end * 1.005])
    arm = ArmData("A", t, s, risk_times=rt, n_risk=[len(ipd), 1])
    diag = reconstruct([arm]).diagnostics["A"]
    assert any("extended the curve" in note for note in diag.notes)
    assert diag.risk_matched


def test_curve_ending_in_a_drop_to_zero_keeps_the_last_interval_censored():
    """The last patient at risk dies at the end (the curve drops to 0) after many were censored
    in the last risk interval: the drop to 0 is one death, not everybody left dying at once."""
    rng = np.random.default_rng(24)
    ipd = simulate_arm(120, rng, median=40.0, follow_up=36.0, accrual=30.0)
    last = ipd["time"].idxmax()
    ipd.loc[last, "event"] = 1
    ipd.loc[last, "time"] = ipd["time"].max() + 0.5
    rt = np.arange(0.0, 36.0, 6.0)
    last_cens = ((ipd["time"] >= rt[-1]) & (ipd["event"] == 0)).sum()
    assert last_cens >= 5  # the case: heavy censoring in the last interval
    rec = reconstruct([_arm(ipd, step=6.0)])
    r = rec.ipd
    assert int(r["event"].sum()) == int(ipd["event"].sum())
    tail = r[r["time"] >= rt[-1]]
    assert int(tail["event"].sum()) == int(ipd.loc[ipd["time"] >= rt[-1], "event"].sum())


def test_drop_to_zero_keeps_its_death():
    """A curve ending in a drop to 0 (the last patient at risk dies) after heavy censoring in
    the last risk interval: spreading the censorings evenly used to censor everyone before the
    drop, which then had no death (2 events for 3 in [24, 30), seed 8 hard #20)."""
    times = np.r_[np.linspace(0.5, 23.5, 40), 24.49, np.linspace(24.0, 26.4, 12), 26.53,
                  np.linspace(26.6, 29.2, 14), 29.76]
    events = np.r_[np.r_[np.ones(12, int), np.zeros(28, int)], 1, np.zeros(12, int), 1, np.zeros(14, int), 1]
    ipd = pd.DataFrame({"time": times, "event": events})
    rec = reconstruct([_arm(ipd)]).ipd
    late = rec[rec["time"] >= 24.0]
    assert int(late["event"].sum()) == 3
    last = rec.sort_values("time", kind="stable").iloc[-1]
    assert last["event"] == 1 and abs(last["time"] - 29.76) < 1e-6
