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
    bad = (out["time"].isna() | out["event"].isna() | (out["time"] < 0) | ~np.isfinite(out["time"])
           | ~out["event"].isin([0, 1]))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # +1 header, +1 one-based
        raise InputFileError(f"{label}: IPD row {row} needs time >= 0 and event 0 or 1")
    if out.empty:
        raise InputFileError(f"{label}: the IPD has no patients")
    out["event"] = out["event"].astype(int)
    return out.reset_index(drop=True)


def _num(value, where: str | None = None) -> float:
    """A cell as a float; blanks and 'NR'-style words become NaN. Other text (or a number too
    large to be real, like 1e400) is refused naming ``where`` (the study, row and column);
    without ``where`` it reads as NaN."""
    if value is None:
        return np.nan
    if isinstance(value, str):
        v = value.strip()
        if v.lower() in _NOT_REACHED:
            return np.nan
        try:
            out = float(v)
        except ValueError:
            if where is None:
                return np.nan
            raise InputFileError(f"{where}: '{v}' is not a number; write a number (blank or NR for "
                                 "not reached / not given)") from None
    else:
        try:
            out = float(value)
        except (TypeError, ValueError):
            if where is None:
                return np.nan
            raise InputFileError(f"{where}: {value!r} is not a number") from None
    if np.isinf(out) and where is not None:
        raise InputFileError(f"{where}: '{value}' is not a finite number")
    return out


def _where(label: str, rows: pd.DataFrame, col: str, idx=None) -> str:
    """'study 'X', row 5, column 'median'' (rows numbered as in the file: header is row 1)."""
    if idx is None:
        return f"{label}, column '{col}'"
    try:
        return f"{label}, row {int(idx) + 2}, column '{col}'"
    except (TypeError, ValueError):
        return f"{label}, column '{col}'"


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def _list_cell(value, where: str | None = None) -> list[float]:
    if _blank(value):
        return []
    return [_num(v, where) for v in str(value).split(";")] if isinstance(value, str) else [_num(value, where)]


def _first(rows: pd.DataFrame, col: str):
    if col not in rows.columns:
        return None
    for v in rows[col]:
        if not _blank(v):
            return v
    return None


def _first_at(rows: pd.DataFrame, col: str):
    """(first non-blank value of ``col``, its row index) or (None, None)."""
    if col not in rows.columns:
        return None, None
    for idx, v in rows[col].items():
        if not _blank(v):
            return v, idx
    return None, None


#: columns holding one value per study: rows of one study must agree on them
SINGLE_VALUED = ("subgroup", "ipd", "median", "median_ci_low", "median_ci_high", "median_min",
                 "median_max", "n")


def _check_consistent(rows: pd.DataFrame, label: str) -> None:
    """Rows sharing a study name (and arm) are one study's survival table written long; if
    they disagree on a one-per-study value they are two studies with one name (pooling would
    keep the first and drop the other silently), so they are refused."""
    if len(rows) < 2:
        return
    for col in SINGLE_VALUED:
        if col not in rows.columns:
            continue
        seen: dict[str, object] = {}
        for idx, v in rows[col].items():
            if _blank(v):
                continue
            key = str(v).strip().lower()
            try:
                key = repr(float(key))
            except ValueError:
                pass
            seen.setdefault(key, idx)
        if len(seen) > 1:
            (_, i1), (_, i2) = list(seen.items())[:2]
            r1, r2 = (int(i) + 2 if isinstance(i, (int, np.integer)) else i for i in (i1, i2))
            raise InputFileError(
                f"{label} appears on rows {r1} and {r2} with different '{col}' values "
                f"({rows.at[i1, col]!r} and {rows.at[i2, col]!r}); give each study its own name "
                "(or its arm in column 'arm')")


def _survival_table(rows: pd.DataFrame, label: str, n_total) -> SurvivalTable | None:
    times, surv, risk, events = [], [], [], []
    for idx, row in rows.iterrows():
        t = _list_cell(row.get("time"), _where(label, rows, "time", idx))
        if not t:
            continue
        s = _list_cell(row.get("survival"), _where(label, rows, "survival", idx))
        r = _list_cell(row.get("n_risk"), _where(label, rows, "n_risk", idx))
        e = _list_cell(row.get("events"), _where(label, rows, "events", idx)) or [np.nan] * len(t)
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
    if np.any(r != np.round(r)) or np.any(np.isfinite(e) & ((e < 0) | (e != np.round(e)))):
        raise InputFileError(f"{label}: numbers at risk and events must be whole numbers >= 0")
    if r[0] <= 0:
        raise InputFileError(f"{label}: {r[0]:g} at risk at time {t[0]:g}; the first number at risk "
                             "must be the patients at the start (> 0)")
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
    _check_consistent(rows, label)
    sub = _first(rows, "subgroup")
    if sub is None:
        raise InputFileError(f"{label}: the subgroup is empty")
    subgroup = str(sub).strip()
    if subgroup.lower() == "all":
        raise InputFileError(f"{label}: 'all' is reserved for the overall result; rename the subgroup")
    n_raw, n_idx = _first_at(rows, "n")
    n = _num(n_raw, _where(label, rows, "n", n_idx))
    if n_raw is not None and not (np.isfinite(n) and 1 <= n <= 10_000_000 and n == round(n)):
        raise InputFileError(f"{label}: n must be a whole number of patients, 1 to 10 million (got {n_raw!r})")
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
        value, idx = _first_at(rows, col)
        setattr(study, col, _num(value, _where(label, rows, col, idx)))
    m, lo, hi = study.median, study.median_ci_low, study.median_ci_high
    if np.isfinite(lo) and np.isfinite(hi) and lo > hi:
        raise InputFileError(f"{label}: the median CI ({lo:g}, {hi:g}) has its lower limit above its "
                             "upper limit; swap median_ci_low and median_ci_high")
    if np.isfinite(m) and ((np.isfinite(lo) and lo > m) or (np.isfinite(hi) and hi < m)):
        raise InputFileError(f"{label}: the median {m:g} lies outside its CI ({lo:g}, {hi:g}); check "
                             "the median and its CI columns")
    if any(np.isfinite(v) and v < 0 for v in (m, lo, hi, study.median_min, study.median_max)):
        raise InputFileError(f"{label}: medians, CIs and ranges are times and cannot be negative")

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
