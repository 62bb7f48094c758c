"""Integer searches of the level polish (reconstruct.polish) and sub-pixel event times
(reconstruct.exact.event_times): a traced figure's counts and times come back as the IPD's."""
import numpy as np
import pandas as pd

import reconstruct.dp as dp_mod
import reconstruct.exact as exact
import reconstruct.polish as po
from kmrecon.data import ArmData
from kmrecon.km import km_table
from reconstruct import reconstruct
from reconstruct.arm import prepare_arm
from reconstruct.dp import PathDP
from reconstruct.plan import at_risk_path, build_plan
from simulate.ipd import km_corners, number_at_risk, simulate_arm


def _exact_plan(seed: int, n: int):
    """Plan of an n-patient arm from its exact corners and a yearly risk table, with the true
    events and censorings per node / segment."""
    ipd = simulate_arm(n, np.random.default_rng(seed), dropout_rate=0.03, decimals=1)
    t, s = km_corners(ipd["time"], ipd["event"])
    rt = np.arange(0.0, float(ipd["time"].max()), 12.0)
    arm = prepare_arm(ArmData("A", t, s, risk_times=rt, n_risk=number_at_risk(ipd["time"], rt)))
    plan = build_plan(arm, float(n), False)
    d = np.zeros(plan.kind.size, np.int64)
    c = np.zeros(plan.kind.size + 1, np.int64)
    for tt, e in zip(ipd["time"], ipd["event"]):
        if e:
            d[np.flatnonzero((plan.kind == 0) & np.isclose(plan.time, tt))[0]] += 1
        else:
            c[int(np.searchsorted(plan.time, tt, side="right"))] += 1
    assert np.array_equal(at_risk_path(plan, d, c, n)[plan.kind == 1], plan.target[plan.kind == 1])
    return plan, d, c


def test_the_band_solve_finds_counts_the_greedy_polish_stops_short_of(monkeypatch):
    """A censoring too many early in a risk interval, an event too few three drops later and
    one too many after that (every number at risk published still met): each single move raises
    the level cost, so the greedy polish stops; the band solve over (number at risk, level)
    changes them together and returns the true counts. (Search machinery under the squared
    spread penalty, whose per-censoring steps make this a trap for single moves; the Poisson
    spread prior, :func:`reconstruct.dp.spread_terms`, lets the greedy polish through here.)"""
    monkeypatch.setattr(dp_mod, "POISSON_SPREAD", False)
    n = 25
    plan, dt, ct = _exact_plan(30, n)
    g, h, h2 = 2, 4, 8  # nodes: drops of one risk interval
    assert (plan.kind[g:h2 + 1] == 0).all() and dt[h] >= 1 and ct[h2 + 1] >= 1
    d, c = dt.copy(), ct.copy()
    c[g] += 1
    d[h] -= 1
    d[h2] += 1
    c[h2 + 1] -= 1
    dp = PathDP(plan, 0.002, 1.0)
    w = po.level_weights(plan)

    def cost(dd, cc):
        return po.level_cost(plan, dd, cc, n, w, dp.inv_var, dp.pen)

    d1, c1, _ = po.polish_levels(plan, d, c, n, dp.inv_var, dp.pen, keep_events=False)
    assert cost(d1, c1) > cost(dt, ct) + 1.0  # greedy: stuck above the truth
    band = po.band_levels(plan, d1, c1, n, dp.inv_var, dp.pen, keep_events=False)
    assert band is not None
    d2, c2 = band
    assert cost(d2, c2) <= cost(dt, ct) + 1e-9
    np.testing.assert_array_equal(d2, dt)
    np.testing.assert_array_equal(c2, ct)


def test_an_event_traded_for_a_censoring_a_few_drops_away_is_found(monkeypatch):
    """One censoring too many early in a risk interval and one event too few three drops later
    (the interval's count still met): moving the censoring or adding the event alone raises
    the level cost; the joint move (event more at the drop, censoring fewer before it) is one
    step of the polish."""
    n = 25
    plan, dt, ct = _exact_plan(0, n)
    g, h = 4, 7
    assert (plan.kind[g:h + 1] == 0).all() and dt[h] >= 1
    d, c = dt.copy(), ct.copy()
    c[g] += 1
    d[h] -= 1
    dp = PathDP(plan, 0.002, 1.0)
    d1, c1, _ = po.polish_levels(plan, d, c, n, dp.inv_var, dp.pen, keep_events=False)
    np.testing.assert_array_equal(d1, dt)
    np.testing.assert_array_equal(c1, ct)
    with monkeypatch.context() as m:  # single moves only: the polish stops short
        m.setattr(po, "JOINT_MOVES", False)
        d0, c0, _ = po.polish_levels(plan, d, c, n, dp.inv_var, dp.pen, keep_events=False)
    assert not (np.array_equal(d0, dt) and np.array_equal(c0, ct))


