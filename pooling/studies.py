"""The study table: what each study (or study arm) contributes, read from CSV/XLSX and validated.

One row per study or study arm, with columns

* ``study`` (required) and ``subgroup`` (required; e.g. lung, liver, spine, brain);
* ``arm`` (optional): which arm of a multi-arm IPD file this row is; blank = all patients;
* ``ipd``: path (relative to the table's folder) to an IPD CSV/XLSX with columns
  ``time, event`` (+ ``arm``), or to a KMRecon project ``.kmrecon``/``.json`` (its
  reconstructed IPD; its time unit too, when the row gives none);
* a yearly survival table as printed in a paper: ``time``, ``survival`` (probability, or
  percent when any value > 1.5), ``n_risk`` (number at risk at that time) and optionally
  ``events`` (deaths in the interval ending at that time). Either one row per time (repeat
  ``study``/``subgroup``/``arm`` on each row), or the compact form: one row whose cells hold
  ``;``-separated lists, e.g. ``time = 12;24;36``, ``survival = 0.81;0.62;0.50``,
  ``n_risk = 40;29;18``. The number at start comes from a ``time = 0`` entry or from ``n``;
* ``median`` with ``median_ci_low``/``median_ci_high`` (blank or ``NR`` = not reached);
* ``median`` with ``median_min``/``median_max`` and ``n`` (range: SE by Hozo/Wan, flagged);
* ``n``: number of patients;
* ``unit`` (optional): the study's time unit, days / weeks / months / years. Studies in
  different units are converted to the pooling unit (:mod:`pooling.units`); without a pooling
  unit, mixing units is refused. A study with no unit is taken to be in the pooling unit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kmrecon.errors import InputFileError, KMReconError

KNOWN_COLUMNS = ("study", "subgroup", "arm", "ipd", "time", "survival", "n_risk", "events",
                 "median", "median_ci_low", "median_ci_high", "median_min", "median_max", "n", "unit")
PROJECT_SUFFIXES = (".json", ".kmrecon")     # KMRecon project files (the app saves .kmrecon)
_NOT_REACHED = {"nr", "n/r", "not reached", "na", "n/a", "-", "inf", "none", ""}


@dataclass
class SurvivalTable:
    """A published survival table for one study arm: S at ``times`` with numbers at risk.

    ``n_risk[0]`` is the number at the start (time 0); ``events`` NaN where not given.
    """

    times: np.ndarray
    survival: np.ndarray
    n_risk: np.ndarray
    events: np.ndarray


@dataclass
class Study:
    """What one study (or arm) contributes; any of ipd / table / median fields may be missing."""

    name: str
    subgroup: str
    arm: str | None = None
    ipd: pd.DataFrame | None = None          # arm, time, event of this unit's patients
    ipd_arms: pd.DataFrame | None = None     # the whole IPD file (all arms), for the HR analysis
    ipd_path: str | None = None
    table: SurvivalTable | None = None
    median: float = np.nan
    median_ci_low: float = np.nan
    median_ci_high: float = np.nan
    median_min: float = np.nan
    median_max: float = np.nan
    n: int | None = None
    notes: list[str] = field(default_factory=list)
    unit: str | None = None                  # time unit of every time above (pooling.units.UNITS)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.arm})" if self.arm else self.name

    @property
    def has_median_ci(self) -> bool:
        return np.isfinite(self.median) and np.isfinite(self.median_ci_low)

    @property
    def has_median_range(self) -> bool:
        return np.isfinite(self.median) and np.isfinite(self.median_min) and np.isfinite(self.median_max)

    def usable(self) -> bool:
        return self.ipd is not None or self.table is not None or self.has_median_ci or self.has_median_range


# ---------------------------------------------------------------------------- reading

def read_table_file(path) -> pd.DataFrame:
    """Read a CSV or XLSX file into a DataFrame (clear error when missing or unreadable)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"file not found: {path}")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path)
        df = pd.read_csv(path)
        if df.shape[1] == 1 and ";" in str(df.columns[0]):  # a semicolon-separated (European) CSV
            df = pd.read_csv(path, sep=";")
        return df
    except Exception as exc:  # pandas raises many types for a malformed file
        raise InputFileError(f"{path}: cannot read the table ({exc})") from exc


def read_ipd(path, label: str = "study") -> pd.DataFrame:
    """IPD (arm, time, event) from a CSV/XLSX file or a KMRecon project (.json)."""
    path = Path(path)
    if path.suffix.lower() in PROJECT_SUFFIXES:
        if not path.is_file():
            raise InputFileError(f"{label}: project file not found: {path}")
        from kmrecon.project import project_ipd  # GUI engineer's module; imported only when needed

        df = project_ipd(path)
    else:
        if not path.is_file():
            raise InputFileError(f"{label}: IPD file not found: {path}")
        df = read_table_file(path)
    return clean_ipd(df, label)


