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
  is not given).

Every move's change of J is evaluated for all candidates at once from suffix sums of
w S^2 and w S a (a move scales every later level by one factor), the best is applied, until no
move lowers J or :data:`MAX_MOVES` moves were made (time stays bounded).
"""
from __future__ import annotations

import numpy as np

from reconstruct.plan import Plan

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


def level_weights(plan: Plan) -> np.ndarray:
    """Per node: the length of the plateau after it (drops), in units of the mean plateau;
    0 for risk nodes and drops to 0 (their level is exact)."""
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
    return level + float(np.sum(pen(np.arange(c.size), c)))


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
    w = level_weights(plan)
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

        def d_level(rho, As, Bs):
            return ((rho * rho - 1.0) * As - 2.0 * (rho - 1.0) * Bs) * inv_var

        cand_gain, cand_apply, cand_range = [], [], []
        ok_f = drop & (f > 0)
        # penalty change of one censoring more / fewer in each segment (0 .. K)
        base_pen = pen_at(seg_idx, c)
        pen_up = pen_at(seg_idx, c + 1) - base_pen
        pen_down = np.where(c - 1 >= floor_c, pen_at(seg_idx, c - 1) - base_pen, np.inf)
        # 1) one censoring moved from segment i to a later segment i + k of the same risk
        # interval (n + 1 at nodes i .. i + k - 1) or back (n - 1 there)
        zero_drop = (kind == 0) & ~drop
        for step in (1, -1):
            n_new = n + step
            node_ok = (kind == 0) & ~zero_drop & (n_new >= d) & ((n_new >= 1) | (d == 0))
            rho_node = np.where(drop & (f > 0), (1.0 - d / np.maximum(n_new, 1)) / np.where(f > 0, f, 1.0), 1.0)
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
                P = np.where(alive, P * rho_node[mm], P)
                acc = acc + np.where(alive, (P * P - 1.0) * ws2[mm] - 2.0 * (P - 1.0) * wsa[mm], 0.0)
                j = np.minimum(g_idx + k, K)  # segment receiving (or giving) the censoring
                src, dst = (g_idx, j) if step == 1 else (j, g_idx)
                valid = alive & np.isfinite(pen_down[src])
                gi = np.flatnonzero(valid)
                if gi.size == 0:
                    continue
                jj = j[gi]
                tail_A = np.where(jj < K, A[np.minimum(jj, K - 1)], 0.0)
                tail_B = np.where(jj < K, B[np.minimum(jj, K - 1)], 0.0)
                dl = (acc[gi] + (P[gi] ** 2 - 1.0) * tail_A - 2.0 * (P[gi] - 1.0) * tail_B) * inv_var
                sg_, dg_ = src[gi], dst[gi]
                dp = pen_down[sg_] + pen_up[dg_]
                cand_gain.append(dl + dp)
                cand_apply.append(lambda i, a_=sg_, b_=dg_: ("c", int(a_[i]), int(b_[i])))
                cand_range.append((np.minimum(sg_, dg_), np.maximum(sg_, dg_)))
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
                cand_gain.append(dl)
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
            opts[(sgn, "a")] = (ok, rho, dp)
            c_before = c[g_idx] - sgn
            n_new = n + sgn
            ok = ok_f & (d_new >= 0) & (d_new <= n_new) & (c_before >= floor_c[g_idx]) & (n_new >= 1)
            rho = (1.0 - d_new / np.maximum(n_new, 1)) / np.where(f > 0, f, 1.0)
            dp = (pen_down if sgn == 1 else pen_up)[g_idx]
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
