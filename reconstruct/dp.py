"""Dynamic programme over the number at risk for the exact (default) mode.

See :mod:`reconstruct.exact` for the model. States are whole numbers at risk within bands
[lo, hi]; each drop chooses events d, each segment censorings c; a traceback returns them.
Working memory is bounded by construction (:data:`PAIR_BUDGET` (state, censoring) pairs at a
time, about 50-100 MB), whatever N and the band widths are: a large N only costs time.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from reconstruct.plan import Plan, tie_cost

#: cost per censor mark left unused (marks are near-certain censorings)
MARK_WEIGHT = 1e3
#: cost per unused mark where a risk interval's marks contradict its curve and numbers at risk
#: (:func:`reconstruct.plan.mark_weights`): as much as a 3-sigma drop-height misfit
SOFT_MARK_WEIGHT = 9.0
INF = np.inf
#: reliability of the softest marks (read inside a ribbon of overlapping marks): leaving one
#: unused costs 1, as much as a 1-sigma drop-height misfit
RIBBON_RELIABILITY = 0.3


def reliability_weight(rel: np.ndarray) -> np.ndarray:
    """Cost of leaving a censor mark of reliability ``rel`` (0-1) unused: MARK_WEIGHT for a
    clear mark (1), falling geometrically to 1 at RIBBON_RELIABILITY and linearly to 0 below:
    a mark read in a ribbon is soft evidence that some censorings happened around there."""
    r = np.clip(np.asarray(rel, float), 0.0, 1.0)
    span = 1.0 - RIBBON_RELIABILITY
    return np.where(r >= RIBBON_RELIABILITY, MARK_WEIGHT ** ((r - RIBBON_RELIABILITY) / span),
                    r / RIBBON_RELIABILITY)


#: the spread prior of unmarked censorings: Poisson counts apportioned without bias in the
#: total (:func:`spread_terms`) -- or, False, the squared deviation (x - e)^2 / (e + 1) per segment
POISSON_SPREAD = True
#: smallest expected count of a segment in the spread prior (a censoring there costs at most 2 log(q / floor))
SPREAD_FLOOR = 1e-9


def spread_terms(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Per segment g, (log(q / e_g), the least cost) of the spread prior on its x unmarked
    censorings, cost(x) = 2 (log x! + x log(q / e_g)) - least (DP cost units, -2 log likelihood).

    Unmarked censorings are Poisson counts with the expected e_g of :func:`reconstruct.plan.
    build_plan`; but the solve picks ONE placement (a MAP), and where a risk interval's
    expected censorings are spread over many short segments (a densely stepped curve: e_g of
    0.2-0.5 between pixel columns) each single censoring costs more than none: per segment,
    the squared deviation (x - e)^2 / (e + 1) charged (1 - 2e) / (1 + e) per censoring there
    (a Poisson count -2 log e), so the solve read the interval's patients as events rather
    than censorings (R-drawn figures: events too many in most such arms, up to 15 %). Here
    each risk interval's rate is rescaled by 1 / q, q the threshold at which apportioning its
    expected total X = sum e_g over the segments in proportion to e_g (highest quotients
    e_g / k, D'Hondt) gives round(X) censorings: the k-th censoring of segment g costs
    2 log(k q / e_g), negative or nil for the round(X) best slots, so without other evidence
    the total is X and the censorings go where most are expected; q is at most 1 (plain
    Poisson) where the segments' own expectations already round to X."""
    K = plan.kind.size
    e = np.maximum(np.asarray(plan.expected, float), 0.0)
    q = np.ones(K + 1)
    bounds = [int(g) for g in np.flatnonzero(plan.kind == 1)] + [K]
    g0 = 0
    for g1 in bounds:
        segs = np.arange(g0, g1 + 1)
        g0 = g1 + 1
        ee = e[segs]
        target = float(np.rint(ee.sum()))
        if target < 1 or not (ee > 0).any():
            continue
        # largest q with sum floor(e_g / q) >= target (bisection in log q)
        lo, hi = np.log(ee.max() / (target + ee.size)), np.log(ee.max())
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if np.floor(ee / np.exp(mid)).sum() >= target:
                lo = mid
            else:
                hi = mid
        q[segs] = min(1.0, float(np.exp(lo)))
    tiny = SPREAD_FLOOR
    log_r = np.log(q) - np.log(np.maximum(e, tiny))
    # least cost at x = floor(e / q) (marginals 2 log(k q / e) < 0 below it)
    x0 = np.floor(np.maximum(e, tiny) / q)
    least = 2.0 * (gammaln(x0 + 1.0) + x0 * log_r)
    return log_r, least


