"""The prior on where unmarked censorings fall inside a risk interval (issue 15).

Two properties of KM data the solver's censoring prior must respect, checked on the plan and
the DP's penalty directly (the R-drawn figures showed both as events read 5-15 % too many in
densely stepped arms with few readable censor marks):

* a patient can only be censored at t if event-free until t: with potential censoring times
  spread evenly (staggered accrual), censorings fall in proportion to S(t), not evenly in time;
* the solve picks one placement of the censorings, so the prior of a count must not charge a
  censoring more than none where the interval's expected censorings are spread thinly over many
  short segments (e < 0.5 each): without other evidence the cheapest total is the expected one.
"""
import numpy as np

from kmrecon.data import ArmData
from reconstruct.arm import prepare_arm
from reconstruct.dp import PathDP
from reconstruct.plan import build_plan


def _plan(time, surv, risk_t, risk_n):
    arm = prepare_arm(ArmData(name="a", time=np.asarray(time, float), survival=np.asarray(surv, float),
                              risk_times=np.asarray(risk_t, float), n_risk=np.asarray(risk_n, float)))
    return arm, build_plan(arm, float(risk_n[0]), False)


def test_censorings_expected_in_proportion_to_the_km_level():
    # one risk interval [0, 10]: level 1 for 5 time units, then 0.5 for 5 more
    _, plan = _plan([0, 5, 5, 10], [1, 1, 0.5, 0.5], [0, 10], [100, 20])
    drop = int(np.flatnonzero(plan.kind == 0)[0])
    before, after = plan.expected[drop], plan.expected[drop + 1]
    assert before > 0 and after > 0
    # twice the level, the same length: twice the censorings (evenly in time gave 1:1)
    assert abs(before / after - 2.0) < 1e-6
    # and the interval still ends at the published count: reference path n(10) = 20
    risk = int(np.flatnonzero(plan.kind == 1)[-1])
    assert abs(plan.ref[risk + 1] - 20) < 1e-6


def test_dense_interval_prior_is_cheapest_at_the_expected_total():
    # a densely stepped curve: 120 drops over 30 time units (a pixel column each), 300 at risk
    # falling to 185 at time 30 -- about 40 censorings over 120 segments (e ~ 0.3 each)
    t = np.linspace(0.25, 29.9, 120)
    s = np.exp(-0.0093 * t)
    time = np.concatenate([[0.0], np.repeat(t, 2), [30.0]])
    surv = np.concatenate([[1.0], np.column_stack([np.r_[1.0, s[:-1]], s]).ravel(), [s[-1]]])
    arm, plan = _plan(time, surv, [0, 30], [300, 185])
    risk = int(np.flatnonzero(plan.kind == 1)[0])
    segs = np.arange(0, risk + 1)
    X = float(plan.expected[segs].sum())
    e = plan.expected[segs]
    assert 20 < X < 70 and np.median(e) < 0.5  # thinly spread: the case the old prior biased
    dp = PathDP(plan, 0.002, 1.0)
    # the penalty is convex per segment: the cheapest total C takes the C smallest marginal costs
    marg = []
    for g in segs:
        cnt = np.arange(int(plan.marks[g]), int(plan.marks[g] + plan.xmax[g]) + 1)
        p = dp.pen(int(g), cnt)
        assert np.all(np.diff(np.diff(p)) >= -1e-9)
        marg.append(np.diff(p))
    marg = np.sort(np.concatenate(marg))
    fewest = int(np.sum(marg < -1e-9))     # every cheaper-than-nothing censoring
    most = int(np.sum(marg <= 1e-9))       # plus the free ones
    assert fewest <= round(X) <= most, (fewest, round(X), most)
    # one censoring more or fewer than the expected total costs little (no strong pull either way)
    F = np.concatenate([[0.0], np.cumsum(marg)])
    c0 = int(round(X))
    assert F[c0] <= F[0] and F[c0] <= F[min(c0 + 10, F.size - 1)]
