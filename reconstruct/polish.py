"""Level polish: integer moves that make the reconstructed KM follow the traced LEVELS.

The DP (:mod:`reconstruct.dp`) scores each drop's height separately. On a traced figure the
levels are read far more surely than single heights (a plateau spans many pixel columns) and
one patient at risk too few at one drop shifts every later level of the curve: a systematic
error the height cost cannot see (each height is off by a fraction of its noise) but the
integral of |S_rec - S_true| does. Where censorings fall inside a risk-table interval (the
table fixes only their total) sets the number at risk at each drop and so these offsets.

This polish minimises over whole solutions

    J = sum over drops k of w_k (S_k - a_k)^2 / sigma^2  +  sum over segments of pen(g, c_g)

(S_k the reconstructed KM after drop k, a_k the digitized level after it, w_k its plateau's
length in units of the mean plateau, so that J weighs levels as the IAE does; pen the DP's
censoring prior: even spread of unmarked censorings, censor marks by their reliability) by
greedy single integer moves that keep every published number at risk (and D when given):

* one censoring moved across a drop (to the segment before or after it): the number at risk
  at that drop changes by one;
* one event moved to the neighbouring drop (no risk-table time between);
* one event more (fewer) at a drop and one censoring fewer (more) right after it (only when D
  is not given), or in a segment of the same risk interval up to PAIR_SPAN nodes away.

(S_k - a_k)^2 is weighted by the inverse variance of the traced plateau's level, which falls
steeply with the plateau's length (:func:`plateau_sd`): plateaus inside a drop's stroke read
halfway down, long ones to a tenth of a pixel.

Every move's change of J is evaluated for all candidates at once from suffix sums of
w S^2 and w S a (a move scales every later level by one factor), the best is applied, until no
move lowers J or :data:`MAX_MOVES` moves were made (time stays bounded). Where several counts
must change together, :func:`band_levels` solves J exactly within a band of the numbers at risk.
"""
from __future__ import annotations

import numpy as np

from reconstruct.plan import Plan, tie_cost

#: a traced plateau's level: within a drop's stroke (plateaus up to about PLATEAU_STROKE
#: corner time sd long: a line lw pixels wide reads halfway down its drops' columns) it is
#: off by about PLATEAU_SD_SHORT corner survival sd; longer plateaus are read along many pixel
#: columns, their error falls as 1 / length^2 to PLATEAU_SD_LONG. Measured on the R-drawn
#: figures (30, seed 0, assisted; 7,600 plateaus): median |error| 0.9-1.1 sd up to 3.5 time
#: sd long, 0.6 at 3.5-5, 0.24 at 5-8, 0.13 at 8-15, 0.07 beyond
PLATEAU_SD_SHORT = 1.4
PLATEAU_SD_LONG = 0.1
PLATEAU_STROKE = 4.0
#: try move 5 (an event traded for a censoring up to PAIR_SPAN nodes away, D not given)
JOINT_MOVES = True
#: most moves applied per arm (each costs O(number of nodes) numpy work)
MAX_MOVES = 4000
#: a move must lower J by at least this (cost units) to be applied
MIN_GAIN = 1e-9
#: most moves applied together per round (disjoint node ranges), among the best BATCH_SCAN
MAX_BATCH = 32
BATCH_SCAN = 512
#: most nodes between the two drops of a paired event move
PAIR_SPAN = 40
#: K * span at most this (K nodes): a curve of thousands of drops pairs each with fewer
WORK_SPAN = 20_000
#: candidate evaluations at most this per arm (moves x candidates per move): bounded time
WORK_BUDGET = 30_000_000


def plateau_sd(length_sd: np.ndarray) -> np.ndarray:
    """Standard error of a traced plateau's level, in corner survival sd, for a plateau
    ``length_sd`` corner time sd long (see :data:`PLATEAU_SD_SHORT`)."""
    L = np.maximum(np.asarray(length_sd, float), 1e-9)
    return np.clip(PLATEAU_SD_SHORT * (PLATEAU_STROKE / L) ** 2, PLATEAU_SD_LONG, PLATEAU_SD_SHORT)


