"""Simulate individual patient data (IPD) with known truth, and its exact KM step corners.

Times are in whatever unit the caller chooses (the defaults read as months).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kmrecon.km import km_table  # noqa: F401  (re-exported: the truth tools use it)


def simulate_arm(
    n: int,
    rng: np.random.Generator,
    *,
    median: float = 12.0,
    shape: float = 1.0,
    follow_up: float = 60.0,
    accrual: float = 24.0,
    dropout_rate: float = 0.0,
    decimals: int | None = None,
) -> pd.DataFrame:
    """IPD for one arm: Weibull event times with the given median (time units) and shape.

    Censoring is administrative (uniform accrual over ``accrual``, analysis at ``follow_up``
    after the first patient, so follow-up ranges from ``follow_up - accrual`` to ``follow_up``)
    plus exponential drop-out at ``dropout_rate`` per time unit. ``decimals`` rounds times,
    which creates ties. Returns columns ``time, event`` (event 1 = death, 0 = censored).
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    scale = median / np.log(2) ** (1.0 / shape)
    t_event = scale * rng.weibull(shape, n)
    t_admin = follow_up - rng.uniform(0.0, accrual, n)
    t_drop = rng.exponential(1.0 / dropout_rate, n) if dropout_rate > 0 else np.full(n, np.inf)
    t_cens = np.minimum(t_admin, t_drop)
    time = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    if decimals is not None:
        time = np.round(time, decimals)
    # A time of exactly 0 after rounding is not drawable on a KM curve: move it off the axis.
    time = np.maximum(time, 10.0 ** -(decimals if decimals is not None else 6))
    return pd.DataFrame({"time": time, "event": event})


def km_corners(time, event) -> tuple[np.ndarray, np.ndarray]:
    """The KM curve as a digitizer would ideally read it: (0, 1), both corners of every drop,
    and a last point at the largest follow-up time. Returns (t, S) arrays."""
    tab = km_table(time, event)
    ts, ss = [0.0], [1.0]
    s_prev = 1.0
    for t, d, s in zip(tab["time"], tab["events"], tab["survival"]):
        if d > 0:
            ts += [t, t]
            ss += [s_prev, s]
            s_prev = s
    t_end = float(np.max(time)) if len(time) else 0.0
    if t_end > ts[-1]:
        ts.append(t_end)
        ss.append(s_prev)
    return np.asarray(ts), np.asarray(ss)


def number_at_risk(time, at) -> np.ndarray:
    """Number still at risk (time >= t) at each time in ``at``."""
    time = np.sort(np.asarray(time, float))
    at = np.asarray(at, float)
    return time.size - np.searchsorted(time, at, side="left")
