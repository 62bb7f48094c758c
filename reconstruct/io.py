"""Files in and out of reconstruction.

Inputs are CSV with a header row: curve ``arm,time,survival`` (``arm`` optional for one arm),
risk table ``arm,time,n_risk``, censor marks ``arm,time``. Errors name the file and the line
(line 1 is the header). Outputs are written atomically (temporary file in the same directory,
then ``os.replace``) so a failure never leaves a half-written file.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from kmrecon.data import ArmData, RiskTable
from kmrecon.jsonio import atomic_path, write_json  # noqa: F401  (part of this module's API)
from reconstruct.errors import ReconstructionInputError
from reconstruct.preprocess import preprocess_curve

DEFAULT_ARM = "arm"
#: largest number of patients (N, numbers at risk, events) accepted in one arm; the largest
#: trials report ~10^5, so anything above is a typo or a unit error
MAX_PATIENTS = 10_000_000
#: largest number of rows read from one input file (a digitized curve has ~10^2-10^4 points)
MAX_ROWS = 2_000_000


def _read_rows(path, required: tuple[str, ...]) -> tuple[Path, list[tuple[int, dict]]]:
    """(path, [(line number, row dict)]) with lower-cased headers; checks required columns."""
    path = Path(path)
    if not path.is_file():
        raise ReconstructionInputError(f"{path}: file not found")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                raise ReconstructionInputError(f"{path}: the file is empty; expected a header row")
            reader.fieldnames = [(f or "").strip().lower() for f in reader.fieldnames]
            missing = [c for c in required if c not in reader.fieldnames]
            if missing:
                found = ",".join(reader.fieldnames)
                if not found.isprintable() or len(found) > 120:
                    found = "not a CSV header: is this a text CSV file?"
                raise ReconstructionInputError(
                    f"{path}: missing column(s) {', '.join(missing)}; header must include "
                    f"{','.join(required)} (found {found})"
                )
            rows = []
            for i, row in enumerate(reader):
                if i >= MAX_ROWS:
                    raise ReconstructionInputError(
                        f"{path}: more than {MAX_ROWS:,} rows; thin the digitized points first")
                if any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    rows.append((i + 2, {k: (v or "").strip() for k, v in row.items()
                                         if k is not None and isinstance(v, str)}))
    except UnicodeDecodeError as exc:
        raise ReconstructionInputError(f"{path}: not a text CSV file ({exc})") from exc
    except csv.Error as exc:
        raise ReconstructionInputError(f"{path}: malformed CSV ({exc})") from exc
    except OSError as exc:
        raise ReconstructionInputError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if not rows:
        raise ReconstructionInputError(f"{path}: no data rows below the header")
    return path, rows


def _number(path: Path, line: int, row: dict, column: str, *, allow_blank: bool = False) -> float:
    text = row.get(column, "")
    if text == "" and allow_blank:
        return float("nan")
    try:
        value = float(text)
    except ValueError:
        raise ReconstructionInputError(
            f"{path} line {line}: {column} '{text}' is not a number"
        ) from None
    if not np.isfinite(value):
        raise ReconstructionInputError(f"{path} line {line}: {column} '{text}' is not a finite number")
    return value


def _time(path: Path, line: int, row: dict) -> float:
    t = _number(path, line, row, "time")
    if t < 0:
        raise ReconstructionInputError(f"{path} line {line}: time {t:g} is negative; times must be >= 0")
    return t


def _arm(row: dict) -> str:
    return row.get("arm", "") or DEFAULT_ARM


def read_curve_csv(path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Digitized curve points per arm: {arm: (time, survival)} in file order (S as written)."""
    path, rows = _read_rows(path, ("time", "survival"))
    out: dict[str, tuple[list, list]] = {}
    for line, row in rows:
        t = _time(path, line, row)
        s = _number(path, line, row, "survival")
        if s < 0:
            raise ReconstructionInputError(f"{path} line {line}: survival {s:g} is negative")
        ts, ss = out.setdefault(_arm(row), ([], []))
        ts.append(t)
        ss.append(s)
    curves = {arm: (np.asarray(t), np.asarray(s)) for arm, (t, s) in out.items()}
    for arm, (t, s) in curves.items():
        _check_falls(path, arm, t, s)
    return curves


#: rise in survival (probability) from the curve's start to its end that no digitizing
#: jitter explains: a KM curve never rises, so the column holds something else
RISE_LIMIT = 0.1