def level_weights(plan: Plan, inv_var: float | None = None) -> np.ndarray:
    """Per node: the weight of the level after it (drops); 0 for risk nodes and drops to 0
    (their level is exact).

    A traced figure (``plan.time_sd`` and ``plan.survival_sd`` > 0, and ``inv_var`` given): the
    inverse variance of the plateau's level (:func:`plateau_sd`) in units of ``inv_var``.
    Otherwise the plateau's length in units of the mean plateau (the IAE's weighting)."""
    K = plan.kind.size
    w = np.zeros(K)
    drops = np.flatnonzero(plan.kind == 0)
    if drops.size == 0:
        return w
    t = plan.time[drops]
    nxt = np.append(t[1:], plan.seg_end[-1])
    length = np.maximum(nxt - t, 0.0)
    mean = length.mean()
    w[drops] = length / mean if mean > 0 else 1.0
    if inv_var and plan.time_sd > 0 and plan.survival_sd > 0 and PLATEAU_STROKE > 0:
        sd = plan.survival_sd * plateau_sd(length / plan.time_sd)
        w[drops] = 1.0 / (inv_var * sd * sd)
    w[drops[~(plan.after[drops] > 0)]] = 0.0
    return w


def _n_pre(d: np.ndarray, c: np.ndarray, n_start: int) -> np.ndarray:
    """Number at risk just before each node (after the censorings of its segment)."""
    return n_start - np.cumsum(c[:-1]) - np.concatenate([[0], np.cumsum(d)[:-1]])


def level_cost(plan: Plan, d, c, n_start, weights, inv_var, pen) -> float:
    """J of a solution (see the module docstring)."""
    n = _n_pre(d, c, n_start)
    drop = plan.kind == 0
    f = np.where(drop & (n > 0), 1.0 - d / np.maximum(n, 1), 1.0)
    s = np.cumprod(f)
    a = np.where(drop, plan.after, 0.0)
    level = float(np.sum(weights * (s - a) ** 2)) * inv_var
    ties = float(np.sum(tie_cost(plan, np.arange(d.size), d))) if plan.tie_log_mu is not None else 0.0
    return level + ties + float(np.sum(pen(np.arange(c.size), c)))


def _event_change(d, c, g: int, sgn: int, side: str) -> None:
    """One event more (sgn 1) or fewer at node g, one censoring fewer (more) right after it
    (side "a") or right before it ("b"), in place."""
    d[g] += sgn
    c[g + 1 if side == "a" else g] -= sgn


def _apply(d, c, op) -> None:
    """Apply one move (see :func:`polish_levels`) in place."""
    if op[0] == "c":
        _, src, dst = op
        c[src] -= 1
        c[dst] += 1
    elif op[0] == "e":
        _, g, step = op
        d[g] -= step
        d[g + 1] += step
    elif op[0] == "m":
        _, h, g, sgn = op
        d[g] += sgn
        c[h] -= sgn
    elif op[0] == "x":
        _, g, sgn, side = op
        _event_change(d, c, g, sgn, side)
    else:
        _, g, h, sgn, sg, sh = op
        _event_change(d, c, g, sgn, sg)
        _event_change(d, c, h, -sgn, sh)


