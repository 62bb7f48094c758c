"""Patients at time 0 (N) from an exactly drawn KM curve and its censor marks.

At each drop of a KM curve S_k / S_{k-1} = 1 - d_k / n_k, with d_k events among n_k at risk,
and n_k = N - (events and censorings before t_k). A vector PDF gives the drop heights to the
precision its coordinates are written with (R: 0.01 pt, ~5e-5 of the axis), so for the true N
every d_k = (1 - S_k / S_{k-1}) n_k comes out an integer, and for any other N the residuals
grow along the curve. Without a risk table this reads N (and so every event count) where the
generic estimator in ``reconstruct`` can only guess it from pixel-rounded drop heights.
"""
from __future__ import annotations

import numpy as np


def _drops(time: np.ndarray, surv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times, ratio S_after / S_before) of each drop of a staircase (corners in time order)."""
    t, s = np.asarray(time, float), np.asarray(surv, float)
    i = np.nonzero(np.diff(s) < -1e-9)[0]
    tt, before, after = t[i + 1], s[i], s[i + 1]
    # consecutive corners at one time are one drop (a vertical edge split in pieces)
    out_t, out_r = [], []
    for tk, b, a in zip(tt, before, after):
        if out_t and abs(tk - out_t[-1]) <= 1e-9 * max(1.0, abs(tk)):
            out_r[-1] = out_r[-1] * (a / b)
        else:
            out_t.append(tk)
            out_r.append(a / b if b > 0 else 0.0)
    return np.asarray(out_t), np.asarray(out_r)


def _residuals(n0: int, q: np.ndarray, cens_before: np.ndarray, stop: float = np.inf
                ) -> tuple[float, np.ndarray]:
    """Walk the drops with N = n0: (largest distance of a d_k from an integer, the d_k);
    gives up (inf) once a residual passes ``stop``."""
    n, worst, events, c_prev = float(n0), 0.0, [], 0
    for qk, ck in zip(q, cens_before):
        n -= ck - c_prev
        c_prev = ck
        d = qk * n
        k = round(d)
        if k < 1 or n < 1:
            return np.inf, np.empty(0)
        worst = max(worst, abs(d - k))
        if worst > stop:
            return np.inf, np.empty(0)
        events.append(k)
        n -= k
    return worst, np.asarray(events)


def n_from_drops(time, surv, censor_times, tol: float = 0.06, max_n: int = 100_000) -> int | None:
    """N for which every drop is a whole number of events (within ``tol``), or None when no N
    or more than one fits (censorings tied at one time, curve not exact enough)."""
    tk, r = _drops(time, surv)
    if tk.size < 3:
        return None
    q = 1.0 - r
    cens = np.sort(np.asarray(censor_times, float))
    # censorings strictly before each drop (a mark at the drop's time is still at risk there)
    eps = 1e-6 * max(1.0, float(np.max(np.abs(tk))))
    cb = np.searchsorted(cens, tk - eps, side="right")
    lo = int(tk.size + cb[-1])
    first = 1.0 / max(q[0], 1e-12) + cb[0]          # N if the first drop is one event
    hi = int(min(max_n, max(lo, 4 * first + 10)))
    fits = []
    for n0 in range(max(lo, 1), hi + 1):
        worst, _ = _residuals(n0, q, cb, stop=tol)
        if worst <= tol:
            fits.append((worst, n0))
    if not fits:
        return None
    fits.sort()
    if len(fits) > 1 and fits[1][0] <= 2 * fits[0][0] + 0.01:
        return None
    return fits[0][1]


def n_lower_bound(time, surv, censor_times, max_at_risk: float = 80.0) -> int | None:
    """N when no N fits every drop (several patients censored at one time share one mark):
    at a drop with few at risk, 1 - S_k / S_{k-1} = 1 / n_k is read exactly, and
    N >= n_k + drops before + marks before (ties only hide patients). The largest such bound
    over the drops where n_k reads as a whole number (<= ``max_at_risk``). None if no drop
    qualifies."""
    tk, r = _drops(time, surv)
    if tk.size == 0:
        return None
    q = 1.0 - r
    cens = np.sort(np.asarray(censor_times, float))
    eps = 1e-6 * max(1.0, float(np.max(np.abs(tk))))
    cb = np.searchsorted(cens, tk - eps, side="right")
    best = None
    for k in range(tk.size):
        if q[k] <= 0:
            continue
        n_k = 1.0 / q[k]
        if n_k <= max_at_risk and abs(n_k - round(n_k)) <= 0.15:
            bound = int(round(n_k)) + k + int(cb[k])
            best = bound if best is None else max(best, bound)
    return best


def n_estimate(time, surv, censor_times) -> int | None:
    """Best N when no N fits every drop: each early drop k (one event, few tied censorings
    before it yet) gives N ~ 1/(1 - S_k/S_{k-1}) + k + marks before, to about 1 % (the drawing's
    coordinate precision); the median over the first third of the drops, and never below
    :func:`n_lower_bound`."""
    tk, r = _drops(time, surv)
    if tk.size < 3:
        return n_lower_bound(time, surv, censor_times)
    q = 1.0 - r
    cens = np.sort(np.asarray(censor_times, float))
    eps = 1e-6 * max(1.0, float(np.max(np.abs(tk))))
    cb = np.searchsorted(cens, tk - eps, side="right")
    ok = q > 0
    nk = (1.0 / np.where(ok, q, 1.0) + np.arange(tk.size) + cb)[ok]
    early = nk[: max(3, nk.size // 3)]
    est = int(round(float(np.median(early))))
    low = n_lower_bound(time, surv, censor_times)
    return max(est, low) if low is not None else est
