"""Censor marks detected on a traced figure can be false (another curve's crossing, a band's
edge, a drop's corner): where an interval's marks exceed the room for censorings that its
numbers at risk leave after the events the curve's drops show, the marks give way, not the
events (reconstruct.plan.mark_weights). Perfect marks stay exact constraints."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from kmrecon.data import ArmData
from reconstruct import reconstruct
from simulate.ipd import km_corners, number_at_risk, simulate_arm

_spec = importlib.util.spec_from_file_location(
    "bench_reconstruct", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_reconstruct.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _traced_arm(seed: int, n_false: int):
    """A pixel-traced curve (bench_reconstruct.pixel_trace, no lost drops) with its true
    censoring times as marks plus ``n_false`` false marks spread over the first risk interval
    (where nobody is censored); risk table every 6 time units."""
    rng = np.random.default_rng(seed)
    ipd = simulate_arm(90, rng, median=15.0, dropout_rate=0.01)
    t, s = km_corners(ipd["time"], ipd["event"])
    t, s = bench.pixel_trace(t, s, float(ipd["time"].max()), rng, drop_missing=0.0)
    rt = np.arange(0.0, ipd["time"].max() + 1e-9, 6.0)
    true_marks = np.sort(ipd.loc[ipd["event"] == 0, "time"].to_numpy(float))
    first = true_marks[true_marks < rt[1]]
    false = np.linspace(0.5, rt[1] - 0.5, n_false)
    arm = ArmData("A", t, s, censor_times=np.sort(np.concatenate([true_marks, false])),
                  risk_times=rt, n_risk=number_at_risk(ipd["time"], rt))
    return ipd, arm, first.size


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_false_marks_do_not_take_events(seed):
    ipd, arm, n_first = _traced_arm(seed, n_false=6)
    events = int(ipd["event"].sum())
    rec = reconstruct([arm])
    assert abs(int(rec.ipd["event"].sum()) - events) <= 1
    assert rec.diagnostics["A"].risk_matched


def test_consistent_marks_stay_exact_constraints():
    """Without false marks every mark is a censoring at its time."""
    ipd, arm, _ = _traced_arm(1, n_false=0)
    rec = reconstruct([arm])
    cens = np.sort(rec.ipd.loc[rec.ipd["event"] == 0, "time"].to_numpy(float))
    for m in arm.censor_times:
        assert np.min(np.abs(cens - m)) < 1e-9