#: most (state, censoring) pairs gathered at once; the bulk gathers hold about 8 arrays of
#: 8 bytes per pair, so this bounds the DP's working memory to roughly 50-100 MB whatever N is
PAIR_BUDGET = 1_000_000


def _last_one(cost: np.ndarray, lo: int) -> int:
    """Index of the cheapest count at risk just before a drop to 0 (``cost`` per count from
    ``lo``): at least one, since a KM curve only reaches 0 when the last patient at risk dies
    (0 at risk would censor everyone before the drop and leave it without its death)."""
    skip = max(0, 1 - lo)
    if skip < cost.size and np.isfinite(cost[skip:]).any():
        return skip + int(np.argmin(cost[skip:]))
    return int(np.argmin(cost))


class PathDP:
    """Forward pass with traceback over windows [lo, hi] of the number at risk."""

    def __init__(self, plan: Plan, sigma: float, spread_weight: float, mark_weight: np.ndarray | None = None):
        self.p = plan
        self.inv_var = 1.0 / sigma**2
        #: per node, the weight of its drop's height cost relative to ``inv_var`` (1: all drops
        #: equally sure; see :func:`reconstruct.exact.height_weights`)
        self.h_weight = np.ones(plan.kind.size)
        # level the KM is taken to have just before each drop: the digitized one at first, the
        # reconstructed one in refinement passes (Guyot's "KM at the last event", so that
        # rounding errors do not accumulate along the curve)
        self.base = plan.before.copy()
        self.spread_weight = spread_weight
        # cost per unused mark, per segment
        self.mark_weight = np.full(plan.marks.size, MARK_WEIGHT) if mark_weight is None else mark_weight
        # cost of leaving the k least reliable marks of segment g unused: _unused[_off[g] + k]
        # (each mark's weight is its reliability's, at most its segment's); None when every
        # mark is clear (then it is mark_weight[g] per mark)
        self._unused = self._off = None
        self._spread_log = self._spread_min = None
        if POISSON_SPREAD:
            self._spread_log, self._spread_min = spread_terms(plan)
        rel = plan.mark_rel
        if rel is not None and any(r.size and np.any(r < 1.0) for r in rel):
            sizes = np.asarray([r.size + 1 for r in rel], np.int64)
            self._off = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            self._unused = np.zeros(int(sizes.sum()))
            for g, r in enumerate(rel):
                if r.size:
                    w = np.sort(np.minimum(reliability_weight(r), self.mark_weight[g]))
                    self._unused[self._off[g] + 1 : self._off[g] + 1 + w.size] = np.cumsum(w)

    @property
    def c_lo(self) -> np.ndarray:
        """Fewest censorings tried per segment: 0, or (segments expecting many unmarked ones,
        :func:`reconstruct.plan.censoring_floor`) the marks plus the floor of unmarked ones."""
        p = self.p
        return np.where(p.xmin > 0, p.marks + p.xmin, 0).astype(np.int64)

    @property
    def c_count(self) -> np.ndarray:
        """Number of censoring counts tried per segment (c_lo .. marks + xmax)."""
        p = self.p
        return (p.marks + p.xmax).astype(np.int64) - self.c_lo + 1

    def _window(self, g: int, lo_reach: int, hi_reach: int) -> tuple[int, int]:
        """Band for state g intersected with what is reachable (never empty)."""
        lo_reach, hi_reach = max(lo_reach, 0), max(hi_reach, 0)
        w = self.p.half[g]
        if not np.isfinite(w):
            return lo_reach, hi_reach
        lo = max(lo_reach, int(np.floor(self.p.ref[g] - w)))
        hi = min(hi_reach, int(np.ceil(self.p.ref[g] + w)))
        if lo > hi:  # band missed: keep the reachable states nearest to it
            width = int(2 * w + 1)
            if hi_reach < self.p.ref[g]:
                return max(lo_reach, hi_reach - width), hi_reach
            return lo_reach, min(hi_reach, lo_reach + width)
        return lo, hi

    def pen(self, g: int, c: np.ndarray) -> np.ndarray:
        """Penalty for c censorings in segment g (marks m; unmarked expected e): the spread
        prior of the x = c - m unmarked ones (:func:`spread_terms`), plus the cost of marks
        left unused when c < m."""
        m = self.p.marks[g]
        x = c - m
        xs = np.maximum(x, 0)
        if self._spread_log is None:
            e = self.p.expected[g]
            unmarked = self.spread_weight * (xs - e) ** 2 / (e + 1.0)
        else:
            unmarked = self.spread_weight * (2.0 * (gammaln(xs + 1.0) + xs * self._spread_log[g]) - self._spread_min[g])
        short = np.clip(-x, 0, m)
        unused = self.mark_weight[g] * short if self._unused is None else self._unused[self._off[g] + short]
        return unused + unmarked

    def height(self, k: int, d: np.ndarray, n: np.ndarray, mu: float) -> np.ndarray:
        b = self.base[k]
        a = self.p.after[k]
        frac = np.divide(d, n, out=np.zeros(np.broadcast(d, n).shape), where=n > 0)
        return ((b * frac - (b - a)) ** 2) * (self.inv_var * self.h_weight[k]) + mu * d + tie_cost(self.p, k, d)

    def run(self, start_lo: int, start_hi: int, mu: float):
        """Minimum cost and traceback: the fast banded pass, or the robust one if the band
        turns out infeasible (curve and risk table disagree, unusual censoring)."""
        res = self._run_fast(start_lo, start_hi, mu)
        if res is None or not np.isfinite(res[0]):
            res = self._run_robust(start_lo, start_hi, mu)
        return res

    def _static_windows(self, start_lo: int, start_hi: int):
        """Fixed bands [lo, hi] for states 0..K (state g + 1 = before node g) and [mlo, mhi]
        for the state after each node; None if they do not chain."""
        p = self.p
        K = p.kind.size
        risk = np.flatnonzero(p.kind == 1)
        g = np.arange(K)
        # counts bounding each state before node g: last risk count before, next one at/after
        pos = np.searchsorted(risk, g, side="left")
        if risk.size:
            nxt = np.where(pos < risk.size, p.target[risk[np.minimum(pos, risk.size - 1)]], 0.0)
            prv = np.where(pos > 0, p.target[risk[np.maximum(pos - 1, 0)]], float(start_hi))
        else:
            nxt = np.zeros(K)
            prv = np.full(K, float(start_hi))
        ref, half = p.ref[1 : K + 1], p.half[1 : K + 1]
        with np.errstate(invalid="ignore"):
            lo = np.maximum(np.floor(ref - half), nxt)
            hi = np.minimum(np.ceil(ref + half), prv)
        lo = np.where(np.isfinite(lo), lo, nxt)
        hi = np.where(np.isfinite(hi), hi, prv)
        lo = np.concatenate([[start_lo], lo]).astype(np.int64)
        hi = np.concatenate([[start_hi], hi]).astype(np.int64)
        hi = np.minimum.accumulate(hi)
        lo = np.maximum.accumulate(lo[::-1])[::-1]
        if (lo > hi).any() or (lo < 0).any():
            return None
        lo_next = np.append(lo[2:], 0)
        mlo = np.where(p.kind == 1, p.target, lo_next).astype(np.int64)
        mhi = np.where(p.kind == 1, p.target, hi[1:]).astype(np.int64)
        zero = (p.kind == 0) & ~(p.after > 0)
        mlo[zero] = 0
        mhi[zero] = 0
        if (mlo > mhi).any():
            return None
        return lo, hi, mlo, mhi

    def _precompute(self, g0: int, g1: int, lo, hi, mlo, mhi, mu: float, skip_segments: bool = False):
        """Gather indices and transition costs for segments and drops g0..g1-1 (all g < K);
        with ``skip_segments`` only the drops (the caller solves the segment in blocks)."""
        p = self.p
        segs = np.arange(g0, g0 if skip_segments else g1)
        prev = np.maximum(segs - 1, 0)
        src_lo = np.where(segs == 0, lo[0], mlo[prev])
        src_hi = np.where(segs == 0, hi[0], mhi[prev])
        T = hi[segs + 1] - lo[segs + 1] + 1
        C = self.c_count[segs]
        size = T * C
        off = np.concatenate([[0], np.cumsum(size)])
        sid = np.repeat(np.arange(segs.size), size)
        q = np.arange(off[-1]) - off[:-1][sid]
        Cr = C[sid]
        c = self.c_lo[segs][sid] + q % Cr
        idx = lo[segs + 1][sid] + q // Cr + c - src_lo[sid]
        ok = (idx >= 0) & (idx <= (src_hi - src_lo)[sid])
        pen = np.where(ok, self.pen(segs[sid], c), INF)
        idx = np.where(ok, idx, 0)
        seg_views = [
            (idx[off[i] : off[i + 1]].reshape(T[i], C[i]), pen[off[i] : off[i + 1]].reshape(T[i], C[i]))
            for i in range(segs.size)
        ]
        nodes = np.arange(g0, g1)
        drops = nodes[(p.kind[nodes] == 0) & (p.after[nodes] > 0)]
        drop_views = {}
        if drops.size:
            M = mhi[drops] - mlo[drops] + 1
            doff = np.concatenate([[0], np.cumsum(M)])
            did = np.repeat(np.arange(drops.size), M)
            mids = mlo[drops][did] + np.arange(doff[-1]) - doff[:-1][did]
            b = self.base[drops][did]
            a = p.after[drops][did]
            r = np.maximum(a / b, 1e-9)  # a level of ~0 after the drop: avoid overflow below
            pre_lo = lo[drops + 1][did]
            pre_hi = hi[drops + 1][did]
            base = np.minimum(np.rint(mids * ((1.0 - r) / r)), pre_hi).astype(np.int64)
            # a few d around the KM-implied count, plus the two that reach the band's edges
            # (so that every state after the drop stays reachable when the curve is odd)
            ds = np.concatenate(
                [base[:, None] + np.arange(-2, 3)[None, :], (pre_lo - mids)[:, None], (pre_hi - mids)[:, None]],
                axis=1,
            )
            ds = np.maximum(ds, 0)
            npre = mids[:, None] + ds
            didx = npre - pre_lo[:, None]
            ok = (didx >= 0) & (didx <= (pre_hi - pre_lo)[:, None])
            frac = np.divide(ds, npre, out=np.zeros(ds.shape), where=npre > 0)
            hw = self.h_weight[drops][did][:, None]
            H = (((b[:, None] * frac - (b - a)[:, None]) ** 2) * (self.inv_var * hw) + mu * ds
                 + tie_cost(p, drops[did][:, None], ds))
            H = np.where(ok, H, INF)
            didx = np.where(ok, didx, 0)
            for i, g in enumerate(drops):
                sl = slice(doff[i], doff[i + 1])
                drop_views[int(g)] = (didx[sl], H[sl], ds[sl])
        return seg_views, drop_views

    def _chunks(self, lo, hi, K: int, budget: int = PAIR_BUDGET):
        """Node ranges [c0, c1) whose segments hold at most ``budget`` (state, censoring) pairs
        together (a single larger segment gets a range of its own and is solved in row blocks)."""
        p = self.p
        size = (hi[1 : K + 1] - lo[1 : K + 1] + 1) * self.c_count[:K]
        out, c0, acc = [], 0, 0
        for g in range(K):
            if g > c0 and acc + size[g] > budget:
                out.append((c0, g))
                c0, acc = g, 0
            acc += int(size[g])
        if K:
            out.append((c0, K))
        return out

    def _seg_blocked(self, g: int, cost, src_lo: int, src_hi: int, t_lo: int, t_hi: int,
                     budget: int = PAIR_BUDGET):
        """Segment g's transition (censor c from states src_lo..src_hi to t_lo..t_hi) computed a
        block of target states at a time, so memory stays within ``budget`` pairs."""
        cs = np.arange(int(self.c_lo[g]), int(self.p.marks[g] + self.p.xmax[g]) + 1)
        pen = self.pen(g, cs)
        rows = max(1, budget // cs.size)
        best = np.empty(t_hi - t_lo + 1)
        arg = np.empty(t_hi - t_lo + 1, np.int64)
        for r0 in range(t_lo, t_hi + 1, rows):
            tg = np.arange(r0, min(r0 + rows, t_hi + 1))
            idx = tg[:, None] + cs[None, :] - src_lo
            ok = (idx >= 0) & (idx <= src_hi - src_lo)
            v = np.where(ok, cost[np.clip(idx, 0, src_hi - src_lo)], INF) + pen[None, :]
            a = v.argmin(axis=1)
            best[r0 - t_lo : r0 - t_lo + tg.size] = v[np.arange(tg.size), a]
            arg[r0 - t_lo : r0 - t_lo + tg.size] = cs[a]
        return best, arg

    def _run_fast(self, start_lo: int, start_hi: int, mu: float):
        """Banded DP with all gathers precomputed in bulk (numpy), a memory-bounded chunk of
        nodes at a time (:data:`PAIR_BUDGET`)."""
        p = self.p
        K = p.kind.size
        win = self._static_windows(start_lo, start_hi)
        if win is None:
            return None
        lo, hi, mlo, mhi = win
        ar = np.arange(int(max((hi - lo).max(), (mhi - mlo).max() if K else 0)) + 2)
        cost = np.zeros(start_hi - start_lo + 1)
        trace = []
        c_lo, c_count = self.c_lo, self.c_count
        for c0, c1 in self._chunks(lo, hi, K):
            big = c1 == c0 + 1 and (hi[c0 + 1] - lo[c0 + 1] + 1) * c_count[c0] > PAIR_BUDGET
            seg_views, drop_views = self._precompute(c0, c1, lo, hi, mlo, mhi, mu, skip_segments=big)
            for g in range(c0, c1):
                if big:
                    s_lo = lo[0] if g == 0 else mlo[g - 1]
                    s_hi = hi[0] if g == 0 else mhi[g - 1]
                    cost, arg = self._seg_blocked(g, cost, int(s_lo), int(s_hi), int(lo[g + 1]), int(hi[g + 1]))
                else:
                    idx, pen = seg_views[g - c0]
                    v = cost[idx] + pen
                    arg = v.argmin(axis=1)
                    cost = v[ar[: arg.size], arg]
                    arg = arg + c_lo[g]
                trace.append(("seg", int(lo[g + 1]), arg))
                if p.kind[g] == 1:
                    val = cost[int(p.target[g]) - lo[g + 1]]
                    if not np.isfinite(val):
                        return None
                    trace.append(("risk", int(p.target[g])))
                    cost = np.array([val])
                elif not p.after[g] > 0:
                    j = _last_one(cost, int(lo[g + 1]))
                    trace.append(("zero", int(lo[g + 1]) + j))
                    cost = np.array([cost[j]])
                else:
                    didx, H, ds = drop_views[g]
                    v = cost[didx] + H
                    arg = v.argmin(axis=1)
                    rows = ar[: arg.size]
                    cost = v[rows, arg]
                    trace.append(("drop", int(mlo[g]), ds[rows, arg]))
        src_lo = lo[0] if K == 0 else mlo[K - 1]
        c = np.arange(src_lo, src_lo + cost.size)
        total = cost + self.pen(K, c)
        j = int(np.argmin(total))
        trace.append(("end", int(src_lo) + j))
        return float(total[j]), trace

    def _run_robust(self, start_lo: int, start_hi: int, mu: float):
        """Slower pass with bands adapted to what is reachable; never infeasible."""
        p = self.p
        K = p.kind.size
        lo, hi = start_lo, start_hi
        cost = np.zeros(hi - lo + 1)
        trace = []  # per step: (type, data) for traceback
        for g in range(K + 1):
            # ---- segment g: censor c = n - n' from state (lo..hi) ----
            finite = np.flatnonzero(np.isfinite(cost))
            f_lo, f_hi = lo + finite[0], lo + finite[-1]
            m = int(p.marks[g])
            if g == K:  # curve's end: everyone left is censored
                c = np.arange(lo, hi + 1)
                total = cost + self.pen(g, c)
                j = int(np.argmin(total))
                trace.append(("end", lo + j))
                return float(total[j]), trace
            cmax = m + int(p.xmax[g])
            cmin = int(self.c_lo[g])
            nlo, nhi = self._window(g + 1, f_lo - cmax, f_hi - cmin)
            targets = np.arange(nlo, nhi + 1)
            # c in 0..cmax, plus the c that comes from the highest finite state, so that
            # every target stays reachable whatever the band
            # (computed a block of targets at a time: memory bounded by PAIR_BUDGET)
            step = max(1, PAIR_BUDGET // (cmax - cmin + 2))
            new_cost = np.empty(targets.size)
            chosen = np.empty(targets.size, np.int64)
            for r0 in range(0, targets.size, step):
                tg = targets[r0 : r0 + step]
                cs = np.concatenate(
                    [np.broadcast_to(np.arange(cmin, cmax + 1), (tg.size, cmax - cmin + 1)), (f_hi - tg)[:, None]],
                    axis=1,
                )
                cs = np.maximum(cs, 0)
                idx = tg[:, None] + cs - lo
                ok = (idx >= 0) & (idx <= hi - lo)
                vals = np.where(ok, cost[np.clip(idx, 0, hi - lo)], INF) + self.pen(g, cs)
                arg = np.argmin(vals, axis=1)
                rows = np.arange(tg.size)
                new_cost[r0 : r0 + tg.size] = vals[rows, arg]
                chosen[r0 : r0 + tg.size] = cs[rows, arg]
            cost = new_cost
            trace.append(("seg", nlo, chosen))
            lo, hi = nlo, nhi
            # ---- node g ----
            if p.kind[g] == 1:
                tgt = int(p.target[g])
                finite = np.flatnonzero(np.isfinite(cost))
                states = lo + finite
                if tgt < lo or tgt > hi or not np.isfinite(cost[tgt - lo]):
                    tgt = int(states[np.argmin(np.abs(states - tgt))])  # soft fallback
                val = cost[tgt - lo]
                trace.append(("risk", tgt))
                lo = hi = tgt
                cost = np.array([val])
                continue
            # drop: n_mid = n - d for a few d around n_mid (1 - r) / r
            b, a = p.before[g], p.after[g]
            finite = np.flatnonzero(np.isfinite(cost))
            f_lo, f_hi = lo + finite[0], lo + finite[-1]
            if a <= 0:
                j = _last_one(cost, lo)
                n_pre = lo + j
                trace.append(("zero", n_pre))
                lo = hi = 0
                cost = np.array([cost[j] + self.height(g, np.array([n_pre]), np.array([n_pre]), mu)[0]])
                continue
            r = np.maximum(a / b, 1e-9)  # a level of ~0 after the drop: avoid overflow below
            mlo = max(int(np.floor(f_lo * r)) - 3, 0)
            mids = np.arange(mlo, f_hi + 1)
            base = np.minimum(np.rint(mids * ((1.0 - r) / r)), f_hi + 3).astype(np.int64)
            ds = np.concatenate(
                [base[:, None] + np.arange(-2, 3)[None, :], (f_lo - mids)[:, None], (f_hi - mids)[:, None]],
                axis=1,
            )
            ds = np.maximum(ds, 0)
            npre = mids[:, None] + ds
            idx = npre - lo
            ok = (idx >= 0) & (idx <= hi - lo)
            vals = np.where(ok, cost[np.clip(idx, 0, hi - lo)], INF) + self.height(g, ds, npre, mu)
            arg = np.argmin(vals, axis=1)
            cost = vals[np.arange(mids.size), arg]
            trace.append(("drop", mlo, ds[np.arange(mids.size), arg].astype(np.int64)))
            lo, hi = mlo, f_hi
        raise AssertionError("unreachable")

    @staticmethod
    def backtrack(trace, K: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(events per node, censorings per segment, start n) from a traceback.

        Walks the trace backwards from the end: "end" gives the state after the last node,
        each node entry the state before it, each "seg" entry (censorings c) the state before
        that segment (n + c)."""
        d = np.zeros(K, np.int64)
        c = np.zeros(K + 1, np.int64)
        n = 0
        g = K  # index of the segment / node being undone
        for step in reversed(trace):
            typ = step[0]
            if typ == "end":
                n = step[1]
                c[K] = n
                g = K - 1
            elif typ == "risk":
                n = step[1]
            elif typ == "zero":  # everyone left died at this drop
                d[g] = step[1]
                n = step[1]
            elif typ == "drop":
                mlo, chosen = step[1], step[2]
                d[g] = int(chosen[n - mlo])
                n += d[g]
            else:  # "seg": censorings in segment g (before node g)
                nlo, chosen = step[1], step[2]
                c[g] = int(chosen[n - nlo])
                n += c[g]
                g -= 1
        return d, c, int(n)
