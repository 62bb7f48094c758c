"""Plain data classes at the seams between stages.

``digitize`` produces :class:`ArmData` (one per arm) and a :class:`RiskTable`;
``reconstruct`` consumes :class:`ArmData` and returns IPD as a DataFrame with columns
``arm, time, event`` (event 1 = death/event, 0 = censored); ``pooling`` consumes IPD.

Units: ``time`` is in the figure's own x-axis unit (days, months or years as printed);
``survival`` is a probability in [0, 1] (percent inputs are normalised on the way in).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

IPD_COLUMNS = ("arm", "time", "event")


def _as_float_array(values) -> np.ndarray:
    return np.asarray([] if values is None else values, dtype=float).ravel()


@dataclass
class RiskTable:
    """A "number at risk" table: counts per arm at shared times (x-axis units).

    ``n_risk[arm][j]`` is the number at risk in ``arm`` at ``times[j]``; NaN marks a blank cell.
    """

    times: np.ndarray
    n_risk: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self.times = _as_float_array(self.times)
        self.n_risk = {str(k): _as_float_array(v) for k, v in self.n_risk.items()}
        for arm, counts in self.n_risk.items():
            if counts.shape != self.times.shape:
                raise ValueError(
                    f"risk table row '{arm}' has {counts.size} counts for {self.times.size} times"
                )

    @property
    def arms(self) -> list[str]:
        return list(self.n_risk)

    def for_arm(self, arm: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, counts) for one arm with blank cells dropped."""
        counts = self.n_risk[arm]
        keep = ~np.isnan(counts)
        return self.times[keep], counts[keep]


@dataclass
class ArmData:
    """Everything known about one arm: the input to reconstruction.

    time, survival: digitized curve points (x-axis units; probability 0-1), any order.
    censor_times: times of censor marks read off the curve (exact censoring times).
    risk_times, n_risk: this arm's number-at-risk table, if published.
    n_total: patients at time 0 (N), if known; total_events: total events (D), if known.
    censor_reliability: per censor mark, how sure the digitizer is that it is one censoring at
    that time (1 = an isolated, clearly drawn mark; 0.7 = touching a drop; 0.3 = read inside
    a ribbon of overlapping marks); None = all exact (typed or clicked marks).
    time_sd, survival_sd: standard uncertainty of each digitized corner in x-axis units and
    probability (from the calibration: data units per pixel, and the traced line width); None
    = unknown (typed input: the solver takes the coordinates as given and reads the noise of the
    heights off the data).
    """

    name: str
    time: np.ndarray
    survival: np.ndarray
    censor_times: np.ndarray = field(default_factory=lambda: np.empty(0))
    risk_times: np.ndarray | None = None
    n_risk: np.ndarray | None = None
    n_total: int | None = None
    total_events: int | None = None
    censor_reliability: np.ndarray | None = None
    time_sd: float | None = None
    survival_sd: float | None = None

    def __post_init__(self):
        self.name = str(self.name)
        self.time = _as_float_array(self.time)
        self.survival = _as_float_array(self.survival)
        self.censor_times = _as_float_array(self.censor_times)
        if self.time.shape != self.survival.shape:
            raise ValueError(
                f"arm '{self.name}': {self.time.size} times but {self.survival.size} survival values"
            )
        if (self.risk_times is None) != (self.n_risk is None):
            raise ValueError(f"arm '{self.name}': risk_times and n_risk go together")
        if self.risk_times is not None:
            self.risk_times = _as_float_array(self.risk_times)
            self.n_risk = _as_float_array(self.n_risk)
            if self.risk_times.shape != self.n_risk.shape:
                raise ValueError(f"arm '{self.name}': risk table times and counts differ in length")
        if self.n_total is not None:
            self.n_total = int(self.n_total)
        if self.total_events is not None:
            self.total_events = int(self.total_events)
        if self.censor_reliability is not None:
            self.censor_reliability = np.clip(_as_float_array(self.censor_reliability), 0.0, 1.0)
            if self.censor_reliability.shape != self.censor_times.shape:
                raise ValueError(
                    f"arm '{self.name}': {self.censor_reliability.size} mark reliabilities for "
                    f"{self.censor_times.size} censor marks"
                )
        for attr in ("time_sd", "survival_sd"):
            v = getattr(self, attr)
            if v is not None:
                v = float(v)
                if not np.isfinite(v) or v < 0:
                    raise ValueError(f"arm '{self.name}': {attr} must be a number >= 0, got {v!r}")
                setattr(self, attr, v)
