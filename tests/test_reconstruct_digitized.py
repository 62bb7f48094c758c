"""Reconstruction of curves traced from rendered figures (digitize -> reconstruct), against the
figure's known truth: memory stays bounded whatever N, N is estimated sensibly without a risk
table, and stray censor marks or a lost curve tail do not fail the run.

Tolerances: estimated N within 0.5-1.6 x the truth for the figures used here (the estimator's
measured spread over 49 traced arms of clean + typical figures is 0.56-2.4 x, 65 % within 25 %;
the previous first-drop estimate gave 183,506 for 271 patients on figure 30). Memory: numpy's
allocations traced by tracemalloc peak below 300 MB (the DP budget is ~50-100 MB; before the
fix figure 30 asked for 8.5 GiB). The process's address space is capped during the solve, so a
regression fails with MemoryError instead of taking the machine down.
"""
import resource
import tracemalloc
import zlib
from contextlib import contextmanager

import numpy as np
import pytest

from kmrecon.data import ArmData
from reconstruct import ReconstructionInputError, reconstruct
from reconstruct.diagnostics import curve_distance
from reconstruct.preprocess import preprocess_curve
from simulate.ipd import km_corners, number_at_risk, simulate_arm

PEAK_MB = 300
EXTRA_ADDRESS_SPACE = 3 * 2**30  # bytes allowed on top of what the process already maps


@contextmanager
def _memory_guard():
    """Trace numpy allocations and cap the address space so a runaway allocation raises."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    cap = mapped + EXTRA_ADDRESS_SPACE
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _peak_mb() -> float:
    return tracemalloc.get_traced_memory()[1] / 2**20


def _traced_figure(index: int, tier: str):
    """Figure ``index`` of ``generate_set(..., seed=0)`` traced with its true calibration and
    colours, without a risk table: (truth, [ArmData])."""
    from digitize.calibrate import Calibration
    from digitize.extract import ArmSpec, extract_arms
    from simulate.figure import random_case, render_figure

    ipd, style = random_case(np.random.default_rng([0, index]), tier)  # as generate_set does
    fig = render_figure(ipd, style)
    cal = Calibration.from_dict(fig.truth.calibration)
    arms = extract_arms(fig.image, cal, [ArmSpec(a, fig.truth.colors[a]) for a in fig.truth.arms])
    return fig.truth, [a.to_arm_data() for a in arms]


@pytest.fixture(scope="module")
def figure30():
    return _traced_figure(30, "clean")


def test_unknown_n_on_traced_figure_is_estimated_within_bounds_and_memory_safe(figure30):
    truth, arms = figure30
    with _memory_guard():
        rec = reconstruct(arms)
        peak = _peak_mb()
    assert peak < PEAK_MB
    for name in truth.arms:
        n_true = int((truth.ipd["arm"] == name).sum())
        diag = rec.diagnostics[name]
        assert diag.n_estimated
        assert any("estimate" in note and "N unknown" in note for note in diag.notes)
        assert 0.5 <= diag.n_total / n_true <= 1.6, (name, diag.n_total, n_true)
        assert int((rec.ipd["arm"] == name).sum()) == diag.n_total


def test_huge_given_n_keeps_the_dp_within_its_memory_budget(figure30):
    """N far beyond what the curve needs: the state band and the censoring range are wide, the
    DP must still run a bounded chunk at a time."""
    _, arms = figure30
    arm = arms[0]
    big = ArmData(arm.name, arm.time, arm.survival, arm.censor_times, n_total=60000)
    with _memory_guard():
        rec = reconstruct([big])
        peak = _peak_mb()
    assert peak < PEAK_MB
    assert len(rec.ipd) == 60000
    # the reconstructed KM still follows the traced curve
    assert rec.diagnostics[arm.name].iae < 0.02


def _simulated(seed: int):
    rng = np.random.default_rng(zlib.crc32(b"digitized") + seed)
    return simulate_arm(120, rng, median=20.0, dropout_rate=0.02, follow_up=60.0)


def test_censor_marks_at_negative_time_are_dropped_with_a_note():
    ipd = _simulated(0)
    t, s = km_corners(ipd["time"], ipd["event"])
    rt = np.arange(0.0, float(t[-1]), 12.0)
    marks = np.concatenate([[-1.47, -0.2], ipd.loc[ipd["event"] == 0, "time"].to_numpy()])
    arm = ArmData("A", t, s, censor_times=marks, risk_times=rt, n_risk=number_at_risk(ipd["time"], rt))
    rec = reconstruct([arm])
    diag = rec.diagnostics["A"]
    assert any("negative time" in note and "-1.47" in note for note in diag.notes)
    # the remaining (true) marks still give the IPD back exactly
    got = rec.ipd.sort_values(["time", "event"]).reset_index(drop=True)
    want = ipd.sort_values(["time", "event"]).reset_index(drop=True)
    assert len(got) == len(want)
    np.testing.assert_allclose(got["time"], want["time"], atol=1e-9)
    np.testing.assert_array_equal(got["event"], want["event"])


def _lost_tail_arm(ipd, cut: float, last_risk: float):
    """The true KM traced only up to ``cut``, with a risk table printed up to ``last_risk``."""
    t, s = km_corners(ipd["time"], ipd["event"])
    keep = t <= cut
    t, s = np.append(t[keep], cut), np.append(s[keep], s[keep][-1])
    rt = np.arange(0.0, last_risk + 1e-9, 12.0)
    return ArmData("A", t, s, risk_times=rt, n_risk=number_at_risk(ipd["time"], rt))


def test_risk_time_beyond_a_lost_tail_extends_the_curve_when_asked():
    ipd = _simulated(1)
    last_risk = 48.0
    n_last = int(number_at_risk(ipd["time"], [last_risk])[0])
    assert n_last > 0  # patients still at risk there: without the keyword this is an error
    arm = _lost_tail_arm(ipd, cut=45.6, last_risk=last_risk)
    with pytest.raises(ReconstructionInputError, match="beyond the end of the digitized curve"):
        reconstruct([arm])
    rec = reconstruct([arm], extend_to_risk_times=True)
    diag = rec.diagnostics["A"]
    assert any("extended the curve flat from 45.6 to the last risk-table time 48" in n for n in diag.notes)
    assert diag.risk_matched
    published = {iv["start"]: iv["n_published"] for iv in diag.intervals}
    reconstructed = {iv["start"]: iv["n_reconstructed"] for iv in diag.intervals}
    assert published[last_risk] == reconstructed[last_risk] == n_last
    # everyone still at risk at 48 is censored there, nobody later
    assert rec.ipd["time"].max() <= last_risk + 1e-9
    assert int(((rec.ipd["time"] >= last_risk - 1e-9) & (rec.ipd["event"] == 0)).sum()) >= n_last
    # up to the cut, the KM matches the true one
    t, s = km_corners(ipd["time"], ipd["event"])
    keep = t <= 45.6
    iae, max_dev = curve_distance(
        preprocess_curve(t[keep], s[keep]), rec.ipd["time"].to_numpy(), rec.ipd["event"].to_numpy()
    )[:2]
    assert iae < 0.005 and max_dev < 0.03