def clean_ipd(df: pd.DataFrame, label: str = "study") -> pd.DataFrame:
    """Validate IPD columns (time, event, optional arm) and return arm, time, event."""
    df = df.rename(columns={c: str(c).strip().lower() for c in df.columns})
    for col in ("time", "event"):
        if col not in df.columns:
            raise InputFileError(f"{label}: the IPD has no '{col}' column (needs time, event, optional arm)")
    out = pd.DataFrame({
        "arm": df["arm"].astype(str) if "arm" in df.columns else "all",
        "time": pd.to_numeric(df["time"], errors="coerce"),
        "event": pd.to_numeric(df["event"], errors="coerce"),
    })
    bad = out["time"].isna() | out["event"].isna() | (out["time"] < 0) | ~out["event"].isin([0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # +1 header, +1 one-based
        raise InputFileError(f"{label}: IPD row {row} needs time >= 0 and event 0 or 1")
    if out.empty:
        raise InputFileError(f"{label}: the IPD has no patients")
    out["event"] = out["event"].astype(int)
    return out.reset_index(drop=True)


def _num(value) -> float:
    """A cell as a float; blanks and 'NR'-style words become NaN."""
    if value is None:
        return np.nan
    if isinstance(value, str):
        v = value.strip()
        if v.lower() in _NOT_REACHED:
            return np.nan
        try:
            return float(v)
        except ValueError:
            return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def _list_cell(value) -> list[float]:
    if _blank(value):
        return []
    return [_num(v) for v in str(value).split(";")] if isinstance(value, str) else [_num(value)]


def _first(rows: pd.DataFrame, col: str):
    if col not in rows.columns:
        return None
    for v in rows[col]:
        if not _blank(v):
            return v
    return None


def _survival_table(rows: pd.DataFrame, label: str, n_total) -> SurvivalTable | None:
    times, surv, risk, events = [], [], [], []
    for _, row in rows.iterrows():
        t = _list_cell(row.get("time"))
        if not t:
            continue
        s = _list_cell(row.get("survival"))
        r = _list_cell(row.get("n_risk"))
        e = _list_cell(row.get("events")) or [np.nan] * len(t)
        if not (len(s) == len(t) == len(r) == len(e)):
            raise InputFileError(f"{label}: time, survival, n_risk (and events) need the same number of entries")
        times += t
        surv += s
        risk += r
        events += e
    if not times:
        return None
    t, s, r, e = (np.asarray(x, float) for x in (times, surv, risk, events))
    if np.any(~np.isfinite(t)) or np.any(~np.isfinite(s)):
        raise InputFileError(f"{label}: every survival-table time needs a numeric survival")
    if np.any(~np.isfinite(r)):
        raise InputFileError(f"{label}: every survival-table time needs a number at risk (n_risk)")
    if np.nanmax(s) > 1.5:
        s = s / 100.0  # percent
    order = np.argsort(t, kind="stable")
    t, s, r, e = t[order], s[order], r[order], e[order]
    if np.any(np.diff(t) <= 0):
        raise InputFileError(f"{label}: survival-table times repeat")
    if np.any(s < 0) or np.any(s > 1) or np.any(np.diff(s) > 1e-9):
        raise InputFileError(f"{label}: survival must lie in 0-1 (or 0-100 %) and not increase over time")
    if np.any(np.diff(r) > 0) or np.any(r < 0):
        raise InputFileError(f"{label}: numbers at risk must not increase over time")
    if t[0] > 0:
        if n_total is None:
            raise InputFileError(f"{label}: give the number at start, as a time 0 entry or in column n")
        t, s, r, e = (np.insert(t, 0, 0.0), np.insert(s, 0, 1.0), np.insert(r, 0, float(n_total)),
                      np.insert(e, 0, np.nan))
    return SurvivalTable(t, s, r, e)


def read_studies(source, base_dir=None) -> list[Study]:
    """Studies from a study-table path (CSV/XLSX) or DataFrame; relative IPD paths resolve
    against ``base_dir`` (default: the table's folder). Errors name the study and field."""
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        base = Path(base_dir) if base_dir else Path.cwd()
    else:
        df = read_table_file(source)
        base = Path(base_dir) if base_dir else Path(source).resolve().parent
    df = df.rename(columns={c: str(c).strip().lower() for c in df.columns})
    for col in ("study", "subgroup"):
        if col not in df.columns:
            raise InputFileError(f"the study table has no '{col}' column (columns: {', '.join(map(str, df.columns))})")
    if df.empty:
        raise InputFileError("the study table has no rows")
    missing = df["study"].map(_blank)
    if missing.any():
        raise InputFileError(f"row {int(np.flatnonzero(missing.to_numpy())[0]) + 2}: the study name is empty")
    arm = df["arm"] if "arm" in df.columns else pd.Series([None] * len(df), index=df.index)
    df["_arm"] = [None if _blank(a) else str(a).strip() for a in arm]
    df["study"] = df["study"].astype(str).str.strip()
    studies: list[Study] = []
    for (name, arm_name), rows in df.groupby(["study", "_arm"], sort=False, dropna=False):
        arm_name = None if arm_name is None or (isinstance(arm_name, float) and np.isnan(arm_name)) else arm_name
        studies.append(_build_study(str(name), arm_name, rows, base))
    return studies


def _build_study(name: str, arm, rows: pd.DataFrame, base: Path) -> Study:
    label = f"study '{name}'" + (f" arm '{arm}'" if arm else "")
    sub = _first(rows, "subgroup")
    if sub is None:
        raise InputFileError(f"{label}: the subgroup is empty")
    subgroup = str(sub).strip()
    if subgroup.lower() == "all":
        raise InputFileError(f"{label}: 'all' is reserved for the overall result; rename the subgroup")
    n_raw = _first(rows, "n")
    n = _num(n_raw)
    if n_raw is not None and not (np.isfinite(n) and n >= 1):
        raise InputFileError(f"{label}: n must be a positive number of patients (got {n_raw!r})")
    study = Study(name, subgroup, arm, n=int(n) if np.isfinite(n) else None)
    unit_cell = _first(rows, "unit")
    if unit_cell is not None:
        from pooling.units import normalize_unit

        try:
            study.unit = normalize_unit(unit_cell)
        except KMReconError as exc:
            raise InputFileError(f"{label}: unit {exc}") from None
    ipd_cell = _first(rows, "ipd")
    if ipd_cell is not None:
        path = Path(str(ipd_cell).strip())
        path = path if path.is_absolute() else base / path
        full = read_ipd(path, label)
        study.ipd_path = str(path)
        if study.unit is None and path.suffix.lower() in PROJECT_SUFFIXES:   # a project knows its unit
            from pooling.units import project_unit

            study.unit = project_unit(path)
        study.ipd_arms = full
        if arm:
            if arm not in set(full["arm"]):
                raise InputFileError(f"{label}: the IPD file has no arm '{arm}' (arms: {', '.join(sorted(set(full['arm'])))})")
            study.ipd = full[full["arm"] == arm].reset_index(drop=True)
        else:
            study.ipd = full
        if study.n is None:
            study.n = len(study.ipd)
    study.table = _survival_table(rows, label, study.n)
    if study.table is not None and study.n is None:
        study.n = int(study.table.n_risk[0])
    for col in ("median", "median_ci_low", "median_ci_high", "median_min", "median_max"):
        setattr(study, col, _num(_first(rows, col)))
    if np.isfinite(study.median_min) != np.isfinite(study.median_max):
        raise InputFileError(f"{label}: give both median_min and median_max (the range), or neither")
    if study.has_median_range and study.ipd is None and not study.has_median_ci and study.n is None:
        raise InputFileError(f"{label}: a median with a range needs n (number of patients)")
    if not study.usable():
        raise InputFileError(
            f"{label}: nothing usable; give an ipd file, a survival table (time, survival, n_risk), "
            "a median with median_ci_low/high, or a median with median_min/max and n")
    return study


def study_from_ipd(name: str, subgroup: str, ipd, arm: str | None = None, unit: str | None = None) -> Study:
    """A study built in memory (GUI: 'add current project'), from a DataFrame or a path;
    ``unit``: its time unit (days/weeks/months/years, or None when unknown)."""
    label = f"study '{name}'"
    full = clean_ipd(ipd, label) if isinstance(ipd, pd.DataFrame) else read_ipd(ipd, label)
    unit_rows = full[full["arm"] == arm].reset_index(drop=True) if arm else full
    if unit_rows.empty:
        raise KMReconError(f"{label}: the IPD has no arm '{arm}'")
    from pooling.units import normalize_unit

    return Study(name, subgroup, arm, ipd=unit_rows, ipd_arms=full,
                 ipd_path=None if isinstance(ipd, pd.DataFrame) else str(ipd), n=len(unit_rows),
                 unit=normalize_unit(unit))
