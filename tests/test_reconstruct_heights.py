"""Drop heights weighed by how surely their plateaus were read (reconstruct.exact.height_weights):
a line several pixels wide draws dense events as staircases of part-drops between short
plateaus read halfway down the stroke, while the plateaus between events are read along many
columns. Known truth: arms with administrative censoring only (none before 18 months)."""
import numpy as np

import reconstruct.exact as exact
from kmrecon.data import ArmData
from reconstruct import reconstruct
from reconstruct.arm import prepare_arm
from reconstruct.plan import build_plan
from simulate.ipd import km_corners, number_at_risk

WIDTH, HEIGHT, X_MAX, LINE = 700, 400, 72.0, 3


def staircase_arm(seed: int, n: int = 225):
    """An arm traced from a WIDTH x HEIGHT px plot with a LINE px line: every drop spans two
    pixel columns, the first reads halfway down (+-0.6 px), plateaus between drops are read to
    0.1 px. Returns the arm (risk table every 24 months, corner sd as digitize gives it) and
    the true (time, event)."""
    rng = np.random.default_rng(seed)
    ev = np.sort(rng.exponential(30.0, n))
    cens = 18.0 + rng.uniform(0.0, 54.0, n)
    time = np.minimum(np.minimum(ev, cens), X_MAX)
    event = ((ev <= cens) & (ev < X_MAX)).astype(int)
    t, s = km_corners(time, event)
    pt, ps = X_MAX / WIDTH, 1.0 / HEIGHT
    out_t, out_s = [0.0], [1.0]
    for k in range((t.size - 1) // 2):
        col = np.floor(t[2 * k + 1] / pt) * pt
        b, a = s[2 * k + 1], s[2 * k + 2]
        mid = min(max(0.5 * (a + b) + rng.normal(0.0, 0.6) * ps, a), b)
        out_t += [col, col, col + pt, col + pt]
        out_s += [b + rng.normal(0.0, 0.1) * ps, mid, mid, a + rng.normal(0.0, 0.1) * ps]
    out_t.append(float(time.max()))
    out_s.append(out_s[-1])
    rt = np.arange(0.0, X_MAX + 1.0, 24.0)
    sd_px = float(np.sqrt(1 / 12 + (LINE / 4) ** 2))
    arm = ArmData("A", np.asarray(out_t), np.clip(out_s, 0.0, 1.0), risk_times=rt,
                  n_risk=number_at_risk(time, rt), time_sd=sd_px * pt, survival_sd=sd_px * ps)
    return arm, time, event


def _weights(arm: ArmData):
    a = prepare_arm(arm)
    plan = build_plan(a, 225.0, False)
    w = exact.height_weights(plan, exact.LEVEL_SD * a.survival_sd, a.time_sd, a.survival_sd)
    drops = np.flatnonzero(plan.kind == 0)
    t = plan.time[drops]
    return plan, w, drops, np.diff(np.r_[0.0, t]), np.diff(np.r_[t, plan.seg_end[-1]])


def test_heights_between_long_plateaus_weigh_more_than_part_drops():
    arm, time, event = staircase_arm(0)
    plan, w, drops, before, after = _weights(arm)
    col = X_MAX / WIDTH
    part = (before < 1.5 * col) | (after < 1.5 * col)  # a part of a staircase
    assert part.mean() > 0.9
    # the same arm drawn with clean vertical edges: drops between plateaus 5+ columns long
    t, s = km_corners(time, event)
    clean = ArmData("A", t, s, risk_times=arm.risk_times, n_risk=arm.n_risk, time_sd=arm.time_sd,
                    survival_sd=arm.survival_sd)
    plan_c, w_c, drops_c, before_c, after_c = _weights(clean)
    sure = (before_c > 5 * col) & (after_c > 5 * col)
    assert sure.sum() >= 10
    assert np.median(w_c[drops_c][sure]) > 10 * np.median(w[drops][part])
    assert np.all(w[plan.kind == 1] == 1.0)
    # untraced input (no corner sd): all heights alike
    assert np.all(exact.height_weights(plan, 1e-3, 0.0, 0.0) == 1.0)


def test_weighted_heights_recover_the_events_of_staircase_traces(monkeypatch):
    """Six staircase traces: events within 2.5 % of the truth per arm, and closer in total than
    with equal weights (where the part-drops' noisy heights outvote the sure ones)."""
    errs = {True: [], False: []}
    for seed in range(6):
        arm, _, event = staircase_arm(seed)
        for weighted in (True, False):
            with monkeypatch.context() as m:
                m.setattr(exact, "HEIGHT_BY_PLATEAUS", weighted)
                rec = reconstruct([arm])
            d = int(rec.ipd["event"].sum())
            errs[weighted].append(abs(d - int(event.sum())) / event.sum())
    assert max(errs[True]) <= 0.025
    assert sum(errs[True]) < sum(errs[False])