# 10 patients on a 0-10 axis drawn 200 x 301 px (0.05 per px) with a 3 px line: the drop of the
# event at 5.0 reads halfway down in the column of its stroke (4.95-5.05), the others are clean
TIMES = np.array([2.0, 5.0, 6.5, 7.0, 8.0, 8.0, 9.0, 10.0, 10.0, 10.0])
EVENT = np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 0])


def _staircase_trace():
    t, s = km_corners(TIMES, EVENT)
    k = int(np.flatnonzero(np.isclose(t, 5.0))[0])  # corners (5, 0.9) and (5, 0.8)
    t = np.concatenate([t[:k], [4.95, 4.95, 5.05, 5.05], t[k + 2:]])
    s = np.concatenate([s[:k], [0.9, 0.85, 0.85, 0.8], s[k + 2:]])
    s = np.rint(s * 301) / 301
    sd_px = float(np.sqrt(1 / 12 + (3 / 4) ** 2))
    rt = np.array([0.0, 5.0])
    return ArmData("A", t, s, risk_times=rt, n_risk=number_at_risk(TIMES, rt),
                   time_sd=sd_px * 0.05, survival_sd=sd_px / 301)


def _at_risk_at_events(time, event):
    tab = km_table(np.asarray(time), np.asarray(event))
    tab = tab[tab["events"] > 0]
    return tab["time"].to_numpy(), tab["n_risk"].to_numpy(), tab["events"].to_numpy()


def test_an_event_drawn_over_two_pixel_columns_is_timed_at_its_centre(monkeypatch):
    """The traced corners say 4.95 or 5.05; the area of the traced staircase says 5.0. The
    event keeps its number at risk (the risk-table time 5 counts it: an event at 5 is at risk
    there) and every other event its time."""
    arm = _staircase_trace()
    rec = reconstruct([arm])
    t, n, d = _at_risk_at_events(rec.ipd["time"], rec.ipd["event"])
    tt, nt, dtrue = _at_risk_at_events(TIMES, EVENT)
    np.testing.assert_array_equal(n, nt)
    np.testing.assert_array_equal(d, dtrue)
    np.testing.assert_allclose(t, tt, atol=0.01)
    # timed at the traced corners instead, the event is half a pixel off (with equal height
    # weights: the weighted solve also finds time 5 by moving the part-drop to the risk time)
    with monkeypatch.context() as m:
        m.setattr(exact, "EVENT_WINDOW_SD", 0.0)
        m.setattr(exact, "HEIGHT_BY_PLATEAUS", False)
        old = reconstruct([arm]).ipd
    t0, n0, _ = _at_risk_at_events(old["time"], old["event"])
    np.testing.assert_array_equal(n0, nt)
    assert np.min(np.abs(t0 - 5.0)) >= 0.04


def test_event_times_never_cross_a_censoring_or_a_risk_time():
    """Pixel traces of simulated arms: the sub-pixel event times keep every number at risk the
    node times give (the same censorings before each event, the same side of each risk time)."""
    rng = np.random.default_rng(5)
    for _ in range(4):
        ipd = simulate_arm(int(rng.integers(40, 200)), rng, dropout_rate=0.04)
        t, s = km_corners(ipd["time"], ipd["event"])
        x_max = 12.0 * np.ceil(float(ipd["time"].max()) / 12.0)
        tx = np.rint(t / x_max * 500 + rng.uniform(-0.5, 0.5, t.size)) * x_max / 500
        sy = np.rint(s * 350 + rng.uniform(-0.5, 0.5, s.size)) / 350
        tx[0], sy[0] = 0.0, 1.0
        rt = np.arange(0.0, float(ipd["time"].max()), 6.0)
        arm = ArmData("A", np.maximum(tx, 0), np.clip(sy, 0, 1), risk_times=rt,
                      n_risk=number_at_risk(ipd["time"], rt), time_sd=0.6 * x_max / 500,
                      survival_sd=0.6 / 350)
        rec = reconstruct([arm])
        assert rec.diagnostics["A"].risk_matched
        exact.EVENT_WINDOW_SD, keep = 0.0, exact.EVENT_WINDOW_SD
        try:
            old = reconstruct([arm]).ipd
        finally:
            exact.EVENT_WINDOW_SD = keep
        _, n_new, d_new = _at_risk_at_events(rec.ipd["time"], rec.ipd["event"])
        _, n_old, d_old = _at_risk_at_events(old["time"], old["event"])
        np.testing.assert_array_equal(n_new, n_old)
        np.testing.assert_array_equal(d_new, d_old)
        got = number_at_risk(rec.ipd["time"], rt)
        np.testing.assert_array_equal(got, number_at_risk(ipd["time"], rt))


