"""Reference mode: the algorithm of Guyot, Ades, Ouwens & Welton (2012), "Enhanced secondary
analysis of survival data: reconstructing the data from published Kaplan-Meier survival curves",
BMC Med Res Methodol 12:9 -- ported step by step from the authors' published R code so that
results compare with the literature (rounding is R's round-half-to-even, as numpy's).

Two guards are added and reported in the notes, because the published loop can oscillate
or produce impossible counts: each fixed-point loop stops after ``MAX_ITER`` rounds, and event
counts are kept within [0, number at risk].
"""
from __future__ import annotations

import numpy as np

from reconstruct.arm import ArmInput, ArmResult, estimate_n, estimated_n_note

MAX_ITER = 2000


def _spread(t_from: float, t_to: float, count: int, breaks: np.ndarray) -> np.ndarray:
    """Counts of ``count`` censorings spread evenly strictly inside (t_from, t_to), binned by
    right-closed intervals (breaks[j], breaks[j+1]] like R's ``hist``."""
    nbins = breaks.size - 1
    if count <= 0 or nbins <= 0:
        return np.zeros(max(nbins, 0), int)
    cen_t = t_from + np.arange(1, count + 1) * (t_to - t_from) / (count + 1)
    idx = np.searchsorted(breaks, cen_t, side="left") - 1
    idx = np.clip(idx, 0, nbins - 1)
    return np.bincount(idx, minlength=nbins)[:nbins]


