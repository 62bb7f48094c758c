"""Limits of the reconstruction input: counts above MAX_PATIENTS are refused at once; large
arms are solved in units of patients and made exact again; curves with more drops than a
figure can show are thinned (time stays linear). Heavy sizes (1e5 drops, 1e6 rows, N = 1e7)
are timed by ``python3 benchmarks/bench_reconstruct.py --limits``, not here."""
import time

import numpy as np
import pytest

from kmrecon.data import ArmData
from kmrecon.errors import KMReconError
from reconstruct import reconstruct
from reconstruct.arm import MAX_DROPS, THIN_TO, prepare_arm
from simulate.ipd import km_corners, number_at_risk, simulate_arm

STAIRS_T = np.array([0, 1, 1, 2, 2, 3, 3, 5.0])
STAIRS_S = np.array([1, 1, 0.9, 0.9, 0.7, 0.7, 0.5, 0.5])


@pytest.mark.parametrize("field", ["n_risk", "n_total", "total_events"])
def test_counts_above_the_limit_are_refused_quickly(field):
    kw = {"n_risk": dict(risk_times=[0, 2.5], n_risk=[1e9, 5e8]),
          "n_total": dict(n_total=10**9),
          "total_events": dict(n_total=1000, total_events=10**9)}[field]
    t0 = time.perf_counter()
    with pytest.raises(KMReconError, match="limit of 10,000,000"):
        reconstruct([ArmData("Control", STAIRS_T, STAIRS_S, **kw)])
    assert time.perf_counter() - t0 < 1.0


def test_a_large_arm_keeps_the_published_counts_exact():
    """N = 25,000 is solved in units of 3 patients; the published numbers at risk still hold
    exactly and the curve and events are reproduced."""
    rng = np.random.default_rng(3)
    ipd = simulate_arm(25_000, rng, dropout_rate=0.02)
    # a figure-like curve: the true KM at 300 time points (not exact fractions)
    grid = np.linspace(0, float(ipd["time"].max()), 300)
    t, s = km_corners(ipd["time"], ipd["event"])
    level = s[np.searchsorted(t, grid, side="right") - 1]
    rt = np.arange(0.0, grid[-1], 12.0)
    rec = reconstruct([ArmData("A", grid, level, risk_times=rt, n_risk=number_at_risk(ipd["time"], rt))])
    diag = rec.diagnostics["A"]
    assert diag.risk_matched
    assert diag.n_total == 25_000
    assert diag.iae < 0.0005
    assert abs(diag.events - int(ipd["event"].sum())) < 0.03 * ipd["event"].sum()
    assert any("units of" in n for n in diag.notes)


@pytest.mark.parametrize("N", [30_001, 200_003])
def test_a_large_arm_matches_D_and_the_risk_table_exactly(N):
    # D: the events the arm has without D (censorings spread evenly), plus a few odd ones
    kw = dict(risk_times=[0, 2.5], n_risk=[N, int(0.7 * N) - 2])
    D = reconstruct([ArmData("A", STAIRS_T, STAIRS_S, **kw)]).diagnostics["A"].events + 3
    rec = reconstruct([ArmData("A", STAIRS_T, STAIRS_S, total_events=D, **kw)])
    diag = rec.diagnostics["A"]
    assert diag.risk_matched and diag.n_total == N
    assert diag.events == D
    assert diag.iae < 0.002


def test_a_curve_with_more_drops_than_a_figure_can_show_is_thinned():
    n = 3 * MAX_DROPS
    t = np.arange(1, n + 1, dtype=float)
    s = 1 - np.arange(1, n + 1) / (n + 1)
    arm = prepare_arm(ArmData("A", t, s, risk_times=[0, n / 2], n_risk=[n + 1, n // 2 + 1]))
    u, before, after = arm.curve.steps()
    assert u.size <= THIN_TO + 2
    # levels at the merged drops' ends are the input's, and no merged drop spans the risk time
    assert np.allclose(np.interp(u, t, s), after, atol=1e-12)
    assert any("merged runs" in note for note in arm.notes)
    rec = reconstruct([ArmData("A", t, s, risk_times=[0, n / 2], n_risk=[n + 1, n // 2 + 1])])
    diag = rec.diagnostics["A"]
    assert diag.risk_matched
    assert diag.iae < 0.001
