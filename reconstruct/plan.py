"""The node sequence the exact solver walks: drops of the cleaned step curve and risk-table
times in time order with the censoring segments between them, a continuous reference path of
the number at risk, and the digitization noise level read off the data.

Times in x-axis units; counts are patients.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from reconstruct.arm import ArmInput

#: intervals whose number at risk changes by at most this are solved over the full range of n
FULL_RANGE = 400
#: segments expecting more unmarked censorings than this only try counts within
#: :data:`WINDOW_SD` sd (sqrt of the expected count) of it: far fewer are as unlikely as far
#: more, and trying 0..expected made large arms cost time growing with N
LARGE_SEGMENT = 2000
WINDOW_SD = 8.0


def censoring_floor(expected: np.ndarray) -> np.ndarray:
    """Fewest unmarked censorings tried per segment: 0, or expected - WINDOW_SD sd - 10 for
    segments expecting more than LARGE_SEGMENT."""
    e = np.asarray(expected, float)
    lo = np.floor(e - WINDOW_SD * np.sqrt(np.maximum(e, 0.0)) - 10.0)
    return np.where(e > LARGE_SEGMENT, np.maximum(lo, 0.0), 0.0)


@dataclass
class Plan:
    """The node sequence of one arm: drops and risk times in time order, with the censoring
    segments between them (segment g runs from node g-1 to node g; segment 0 from time 0,
    the last one to the curve's end inclusive)."""

    kind: np.ndarray        # per node: 0 drop, 1 risk-table constraint
    time: np.ndarray        # node times
    before: np.ndarray      # drop: level before; risk: nan
    after: np.ndarray       # drop: level after
    target: np.ndarray      # risk: number at risk; drop: -1
    seg_start: np.ndarray   # segment g start time (K + 1 segments)
    seg_end: np.ndarray
    marks: np.ndarray       # censor marks per segment
    mark_times: list        # per segment, the marks' times
    expected: np.ndarray    # expected unmarked censorings per segment
    xmax: np.ndarray        # max unmarked censorings per segment
    xmin: np.ndarray        # min unmarked censorings per segment (0 unless many are expected)
    ref: np.ndarray         # reference number at risk before node g (K + 2 states: start .. end)
    half: np.ndarray        # half-width of the state band at each state
    smoothed: bool = False  # preprocessing moved points: the coordinates are noisy
    #: per segment, the marks its risk interval holds beyond the room the curve's drops and the
    #: numbers at risk leave for censorings (patients; <= 0 where they fit)
    mark_surplus: np.ndarray | None = None
    #: per segment, patients the interval's implied events shift per unit of noise in the levels
    mark_spread: np.ndarray | None = None
    #: per segment, the reliability (0-1) of each of its marks (same order as mark_times)
    mark_rel: list | None = None
    #: standard uncertainty (x-axis units) of a traced drop's time when the solve treated the
    #: coordinates as noisy, else 0: events are then timed by :func:`event_times`
    time_sd: float = 0.0
    #: standard uncertainty of a traced corner's survival (probability) for noisy coordinates
    survival_sd: float = 0.0
    #: per segment, its share of an interval's unmarked censorings before normalising
    #: (:func:`censoring_density`: length x KM level)
    seg_weight: np.ndarray | None = None
    #: per node, log of the expected events in one drop's time resolution there (a drop of a
    #: traced curve; :func:`set_tie_prior`), NaN where events at one drop cost nothing extra;
    #: None: no tie prior (exact or clicked coordinates)
    tie_log_mu: np.ndarray | None = None
    #: per node, the least of log d! - d log mu over d >= 1 (the tie cost's zero)
    tie_min: np.ndarray | None = None


#: spread an interval's unmarked censorings in proportion to time x KM level (True) or to
#: time alone (False); see :func:`censoring_density`
CENSOR_BY_LEVEL = True


def censoring_density(length: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Relative number of unmarked censorings expected in segments of ``length`` (x-axis units)
    at KM ``level`` (the curve's level in the segment, relative to its start).

    A patient can only be censored at time t if event-free until t: with potential censoring
    times spread evenly over an interval (staggered accrual: each patient's administrative
    censoring time is the study's cut-off minus their entry), censorings fall at a rate
    proportional to S(t), not evenly in time. Spreading them evenly in time puts too many late,
    when few are left: the numbers at risk at the drops are then too high early in the
    interval and every step of the curve asks for more events (R-drawn figures: events too
    high in every arm with a steep, densely traced interval)."""
    length = np.maximum(np.asarray(length, float), 0.0)
    if not CENSOR_BY_LEVEL:
        return length
    return length * np.maximum(np.asarray(level, float), 0.0)


def twin_drops(u: np.ndarray, before: np.ndarray, after: np.ndarray, risk_times: np.ndarray,
               tol: float, span: float) -> tuple[np.ndarray, np.ndarray]:
    """Times and levels of zero-height "twin" drops on the other side of risk-table times.

    A drop traced within ``tol`` (x-axis units: SIDE_SD time sd of a corner) after a risk time
    r may hold events that happened just before r (the trace puts a whole cluster of events at
    one pixel column), and one traced just before r events at r or just after it. Its twin is a
    drop node of height 0 at r - eps (or at r, after the risk node) at the level of the plateau
    there; the solver may move events of the drop to its twin (:mod:`reconstruct.polish`), so
    that each part of the drop gets the number at risk of its side of r."""
    tt, ll = [], []
    if tol <= 0 or u.size == 0:
        return np.empty(0), np.empty(0)
    for r in risk_times:
        if r <= 0:
            continue
        k = int(np.searchsorted(u, r, side="left"))  # first drop at or after r
        if k < u.size and u[k] - r <= tol and after[k] > 0:
            prev = u[k - 1] if k > 0 else 0.0
            eps = min(1e-6 * span, 0.5 * (r - prev))
            if eps > 0:
                tt.append(r - eps)
                ll.append(before[k])
        if k > 0 and r - u[k - 1] <= tol and after[k - 1] > 0 and (k >= u.size or u[k] > r):
            tt.append(float(r))
            ll.append(after[k - 1])
    return np.asarray(tt, float), np.asarray(ll, float)


def build_plan(arm: ArmInput, n_start: float, free_start: bool, twin_tol: float = 0.0) -> Plan:
    """The node sequence of ``arm`` (see :class:`Plan`); twin_tol > 0 adds zero-height twin
    drops on the other side of risk times near drops (:func:`twin_drops`)."""
    curve = arm.curve
    u, before, after = curve.steps()
    if PLATEAU_MEAN and u.size > 1:
        after = plateau_levels(curve, u, after, float(getattr(arm, "survival_sd", 0.0) or 0.0))
        before = np.concatenate([before[:1], after[:-1]])
    t_end = curve.t_end
    rt, rn = arm.risk_times, arm.n_risk
    keep = rt > 0
    rt, rn = rt[keep], rn[keep]
    if twin_tol > 0:
        tw_t, tw_l = twin_drops(u, before, after, rt, twin_tol, t_end)
        if tw_t.size:
            order = np.argsort(np.concatenate([u, tw_t]), kind="stable")
            u = np.concatenate([u, tw_t])[order]
            before = np.concatenate([before, tw_l])[order]
            after = np.concatenate([after, tw_l])[order]
    times = np.concatenate([rt, u])
    kind = np.concatenate([np.ones(rt.size, int), np.zeros(u.size, int)])
    order = np.lexsort((-kind, times))  # at equal times the risk count comes before the drop
    kind, times = kind[order], times[order]
    bef = np.concatenate([np.full(rt.size, np.nan), before])[order]
    aft = np.concatenate([np.full(rt.size, np.nan), after])[order]
    tgt = np.concatenate([rn.astype(float), np.full(u.size, -1.0)])[order]
    K = times.size
    seg_start = np.concatenate([[0.0], times])
    seg_end = np.concatenate([times, [t_end]])
    marks_t = arm.censor_times
    a = np.searchsorted(marks_t, seg_start, side="left")
    b = np.searchsorted(marks_t, seg_end, side="left")
    b[-1] = marks_t.size
    marks = b - a
    mark_times = [marks_t[i:j] for i, j in zip(a, b)]
    rel = np.ones(marks_t.size) if arm.censor_weights is None else np.asarray(arm.censor_weights, float)
    mark_rel = [rel[i:j] for i, j in zip(a, b)]

    # Continuous reference model per constrained interval: n falls by the KM factor at each
    # drop and by (marks + X * share of time) in each segment; X is solved so that the interval
    # ends at its published count (or at 0 after the curve's end).
    expected = np.zeros(K + 1)
    surplus = np.zeros(K + 1)
    spread = np.zeros(K + 1)
    ref = np.zeros(K + 2)
    half = np.zeros(K + 2)
    bounds = [i for i in range(K) if kind[i] == 1]
    # interval = (first segment, last segment, start count, end target)
    starts = [0] + [i + 1 for i in bounds]
    ends = [i for i in bounds] + [K]
    start_counts = [n_start] + [tgt[i] for i in bounds]
    end_counts = [tgt[i] for i in bounds] + [0.0]
    ratio = np.where(kind == 0, np.divide(aft, bef, out=np.zeros(K), where=bef > 0), 1.0)
    level = np.concatenate([[1.0], np.cumprod(ratio)])  # KM level in segment g (relative)
    if bounds:
        seg_weight = censoring_density(seg_end - seg_start, level[: K + 1])
    else:
        # no risk table: one interval over the whole follow-up, whose administrative
        # censorings start only after the shortest follow-up (none early, where the level
        # is highest): time alone, not the level, spreads them (a 200-patient arm with N
        # only read 10 events short with the level, 7 with time)
        seg_weight = np.array(seg_end - seg_start, float)
    for g0, g1, n0, n1 in zip(starts, ends, start_counts, end_counts):
        segs = np.arange(g0, g1 + 1)
        length = seg_weight[segs]
        total = length.sum()
        share = length / total if total > 0 else np.full(segs.size, 1.0 / segs.size)
        # a drop to 0 inside the interval: the curve reaches 0 when the last patient at risk
        # dies, so the censorings go before it and leave one patient (not n1 after the end:
        # that would read the drop as everybody left dying at once)
        zero = [g for g in segs[:-1] if kind[g] == 0 and ratio[g] <= 0.0]
        if zero:
            g1z, n1z = zero[0], 1.0
            share = np.where(segs <= g1z, length, 0.0)
            share = share / share.sum() if share.sum() > 0 else (segs <= g1z) / float(g1z - g0 + 1)
        else:
            g1z, n1z = g1, n1
        # n after segment g1z = A - B * X; nodes g0..g1z-1 are the drops before it
        A, B = float(n0), 0.0
        for g in segs[segs <= g1z]:
            A -= marks[g]
            B += share[g - g0]
            if g < g1z:
                A *= ratio[g]
                B *= ratio[g]
        X = max((A - n1z) / B, 0.0) if B > 1e-12 else 0.0
        # the marks plus the events the curve's drops imply leave fewer than n1z at risk: that
        # many marks (or the curve) are wrong -- no censoring pattern fits all three. The
        # implied events move by about n0 sqrt(2) noise / level when both end levels are off
        surplus[segs] = n1z - A
        spread[segs] = float(n0) * np.sqrt(2.0) / max(level[g0], 1e-3)
        expected[segs] = X * share
        # reference path: ref[g + 1] is the number at risk after segment g (before node g)
        n = float(n0)
        events = 0.0
        ref[g0] = n
        for g in segs:
            n = max(n - marks[g] - expected[g], 0.0)
            ref[g + 1] = n
            if g < g1:
                events += n * (1 - ratio[g])
                n *= ratio[g]
        span = abs(n0 - n1)
        # n deviates from the reference mainly through the timing of the unmarked censorings
        # (a bridge with sd about sqrt(X) / 2 mid-interval): +-4 sd plus slack
        w = np.inf if span <= FULL_RANGE else np.ceil(2 * np.sqrt(X + 1)) + 6
        if free_start and g0 == 0:
            w = max(w, n0 * 0.5 + 10)
        half[g0 : g1 + 2] = np.maximum(half[g0 : g1 + 2], w)
    xmax = np.ceil(expected + 3 * np.sqrt(expected) + 2)
    xmax[(seg_end - seg_start) <= 0] = 0
    xmin = np.minimum(censoring_floor(expected), xmax)
    return Plan(kind, times, bef, aft, tgt, seg_start, seg_end, marks, mark_times, expected, xmax, xmin, ref, half,
                smoothed=curve.smoothed, mark_surplus=surplus, mark_spread=spread, mark_rel=mark_rel,
                seg_weight=seg_weight)


#: read each plateau's level from both its corners (:func:`plateau_levels`), not from the
#: corner at the bottom of the drop entering it alone
PLATEAU_MEAN = True
#: two readings of one plateau differ by at most this many corner survival sd (pixel rows
#: quantised after +-0.5 px jitter differ by at most a row: 2.4 sd)
PLATEAU_PAIR_SD = 2.5


def plateau_levels(curve, u: np.ndarray, after: np.ndarray, survival_sd: float) -> np.ndarray:
    """Per drop at times ``u`` (levels ``after`` it, from ``curve.steps()``), the level of the
    plateau after it read from both its corners: the bottom corner of the drop entering it and
    the top corner of the next drop, leaving it.

    Each digitized corner is its own reading of the plateau's level (a click, a pixel-quantised
    point); the step function keeps only the bottom one (the lowest point at its time), so the
    top one, where it lies below it, was lost -- and where it lay above, isotonic regression
    already pooled the two: the level kept was biased up. The mean of both is the plateau's
    best reading. A traced curve gives both corners the plateau's one level (digitize.steps.
    step_corners): there this is that level. Where the next drop has no top corner of its own
    (a single point at its time: a slope read as a step), or its highest point lies further
    below than two readings of one level differ (PLATEAU_PAIR_SD corner sd ``survival_sd``:
    that point is a lower corner of drops merged in one column, whose top corner was read a
    column earlier), the bottom corner alone; without a corner uncertainty (exact or clicked
    coordinates taken as exact) the bottom corner alone."""
    out = np.asarray(after, float).copy()
    if u.size < 2 or not survival_sd > 0:
        return out
    t, s = np.asarray(curve.time, float), np.asarray(curve.survival, float)
    uniq, idx, cnt = np.unique(t, return_index=True, return_counts=True)
    top = np.maximum.reduceat(s, idx)
    pos = np.clip(np.searchsorted(uniq, u[1:]), 0, uniq.size - 1)
    ok = (uniq[pos] == u[1:]) & (cnt[pos] >= 2) & (top[pos] <= after[:-1]) & (top[pos] > after[1:]) \
        & (after[:-1] > 0) & (after[:-1] - top[pos] <= PLATEAU_PAIR_SD * survival_sd)
    out[:-1] = np.where(ok, 0.5 * (after[:-1] + top[pos]), after[:-1])
    return out
    drops = np.flatnonzero(kind == 0)
    # for each drop, the next real drop after it
    j = np.searchsorted(real, drops, side="right")
    has = j < real.size
    nxt = real[np.minimum(j, real.size - 1)]
    ok = has & (after[drops] > 0)
    out[drops[ok]] = 0.5 * (after[drops[ok]] + before[nxt[ok]])
    return out


def mark_weights(plan: Plan, noise: float, hard: float, soft: float) -> np.ndarray:
    """Cost per unused censor mark in each segment (DP cost units, (height error / sigma)^2).

    Marks are near-certain censorings (``hard``) -- except, for noisy coordinates (a traced
    figure, whose marks are detected too), in a risk interval whose marks exceed the room for
    censorings that its numbers at risk leave after the events the curve's drops imply, by
    more than a patient plus 2 sd of the events' reading error (``plan.mark_spread`` * noise,
    noise the drop-height sigma in probability units): no censoring pattern fits curve, table
    and marks there, and the surplus marks are more likely false detections (another curve's
    crossing, a confidence band's edge) than the curve is a whole event off. There a mark
    costs ``soft``, so the solver drops marks rather than events the curve shows."""
    w = np.full(plan.marks.size, float(hard))
    if noise > 1e-6 and plan.mark_surplus is not None:
        w[plan.mark_surplus > 1.0 + 2.0 * noise * plan.mark_spread] = soft
    return w


def noise_level(plan: Plan, band: int = 30) -> float:
    """Digitization noise sigma (probability units) for the drop-height cost, from the data.

    Exact coordinates make every drop height S_{k-1} d / n for whole d and n: the best such
    fraction with n near the reference number at risk then misses by rounding error only, far
    less than the spacing S_{k-1} / n^2 between neighbouring candidates. If the median miss is
    below 1 % of that spacing the coordinates are taken as exact (sigma = 1e-9, heights pin n)
    -- unless preprocessing had to move points or the levels sit on a pixel grid
    (:func:`_on_pixel_grid`): heights read off pixel rows are fractions too.
    Otherwise sigma is the rms miss of the height at the reference n (noise plus reference
    error), clipped to [2e-4, 0.02], so that noisy heights cannot pull n around.
    """
    drops = np.flatnonzero((plan.kind == 0) & (plan.after > 0) & (plan.after < plan.before))
    if drops.size == 0:
        return 1e-3
    b, a = plan.before[drops], plan.after[drops]
    ref = np.maximum(plan.ref[drops + 1], 1.0)
    w = np.minimum(plan.half[drops + 1], band)
    offs = np.arange(-band, band + 1)[None, :]
    n = np.rint(ref)[:, None] + offs
    valid = (np.abs(offs) <= w[:, None]) & (n >= 1)
    n = np.maximum(n, 1)
    d = np.maximum(np.rint(n * (1 - a / b)[:, None]), 1)
    miss = np.abs(b[:, None] * d / n - (b - a)[:, None])
    best = np.where(valid, miss, np.inf).min(axis=1)
    spacing = b / ref**2 * np.maximum(np.rint(ref * (1 - a / b)), 1)
    rel = best / spacing
    rel = rel[np.isfinite(rel)]
    if rel.size and np.median(rel) < 0.01 and not plan.smoothed and not _on_pixel_grid(plan):
        return 1e-9
    d_ref = np.rint(ref * (1 - a / b))
    at_ref = b * d_ref / ref - (b - a)
    return float(np.clip(np.sqrt(np.mean(at_ref**2)), 2e-4, 0.02))


def _on_pixel_grid(plan: Plan, h_min: int = 20, h_max: int = 2000) -> bool:
    """True when (nearly) every drop level is a multiple of 1/H for some H in [h_min, h_max]
    that is not a multiple of N: survival read off pixel rows of an H-pixel-high plot. Such
    heights are fractions too (d/n with n = H / gcd) and could pass for exact coordinates.
    A grid that is a multiple of N (e.g. a 400 px plot of 40 patients) is ambiguous and left
    to the fraction test."""
    drops = plan.kind == 0
    levels = np.unique(np.concatenate([plan.before[drops], plan.after[drops]]))
    levels = levels[(levels > 0) & (levels < 1)][:300]
    if levels.size < 3:
        return False
    h = np.arange(h_min, h_max + 1)[:, None]
    x = levels[None, :] * h
    # most, not all: isotonic regression averages a few levels off the grid
    grid = np.flatnonzero(np.mean(np.abs(x - np.rint(x)) < 1e-6, axis=1) >= 0.8)
    if grid.size == 0:
        return False
    h_grid = int(h[grid[0], 0])
    n0 = int(round(plan.ref[0]))
    # exact levels are fractions whose common denominator is (nearly always) a multiple of N:
    # k / N before the first censoring, times further factors n_j after it
    return n0 <= 0 or h_grid % n0 != 0


def pin_exact(plan: Plan, band: int = 3) -> None:
    """Exact coordinates: each drop's factor S_k / S_{k-1} = 1 - d / n is a fraction, so
    n = d / (1 - S_k / S_{k-1}) for the d (1..60) giving the only whole n inside the band.
    Narrows the DP band to +-``band`` there and lets the censorings between pinned states
    through (speed only: a wrong pin makes the band infeasible and the robust pass takes over)."""
    drops = np.flatnonzero((plan.kind == 0) & (plan.after > 0) & np.isfinite(plan.half[1:-1]))
    if drops.size == 0:
        return
    hazard = 1.0 - plan.after[drops] / plan.before[drops]
    ref = plan.ref[drops + 1]
    tol = plan.half[drops + 1]
    cand = np.arange(1, 61)[None, :] / hazard[:, None]
    whole = np.abs(cand - np.rint(cand)) <= 1e-6 * np.maximum(cand, 1.0)
    near = whole & (np.abs(cand - ref[:, None]) <= tol[:, None])
    # pin only where exactly one whole n lies within the band (ties can make several fit)
    unique = near.sum(axis=1) == 1
    j = np.argmax(near, axis=1)
    found = unique
    g = drops[found]
    n_pin = np.rint(cand[np.arange(drops.size), j][found])
    plan.ref[g + 1] = n_pin
    plan.half[g + 1] = band
    # censorings between two known states follow; widen those segments to allow them
    K = plan.kind.size
    pre = np.full(K, np.nan)
    post = np.full(K, np.nan)
    pre[g] = n_pin
    post[g] = n_pin - np.rint(n_pin * hazard[found])
    risk = plan.kind == 1
    pre[risk] = post[risk] = plan.target[risk]
    seg = np.arange(1, K)
    cens = post[seg - 1] - pre[seg]
    ok = np.isfinite(cens) & (cens >= plan.marks[seg])
    extra = (cens - plan.marks[seg])[ok]
    plan.expected[seg[ok]] = extra
    plan.xmax[seg[ok]] = np.maximum(plan.xmax[seg[ok]], np.ceil(extra + 2))
    plan.xmin[seg[ok]] = np.minimum(plan.xmin[seg[ok]], censoring_floor(extra))


#: weight of the tie prior (:func:`tie_cost`, -2 log likelihood units); 0 switches it off
TIE_WEIGHT = 1.0
#: drops either side of drop k (in time order) over which its occupancy is read
TIE_WINDOW = 4
#: a traced drop's time resolution (events closer show as one drop): the TIE_GAP_QUANTILE of
#: the gaps between consecutive drops (one pixel column on a trace), within TIE_RESOLUTION_SD
#: corner time sd
TIE_RESOLUTION_SD = (1.0, 3.0)
TIE_GAP_QUANTILE = 0.1
#: no tie prior where the share of resolution cells holding a drop exceeds this: where events
#: are dense the share says little about how many each drop holds (the cell's width, over-
#: dispersed rates), and two events in one column are common anyway (mu > 0.36 at 0.3)
TIE_MAX_SHARE = 0.3


def set_tie_prior(plan: Plan, time_sd: float, near_risk: float = 0.0) -> None:
    """Set the tie prior of ``plan``'s drops (:func:`tie_cost`) for a traced curve whose drop
    times have standard uncertainty ``time_sd`` (x-axis units).

    Event times are continuous (days at least): two patients' events fall within one drop's
    time resolution w (the closest drops' spacing: a pixel column) only as often as a
    Poisson count with the local event rate allows. That rate is read off the trace itself, not
    off the numbers at risk: where a share p of the resolution cells around drop k
    (:data:`TIE_WINDOW` drops either side) holds a drop, the cells' events are Poisson with
    mean mu = -log(1 - p). Heights (1 - d / n) cannot tell one event at n from two at 2n, and
    the levels neither; the density of drops can: a sparse stretch of single steps is single
    events (n = S / height), so the patients there were at risk in that number, not twice it,
    and the censorings that took the rest happened before (R-drawn figures: late drops read as
    two events each, censorings of a risk interval pushed after them). Drops within
    ``near_risk`` (x-axis units) of a risk-table time get none (their events may be split
    across it, :func:`twin_drops`), nor do drops of height 0 (twins) or to 0."""
    K = plan.kind.size
    plan.tie_log_mu = np.full(K, np.nan)
    plan.tie_min = np.zeros(K)
    if TIE_WEIGHT <= 0 or not time_sd > 0:
        return
    drops = np.flatnonzero((plan.kind == 0) & (plan.after > 0) & (plan.after < plan.before))
    if drops.size < 2:
        return
    t = plan.time[drops]
    gaps = np.diff(t)
    gaps = gaps[gaps > 0]
    w = float(np.quantile(gaps, TIE_GAP_QUANTILE)) if gaps.size else time_sd
    w = float(np.clip(w, TIE_RESOLUTION_SD[0] * time_sd, TIE_RESOLUTION_SD[1] * time_sd))
    i = np.arange(drops.size)
    a = np.maximum(i - TIE_WINDOW, 0)
    b = np.minimum(i + TIE_WINDOW, drops.size - 1)
    share = (b - a + 1) * w / (t[b] - t[a] + w)
    mu = np.where(share <= TIE_MAX_SHARE, -np.log1p(-np.clip(share, 1e-6, TIE_MAX_SHARE)), np.nan)
    risk = plan.time[plan.kind == 1]
    if risk.size and near_risk > 0:
        j = np.searchsorted(risk, t)
        dist = np.minimum(np.abs(t - risk[np.clip(j - 1, 0, risk.size - 1)]),
                          np.abs(risk[np.clip(j, 0, risk.size - 1)] - t))
        mu = np.where(dist <= near_risk, np.nan, mu)
    lm = np.log(mu)
    mode = np.maximum(np.floor(np.nan_to_num(mu, nan=1.0)), 1.0)
    plan.tie_log_mu[drops] = lm
    plan.tie_min[drops] = np.nan_to_num(gammaln(mode + 1.0) - mode * lm)


def tie_cost(plan: Plan, g, d) -> np.ndarray:
    """Cost of ``d`` events at drop node(s) ``g`` (broadcast): TIE_WEIGHT x -2 log of the
    Poisson probability of d events in the drop's resolution cell (mean mu, :func:`set_tie_prior`),
    relative to its likeliest count >= 1; 0 for d = 0 (a traced drop of noise) and where no
    prior is set."""
    d = np.asarray(d)
    if plan.tie_log_mu is None:
        return np.zeros(np.broadcast(np.asarray(g), d).shape)
    lm = plan.tie_log_mu[g]
    ok = np.isfinite(lm) & (d >= 1)
    ds = np.maximum(d, 1).astype(float)
    v = gammaln(ds + 1.0) - ds * np.nan_to_num(lm) - plan.tie_min[g]
    return np.where(ok, 2.0 * TIE_WEIGHT * v, 0.0)


def km_levels(plan: Plan, d, c, n_start) -> tuple[np.ndarray, np.ndarray]:
    """Reconstructed KM just before and just after each node."""
    n_pre = at_risk_path(plan, d, c, n_start)
    factor = np.where(n_pre > 0, 1.0 - d / np.maximum(n_pre, 1), 1.0)
    after = np.cumprod(factor)
    before = np.concatenate([[1.0], after[:-1]])
    return before, after


def at_risk_path(plan: Plan, d: np.ndarray, c: np.ndarray, n_start: int) -> np.ndarray:
    """Number at risk before each node (K values)."""
    K = plan.kind.size
    n_pre = np.empty(K, np.int64)
    n = n_start
    for g in range(K):
        n -= c[g]
        n_pre[g] = n
        n -= d[g]
    return n_pre