def polish_levels(plan: Plan, d: np.ndarray, c: np.ndarray, n_start: int, inv_var: float, pen,
                  keep_events: bool, max_moves: int = MAX_MOVES, min_c: np.ndarray | None = None):
    """Greedy integer moves lowering J (module docstring); returns (d, c, number of moves).

    pen(g, counts) -> cost array: the DP's penalty of ``counts`` censorings in segment g.
    keep_events: the total number of events is fixed (D given). min_c: fewest censorings per
    segment (clear censor marks are censorings: the polish never drops them)."""
    K = plan.kind.size
    d = d.astype(np.int64).copy()
    c = c.astype(np.int64).copy()
    if K == 0:
        return d, c, 0
    w = level_weights(plan, inv_var)
    kind = plan.kind
    drop = (kind == 0) & (plan.after > 0)  # movable drops (a drop to 0 keeps everyone dying)
    a = np.where(kind == 0, np.nan_to_num(plan.after), 0.0)
    g_idx = np.arange(K)
    seg_idx = np.arange(K + 1)
    floor_c = np.zeros(K + 1, np.int64) if min_c is None else np.minimum(np.asarray(min_c, np.int64), c)
    # adjacent nodes g, g + 1 both movable drops: an event may move between them
    pair = np.zeros(K, bool)
    pair[:-1] = drop[:-1] & drop[1:]

    def pen_at(g: np.ndarray, cnt: np.ndarray) -> np.ndarray:
        return pen(g, np.maximum(cnt, 0))

    # bounded work: fewer paired partners per drop and fewer moves on long curves
    span = int(max(1, min(PAIR_SPAN, K, WORK_SPAN // K)))
    offs = np.arange(1, span + 1)
    max_moves = int(min(max_moves, max(1, WORK_BUDGET // (K * (8 * span + 16)))))
    moves = 0
    while moves < max_moves:
        n = _n_pre(d, c, n_start)
        nn = np.maximum(n, 1)
        f = np.where(drop & (n > 0), 1.0 - d / nn, 1.0)
        s = np.cumprod(f)
        ws2 = w * s * s
        wsa = w * s * a
        A = np.cumsum(ws2[::-1])[::-1]  # suffix sums from node g on
        B = np.cumsum(wsa[::-1])[::-1]
        A1 = np.append(A[1:], 0.0)
        B1 = np.append(B[1:], 0.0)

        def d_level(rho, As, Bs, acc=0.0):
            """Level cost change of scaling S by ``rho`` from a node on (suffix sums As, Bs),
            plus ``acc``, the change already summed over the nodes a move spans before it."""
            return (acc + (rho * rho - 1.0) * As - 2.0 * (rho - 1.0) * Bs) * inv_var

        def grow(P, acc, alive, rho, m):
            """A move's running factor ratio P and summed change acc, one node ``m`` further
            for the moves still ``alive``."""
            P = np.where(alive, P * rho[m], P)
            return P, acc + np.where(alive, (P * P - 1.0) * ws2[m] - 2.0 * (P - 1.0) * wsa[m], 0.0)

        cand_gain, cand_apply, cand_range = [], [], []
        # tie prior change of one event more / fewer at each node (:func:`tie_cost`)
        tie_now = tie_cost(plan, g_idx, d)
        tie_d = {sg: tie_cost(plan, g_idx, np.maximum(d + sg, 0)) - tie_now for sg in (1, -1)}
        ok_f = drop & (f > 0)
        # penalty change of one censoring more / fewer in each segment (0 .. K)
        base_pen = pen_at(seg_idx, c)
        pen_up = pen_at(seg_idx, c + 1) - base_pen
        pen_down = np.where(c - 1 >= floor_c, pen_at(seg_idx, c - 1) - base_pen, np.inf)
        # 1) one censoring moved from segment i to a later segment i + k of the same risk
        # interval (n + 1 at nodes i .. i + k - 1) or back (n - 1 there)
        zero_drop = (kind == 0) & ~drop

        def shifted(sh: int):
            """Per node, with ``sh`` more at risk and the same events: the factor's ratio to the
            current one (1 off the movable drops) and whether the counts stay valid."""
            ns = n + sh
            rho = np.where(drop & (f > 0), (1.0 - d / np.maximum(ns, 1)) / np.where(f > 0, f, 1.0), 1.0)
            return rho, (kind == 0) & ~zero_drop & (ns >= d) & ((ns >= 1) | (d == 0))

        def tail(j: np.ndarray):
            """Suffix sums A, B from node j on (0 past the last node)."""
            jc = np.minimum(j, K - 1)
            return np.where(j < K, A[jc], 0.0), np.where(j < K, B[jc], 0.0)

        for step in (1, -1):
            rho_node, node_ok = shifted(step)
            node_ok &= ~(drop & (f <= 0))
            alive = np.ones(K, bool)
            P = np.ones(K)
            acc = np.zeros(K)
            for k in range(1, span + 1):
                m = g_idx + k - 1
                inside = m < K
                mm = np.minimum(m, K - 1)
                alive &= inside & node_ok[mm]
                if not alive.any():
                    break
                P, acc = grow(P, acc, alive, rho_node, mm)
                j = np.minimum(g_idx + k, K)  # segment receiving (or giving) the censoring
                src, dst = (g_idx, j) if step == 1 else (j, g_idx)
                valid = alive & np.isfinite(pen_down[src])
                gi = np.flatnonzero(valid)
                if gi.size == 0:
                    continue
                tail_A, tail_B = tail(j[gi])
                dl = d_level(P[gi], tail_A, tail_B, acc[gi])
                sg_, dg_ = src[gi], dst[gi]
                dp = pen_down[sg_] + pen_up[dg_]
                cand_gain.append(dl + dp)
                cand_apply.append(lambda i, a_=sg_, b_=dg_: ("c", int(a_[i]), int(b_[i])))
                cand_range.append((np.minimum(sg_, dg_), np.maximum(sg_, dg_)))
        # 5) (D not given) one event more (fewer) at drop e and one censoring fewer (more) in a
        # segment h of the same risk interval up to ``span`` nodes before or after it: moves 1
        # and 3 together (each alone may raise J: a censoring the curve does not show traded
        # for an event it does show a few drops later)
        if not keep_events and JOINT_MOVES:
            for sgn in (1, -1):
                pen_h = pen_down if sgn == 1 else pen_up
                d_new = d + sgn
                rho_n, ok_n = shifted(sgn)
                # (i) h <= e: n + sgn at nodes h .. e, d + sgn at e
                rho_e = (1.0 - d_new / np.maximum(n + sgn, 1)) / np.where(f > 0, f, 1.0)
                ok_e = ok_f & (d_new >= 0) & (d_new <= n + sgn) & (n + sgn >= 1)
                alive = np.ones(K, bool)
                P = np.ones(K)
                acc = np.zeros(K)
                for k in range(1, span + 1):
                    e = g_idx + k - 1
                    inside = e < K
                    ee = np.minimum(e, K - 1)
                    cand = alive & inside & ok_e[ee] & np.isfinite(pen_h[g_idx])
                    if k > 1:  # k = 1 is move 3 ("b")
                        gi = np.flatnonzero(cand)
                        if gi.size:
                            e_ = ee[gi]
                            Pe = P[gi] * rho_e[e_]
                            dl = d_level(Pe, A[e_], B[e_], acc[gi])
                            cand_gain.append(dl + pen_h[gi] + tie_d[sgn][e_])
                            cand_apply.append(lambda i, h_=gi, e__=e_, s_=sgn: ("m", int(h_[i]), int(e__[i]), s_))
                            cand_range.append((gi, e_ + 1))
                    alive &= inside & ok_n[ee]
                    if not alive.any():
                        break
                    P, acc = grow(P, acc, alive, rho_n, ee)
                # (ii) h > e: d + sgn at e, n - sgn at nodes e + 1 .. h - 1
                rho_a = (1.0 - d_new / nn) / np.where(f > 0, f, 1.0)
                ok_a = ok_f & (d_new >= 0) & (d_new <= n)
                rho_m, ok_m = shifted(-sgn)
                alive = ok_a.copy()
                P, acc = grow(np.ones(K), np.zeros(K), alive, rho_a, slice(None))
                for k in range(1, span + 1):
                    h = g_idx + k  # segment losing (gaining) the censoring: before node h
                    inside = h <= K
                    hh = np.minimum(h, K)
                    if k > 1:  # k = 1 is move 3 ("a")
                        cand = alive & inside & np.isfinite(pen_h[hh])
                        gi = np.flatnonzero(cand)
                        if gi.size:
                            h_ = hh[gi]
                            tail_A, tail_B = tail(h_)
                            dl = d_level(P[gi], tail_A, tail_B, acc[gi])
                            cand_gain.append(dl + pen_h[h_] + tie_d[sgn][gi])
                            cand_apply.append(lambda i, h__=h_, e_=gi, s_=sgn: ("m", int(h__[i]), int(e_[i]), s_))
                            cand_range.append((gi, h_))
                    m = np.minimum(g_idx + k, K - 1)
                    alive &= (g_idx + k < K) & ok_m[m]
                    if not alive.any():
                        break
                    P, acc = grow(P, acc, alive, rho_m, m)
        # 2) one event from drop g to drop g + 1 (n at g + 1 up by one) or back
        for step in (1, -1):
            gi = np.flatnonzero(pair & ok_f)
            if step == 1:
                gi = gi[d[gi] >= 1]
                n_h = n[gi + 1] + 1
                dg, dh = d[gi] - 1, d[gi + 1] + 1
            else:
                gi = gi[d[gi + 1] >= 1]
                n_h = n[gi + 1] - 1
                dg, dh = d[gi] + 1, d[gi + 1] - 1
            keep = (dg <= n[gi]) & (dh <= n_h) & (n_h >= 1) & (f[gi + 1] > 0)
            gi, n_h, dg, dh = gi[keep], n_h[keep], dg[keep], dh[keep]
            if gi.size:
                rg = (1.0 - dg / nn[gi]) / f[gi]
                rh = (1.0 - dh / n_h) / f[gi + 1]
                dl = (d_level(rg, A[gi] - A1[gi], B[gi] - B1[gi]) + d_level(rg * rh, A1[gi], B1[gi]))
                dt = (tie_cost(plan, gi, dg) + tie_cost(plan, gi + 1, dh) - tie_now[gi] - tie_now[gi + 1])
                cand_gain.append(dl + dt)
                cand_apply.append(lambda i, g_=gi, st=step: ("e", int(g_[i]), st))
                cand_range.append((gi, gi + 2))
        # one event more (s = 1) or fewer (s = -1) at a drop, compensated by one censoring
        # fewer (more) right after it ("a": n at the drop kept) or right before it ("b": n at
        # the drop changes by s); per node: valid, factor ratio, penalty change
        opts = {}
        for sgn in (1, -1):
            d_new = d + sgn
            c_after = c[g_idx + 1] - sgn
            ok = ok_f & (d_new >= 0) & (d_new <= n) & (c_after >= floor_c[g_idx + 1])
            rho = (1.0 - d_new / nn) / np.where(f > 0, f, 1.0)
            dp = (pen_down if sgn == 1 else pen_up)[g_idx + 1]
            dp = dp + tie_d[sgn]
            opts[(sgn, "a")] = (ok, rho, dp)
            c_before = c[g_idx] - sgn
            n_new = n + sgn
            ok = ok_f & (d_new >= 0) & (d_new <= n_new) & (c_before >= floor_c[g_idx]) & (n_new >= 1)
            rho = (1.0 - d_new / np.maximum(n_new, 1)) / np.where(f > 0, f, 1.0)
            dp = (pen_down if sgn == 1 else pen_up)[g_idx]
            dp = dp + tie_d[sgn]
            opts[(sgn, "b")] = (ok, rho, dp)
        # 3) one event more or fewer at a drop (D not given)
        if not keep_events:
            for (sgn, side), (ok, rho, dp) in opts.items():
                gi = np.flatnonzero(ok)
                if gi.size:
                    cand_gain.append(d_level(rho[gi], A[gi], B[gi]) + dp[gi])
                    cand_apply.append(lambda i, g_=gi, sg_=sgn, sd_=side: ("x", int(g_[i]), sg_, sd_))
                    cand_range.append((gi, gi + 1))
        # 4) one event more at drop g and one fewer at a later drop h (or the reverse), each
        # compensated as above, across any nodes between (also risk-table times: events read on
        # the wrong side of one, or moved to a twin drop, :func:`reconstruct.plan.twin_drops`)
        for sgn in (1, -1):
            for sg in ("a", "b"):
                okg, rg_all, dpg_all = opts[(sgn, sg)]
                gi = np.flatnonzero(okg)
                for sh in ("a", "b"):
                    okh, rh_all, dph_all = opts[(-sgn, sh)]
                    hi = np.flatnonzero(okh)
                    if gi.size == 0 or hi.size == 0:
                        continue
                    G = np.repeat(gi, span)
                    H = G + np.tile(offs, gi.size)
                    sel = H < K
                    sel[sel] = okh[H[sel]]
                    if sg == "a" and sh == "b":
                        sel &= H > G + 1  # both would change segment g + 1
                    G, H = G[sel], H[sel]
                    if G.size == 0:
                        continue
                    rg, rh = rg_all[G], rh_all[H]
                    dl = d_level(rg, A[G] - A[H], B[G] - B[H]) + d_level(rg * rh, A[H], B[H])
                    cand_gain.append(dl + dpg_all[G] + dph_all[H])
                    cand_apply.append(lambda i, G_=G, H_=H, a_=(sgn, sg, sh): ("p", int(G_[i]), int(H_[i])) + a_)
                    cand_range.append((G, H + 1))
        if not cand_gain:
            break
        gains = np.concatenate(cand_gain)
        best = int(np.argmin(gains))
        if not gains[best] < -MIN_GAIN:
            break
        sizes = np.cumsum([x.size for x in cand_gain])
        lo_all = np.concatenate([r[0] for r in cand_range])
        hi_all = np.concatenate([r[1] for r in cand_range])

        def op_at(i: int):
            blk = int(np.searchsorted(sizes, i, side="right"))
            return cand_apply[blk](i - (int(sizes[blk - 1]) if blk else 0))

        # a batch of the best improving moves touching disjoint node ranges (their level
        # effects interact only through the factors they put on later levels), kept if J
        # falls by at least the best single move's gain's half, else the best move alone
        order = np.flatnonzero(gains < -MIN_GAIN)
        if order.size > BATCH_SCAN:
            order = order[np.argpartition(gains[order], BATCH_SCAN)[:BATCH_SCAN]]
        order = order[np.argsort(gains[order], kind="stable")]
        taken = np.zeros(K + 3, bool)
        batch = []
        for i in order.tolist():
            lo, hi = int(lo_all[i]), int(hi_all[i]) + 2
            if taken[lo:hi + 1].any():
                continue
            taken[lo:hi + 1] = True
            batch.append(i)
            if len(batch) >= MAX_BATCH:
                break
        if len(batch) > 1:
            j_old = level_cost(plan, d, c, n_start, w, inv_var, pen)
            d_try, c_try = d.copy(), c.copy()
            for i in batch:
                _apply(d_try, c_try, op_at(i))
            if (c_try >= 0).all() and (d_try >= 0).all() and \
                    level_cost(plan, d_try, c_try, n_start, w, inv_var, pen) < j_old + 0.5 * gains[best]:
                d, c = d_try, c_try
                moves += len(batch)
                continue
        _apply(d, c, op_at(best))
        moves += 1
    return d, c, moves


#: half-width (patients) of the band around the current numbers at risk that the band solve
#: searches (:func:`band_levels`)
BAND_HALF = 4
#: the band solve's level bins, in level sd (1 / sqrt(inv_var)): states whose levels fall in one
#: bin (and share the number at risk) are merged, the cheaper kept
BAND_BIN_SD = 0.25
#: most states kept per node (the cheapest): bounded time and memory
BAND_STATES = 1500
#: nodes above this: no band solve (the greedy polish alone; its time grows with the nodes:
#: a 4,000-drop curve took 15 s); traced figures have a few hundred
BAND_MAX_NODES = 1000


def _merge(keys: np.ndarray, cost: np.ndarray, cap: int) -> np.ndarray:
    """Indices of the cheapest candidate per key, at most ``cap`` of them (the cheapest).

    One sort by key and a per-group minimum (the band solve's hot spot: two full sorts, by cost
    and then by key, took a third of a traced arm's time)."""
    order = np.argsort(keys)
    k = keys[order]
    start = np.ones(k.size, bool)
    start[1:] = k[1:] != k[:-1]
    cs = cost[order]
    grp = np.cumsum(start) - 1
    hit = np.flatnonzero(cs == np.minimum.reduceat(cs, np.flatnonzero(start))[grp])
    first = np.ones(hit.size, bool)  # the first of a group's equally cheap candidates
    first[1:] = grp[hit[1:]] != grp[hit[:-1]]
    idx = order[hit[first]]
    if idx.size > cap:
        idx = idx[np.argpartition(cost[idx], cap)[:cap]]
    return idx


def band_levels(plan: Plan, d: np.ndarray, c: np.ndarray, n_start: int, inv_var: float, pen,
                keep_events: bool, min_c: np.ndarray | None = None, half: int | None = None,
                events: int | None = None, beat: float | None = None):
    """The J-minimal solution (module docstring) with every number at risk within ``half``
    patients of the given solution's: a dynamic programme over (number at risk, reconstructed
    level), levels merged in bins of :data:`BAND_BIN_SD` level sd.

    The greedy polish changes one or two counts at a time and stops where several must change
    together (a censoring moved across several drops while an event moves the other way; heavy
    censoring bunched in one risk interval). The level after a drop depends on the whole history
    (a product of factors), so the state carries the level itself. Returns (d, c) or None when
    nothing better was found (or the arm is too long, or D given and the best path changes it).
    ``events``: with ``keep_events``, the total events to keep (default: the given solution's;
    the band may be centred on a path with another total, :func:`reconstruct.exact._solve_unit`).
    ``beat``: the J the result must beat (default the given solution's; prefixes costing more
    are pruned)."""
    K = plan.kind.size
    half = BAND_HALF if half is None else int(half)
    if K == 0 or K > BAND_MAX_NODES:
        return None
    d = np.asarray(d, np.int64)
    c = np.asarray(c, np.int64)
    w = level_weights(plan, inv_var)
    n_cur = _n_pre(d, c, n_start)                # before node g (after segment g's censorings)
    m_cur = np.append(n_cur - d, 0)              # entering segment g + 1
    floor_c = np.zeros(K + 1, np.int64) if min_c is None else np.minimum(np.asarray(min_c, np.int64), c)
    # patients that must still be at risk entering segment g: the censorings segments g .. K
    # must keep (clear marks); states below it cannot finish, and the state cap must not fill
    # with them (the solve then found no path at all where marks are late)
    need = np.cumsum(floor_c[::-1])[::-1]
    J_old = level_cost(plan, d, c, n_start, w, inv_var, pen)
    bound = (J_old if beat is None else float(beat)) - MIN_GAIN
    delta = BAND_BIN_SD / np.sqrt(inv_var)
    # states entering segment g: number at risk m, level S, cost; back pointers per half step
    m = np.array([n_start], np.int64)
    S = np.array([1.0])
    cost = np.array([0.0])
    backs = []
    offs = np.arange(-half, half + 1)
    for g in range(K):
        # censorings of segment g: n_pre in the band (the published number at a risk time)
        if plan.kind[g] == 1:
            targets = np.array([int(plan.target[g])], np.int64)
        else:
            targets = n_cur[g] + offs
        P = np.repeat(np.arange(m.size), targets.size)
        n_new = np.tile(targets, m.size)
        cc = m[P] - n_new
        ok = (n_new >= need[g + 1]) & (cc >= floor_c[g])
        P, n_new, cc = P[ok], n_new[ok], cc[ok]
        if P.size == 0:
            return None
        cst = cost[P] + pen(np.full(cc.size, g), cc)
        # every cost term is >= 0: a prefix already as costly as the current solution cannot
        # lead to a better one (exact pruning; most states once the solution is near optimal)
        ok = cst < bound
        if not ok.all():
            P, n_new, cc, cst = P[ok], n_new[ok], cc[ok], cst[ok]
            if P.size == 0:
                return None
        Sn = S[P]
        keep = _merge(n_new * 4_000_003 + np.round(Sn / delta).astype(np.int64), cst, BAND_STATES)
        P, n_new, cc, cst, Sn = P[keep], n_new[keep], cc[keep], cst[keep], Sn[keep]
        # node g: a risk time (no event), a drop to 0 (as given), or a drop with d events
        if plan.kind[g] == 1:
            Q = np.arange(P.size)
            dd = np.zeros(P.size, np.int64)
        elif not (plan.after[g] > 0):
            Q = np.arange(P.size)
            dd = n_new.copy() if d[g] >= n_cur[g] else np.minimum(np.full(P.size, d[g]), n_new)
        else:
            nxt = m_cur[g] + offs  # after node g (entering segment g + 1)
            Q = np.repeat(np.arange(P.size), nxt.size)
            dd = n_new[Q] - np.tile(nxt, P.size)
            ok = (dd >= 0) & (dd <= n_new[Q]) & ((dd < n_new[Q]) | (n_new[Q] == 0))
            Q, dd = Q[ok], dd[ok]
            if Q.size == 0:
                return None
        nq = n_new[Q]
        f = np.where(nq > 0, 1.0 - dd / np.maximum(nq, 1), 1.0)
        S2 = Sn[Q] * f
        c2 = cst[Q]
        if plan.kind[g] == 0 and w[g] > 0:
            c2 = c2 + w[g] * inv_var * (S2 - plan.after[g]) ** 2
        if plan.kind[g] == 0 and plan.tie_log_mu is not None:
            c2 = c2 + tie_cost(plan, g, dd)
        m2 = nq - dd
        ok = (m2 >= need[g + 1]) & (c2 < bound)
        if not ok.all():
            Q, dd, nq, S2, c2, m2 = Q[ok], dd[ok], nq[ok], S2[ok], c2[ok], m2[ok]
            if Q.size == 0:
                return None
        keep = _merge(m2 * 4_000_003 + np.round(S2 / delta).astype(np.int64), c2, BAND_STATES)
        Q, dd, m2, S2, c2 = Q[keep], dd[keep], m2[keep], S2[keep], c2[keep]
        backs.append((P[Q], cc[Q], dd))
        m, S, cost = m2, S2, c2
    # last segment: everyone left is censored by the curve's end
    ok = m >= floor_c[K]
    if not ok.any():
        return None
    total = np.where(ok, cost + pen(np.full(m.size, K), np.maximum(m, 0)), np.inf)
    if keep_events:
        D = int(d.sum()) if events is None else int(events)
        # events on the path = n_start - all censorings: only paths keeping D
        ev = np.zeros(m.size, np.int64)
        idx = np.arange(m.size)
        for P_, _, dd_ in reversed(backs):
            ev += dd_[idx]
            idx = P_[idx]
        total = np.where(ev == D, total, np.inf)
    best = int(np.argmin(total))
    if not np.isfinite(total[best]):
        return None
    d_new = np.zeros(K, np.int64)
    c_new = np.zeros(K + 1, np.int64)
    c_new[K] = m[best]
    i = best
    for g in range(K - 1, -1, -1):
        P_, cc_, dd_ = backs[g]
        d_new[g] = dd_[i]
        c_new[g] = cc_[i]
        i = int(P_[i])
    J_new = level_cost(plan, d_new, c_new, n_start, w, inv_var, pen)
    if not J_new < bound:
        return None
    return d_new, c_new