def test_the_band_solve_centres_each_drop_on_its_own_number_at_risk():
    """The band around the number at risk after a drop is the current count after THAT drop
    (it was the count after the next node: off by the next node's events and censorings, so
    before a drop of several tied events the current and the true paths both lay outside it). One event
    before such a drop read as a censoring comes back, as do clear marks in the last segment."""
    n = 300
    plan, dt, ct = _exact_plan(2, n)
    drops = plan.kind == 0
    # node h: a drop whose events and the censorings before it change the count by more than
    # the band's half-width, after a drop g with an event
    big = [h for h in range(1, plan.kind.size)
           if drops[h] and drops[h - 1] and dt[h] + ct[h] > po.BAND_HALF and dt[h - 1] >= 1]
    assert big
    g = big[0] - 1
    d, c = dt.copy(), ct.copy()
    d[g] -= 1
    c[g] += 1
    dp = PathDP(plan, 0.002, 1.0)
    w = po.level_weights(plan)
    min_c = np.zeros(c.size, np.int64)
    min_c[-1] = ct[-1]  # the last segment's censorings are clear marks
    band = po.band_levels(plan, d, c, n, dp.inv_var, dp.pen, keep_events=False, min_c=min_c)
    assert band is not None
    # the events come back; the censorings (where the exact levels cannot tell) at most as
    # costly as the true ones, every published number at risk and the marks kept
    np.testing.assert_array_equal(band[0], dt)
    def cost(dd, cc):
        return po.level_cost(plan, dd, cc, n, w, dp.inv_var, dp.pen)

    assert cost(*band) <= cost(dt, ct) + 1e-9
    risk = plan.kind == 1
    np.testing.assert_array_equal(at_risk_path(plan, *band, n)[risk], plan.target[risk])
    assert band[1][-1] >= ct[-1]


def test_a_wide_band_moves_many_censorings_together(monkeypatch):
    """Eight censorings read early in a risk interval instead of late (every published number
    at risk still met): the numbers at risk between are off by up to eight, beyond the narrow
    band (BAND_HALF); the wide band solve (exact.WIDE_BAND) brings the true events and levels
    back. (Search machinery, under the squared spread penalty the test was built on.)"""
    monkeypatch.setattr(dp_mod, "POISSON_SPREAD", False)
    n = 300
    plan, dt, ct = _exact_plan(0, n)
    risk = np.flatnonzero(plan.kind == 1)
    # the risk interval with the most censorings; its latest ones move to its first segment
    spans = [(risk[i], risk[i + 1]) for i in range(risk.size - 1)]
    lo, hi = max(spans, key=lambda s: ct[s[0] + 1:s[1] + 1].sum())
    late = [g for g in range(hi, lo + 1, -1) if ct[g] >= 1]
    assert late
    d, c = dt.copy(), ct.copy()
    moved = 0
    for g in late:
        take = min(int(c[g]), 8 - moved)
        c[g] -= take
        moved += take
        if moved == 8:
            break
    assert moved == 8
    c[lo + 1] += moved
    dp = PathDP(plan, 0.002, 1.0)
    w = po.level_weights(plan)

    def cost(dd, cc):
        return po.level_cost(plan, dd, cc, n, w, dp.inv_var, dp.pen)

    narrow = po.band_levels(plan, d, c, n, dp.inv_var, dp.pen, keep_events=False)
    wide = po.band_levels(plan, d, c, n, dp.inv_var, dp.pen, keep_events=False, half=exact.WIDE_BAND)
    assert wide is not None
    assert cost(*wide) <= cost(dt, ct) + 1e-9
    np.testing.assert_array_equal(wide[0], dt)
    assert narrow is None or cost(*narrow) > cost(*wide) + 1.0
