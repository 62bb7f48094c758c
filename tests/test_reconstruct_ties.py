"""Events at one traced drop are Poisson in the drop's time resolution (issue 15).

Step heights (1 - d / n) cannot tell one event at n from two at 2n, and the levels neither:
where a risk interval's censorings fell (early, leaving few at risk for its late sparse
events; or late, leaving twice as many, each late drop two events) only the density of drops
tells. Event times are continuous, so a sparse stretch of single steps is single events
(:func:`reconstruct.plan.set_tie_prior`). The R-drawn figures showed the failure as late drops
read as two events each, 6-15 % too many events in an arm.
"""
import numpy as np
import pytest

from kmrecon.data import ArmData
from reconstruct import reconstruct
from reconstruct.arm import prepare_arm
from reconstruct.plan import build_plan, set_tie_prior, tie_cost
from simulate.ipd import km_corners, number_at_risk

#: a figure 600 px wide over 48 months, 400 px high, a 1.5 px line
WIDTH, HEIGHT, X_MAX, LINE = 600, 400, 48.0, 1.5


def _traced(time, event, risk_t):
    """Pixel-quantised corners of the true KM with the digitizer's corner uncertainty."""
    t, s = km_corners(time, event)
    tx = np.rint(t / X_MAX * WIDTH) * X_MAX / WIDTH
    sy = np.rint(s * HEIGHT) / HEIGHT
    sd = float(np.sqrt(1 / 12 + (LINE / 4) ** 2))
    risk_t = np.asarray(risk_t, float)
    return ArmData(name="a", time=tx, survival=sy, risk_times=risk_t, n_risk=number_at_risk(time, risk_t),
                   time_sd=sd * X_MAX / WIDTH, survival_sd=sd / HEIGHT)


def _early_censored_trial(seed: int):
    """120 patients: 60 events and 10 censorings over [0, 24); in [24, 48) 30 censorings early
    (before 34), then 8 events spread over [28, 46), 12 censored at 48. Risk table at 0, 24, 48
    only, no censor marks."""
    rng = np.random.default_rng(seed)
    time = np.r_[rng.uniform(0, 24, 60), rng.uniform(0, 24, 10), rng.uniform(24, 34, 30),
                 rng.uniform(28, 46, 8), np.full(12, 48.0)]
    event = np.r_[np.ones(60), np.zeros(40), np.ones(8), np.zeros(12)].astype(int)
    return time, event


@pytest.mark.parametrize("seed", range(6))
def test_sparse_late_drops_are_single_events(seed):
    # seed 1 read 14 events in [24, 48) for the true 8 without the tie prior (74 in all for 68)
    time, event = _early_censored_trial(seed)
    rec = reconstruct([_traced(time, event, [0, 24, 48])]).ipd
    late = int(rec.event[rec.time >= 24].sum())
    assert abs(late - 8) <= 1, late
    assert abs(int(rec.event.sum()) - 68) <= 1


def test_tie_cost_reads_the_drop_density():
    time, event = _early_censored_trial(1)
    arm = prepare_arm(_traced(time, event, [0, 24, 48]))
    plan = build_plan(arm, 120.0, False)
    set_tie_prior(plan, arm.time_sd, 2.0 * arm.time_sd)
    drops = np.flatnonzero((plan.kind == 0) & np.isfinite(plan.tie_log_mu))
    late = drops[plan.time[drops] > 30]
    early = drops[plan.time[drops] < 20]
    assert late.size >= 3 and early.size >= 10
    # the costs are relative to the likeliest count (>= 1): none is negative, a single event
    # is free where drops are sparse, and two events at one late (sparse) drop cost more than
    # two at an early (dense) one
    for g in np.r_[late, early]:
        c = tie_cost(plan, int(g), np.arange(0, 6))
        assert np.all(c >= -1e-12) and c[0] == 0.0
    assert np.all(tie_cost(plan, late, np.ones(late.size, int)) == 0.0)
    two_late = np.median(tie_cost(plan, late, np.full(late.size, 2)))
    two_early = np.median(tie_cost(plan, early, np.full(early.size, 2)))
    assert two_late > two_early > 0
    # drops next to a risk-table time carry none (their events may lie on its other side)
    near = drops[np.abs(plan.time[drops] - 24.0) <= 2.0 * arm.time_sd]
    assert not np.isfinite(plan.tie_log_mu[near]).any() if near.size else True


def test_exact_coordinates_have_no_tie_prior():
    # perfect corners pin n at every drop: nothing to add (and the solve stays exact)
    time, event = _early_censored_trial(1)
    t, s = km_corners(time, event)
    rt = np.array([0, 24, 48.0])
    rec = reconstruct([ArmData(name="a", time=t, survival=s, risk_times=rt,
                               n_risk=number_at_risk(time, rt))]).ipd
    assert int(rec.event.sum()) == 68
    assert int(rec.event[rec.time >= 24].sum()) == 8


def _r_available() -> bool:
    from simulate.rfigures import r_available

    return r_available()


@pytest.mark.skipif(not _r_available(), reason="Rscript with survival + survminer not installed")
def test_r_figure_late_drops_not_doubled(tmp_path):
    """Seed-2 figure 22 of the R set (survminer, 152-patient arm 'Lev', risk table every 24
    months, no censor marks): assisted (true calibration, colours, printed table), its events
    came out 114 for the true 99 (+15 %: the interval [24, 48) read 63 events for 48, its
    censorings put after them). Within 8 % now, and no arm of the figure worse than that."""
    from digitize.calibrate import Calibration
    from digitize.extract import ArmSpec
    from digitize.pipeline import run_pipeline
    from simulate.rfigures import random_rspec, render_r_figures, simulate_trial

    rng = np.random.default_rng(2)
    for _ in range(23):
        spec = random_rspec(rng, None, None)
        ipd = simulate_trial(rng, spec.names, bool(rng.random() < 0.25))
    (fig,) = render_r_figures([(ipd, spec)], tmp_path)
    tr = fig.truth
    assert tr.risk_table is not None and "Lev" in tr.arms
    res = run_pipeline(fig.load_image(), Calibration.from_dict(tr.calibration),
                       [ArmSpec(a, tuple(tr.colors[a])) for a in tr.arms], risk_table=tr.risk_table)
    for a in tr.arms:
        true = int(tr.ipd.loc[tr.ipd["arm"] == a, "event"].sum())
        got = int(res.ipd.loc[res.ipd["arm"] == a, "event"].sum())
        assert abs(got - true) <= 0.08 * true, (a, got, true)
