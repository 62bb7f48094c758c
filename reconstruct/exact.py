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
  each drop height, digitization noise ``sigma``) + a small penalty for the unmarked censorings
  deviating from an even spread in time within their interval, + mu * d_k.

The DP is vectorised over n with numpy; for large arms n is restricted to a band around a
continuous reference path. Total events D, when given, are matched exactly: mu is set by
bisection (Lagrangian relaxation) and a remaining gap of a few events is closed by the cheapest
single moves (one event more at a drop, one censoring fewer right after it, or vice versa).

The noise level sigma is read off the data (:func:`_noise_level`): exact coordinates pin n at
every drop (and narrow the band, which makes 10,000-patient arms fast); with noisy clicks the
DP solution is also re-rounded Guyot-style against the reconstructed KM (:func:`_walk`) and the
one closer to the curve is kept, so that noise in single step heights does not accumulate.
"""
from __future__ import annotations

import numpy as np

from reconstruct.arm import ArmInput, ArmResult, estimate_n
from reconstruct.dp import INF, PathDP
from reconstruct.plan import Plan, at_risk_path, build_plan, km_levels, noise_level, pin_exact

#: weight of the even-spread penalty on unmarked censorings, relative to the height cost
SPREAD_WEIGHT = 1.0


def _solve(arm: ArmInput, sigma: float, spread_weight: float):
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
        notes.append(f"N unknown: estimated N = {n0} from the step heights")
    plan = build_plan(arm, float(n0), free_start)
    if sigma is None:
        sigma = noise_level(plan)
    if sigma <= 1e-8:
        pin_exact(plan)
    dp = PathDP(plan, sigma, spread_weight)
    K = plan.kind.size
    D = arm.total_events

    def solve(mu: float):
        _, trace = dp.run(start[0], start[1], mu)
        return PathDP.backtrack(trace, K)

    d, c, n_start = solve(0.0)
    if sigma > 1e-6:
        d, c, n_start = _refine(dp, d, c, n_start)
    if D is not None and int(d.sum()) != D:
        d, c, n_start = _match_events(dp, solve, d, c, n_start, D, notes)
    if n_estimated and free_start:
        notes.append(f"N unknown: estimated N = {n_start} (solver, from the curve and risk table)")
    return plan, d, c, n_start, n_estimated, notes


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
        weights = plan.seg_end[segs] - plan.seg_start[segs]
        marks = plan.marks[segs]
        target = int(plan.target[g1]) if g1 < K else 0
        unmarked = int(sum(max(int(c[g]) - int(plan.marks[g]), 0) for g in segs if g < K))
        cs = c[segs].copy()
        for _ in range(max_rounds):
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
            if gap == 0 or g1 == K:
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


def _refine(dp: PathDP, d, c, n_start):
    """Noisy heights: also try Guyot-style sequential rounding (:func:`_walk`) on the DP's
    censoring pattern and keep whichever reconstructed KM is closer to the curve
    (time-weighted |dS| after each drop)."""
    plan = dp.p
    drops = np.flatnonzero(plan.kind == 0)
    if drops.size == 0:
        return d, c, n_start
    width = np.diff(np.append(plan.time[drops], plan.seg_end[-1]))

    def score(sol):
        _, after = km_levels(plan, *sol)
        return float(np.sum(np.abs(after[drops] - plan.after[drops]) * width))

    walked = _walk(plan, d, c, n_start)
    if walked is not None and score(walked) < score((d, c, n_start)):
        return walked
    return d, c, n_start


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


def exact_arm(arm: ArmInput, sigma: float | None = None, spread_weight: float = SPREAD_WEIGHT) -> ArmResult:
    """Reconstruct one arm with the exact DP; see the module docstring."""
    plan, d, c, n_start, n_estimated, notes = _solve(arm, sigma, spread_weight)
    K = plan.kind.size
    ev = np.repeat(plan.time, d)
    cens = []
    for g in range(K + 1):
        marks = plan.mark_times[g]
        cnt = int(c[g])
        if cnt <= 0:
            continue
        if cnt <= marks.size:
            pick = marks[np.linspace(0, marks.size - 1, cnt).round().astype(int)] if cnt < marks.size else marks
            cens.append(pick)
            continue
        cens.append(marks)
        cens.append(_spread_times(plan.seg_start[g], plan.seg_end[g], cnt - marks.size, g == K))
    unused = int(sum(max(m.size - int(c[g]), 0) for g, m in enumerate(plan.mark_times)))
    if unused:
        notes.append(f"{unused} censor mark(s) could not be used (more marks than patients left)")
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