def _check_falls(path: Path, arm: str, t: np.ndarray, s: np.ndarray) -> None:
    """Refuse a curve that rises over time (1 - S, a cumulative incidence or event curve):
    the median survival of its last fifth of points above that of its first fifth by more
    than :data:`RISE_LIMIT`."""
    if t.size < 4:
        return
    order = np.argsort(t, kind="stable")
    ss = s[order] / (100.0 if np.max(s) > 1.5 else 1.0)
    k = max(1, t.size // 5)
    start, end = float(np.median(ss[:k])), float(np.median(ss[-k:]))
    if end - start > RISE_LIMIT:
        raise ReconstructionInputError(
            f"{path}: arm '{arm}' rises from survival {start:.2f} to {end:.2f} over time; a KM "
            "survival curve never rises, so this looks like a cumulative incidence (1 - S) or "
            "event curve: give survival (1 minus these values)")


def read_risk_cells(path) -> tuple[Path, dict[str, dict[float, tuple[float, int]]]]:
    """Risk-table cells with their file lines: (path, {arm: {time: (n_risk, line)}}); blank
    n_risk is NaN. Checks whole numbers >= 0 that never increase over time within an arm."""
    path, rows = _read_rows(path, ("time", "n_risk"))
    per_arm: dict[str, dict[float, tuple[float, int]]] = {}
    for line, row in rows:
        t = _time(path, line, row)
        n = _number(path, line, row, "n_risk", allow_blank=True)
        if np.isfinite(n) and (n < 0 or abs(n - round(n)) > 1e-9):
            raise ReconstructionInputError(
                f"{path} line {line}: n_risk {row['n_risk']} must be a whole number >= 0"
            )
        if np.isfinite(n) and n > MAX_PATIENTS:
            raise ReconstructionInputError(
                f"{path} line {line}: n_risk {row['n_risk']} is more than {MAX_PATIENTS:,} patients; "
                "check the number (a typo or a stray digit?)"
            )
        cells = per_arm.setdefault(_arm(row), {})
        if t in cells:
            raise ReconstructionInputError(
                f"{path} line {line}: arm '{_arm(row)}' already has a count at time {t:g} "
                f"(line {cells[t][1]})"
            )
        cells[t] = (n, line)
    for arm, cells in per_arm.items():
        prev = None
        for t in sorted(cells):
            n, line = cells[t]
            if not np.isfinite(n):
                continue
            if prev is not None and n > prev[0]:
                raise ReconstructionInputError(
                    f"{path} line {line}: arm '{arm}' has {int(n)} at risk at time {t:g}, more than "
                    f"{int(prev[0])} at time {prev[1]:g}; numbers at risk cannot increase"
                )
            prev = (n, t)
    return path, per_arm


def read_risk_csv(path) -> RiskTable:
    """Number-at-risk table ``arm,time,n_risk`` (see :func:`read_risk_cells` for the checks)."""
    _, per_arm = read_risk_cells(path)
    times = np.array(sorted({t for cells in per_arm.values() for t in cells}), float)
    n_risk = {
        arm: np.array([cells.get(t, (np.nan, 0))[0] for t in times], float)
        for arm, cells in per_arm.items()
    }
    return RiskTable(times=times, n_risk=n_risk)


def read_marks_csv(path) -> dict[str, np.ndarray]:
    """Censor-mark times per arm: {arm: sorted times}."""
    path, rows = _read_rows(path, ("time",))
    out: dict[str, list] = {}
    for line, row in rows:
        out.setdefault(_arm(row), []).append(_time(path, line, row))
    return {arm: np.sort(np.asarray(v, float)) for arm, v in out.items()}


def write_ipd(ipd: pd.DataFrame, path) -> Path:
    """IPD (arm, time, event) as .csv or .xlsx, chosen by the suffix; atomic."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ReconstructionInputError(f"{path}: output must end in .csv or .xlsx")
    with atomic_path(path) as tmp:
        ipd_to_file(ipd, tmp)
    return path


def ipd_to_file(ipd: pd.DataFrame, path) -> None:
    """IPD columns arm, time, event written to ``path`` as .xlsx when its suffix says so, else
    .csv (not atomic: for a temporary path of ``atomic_path``/``atomic_paths``, which keeps the
    target's suffix)."""
    frame = ipd.loc[:, ["arm", "time", "event"]]
    if Path(path).suffix.lower() == ".xlsx":
        frame.to_excel(path, index=False, sheet_name="IPD", engine="openpyxl")
    else:
        frame.to_csv(path, index=False, float_format="%.10g")


def write_diagnostics_json(rec, path) -> Path:
    """Per-arm diagnostics of a :class:`~reconstruct.Reconstruction` as JSON; atomic."""
    return write_json(rec.to_dict(), path)


def _safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name) or DEFAULT_ARM


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_ipdfromkm(arm: ArmData, directory) -> list[Path]:
    """Write :func:`ipdfromkm_files` (each file atomically); returns the paths."""
    return [_write_text(p, text) for p, text in ipdfromkm_files(arm, directory).items()]


def write_survhe(arms: list[ArmData], directory) -> list[Path]:
    """Write :func:`survhe_files` (each file atomically); returns the paths."""
    return [_write_text(p, text) for p, text in survhe_files(arms, directory).items()]


def ipdfromkm_files(arm: ArmData, directory) -> dict[Path, str]:
    """The cleaned curve in IPDfromKM's input: ``<arm>_ipdfromkm_points.csv`` (time, survival as a
    fraction: call ``preprocess(..., maxy = 1)``), ``<arm>_ipdfromkm_risk.csv`` (trisk, nrisk) when
    a risk table is known, and ``<arm>_ipdfromkm.R`` with the calls."""
    directory = Path(directory)
    curve = preprocess_curve(arm.time, arm.survival, arm.name)
    stem = _safe_name(arm.name)
    points = directory / f"{stem}_ipdfromkm_points.csv"
    lines = ["time,survival"] + [f"{t:.10g},{s:.10g}" for t, s in zip(curve.time, curve.survival)]
    written = {points: "\n".join(lines) + "\n"}
    has_risk = arm.risk_times is not None and len(arm.risk_times) > 0
    if has_risk:
        keep = ~np.isnan(arm.n_risk)
        risk = directory / f"{stem}_ipdfromkm_risk.csv"
        rl = ["trisk,nrisk"] + [f"{t:.10g},{int(n)}" for t, n in zip(arm.risk_times[keep], arm.n_risk[keep])]
        written[risk] = "\n".join(rl) + "\n"
    call = [
        "library(IPDfromKM)",
        f'dat <- read.csv("{points.name}")',
    ]
    if has_risk:
        call += [
            f'risk <- read.csv("{stem}_ipdfromkm_risk.csv")',
            "prep <- preprocess(dat = dat, trisk = risk$trisk, nrisk = risk$nrisk, maxy = 1)",
        ]
    else:
        n = arm.n_total if arm.n_total is not None else "NULL  # set N here"
        call.append(f"prep <- preprocess(dat = dat, totalpts = {n}, maxy = 1)")
    d = arm.total_events if arm.total_events is not None else "NULL"
    call.append(f"est <- getIPD(prep = prep, armID = 1, tot.events = {d})")
    written[directory / f"{stem}_ipdfromkm.R"] = "\n".join(call) + "\n"
    return written


def survhe_files(arms: list[ArmData], directory) -> dict[Path, str]:
    """Each arm's cleaned curve in survHE ``digitise`` input (Guyot's DigitizeIt layout):
    ``<arm>_survival.txt`` with columns ID, time, survival and ``<arm>_nrisk.txt`` with columns
    Interval, time, lower, upper, nrisk (lower/upper: 1-based rows of the survival file in each
    risk interval). Tab-separated with a header, as read by ``read.table(header = TRUE)``."""
    directory = Path(directory)
    written: dict[Path, str] = {}
    for arm in arms:
        curve = preprocess_curve(arm.time, arm.survival, arm.name)
        stem = _safe_name(arm.name)
        lines = ["ID\ttime\tsurvival"] + [
            f"{i + 1}\t{t:.10g}\t{s:.10g}" for i, (t, s) in enumerate(zip(curve.time, curve.survival))
        ]
        written[directory / f"{stem}_survival.txt"] = "\n".join(lines) + "\n"
        if arm.risk_times is not None and len(arm.risk_times):
            keep = ~np.isnan(arm.n_risk)
            rt, rn = arm.risk_times[keep], arm.n_risk[keep]
        else:
            rt = np.array([0.0])
            rn = np.array([float(arm.n_total) if arm.n_total is not None else np.nan])
        rt, rn = rt[rt <= curve.t_end], rn[rt <= curve.t_end]
        lower = np.searchsorted(curve.time, rt, side="left") + 1
        upper = np.append(lower[1:] - 1, curve.time.size)
        rows = ["Interval\ttime\tlower\tupper\tnrisk"] + [
            f"{j + 1}\t{t:.10g}\t{lo}\t{up}\t{'NA' if np.isnan(n) else int(n)}"
            for j, (t, lo, up, n) in enumerate(zip(rt, lower, upper, rn))
        ]
        written[directory / f"{stem}_nrisk.txt"] = "\n".join(rows) + "\n"
    return written
