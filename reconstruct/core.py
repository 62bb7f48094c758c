"""The public entry point: digitized arms in, reconstructed IPD + diagnostics out."""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from kmrecon.data import ArmData
from reconstruct.arm import prepare_arm
from reconstruct.diagnostics import ArmDiagnostics, diagnose, km_steps
from reconstruct.errors import ReconstructionInputError

METHODS = ("default", "guyot")


class Reconstruction:
    """Reconstructed IPD of all arms with per-arm diagnostics.

    ipd: DataFrame with columns arm, time (x-axis units), event (1 event, 0 censored).
    diagnostics: arm name -> :class:`ArmDiagnostics`.
    """

    def __init__(self, ipd: pd.DataFrame, diagnostics: dict[str, ArmDiagnostics], method: str):
        self.ipd = ipd
        self.diagnostics = diagnostics
        self.method = method

    @property
    def arms(self) -> list[str]:
        return list(self.diagnostics)

    def km(self, arm: str) -> tuple[np.ndarray, np.ndarray]:
        """Reconstructed KM of ``arm`` as step corners (t, S): (0, 1), both corners of every drop,
        and a last point at the largest follow-up time."""
        if arm not in self.diagnostics:
            raise KeyError(f"no arm '{arm}' in this reconstruction (arms: {', '.join(self.arms)})")
        sub = self.ipd[self.ipd["arm"] == arm]
        kt, ks = km_steps(sub["time"].to_numpy(float), sub["event"].to_numpy(int))
        ts, ss = [0.0], [1.0]
        prev = 1.0
        for t, s in zip(kt, ks):
            ts += [t, t]
            ss += [prev, s]
            prev = s
        t_end = float(sub["time"].max()) if len(sub) else 0.0
        if t_end > ts[-1]:
            ts.append(t_end)
            ss.append(prev)
        return np.asarray(ts), np.asarray(ss)

    def summary(self) -> str:
        lines = [f"Reconstruction ({self.method} method), {len(self.ipd)} patients:"]
        for diag in self.diagnostics.values():
            lines.append("  " + diag.summary_line())
            for note in diag.notes:
                lines.append(f"    note: {note}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-safe diagnostics of every arm (the IPD itself goes to CSV/XLSX)."""
        return {
            "method": self.method,
            "n_patients": int(len(self.ipd)),
            "arms": {name: d.to_dict() for name, d in self.diagnostics.items()},
        }


def _arm_function(method: str):
    if method == "default":
        from reconstruct.exact import exact_arm

        return exact_arm
    if method == "guyot":
        from reconstruct.guyot import guyot_arm

        return guyot_arm
    raise ReconstructionInputError(f"unknown method '{method}'; use one of: {', '.join(METHODS)}")


def reconstruct(
    arms: list[ArmData],
    method: str = "default",
    progress: Callable[[float], None] | None = None,
    *,
    extend_to_risk_times: bool = False,
) -> Reconstruction:
    """Reconstruct IPD for each arm.

    method: "default" (exact integer solve matching numbers at risk, D and censor marks; see
    :mod:`reconstruct.exact`) or "guyot" (Guyot et al. 2012 as published; :mod:`reconstruct.guyot`).
    progress: called with the fraction done (0-1) after each arm.
    extend_to_risk_times: extend a curve that ends before its last risk-table time flat to that
    time (with a note) instead of raising; for traced curves whose tail was lost.
    Raises :class:`ReconstructionInputError` on inconsistent input (message names arm and row).
    """
    arms = list(arms)
    if not arms:
        raise ReconstructionInputError("no arms to reconstruct; digitize at least one curve")
    names = [a.name for a in arms]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ReconstructionInputError(f"arm name(s) used twice: {', '.join(sorted(dup))}")
    fn = _arm_function(method)
    prepared = [prepare_arm(a, extend_to_risk_times) for a in arms]  # validate everything before any work
    frames, diags = [], {}
    for i, arm_in in enumerate(prepared):
        result = fn(arm_in)
        order = np.lexsort((-result.event, result.time))
        frames.append(
            pd.DataFrame(
                {
                    "arm": arm_in.name,
                    "time": result.time[order].astype(float),
                    "event": result.event[order].astype(int),
                }
            )
        )
        diags[arm_in.name] = diagnose(arm_in.name, method, arm_in, result)
        if progress is not None:
            progress((i + 1) / len(prepared))
    ipd = pd.concat(frames, ignore_index=True)
    return Reconstruction(ipd, diags, method)


class KMReconstructor:
    """lifelines-style wrapper: ``KMReconstructor(method="default").fit(arms)`` then ``.ipd_``,
    ``.diagnostics_`` and ``.reconstruction_``."""

    def __init__(self, method: str = "default", *, extend_to_risk_times: bool = False):
        if method not in METHODS:
            raise ReconstructionInputError(f"unknown method '{method}'; use one of: {', '.join(METHODS)}")
        self.method = method
        self.extend_to_risk_times = extend_to_risk_times

    def fit(self, arms: list[ArmData], progress: Callable[[float], None] | None = None) -> "KMReconstructor":
        self.reconstruction_ = reconstruct(
            arms, method=self.method, progress=progress, extend_to_risk_times=self.extend_to_risk_times
        )
        self.ipd_ = self.reconstruction_.ipd
        self.diagnostics_ = self.reconstruction_.diagnostics
        return self

    def summary(self) -> str:
        return self.reconstruction_.summary()
