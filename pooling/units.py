"""Time units of studies: names, conversion to the pooling unit, default landmark times.

Published KM figures measure time in days, weeks, months or years, and a review pools
studies that differ. Every time of a study (IPD times, survival-table times, medians and their
CIs/ranges) is converted to one pooling unit before anything is estimated; studies in
different units are never pooled as they are (``check_units`` refuses). A month is 1/12 of a
year and a year 365.25 days (the convention of survival software, e.g. R's survival package
``xscale`` and IPDfromKM).
"""
from __future__ import annotations

import copy
import re

import numpy as np

from kmrecon.errors import KMReconError

UNITS = ("days", "weeks", "months", "years")
DAYS_PER = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12.0, "years": 365.25}
_PATTERNS = (("days", r"^(d|days?|dys?)$"), ("weeks", r"^(w|wks?|weeks?)$"),
             ("months", r"^(m|mos?|mths?|months?)$"), ("years", r"^(y|yrs?|years?)$"))


def normalize_unit(text) -> str | None:
    """'Months', 'mo', 'yrs', 'Time (days)' -> 'months', 'months', 'years', 'days'; blank -> None.
    Raises KMReconError for a word that is no time unit."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    t = str(text).strip().lower()
    if not t:
        return None
    m = re.search(r"\(([^)]*)\)", t)          # an axis label such as "Time (months)"
    if m:
        t = m.group(1).strip()
    for unit, pat in _PATTERNS:
        if re.match(pat, t):
            return unit
    for unit, pat in _PATTERNS:               # "time in months", "months since randomisation"
        if any(re.match(pat, w) for w in re.findall(r"[a-z]+", t) if len(w) > 1):
            return unit
    raise KMReconError(f"'{text}' is not a time unit: use days, weeks, months or years")


def project_unit(path) -> str | None:
    """The time unit saved in a KMRecon project file (its Study panel / the axis label read by
    zero-click), or None when it has none or it is no time unit."""
    import json
    from pathlib import Path

    try:
        settings = json.loads(Path(path).read_text(encoding="utf-8")).get("settings") or {}
        return normalize_unit(settings.get("time_unit"))
    except (OSError, ValueError, AttributeError, KMReconError):
        return None


def factor(from_unit: str, to_unit: str) -> float:
    """Multiply a time in ``from_unit`` by this to get it in ``to_unit``."""
    return DAYS_PER[from_unit] / DAYS_PER[to_unit]


def default_landmarks(unit: str | None, years: int = 5) -> list[float]:
    """Whole years 1..``years`` in ``unit``: 12, 24, ... for months; 365.25 k for days;
    1, 2, ... for years. Without a unit, months are assumed (the commonest in oncology)."""
    per_year = DAYS_PER["years"] / DAYS_PER[unit or "months"]
    return [round(k * per_year, 4) for k in range(1, years + 1)]


def format_landmarks(times) -> str:
    return ",".join(f"{t:g}" for t in times)


def convert_study(study, to_unit: str):
    """A copy of ``study`` with every time in ``to_unit`` (the study's own ``unit`` must be set)."""
    if study.unit is None or study.unit == to_unit:
        out = copy.copy(study)
        out.notes = list(study.notes)
        return out
    f = factor(study.unit, to_unit)
    out = copy.copy(study)
    out.notes = list(study.notes) + [f"times converted from {study.unit} to {to_unit} (x {f:.6g})"]
    for name in ("ipd", "ipd_arms"):
        df = getattr(study, name)
        if df is not None:
            df = df.copy()
            df["time"] = df["time"].astype(float) * f
            setattr(out, name, df)
    if study.table is not None:
        out.table = copy.copy(study.table)
        out.table.times = np.asarray(study.table.times, float) * f
    for name in ("median", "median_ci_low", "median_ci_high", "median_min", "median_max"):
        setattr(out, name, float(getattr(study, name)) * f)
    out.unit = to_unit
    return out


def check_units(studies, unit: str | None):
    """The studies in one time unit, and that unit (or None when no study says).

    With ``unit`` given, studies that state a unit are converted to it; a study that states
    none is taken to be in ``unit`` already, with a note. Without ``unit``, studies in
    different units are refused (pooling 'days' with 'years' as they are is meaningless)."""
    unit = normalize_unit(unit)
    stated = {s.unit for s in studies if s.unit is not None}
    if unit is None:
        if len(stated) > 1:
            by = {u: [s.label for s in studies if s.unit == u] for u in sorted(stated)}
            detail = "; ".join(f"{u}: {', '.join(names[:3])}{' …' if len(names) > 3 else ''}"
                               for u, names in by.items())
            raise KMReconError(f"the studies' times are in different units ({detail}); choose the "
                               "pooling unit (--unit, or Unit in the Pooling tab) to convert them")
        return [convert_study(s, s.unit) if s.unit else s for s in studies], (stated.pop() if stated else None)
    out = []
    for s in studies:
        c = convert_study(s, unit)
        if s.unit is None:
            c.unit = unit
            c.notes.append(f"no time unit given; taken to be {unit}")
        out.append(c)
    return out, unit