def guyot_arm(arm: ArmInput) -> ArmResult:
    """Reconstruct one arm with Guyot's algorithm; see the module docstring."""
    notes: list[str] = []
    t_s = arm.curve.time
    S = arm.curve.survival
    n_t = t_s.size
    t_risk = arm.risk_times.astype(float)
    n_risk = arm.n_risk.astype(int)
    n_estimated = False
    if not (t_risk.size and t_risk[0] == 0):
        n0 = arm.n_total
        if n0 is None:
            lower_bound = int(n_risk.max()) if n_risk.size else 1
            n0 = estimate_n(arm.curve, lower=lower_bound)
            n_estimated = True
            notes.append(estimated_n_note(n0))
        t_risk = np.concatenate([[0.0], t_risk])
        n_risk = np.concatenate([[n0], n_risk])
    # Each risk interval needs at least one digitized point; drop risk times that have none.
    lower = np.searchsorted(t_s, t_risk, side="left")
    keep = np.ones(t_risk.size, bool)
    for i in range(1, t_risk.size):
        prev = np.flatnonzero(keep[:i])[-1]
        if lower[i] <= lower[prev] or lower[i] >= n_t:
            keep[i] = False
    if not keep.all():
        notes.append(
            "Guyot: ignored risk-table time(s) "
            + ", ".join(f"{v:g}" for v in t_risk[~keep])
            + " (no digitized point in the interval)"
        )
        t_risk, n_risk, lower = t_risk[keep], n_risk[keep], lower[keep]
    n_int = t_risk.size
    upper = np.append(lower[1:] - 1, n_t - 1)

    n_censor = np.zeros(n_int, int)
    n_hat = np.full(n_t + 1, n_risk[0] + 1, dtype=int)
    cen = np.zeros(n_t, int)
    d = np.zeros(n_t, int)
    km_hat = np.ones(n_t)
    last_i = np.zeros(n_int, int)
    n_risk = n_risk.copy()

    def events_at(k: int, last: int) -> None:
        n = n_hat[k]
        if n <= 0 or km_hat[last] <= 0:
            d[k] = 0
            km_hat[k] = km_hat[last]
            return
        dk = int(np.round(n * (1.0 - S[k] / km_hat[last])))
        d[k] = min(max(dk, 0), n)
        km_hat[k] = km_hat[last] * (1.0 - d[k] / n)

    for i in range(n_int - 1):
        lo, hi, nxt = lower[i], upper[i], lower[i + 1]
        ratio = S[nxt] / S[lo] if S[lo] > 0 else 0.0
        n_censor[i] = int(np.round(n_risk[i] * ratio - n_risk[i + 1]))
        for it in range(MAX_ITER):
            if n_censor[i] <= 0:
                cen[lo : hi + 1] = 0
                n_censor[i] = 0
            else:
                cen[lo : hi + 1] = _spread(t_s[lo], t_s[nxt], n_censor[i], t_s[lo : nxt + 1])
            n_hat[lo] = n_risk[i]
            last = last_i[i]
            for k in range(lo, hi + 1):
                if i == 0 and k == lo:
                    d[k] = 0
                    km_hat[k] = 1.0
                else:
                    events_at(k, last)
                n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
                if d[k] != 0:
                    last = k
            n_censor[i] += n_hat[nxt] - n_risk[i + 1]
            if not (n_hat[nxt] > n_risk[i + 1] or (n_hat[nxt] < n_risk[i + 1] and n_censor[i] > 0)):
                break
        else:
            notes.append(f"Guyot: loop for the interval from {t_risk[i]:g} did not converge; stopped")
        if n_hat[nxt] < n_risk[i + 1]:
            n_risk[i + 1] = n_hat[nxt]
        last_i[i + 1] = last

    lo, hi = lower[-1], upper[-1]

    def last_interval() -> None:
        if n_censor[-1] <= 0:
            cen[lo:hi] = 0
            n_censor[-1] = 0
        else:
            cen[lo:hi] = _spread(t_s[lo], t_s[hi], n_censor[-1], t_s[lo : hi + 1])
        n_hat[lo] = n_risk[-1]
        last = last_i[-1]
        for k in range(lo, hi + 1):
            events_at(k, last)
            if k != hi:
                n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
                if n_hat[k + 1] < 0:
                    n_hat[k + 1] = 0
                    cen[k] = n_hat[k] - d[k]
            if d[k] != 0:
                last = k

    if n_int > 1:
        # censoring continues at the average rate (per time unit) of the earlier intervals
        span = t_s[upper[-2]] - t_s[lower[0]]
        # a vanishing span (earlier intervals at one time) gives no usable rate
        rate_part = (t_s[hi] - t_s[lo]) / span if span > 1e-9 * max(1.0, abs(t_s[hi])) else 0.0
        guess = float(np.round(n_censor[:-1].sum() * rate_part))
        n_censor[-1] = int(np.clip(guess, 0, n_risk[-1])) if np.isfinite(guess) else int(n_risk[-1])
    else:
        n_censor[-1] = 0
    last_interval()
    D = arm.total_events
    if D is not None:
        sum_dl = int(d[: upper[-2] + 1].sum()) if n_int > 1 else 0
        if n_int > 1 and sum_dl >= D:
            d[lo : hi + 1] = 0
            cen[lo : hi + 1] = 0
        if sum_dl < D or n_int == 1:
            sumd = int(d[: hi + 1].sum())
            for it in range(MAX_ITER):
                if not (sumd > D or (sumd < D and n_censor[-1] > 0)):
                    break
                n_censor[-1] += sumd - D
                last_interval()
                sumd = int(d[: hi + 1].sum())
            else:
                notes.append("Guyot: loop matching the total events did not converge; stopped")

    # IPD: events at the digitized times, censorings at midpoints, the rest censored at the end.
    n0 = int(n_risk[0])
    if (cen < 0).any() or (d < 0).any():
        notes.append("Guyot: negative counts (number at risk ran out) set to 0")
        cen, d = np.maximum(cen, 0), np.maximum(d, 0)
    ev_t = np.repeat(t_s, d)
    mid = (t_s[:-1] + t_s[1:]) / 2.0
    c_t = np.repeat(mid, cen[:-1])
    rest = n0 - ev_t.size - c_t.size
    if rest < 0:
        notes.append(f"Guyot: reconstructed {-rest} more patients than N; extra rows kept")
        rest = 0
    time = np.concatenate([ev_t, c_t, np.full(rest, t_s[-1])])
    event = np.concatenate([np.ones(ev_t.size, int), np.zeros(c_t.size + rest, int)])
    return ArmResult(time=time, event=event, n_total=n0, n_estimated=n_estimated, notes=notes)
