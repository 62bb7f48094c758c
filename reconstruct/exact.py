"""Default mode: an exact integer solve of the reconstruction by dynamic programming.

Guyot et al. (2012) fit censoring per risk-table interval with a fixed-point loop that can
oscillate, only caps with D, and guesses the last interval from an extrapolated censoring rate.
Here the whole arm is one shortest-path problem over the number at risk n:

* at each drop k of the digitized step curve the KM factor S_k / S_{k-1} = 1 - d_k / n_k fixes
  the hazard; we choose integer events d_k >= 0 (a few candidates around n (1 - r) / r);
* between consecutive nodes (drops, risk-table times, the curve's end) we choose an integer
  number of censorings c >= 0; censor-mark times inside that gap are exact censoring times
  (c below the marks is heavily penalised), only the remaining censorings are spread;
* numbers at risk at risk-table times are hard constraints, everyone left is censored by the
  curve's end (so the last interval ends with the curve, not with an extrapolated rate);
* cost = sum over drops of ((S_{k-1} d_k / n_k - (S_{k-1} - S_k)) / sigma)^2 (squared error of
  each drop height, digitization noise ``sigma``) + a prior on where the unmarked censorings
  fall within their interval (Poisson counts in proportion to time x KM level, apportioned
  without bias in the total: :func:`reconstruct.plan.censoring_density`,
  :func:`reconstruct.dp.spread_terms`), + mu * d_k.

The DP is vectorised over n with numpy; for large arms n is restricted to a band around a
continuous reference path. Total events D, when given, are matched exactly: mu is set by
bisection (Lagrangian relaxation) and a remaining gap of a few events is closed by the cheapest
single moves (one event more at a drop, one censoring fewer right after it, or vice versa).

The noise level sigma is read off the data (:func:`reconstruct.plan.noise_level`): exact
coordinates pin n at every drop (and narrow the band, which makes 10,000-patient arms fast).
Noisy coordinates (clicks, or a curve traced from pixels) get sigma <= ``MAX_SIGMA`` and
:func:`_refine`: the DP is re-solved with the reconstructed KM as the level before each drop,
so that the cost becomes the error of the reconstructed LEVEL (noise in single step heights
-- sub-event wiggles, drops split over two pixel columns or merged in one -- does not
accumulate), and Guyot-style re-rounding (:func:`_walk`) from the DP's censoring pattern and
from an even spread is tried too; the candidate closest to the digitized curve is kept. All
candidates meet the numbers at risk exactly. Drop edges themselves are cleaned beforehand
(:mod:`reconstruct.preprocess`). On a traced figure each drop's height is weighed by how surely
the plateaus either side of it were read (:func:`height_weights`), and the candidate kept is the
one with the lowest level cost of the polish.

Last, for noisy coordinates, :func:`reconstruct.polish.polish_levels` moves single censorings
and events (keeping the numbers at risk, and D when given) while that brings the reconstructed
KM closer to the digitized LEVELS (weighted by plateau length, as the IAE weighs them): the DP
scores drop heights one by one and cannot see that one patient at risk too few at a drop
offsets every later level; where censorings fall inside a risk interval is what the polish
chooses; band solves (:func:`reconstruct.polish.band_levels`, :data:`reconstruct.polish.BAND_HALF` then
:data:`WIDE_BAND` patients) change several counts together. Drops traced within
:data:`SIDE_SD` time sd of a risk-table time get a zero-height
twin on its other side (:func:`reconstruct.plan.twin_drops`), so that the polish can split a
cluster of events the trace merged into one drop across the risk time.

On a traced figure the events at one drop are also a Poisson count in the drop's time
resolution, whose mean the drops' own density gives (:func:`reconstruct.plan.set_tie_prior`):
heights cannot tell one event at n from two at 2n, the drop density can (a sparse stretch of
single steps is single events). And each plateau's traced level is the mean of its two corners'
readings (:func:`reconstruct.plan.plateau_levels`).

Events are timed at the centre of the traced drop they explain (:func:`event_times`), not at
one of its corners: a line several pixels wide draws a drop as a staircase over 2-3 columns.

Digitized corners are measurements: when the input carries their standard uncertainty
(``ArmData.time_sd``, from the calibration and line width), a drop read within
:data:`SIDE_SD` sd of a risk-table time is also tried on the other side of it
(:func:`_choose_sides`: a drop traced half a pixel after the time may hold an event just before
it, and its height then says which number at risk it had). Censor marks carry a reliability
(``ArmData.censor_reliability``: clear marks are near-exact, marks read in ribbons of marks are
soft evidence, :func:`reconstruct.dp.reliability_weight`). Both are reported in the notes.

Limits: counts above :data:`reconstruct.arm.MAX_PATIENTS` are refused; arms above
:data:`UNIT_LIMIT` patients are solved in units of patients and repaired to the exact published
counts (:func:`_solve_scaled`); curves with more drops than a figure can show are thinned
(:func:`reconstruct.arm.thin_drops`), so that time and memory stay bounded.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from reconstruct.arm import ArmInput, ArmResult, estimate_n, estimated_n_note
from reconstruct.dp import INF, MARK_WEIGHT, SOFT_MARK_WEIGHT, PathDP
from reconstruct.polish import BAND_HALF, band_levels, polish_levels
from reconstruct.plan import (Plan, at_risk_path, build_plan, km_levels, mark_weights, noise_level, pin_exact,
                             set_tie_prior)

#: weight of the spread prior on unmarked censorings (:func:`reconstruct.dp.spread_terms`, in
#: -2 log likelihood units), relative to the height cost: below 1 because each segment's expected
#: count is itself an estimate (accrual and drop-out are not even in time: a wave of drop-outs
#: that the heights place late in an interval, tests/test_reconstruct_polish.py), an
#: over-dispersed count. R-drawn figures, assisted (seed 1 n 50 / seed 2 n 30, reconstruction
#: only): 0.4 gave events error mean 0.78 / 1.03 % (1.0: 0.82 / 0.82 %, but a late wave of
#: drop-outs read 5 events short; 0.5: 0.75 / 0.88 %, but a staircase trace of
#: tests/test_reconstruct_heights.py 3.3 % off), |dlog HR| median 0.0027 / 0.0017 (0.5: 0.0027 /
#: 0.0021), IAE median 0.0009 / 0.0008 at all three
SPREAD_WEIGHT = 0.4
#: re-solves with the reconstructed KM as the level before each drop (noisy coordinates)
TRACK_PASSES = 2
#: largest count the DP walks patient by patient; larger arms are solved in units of
#: ceil(N / UNIT_LIMIT) patients (:func:`_solve_scaled`) -- far finer than any figure's pixels --
#: so that time and memory do not grow with N
UNIT_LIMIT = 10_000
#: upper bound of the drop-height noise sigma (probability) for noisy coordinates: a larger
#: sigma lets the even-spread penalty on censorings outweigh the curve and events drift
MAX_SIGMA = 0.002


def _largest_count(arm: ArmInput) -> int:
    counts = [int(arm.n_total or 0), int(arm.total_events or 0)]
    if arm.n_risk.size:
        counts.append(int(arm.n_risk.max()))
    return max(counts)


def _solve(arm: ArmInput, sigma: float, spread_weight: float):
    unit = int(np.ceil(_largest_count(arm) / UNIT_LIMIT))
    if unit > 1:
        return _solve_scaled(arm, sigma, spread_weight, unit)
    return _solve_unit(arm, sigma, spread_weight)


def _solve_scaled(arm: ArmInput, sigma, spread_weight, unit: int):
    """A large arm solved in units of ``unit`` patients, then scaled back and repaired.

    The scaled arm has every count (N, numbers at risk, D) divided by ``unit`` and rounded and
    every unit-th censor mark; its solution times ``unit`` is then corrected by fewer than
    ``unit`` patients per risk interval so that the published numbers at risk (censorings just
    before the risk time, or fewer events) and D (one event more or fewer at the largest
    drops, one censoring fewer or more after them) hold exactly again."""
    from dataclasses import replace

    small = replace(
        arm,
        n_risk=np.rint(arm.n_risk / unit).astype(int),
        n_total=None if arm.n_total is None else max(1, int(round(arm.n_total / unit))),
        total_events=None if arm.total_events is None else int(round(arm.total_events / unit)),
        censor_times=arm.censor_times[::unit],
        censor_weights=None if arm.censor_weights is None else arm.censor_weights[::unit],
    )
    # a single drop's side of a risk time does not matter at this size (sides=False)
    plan_s, d, c, n_s, n_estimated, notes = _solve_unit(small, sigma, spread_weight, sides=False)
    n0 = arm.n_total if arm.n_total is not None else int(n_s) * unit
    plan = build_plan(arm, float(n0), False)
    d, c = d.astype(np.int64) * unit, c.astype(np.int64) * unit
    K = plan.kind.size
    D = arm.total_events
    n = n0
    g_prev = 0
    for g in range(K):
        c[g] = max(int(c[g]), 0)
        n -= c[g]
        if n < 0:
            c[g] += n
            n = 0
        if plan.kind[g] == 1:
            diff = n - int(plan.target[g])
            if diff > 0:
                c[g] += diff
            elif diff < 0:
                need = -diff
                for h in range(g, g_prev - 1, -1):  # fewer censorings in the interval
                    take = min(need, int(c[h]))
                    c[h] -= take
                    need -= take
                    if need == 0:
                        break
                for h in range(g - 1, g_prev - 1, -1):  # then fewer events
                    if need == 0:
                        break
                    take = min(need, int(d[h]))
                    d[h] -= take
                    need -= take
            n = int(plan.target[g])
            g_prev = g + 1
        elif not plan.after[g] > 0 and n > 0 and D is None:
            # the curve reaches 0 when the last patient at risk dies (_one_death_at_zero)
            c[g] += n - 1
            d[g] = 1
            n = 0
        else:
            d[g] = min(int(d[g]), n)
            n -= d[g]
    c[K] = n
    if D is not None:
        gap = D - int(d.sum())
        drops = np.flatnonzero(plan.kind == 0)
        for k in drops[np.argsort(-d[drops], kind="stable")]:
            if gap == 0:
                break
            if gap > 0:  # one event more, one censoring fewer right after
                step = min(gap, int(c[k + 1]))
            else:  # one event fewer, one censoring more right after
                step = -min(-gap, int(d[k]) - (1 if d[k] > 0 else 0))
            d[k] += step
            c[k + 1] -= step
            gap -= step
        if gap:
            notes.append(f"could not match D exactly: {int(d.sum())} events reconstructed vs D = {D}")
    notes.append(f"large arm: solved in units of {unit} patients, then made exact to the published counts")
    return plan, d, c, int(n0), n_estimated, notes


def _solve_unit(arm: ArmInput, sigma: float, spread_weight: float, sides: bool = True):
    notes: list[str] = []
    n_estimated = False
    curve = arm.curve
    free_start = False
    if arm.n_total is not None:
        n0 = arm.n_total
        start = (n0, n0)
    elif arm.risk_times.size:
        # N unknown with a risk table: let the solver choose N at or above the first count,
        # guided by the curve (no censoring before the first risk time as reference)
        s1 = float(curve.evaluate([arm.risk_times[0]])[0])
        n_first = int(arm.n_risk[0])
        n0 = min(n_first / s1, 20.0 * n_first + 100.0) if s1 > 0 else n_first
        start = (n_first, int(np.ceil(max(n0 * 1.5, n0 + 10))))
        free_start = True
        n_estimated = True
    else:
        n0 = estimate_n(curve)
        start = (n0, n0)
        n_estimated = True
        notes.append(estimated_n_note(n0))
    plan = build_plan(arm, float(n0), free_start)
    noise = noise_level(plan) if sigma is None else sigma
    if sigma is None:
        sigma = min(noise, MAX_SIGMA)
        if arm.survival_sd > 0 and noise > 1e-8:
            # a traced figure: its levels are read along plateaus many pixel columns long, so
            # a level is surer than a single corner (survival_sd); the level error after each
            # drop is what the refined cost measures (_refine)
            sigma = float(np.clip(LEVEL_SD * arm.survival_sd, 1e-4, sigma))

    # noisy coordinates with a time uncertainty: zero-height twins of drops near risk times
    twin_tol = SIDE_SD * arm.time_sd if (sides and sigma > 1e-6 and arm.time_sd > 0 and POLISH) else 0.0

    def make(a: ArmInput):
        pl = plan if (a is arm and twin_tol == 0) else build_plan(a, float(n0), free_start, twin_tol)
        if sigma <= 1e-8:
            pin_exact(pl)
        elif sigma > 1e-6 and a.time_sd > 0:
            set_tie_prior(pl, a.time_sd, SIDE_SD * a.time_sd)
        dp_ = PathDP(pl, sigma, spread_weight, mark_weights(pl, noise, MARK_WEIGHT, SOFT_MARK_WEIGHT))
        if sigma > 1e-6 and HEIGHT_BY_PLATEAUS:
            dp_.h_weight = height_weights(pl, sigma, a.time_sd, a.survival_sd)
        return pl, dp_

    plan, dp = make(arm)
    if sides and arm.time_sd > 0 and arm.risk_times.size:
        arm, plan, dp = _choose_sides(arm, plan, dp, make, start, notes, sigma)
    K = plan.kind.size
    D = arm.total_events
    if sigma > 1e-6:
        plan.time_sd = float(arm.time_sd)
        plan.survival_sd = float(arm.survival_sd)

    def solve(mu: float):
        _, trace = dp.run(start[0], start[1], mu)
        return PathDP.backtrack(trace, K)

    d, c, n_start = solve(0.0)
    raw = (d, c, n_start)  # the heights' own path: its numbers at risk are a second start below
    if sigma > 1e-6:
        d, c, n_start = _refine(dp, solve, d, c, n_start)
    if D is not None and int(d.sum()) != D:
        d, c, n_start = _match_events(dp, solve, d, c, n_start, D, notes)
    if sigma > 1e-6 and POLISH:
        # clear marks (reliability 1, in segments where they fit) stay censorings
        rel = plan.mark_rel if plan.mark_rel is not None else [np.ones(m.size) for m in plan.mark_times]
        clear = np.array([int(np.sum(r >= 1.0)) for r in rel], np.int64)
        clear[dp.mark_weight < MARK_WEIGHT] = 0
        inv, opts = dp.inv_var * POLISH_SCALE, dict(keep_events=D is not None, min_c=clear)
        d, c, _ = polish_levels(plan, d, c, n_start, inv, dp.pen, **opts)
        # where several counts must change together (the greedy polish stops there): the exact
        # solve within a band of the numbers at risk, then the polish again; up to BAND_ROUNDS
        # in the narrow band (BAND_HALF), then once in a wide one (WIDE_BAND: censorings spread
        # over a long interval that the sure levels place elsewhere)
        for half, rounds in ((None, BAND_ROUNDS), (WIDE_BAND, 1 if WIDE_BAND else 0)):
            for _ in range(rounds):
                better = band_levels(plan, d, c, n_start, inv, dp.pen, half=half, **opts)
                if better is None:
                    break
                d, c, _ = polish_levels(plan, *better, n_start, inv, dp.pen, **opts)
        if RAW_START:
            d, c = _raw_start(plan, raw, (d, c, n_start), inv, dp.pen, D, opts)
    if D is None:
        d, c = _one_death_at_zero(plan, d, c)
    if n_estimated and free_start:
        notes.append(f"N unknown: estimated N = {n_start} (solver, from the curve and risk table)")
    return plan, d, c, n_start, n_estimated, notes


#: band-solve the level cost around the first DP solution's numbers at risk too
#: (:func:`_raw_start`); the lower level cost is kept
RAW_START = True


def _raw_start(plan: Plan, raw, cur, inv: float, pen, D, opts):
    """The level polish from a second start: the first DP solve's numbers at risk.

    The first solve scores every drop's height against the traced levels either side of it, and
    the heights (1 - d / n) say where the number at risk is: where the censorings of a risk
    interval fall. Its events, rounded height by height, leave level errors that add up along
    the curve, so :func:`_refine` (and its level cost) prefers re-solves and walks that track the
    levels -- and these may put an interval's censorings early where the heights say late (or the
    reverse). The polish and its band solves (up to WIDE_BAND) then cannot move 20 censorings across 100
    drops while trading events for them (R-drawn figure, seed 1, no. 34: 123 events for 131, its
    level cost 874 against 159 for a path next to the truth, which the heights' path lies within
    6 patients of). A band solve around the heights' numbers at risk (events re-chosen there to
    fit the levels) and the polish from it is the second start; the solution with the lower level
    cost J is kept (the pruned band solve only looks for one below the current J). Returns (d, c).
    """
    from reconstruct.polish import _n_pre, level_cost, level_weights

    d, c, n_start = cur
    d_raw, c_raw, n_raw = raw
    if n_raw != n_start:
        return d, c
    # nothing new where the wide band solve around the current path covered the heights' path
    # (on the R-drawn figures, seed 1: the same events as trying it always, 8 % less time)
    gap = np.max(np.abs(_n_pre(d_raw, c_raw, n_start) - _n_pre(d, c, n_start)), initial=0)
    if gap <= max(BAND_HALF, WIDE_BAND):
        return d, c
    w = level_weights(plan, inv)
    j_cur = level_cost(plan, d, c, n_start, w, inv, pen)
    events = int(d.sum()) if D is not None else None
    better = band_levels(plan, d_raw, c_raw, n_start, inv, pen, events=events, beat=j_cur, **opts)
    if better is None:
        return d, c
    d2, c2, _ = polish_levels(plan, *better, n_start, inv, pen, **opts)
    if level_cost(plan, d2, c2, n_start, w, inv, pen) < j_cur:
        return d2, c2
    return d, c


#: run the level polish (:mod:`reconstruct.polish`) on noisy coordinates
POLISH = True
#: _refine keeps the candidate with the lowest level cost J of the polish
REFINE_BY_LEVELS = True
#: most band solves (:func:`reconstruct.polish.band_levels`) after the greedy polish
BAND_ROUNDS = 3
#: half-width (patients) of the one wide band solve after them (0: none)
WIDE_BAND = 12
#: the polish's level cost is 1 / POLISH_SCALE of the DP's sigma^2: a plateau's level is read
#: along all its pixel columns, and on the R-drawn figures (30, seed 0, assisted) traced plateau
#: levels were within a few 1e-4 of the true ones, about a quarter of the DP's level sd
#: (LEVEL_SD corner sd). 16 (sd / 4): reconstruction below the trace in 47 % of arms (41 % at 4,
#: 40 % at 1); neutral on bench_reconstruct's pixel setting. With a corner survival sd given
#: (traced figures) the level weights are absolute (:func:`reconstruct.polish.plateau_sd`) and
#: this scale no longer matters; it sets the level cost of clicked curves
POLISH_SCALE = 16.0

#: sd of a traced plateau's level, in corner sd (ArmData.survival_sd): a level is read from
#: many pixel columns. On the R-drawn figures (30, seed 0, assisted) 0.7 gave reconstruction
#: IAE median 0.0020 (0.0022 with the drop-height noise read off the data alone, 0.0021 at 1.4,
#: events worse at 0.4); neutral on bench_reconstruct's pixel setting
LEVEL_SD = 0.7

def height_weights(plan: Plan, sigma: float, time_sd: float, survival_sd: float) -> np.ndarray:
    """Per node, the weight of its drop's height cost in the DP: sigma^2 over the variance of
    the traced height, the sum of the variances of the plateau levels before and after the
    drop (:func:`reconstruct.polish.plateau_sd`: a plateau read along many pixel columns is
    sure to about a tenth of a corner's sd, one inside a drop's stroke no surer than a corner).
    A line several pixels wide draws dense events as a staircase of part-drops between short
    plateaus; with equal weights their noisy heights outvoted the few sure ones, and the solve
    traded events for censorings the long plateaus contradict. Ones for corners without an
    uncertainty (clicked or exact coordinates)."""
    from reconstruct.polish import plateau_sd

    K = plan.kind.size
    w = np.ones(K)
    drops = np.flatnonzero(plan.kind == 0)
    if not (time_sd > 0 and survival_sd > 0) or drops.size == 0:
        return w
    t = plan.time[drops]
    prev = np.concatenate([[0.0], t[:-1]])
    nxt = np.append(t[1:], plan.seg_end[-1])
    sd_b = survival_sd * plateau_sd((t - prev) / time_sd)
    sd_b[0] = 0.0  # the level 1 before the first drop is exact
    sd_a = survival_sd * plateau_sd((nxt - t) / time_sd)
    w[drops] = np.clip(sigma**2 / (sd_b**2 + sd_a**2), *HEIGHT_WEIGHT_RANGE)
    # zero-height twins of drops near risk times (:func:`reconstruct.plan.twin_drops`) are no
    # traced drops: their "plateaus" are gaps of a few hundredths of a pixel, not readings
    w[drops[~(plan.after[drops] < plan.before[drops])]] = 1.0
    return w


#: weigh the DP's drop heights by how surely their plateaus were read (:func:`height_weights`;
#: traced figures). R-drawn figures, assisted (30 seed 0 / 50 seed 1): reconstruction below the
#: trace in 69 / 59 % of arms -> 72 / 63 %, events max 50 (a mis-traced arm) / 14.3 -> 50 / 9.1 %;
#: bench_reconstruct pixel setting: IAE median 0.0011 unchanged, below the trace 73 -> 75 %
HEIGHT_BY_PLATEAUS = True
#: bounds of a drop's height weight (a height between two long plateaus: about 25)
HEIGHT_WEIGHT_RANGE = (0.05, 25.0)

#: drops read within this many time sd of a risk-table time may lie on either side of it
SIDE_SD = 2.0
#: most alternative orders tried per arm (each costs one DP solve)
MAX_SIDE_TRIES = 12
#: evidence (DP cost units: squared height errors in sd) a move must gain beyond its prior: a
#: drop moved before a risk time frees the number at risk before it, which fits noisy heights a
#: little better by itself; 4 = two sd of evidence
SIDE_MARGIN = 4.0


def _move_drop(arm: ArmInput, u: float, v: float) -> ArmInput:
    """A copy of ``arm`` whose drop at time ``u`` is read at time ``v`` instead: the corners at
    ``u`` move to ``v`` and points between the two take the level the plateau has there now."""
    from dataclasses import replace

    cv = arm.curve
    u_all, b_all, a_all = cv.steps()
    j = int(np.flatnonzero(u_all == u)[0])
    before, after = float(b_all[j]), float(a_all[j])
    t, s = cv.time, cv.survival
    lo, hi = min(u, v), max(u, v)
    keep = t != u
    t, s = t[keep], s[keep].copy()
    s[(t > lo) & (t < hi)] = after if v < u else before
    t = np.concatenate([t, [v, v]])
    s = np.concatenate([s, [before, after]])
    order = np.lexsort((-s, t))
    curve = replace(cv, time=t[order], survival=s[order], notes=list(cv.notes))
    return replace(arm, curve=curve)


def _choose_sides(arm: ArmInput, plan: Plan, dp: PathDP, make, start, notes: list[str], sigma: float):
    """Drops read within SIDE_SD time sd of a risk-table time may have happened on its other
    side (a drop traced half a pixel after the time holds an event just before it). For each
    risk time, the nearest such drop on either side is tried on the other side; a move is kept
    when the solve's cost (squared height errors in sd, spread penalty) plus the prior odds
    against the other side (-2 log, from the distance read in time sd) plus SIDE_MARGIN is
    lower: the step heights then say which number at risk the drop had. A move is only tried
    (one DP solve each) where it could win: the drop's height with the published count n at
    risk, d / n, and with n + d, d / (n + d), differ by more than that in sigma. Returns the
    arm, plan and DP to use."""
    tol = SIDE_SD * arm.time_sd
    span = arm.curve.t_end
    best = None
    tries = 0
    for r, n_r in zip(arm.risk_times, arm.n_risk):
        if r <= 0 or n_r <= 0:
            continue
        u, lev_b, lev_a = arm.curve.steps()
        if tries >= MAX_SIDE_TRIES:
            break
        options = []
        after = u[(u >= r) & (u <= r + tol)]
        if after.size:
            prev = u[u < r]
            v = r - min(1e-6 * span, 0.5 * (r - prev[-1]) if prev.size else 1e-6 * span)
            options.append((float(after[0]), float(v), "before"))
        before = u[(u < r) & (u >= r - tol)]
        if before.size and not np.any((u > before[-1]) & (u <= r)):
            options.append((float(before[-1]), float(r), "after"))
        for t_from, t_to, side in options:
            if tries >= MAX_SIDE_TRIES:
                break
            # prior: the drop's true time lies on the risk time's other side with probability
            # Phi(-z), z = distance read / sd; in the DP's cost units (-2 log likelihood)
            z = abs(t_from - float(r)) / arm.time_sd
            prior = 2.0 * (np.log(ndtr(z)) - np.log(max(ndtr(-z), 1e-300)))
            k = int(np.flatnonzero(u == t_from)[0])
            b = float(lev_b[k])
            hazard = 1.0 - float(lev_a[k]) / b if b > 0 else 0.0
            d = max(1.0, round(float(n_r) * hazard))
            gain = (b * (d / n_r - d / (n_r + d)) / sigma) ** 2
            if gain < prior + SIDE_MARGIN:
                continue  # the heights cannot tell the two sides apart
            tries += 1
            if best is None:
                best = dp.run(start[0], start[1], 0.0)[0]
            cand = _move_drop(arm, t_from, t_to)
            pl, d2 = make(cand)
            cost = d2.run(start[0], start[1], 0.0)[0] + prior + SIDE_MARGIN
            if np.isfinite(cost) and cost < best:
                best, arm, plan, dp = cost, cand, pl, d2
                notes.append(
                    f"moved the drop read at time {t_from:g} to just {side} the risk-table time {r:g} "
                    f"(within {SIDE_SD:g} sd = {tol:.3g} of it): its height fits the number at risk there"
                )
                break
    return arm, plan, dp


def _one_death_at_zero(plan: Plan, d: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A drop to 0 fits any number at risk (all of them die), so the solver may end the curve
    with several deaths where the patients were censored before; the curve reaches 0 when the
    last patient at risk dies: keep one death there, the others censored just before it."""
    zero = np.flatnonzero((plan.kind == 0) & (plan.after <= 0.0))
    if zero.size == 0 or d[zero[0]] <= 1:
        return d, c
    z = int(zero[0])
    d, c = d.copy(), c.copy()
    c[z] += d[z] - 1
    d[z] = 1
    return d, c


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` whole censorings over segments in proportion to ``weights``
    (largest remainder), i.e. evenly in time."""
    if total <= 0 or weights.size == 0:
        return np.zeros(weights.size, np.int64)
    w = weights / weights.sum() if weights.sum() > 0 else np.full(weights.size, 1.0 / weights.size)
    raw = total * w
    out = np.floor(raw).astype(np.int64)
    rest = total - int(out.sum())
    if rest > 0:
        out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


def _seg_weights(plan: Plan, segs: np.ndarray) -> np.ndarray:
    """Relative share of an interval's unmarked censorings per segment (time x KM level,
    :func:`reconstruct.plan.censoring_density`); segment lengths for a plan without them."""
    w = getattr(plan, "seg_weight", None)
    if w is not None:
        return w[segs]
    return plan.seg_end[segs] - plan.seg_start[segs]


def _base_levels(plan: Plan, before: np.ndarray) -> np.ndarray:
    """Reconstructed KM just before each drop as the DP's base level, never below the
    digitized level after it (a base at or under that level simply asks for no event)."""
    return np.where(plan.kind == 0, np.maximum(before, plan.after), plan.before)


def _even_spread(plan: Plan, d, c, n_start):
    """The same solution with each risk interval's unmarked censorings re-spread evenly in time
    (marks stay where they are); the events are left to :func:`_walk` to re-round."""
    K = plan.kind.size
    c = c.copy()
    bounds = [g for g in range(K) if plan.kind[g] == 1] + [K]
    g0 = 0
    for g1 in bounds:
        segs = np.arange(g0, min(g1, K - 1) + 1) if g1 < K else np.arange(g0, K)
        if segs.size:
            kept = np.minimum(plan.marks[segs], c[segs])  # marks the solution kept
            unmarked = int((c[segs] - kept).sum())
            weights = _seg_weights(plan, segs)
            c[segs] = kept + _allocate(unmarked, weights)
        g0 = g1 + 1
    return d, c, n_start


def _walk(plan: Plan, d, c, n_start, max_rounds: int = 50):
    """Guyot-style sequential rounding on top of the DP solution (noisy heights only).

    Events at each drop are re-rounded against the reconstructed KM at the previous event
    (d_k = round(n_k (1 - S_k / S_last)), Guyot et al. 2012), so that digitization noise in
    single heights does not accumulate; the interval's unmarked censorings are then re-spread
    evenly until the published number at risk at its end is met exactly (hard, as in the DP).
    """
    K = plan.kind.size
    d, c = d.copy(), c.copy()
    bounds = [g for g in range(K) if plan.kind[g] == 1] + [K]
    g0, n, s_last = 0, int(n_start), 1.0
    for g1 in bounds:
        segs = np.arange(g0, g1 + 1)
        weights = _seg_weights(plan, segs)
        # the marks the solution kept (it may drop marks that contradict the curve and table)
        marks = np.minimum(plan.marks[segs], c[segs])
        target = int(plan.target[g1]) if g1 < K else 0
        unmarked = int(sum(int(c[g]) - int(marks[j]) for j, g in enumerate(segs) if g < K))
        cs = c[segs].copy()
        for rnd in range(max_rounds):
            nn, ss = n, s_last
            dd = np.zeros(segs.size, np.int64)
            for j, g in enumerate(segs):
                if g == K:
                    cs[j] = nn
                    nn = 0
                    break
                cs[j] = min(cs[j], nn)
                nn -= cs[j]
                if g < g1 and plan.kind[g] == 0 and nn > 0:
                    dk = int(np.rint(nn * (1.0 - plan.after[g] / ss))) if ss > 0 else 0
                    dk = min(max(dk, 0), nn)
                    dd[j] = dk
                    ss *= 1.0 - dk / nn
                    nn -= dk
            gap = nn - target
            # the last round keeps its censorings: cs, dd and gap must stay consistent for the
            # exact fix below (the rounding may flip the gap's sign from round to round)
            if gap == 0 or g1 == K or rnd == max_rounds - 1:
                break
            new_unmarked = unmarked + gap
            if new_unmarked < 0:
                break
            unmarked = new_unmarked
            cs = marks + _allocate(unmarked, weights)
        # exact fix: surplus censored just before the risk time, shortfall taken from events
        if g1 < K and gap != 0:
            if gap > 0:
                cs[-1] += gap
            else:
                need = -gap
                for j in range(segs.size - 1, -1, -1):
                    take = min(need, int(dd[j]))
                    dd[j] -= take
                    need -= take
                    if need == 0:
                        break
                if need:
                    return None
            nn, ss = n, s_last
            for j, g in enumerate(segs):
                nn -= cs[j]
                if g < g1 and plan.kind[g] == 0 and nn > 0:
                    ss *= 1.0 - dd[j] / nn
                    nn -= dd[j]
            if nn != target or (cs < 0).any():
                return None
        c[segs] = cs
        inner = segs[segs < min(g1, K)]
        d[inner] = dd[: inner.size]
        n, s_last = target, ss
        g0 = g1 + 1
    return d, c, n_start


def _refine(dp: PathDP, solve, d, c, n_start, passes: int = TRACK_PASSES):
    """Noisy heights: make the reconstructed KM track the digitized levels, not single heights.

    The first solve scores each drop's height against the digitized level just before it, so
    rounding errors of single noisy heights (sub-event wiggles, split or merged drops) add up
    along the curve. Re-solving with the level before each drop taken from the previous
    solution's reconstructed KM turns the height cost into the error of the reconstructed level
    after the drop (Guyot et al. 2012's "KM at the last event", inside the exact solve). Also
    tries Guyot-style sequential rounding (:func:`_walk`) and keeps whichever reconstructed KM
    is closest to the curve (time-weighted |dS| after each drop); constraints hold for all."""
    plan = dp.p
    drops = np.flatnonzero(plan.kind == 0)
    if drops.size == 0:
        return d, c, n_start
    width = np.diff(np.append(plan.time[drops], plan.seg_end[-1]))

    if POLISH and REFINE_BY_LEVELS:
        # the polish's own objective: levels weighted by how surely each plateau was read
        from reconstruct.polish import level_cost, level_weights

        inv = dp.inv_var * POLISH_SCALE
        lw = level_weights(plan, inv)

        def score(sol):
            return level_cost(plan, sol[0], sol[1], sol[2], lw, inv, dp.pen)
    else:
        def score(sol):
            _, after = km_levels(plan, *sol)
            return float(np.sum(np.abs(after[drops] - plan.after[drops]) * width))

    best = (score((d, c, n_start)), (d, c, n_start))
    sol = (d, c, n_start)
    for _ in range(passes):
        before, _ = km_levels(plan, *sol)
        dp.base = _base_levels(plan, before)
        sol = solve(0.0)
        sc = score(sol)
        if sc < best[0]:
            best = (sc, sol)
    # Guyot-style walks from the best censoring pattern and from an even spread of the same
    # number of censorings per interval (the DP may bunch them to fit noisy heights)
    for start in (best[1], _even_spread(plan, *best[1])):
        walked = _walk(plan, *start)
        if walked is not None and score(walked) < best[0]:
            best = (score(walked), walked)
    # later solves (matching D) score heights against the chosen solution's levels
    before, _ = km_levels(plan, *best[1])
    dp.base = _base_levels(plan, before)
    return best[1]


def _match_events(dp: PathDP, solve, d, c, n_start, D, notes):
    """Match total events to D: bisection on mu, then cheapest single moves."""
    best = (abs(int(d.sum()) - D), d, c, n_start)
    scale = dp.inv_var * 1e-2
    lo_mu, hi_mu = -scale, scale
    # widen until the bracket contains D (events decrease with mu)
    for _ in range(12):
        dl = solve(lo_mu)
        if int(dl[0].sum()) >= D:
            break
        lo_mu *= 4
    for _ in range(12):
        dh = solve(hi_mu)
        if int(dh[0].sum()) <= D:
            break
        hi_mu *= 4
    for cand in (dl, dh):
        if abs(int(cand[0].sum()) - D) < best[0]:
            best = (abs(int(cand[0].sum()) - D), *cand)
    for _ in range(30):
        if best[0] == 0:
            break
        mid = 0.5 * (lo_mu + hi_mu)
        cand = solve(mid)
        e = int(cand[0].sum())
        if abs(e - D) < best[0]:
            best = (abs(e - D), *cand)
        if e > D:
            lo_mu = mid
        elif e < D:
            hi_mu = mid
        else:
            break
    _, d, c, n_start = best
    d, c = d.copy(), c.copy()
    plan = dp.p
    gap = D - int(d.sum())
    if gap:
        n_pre = at_risk_path(plan, d, c, n_start)
        drops = np.flatnonzero(plan.kind == 0)
        for _ in range(abs(gap)):
            step = 1 if gap > 0 else -1
            dk, ck = d[drops], c[drops + 1]
            nd, nc = dk + step, ck - step
            valid = (nd >= 0) & (nd <= n_pre[drops]) & (nc >= 0)
            if not valid.any():
                break
            delta = (
                dp.height(drops, nd, n_pre[drops], 0.0)
                - dp.height(drops, dk, n_pre[drops], 0.0)
                + dp.pen(drops + 1, nc)
                - dp.pen(drops + 1, ck)
            )
            delta[~valid] = INF
            i = int(np.argmin(delta))
            k = drops[i]
            d[k] += step
            c[k + 1] -= step
            gap -= step
    if gap:
        notes.append(f"could not match D exactly: {int(d.sum())} events reconstructed vs D = {D}")
    return d, c, n_start


def _spread_times(start: float, end: float, count: int, closed_end: bool) -> np.ndarray:
    """``count`` times spread evenly in (start, end) -- or (start, end] for the last segment."""
    if count <= 0:
        return np.empty(0)
    if end <= start:
        return np.full(count, start)
    j = np.arange(1, count + 1)
    return start + j * (end - start) / (count if closed_end else count + 1)


#: half-width, in time sd of a traced corner, of the window in which an event's traced drop is
#: looked for (:func:`event_times`): a drop drawn with a line lw pixels wide spreads over about
#: lw + 1 pixel columns, and time sd is sqrt(1/12 + (lw/4)^2) pixels
EVENT_WINDOW_SD = 4.0


def event_times(plan: Plan, d: np.ndarray, c: np.ndarray, n_start: int,
                cens_by_seg: list[np.ndarray]) -> np.ndarray:
    """Time of the events at each drop node: sub-pixel, from the traced curve's area.

    A traced drop is not one vertical edge: a line lw pixels wide makes the columns inside the
    drop's stroke read about halfway down (the centre of the ink), so the trace shows a staircase
    of part-drops over 2-3 columns, and its corners are up to a pixel off the true time (the
    solver puts the events on one of them). A step from the reconstructed level R_b to R_a at
    time tau has the same area as the traced curve S over a window [lo, hi] around the node when
    tau = lo + integral of clip((S - R_a) / (R_b - R_a), 0, 1) dt: the centre of the traced
    staircase, exact for a clean edge. The window is EVENT_WINDOW_SD time sd either side of the
    node, cut halfway to the neighbouring nodes that carry events; tau is then kept between the
    risk-table times and the censorings around the node, so every number at risk is unchanged.
    Nodes without a time uncertainty (``plan.time_sd`` 0: exact or clicked coordinates) keep
    their time."""
    K = plan.kind.size
    times = plan.time.astype(float).copy()
    sd = float(plan.time_sd)
    ev_nodes = np.flatnonzero((d > 0) & (plan.kind == 0))
    if sd <= 0 or ev_nodes.size == 0:
        return times
    before, after = km_levels(plan, d, c, n_start)
    drops = np.flatnonzero(plan.kind == 0)
    u, lev = plan.time[drops], plan.after[drops]
    risk_t = plan.time[plan.kind == 1]
    half = EVENT_WINDOW_SD * sd
    for j, k in enumerate(ev_nodes):
        r_b, r_a = float(before[k]), float(after[k])
        if not r_b > r_a or not plan.after[k] > 0:
            continue  # a drop to 0 (the last patient) keeps the time the curve reaches 0
        t = float(plan.time[k])
        lo, hi = t - half, t + half
        if j > 0:
            lo = max(lo, 0.5 * (t + float(plan.time[ev_nodes[j - 1]])))
        if j + 1 < ev_nodes.size:
            hi = min(hi, 0.5 * (t + float(plan.time[ev_nodes[j + 1]])))
        # bounds that keep every number at risk: the risk-table times around the node (an
        # event at a risk time is at risk there) and the censorings of the segments around it
        # (a censoring at an event's time is at risk at it)
        r_lo = risk_t[risk_t <= t]
        r_hi = risk_t[risk_t > t]
        c_lo = cens_by_seg[k]
        c_hi = cens_by_seg[k + 1] if k + 1 <= K else np.empty(0)
        floor = max([0.0] + ([float(r_lo[-1])] if r_lo.size else []))
        ceil = min([float(plan.seg_end[-1])] + ([float(np.nextafter(r_hi[0], -np.inf))] if r_hi.size else [])
                   + ([float(c_hi.min())] if c_hi.size else []))
        strict = float(c_lo.max()) if c_lo.size else -np.inf
        if not hi > lo or not ceil >= floor:
            continue
        # the traced curve on [lo, hi]: piecewise constant between its drop times
        inside = (u > lo) & (u < hi)
        edges = np.concatenate([[lo], u[inside], [hi]])
        pos = np.searchsorted(u, lo, side="right") - 1
        first = float(lev[pos]) if pos >= 0 else 1.0
        levels = np.concatenate([[first], lev[inside]])
        frac = np.clip((levels - r_a) / (r_b - r_a), 0.0, 1.0)
        tau = lo + float(np.sum(frac * np.diff(edges)))
        tau = min(max(tau, floor), ceil)
        if tau <= strict:
            tau = min(float(np.nextafter(strict, np.inf)), t)
        times[k] = tau
    return times


def exact_arm(arm: ArmInput, sigma: float | None = None, spread_weight: float = SPREAD_WEIGHT) -> ArmResult:
    """Reconstruct one arm with the exact DP; see the module docstring."""
    plan, d, c, n_start, n_estimated, notes = _solve(arm, sigma, spread_weight)
    K = plan.kind.size
    cens = []
    cens_by_seg = [np.empty(0)] * (K + 1)
    # unused marks that were soft evidence (reliability < 1): the least reliable go unused
    soft_unused, soft_span = 0, []
    for g, marks in enumerate(plan.mark_times):
        spare = marks.size - max(int(c[g]), 0)
        if spare > 0 and plan.mark_rel is not None:
            n_soft = min(spare, int(np.sum(plan.mark_rel[g] < 1.0)))
            if n_soft:
                soft_unused += n_soft
                soft_span += [float(marks[0]), float(marks[-1])]
    for g in range(K + 1):
        marks = plan.mark_times[g]
        cnt = int(c[g])
        if cnt <= 0:
            continue
        if cnt <= marks.size:
            rel = plan.mark_rel[g] if plan.mark_rel is not None else np.ones(marks.size)
            if cnt == marks.size:
                pick = marks
            elif np.all(rel == rel[0]):
                pick = marks[np.linspace(0, marks.size - 1, cnt).round().astype(int)]
            else:  # the most reliable marks are the ones used
                pick = marks[np.sort(np.argsort(-rel, kind="stable")[:cnt])]
            cens.append(pick)
            cens_by_seg[g] = pick
            continue
        cens.append(marks)
        cens.append(_spread_times(plan.seg_start[g], plan.seg_end[g], cnt - marks.size, g == K))
        cens_by_seg[g] = np.concatenate(cens[-2:])
    ev = np.repeat(event_times(plan, d, c, n_start, cens_by_seg), d)
    unused = int(sum(max(m.size - int(c[g]), 0) for g, m in enumerate(plan.mark_times)))
    if soft_unused:
        notes.append(
            f"discounted {soft_unused} censor mark(s) read inside ribbons of marks or on drops "
            f"(between times {min(soft_span):g} and {max(soft_span):g}): soft evidence, fewer censorings "
            f"fit the curve and numbers at risk there"
        )
        unused -= soft_unused
    if unused > 0:
        notes.append(f"{unused} censor mark(s) could not be used (more marks than patients left)")
    # events the solver put on a twin drop (:func:`reconstruct.plan.twin_drops`): part of a
    # drop traced near a risk-table time moved to its other side
    twins = np.flatnonzero((plan.kind == 0) & (plan.after == plan.before) & (d > 0))
    for g in twins:
        risk = plan.time[plan.kind == 1]
        r = float(risk[np.argmin(np.abs(risk - plan.time[g]))]) if risk.size else float(plan.time[g])
        side = "before" if plan.time[g] < r else "at"
        notes.append(f"moved {int(d[g])} event(s) of a drop traced near the risk-table time {r:g} to just "
                     f"{side} it: the step heights and levels fit the numbers at risk there")
    n_pre = at_risk_path(plan, d, c, n_start)
    for g in np.flatnonzero(plan.kind == 1):
        if n_pre[g] != plan.target[g]:
            notes.append(
                f"number at risk at time {plan.time[g]:g} reconstructed as {n_pre[g]} "
                f"(published {int(plan.target[g])}): curve and risk table disagree"
            )
    ct = np.concatenate(cens) if cens else np.empty(0)
    time = np.concatenate([ev, ct])
    event = np.concatenate([np.ones(ev.size, int), np.zeros(ct.size, int)])
    return ArmResult(time=time, event=event, n_total=int(n_start), n_estimated=n_estimated, notes=notes)
