"""Two-reviewer agreement: compare two extractions of the same KM figure.

An extraction is a ``kmrecon extract`` sidecar (``*.json`` with its IPD CSV beside it) or a
KMRecon project (``*.kmrecon``/``*.json``; its stored reconstruction, else reconstructed now).
Arms are matched by name (case and spacing ignored), the rest by curve (least integrated
absolute difference between their Kaplan-Meier curves, Hungarian assignment). Per matched arm
the report gives N, events, median, S at landmark times, the integrated absolute difference
between the two reconstructed KMs, the numbers at risk that differ, and per arm versus the
reference arm the log hazard ratio (Cox model, lifelines) in both; plus where the calibrations
differ. Differences beyond :class:`Thresholds` are flagged. Times are in the figure's x-axis
unit throughout (whatever the axis says: days, months...).
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from digitize.accuracy import step_value
from kmrecon.errors import InputFileError, KMReconError
from kmrecon.jsonio import atomic_path


@dataclass(frozen=True)
class Thresholds:
    """What counts as a disagreement between two extractions of one figure.

    Two readers of the same printed figure should read the same printed numbers (N, numbers at
    risk) exactly; curves traced from the same pixels differ by about a line width.
    - ``n_rel``: |ΔN| above this fraction of N (and above 1 patient);
    - ``events_rel``: |Δevents| above this fraction of the events (and above 1 event);
    - ``median_rel``: |Δmedian| above this fraction of the follow-up compared, or reached in one only;
    - ``s_abs``: |ΔS| at any landmark above this (survival probability, 0-1);
    - ``mean_abs_ds``: integrated |S_A - S_B| over the common follow-up divided by its length
      (a mean |ΔS|, unit-free) above this;
    - ``log_hr``: |Δ log HR| (arm vs the reference arm) above this (0.1 = HR differing by ~10 %);
    - ``risk_cells``: numbers at risk that differ in more than this many cells;
    - ``cal_time_rel``: the two calibrations place a pixel of the plot area at times differing
      by more than this fraction of the axis span; ``cal_s_abs``: at survivals differing by more.
    """

    n_rel: float = 0.02
    events_rel: float = 0.05
    median_rel: float = 0.02
    s_abs: float = 0.03
    mean_abs_ds: float = 0.02
    log_hr: float = 0.10
    risk_cells: int = 0
    cal_time_rel: float = 0.01
    cal_s_abs: float = 0.01


# ---------------------------------------------------------------------------------- loading
@dataclass
class ArmIPD:
    name: str
    time: np.ndarray
    event: np.ndarray
    rgb: tuple[int, int, int] | None = None
    risk_times: np.ndarray | None = None
    n_risk: np.ndarray | None = None


@dataclass
class Extraction:
    """What is compared of one extraction (times in x-axis units)."""

    path: Path
    kind: str                              # "sidecar" | "project"
    arms: list[ArmIPD]
    calibration: object | None = None      # digitize.calibrate.Calibration
    plot_area: tuple | None = None
    figure: str | None = None
    figure_sha256: str | None = None
    time_unit: str | None = None


def _ipd_frame(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_excel(path) if path.suffix.lower() == ".xlsx" else pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot read the IPD ({exc})") from None
    missing = {"arm", "time", "event"} - set(df.columns)
    if missing:
        raise InputFileError(f"{path}: IPD needs columns arm,time,event (missing {', '.join(sorted(missing))})")
    return df


def _arms_from_ipd(ipd: pd.DataFrame, order: list[str], rgb: dict, risk) -> list[ArmIPD]:
    names = list(order) + [a for a in pd.unique(ipd["arm"].astype(str)) if a not in order]
    out = []
    for n in names:
        sub = ipd[ipd["arm"].astype(str) == n]
        rt = rn = None
        if risk is not None and n in risk.n_risk:
            rt, rn = risk.times.copy(), risk.n_risk[n].copy()
        out.append(ArmIPD(n, sub["time"].to_numpy(float), sub["event"].to_numpy(int), rgb.get(n), rt, rn))
    return out


def load_extraction(path) -> Extraction:
    """Read a sidecar or a project file; InputFileError says what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable JSON file ({exc})") from None
    if isinstance(data, dict) and data.get("kind") == "kmrecon-extract":
        return _from_sidecar(path)
    if isinstance(data, dict) and data.get("format") == "kmrecon-project":
        return _from_project(path)
    raise InputFileError(f"{path}: neither a kmrecon extract sidecar nor a KMRecon project")


def _from_sidecar(path: Path) -> Extraction:
    from digitize.sidecar import read_sidecar

    data = read_sidecar(path)
    ipd_name = (data.get("outputs") or {}).get("ipd")
    if not ipd_name:
        raise InputFileError(f"{path.name} does not name its IPD file (outputs.ipd)")
    ipd_path = path.parent / ipd_name
    if not ipd_path.exists():
        raise InputFileError(f"{path.name}: its IPD file {ipd_path} is missing")
    ipd = _ipd_frame(ipd_path)
    rgb = {a.name: tuple(a.rgb) for a in data["_arms"]}
    fig = data.get("figure") or {}
    auto = (data.get("settings") or {}).get("auto") or {}
    return Extraction(path, "sidecar", _arms_from_ipd(ipd, [a.name for a in data["_arms"]], rgb, data["_risk_table"]),
                      data["_calibration"], data["_plot_area"], fig.get("path"), fig.get("sha256"),
                      auto.get("time_unit"))


def _from_project(path: Path) -> Extraction:
    from kmrecon.project import load_project, validate_risk_grid

    project = load_project(path)
    ipd = project.stored_ipd()
    if ipd is None:
        from reconstruct import reconstruct

        rec = reconstruct(project.arm_data(), method=project.settings.get("method", "default"))
        ipd = rec.ipd[["arm", "time", "event"]]
    risk, _ = validate_risk_grid(project.risk_table, {a.name: a.n_total for a in project.arms})
    try:
        cal = project.build_calibration()
    except KMReconError:
        cal = None
    area = None
    if cal is not None:
        c = project.calibration
        xs = [c[k]["px"] for k in ("x1", "x2")]
        ys = [c[k]["py"] for k in ("y1", "y2")]
        area = (min(xs), min(ys), max(xs), max(ys))
    ref = project.image
    return Extraction(path, "project", _arms_from_ipd(ipd, [a.name for a in project.arms],
                                                      {a.name: a.rgb for a in project.arms}, risk),
                      cal, area, ref.path if ref else None, ref.sha256 if ref else None,
                      project.settings.get("time_unit") or None)


# ---------------------------------------------------------------------------------- KM numbers
def km_step(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier step corners (t, S) starting at (0, 1)."""
    from kmrecon.km import km_table

    tab = km_table(time, event)
    return np.r_[0.0, tab["time"].to_numpy(float)], np.r_[1.0, tab["survival"].to_numpy(float)]


def km_median(t_step, s_step) -> float | None:
    hit = np.nonzero(s_step <= 0.5 + 1e-12)[0]
    return float(t_step[hit[0]]) if hit.size else None


def iae(a: ArmIPD, b: ArmIPD, upto: float) -> float:
    """Integral of |S_A(t) - S_B(t)| over [0, upto] (time units x survival)."""
    ta, sa = km_step(a.time, a.event)
    tb, sb = km_step(b.time, b.event)
    grid = np.unique(np.r_[ta, tb, upto])
    grid = grid[(grid >= 0) & (grid <= upto)]
    if grid.size < 2:
        return 0.0
    d = np.abs(step_value(ta, sa, grid[:-1]) - step_value(tb, sb, grid[:-1]))
    return float(np.sum(d * np.diff(grid)))


def _follow_up(a: ArmIPD) -> float:
    return float(a.time.max()) if a.time.size else 0.0


def log_hr(arm: ArmIPD, ref: ArmIPD) -> float | None:
    """log hazard ratio of ``arm`` vs ``ref`` (Cox model, Breslow ties, lifelines); None when it
    cannot be estimated (no events, or a separation the model cannot fit)."""
    import warnings

    from lifelines import CoxPHFitter

    if arm.event.sum() == 0 or ref.event.sum() == 0:
        return None
    df = pd.DataFrame({"time": np.r_[arm.time, ref.time], "event": np.r_[arm.event, ref.event],
                       "x": np.r_[np.ones(arm.time.size), np.zeros(ref.time.size)]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph = CoxPHFitter().fit(df, "time", "event")
        v = float(cph.params_["x"])
    except Exception:  # noqa: BLE001 - lifelines raises several types on degenerate data
        return None
    return v if math.isfinite(v) else None


def nice_landmarks(upto: float, n: int = 5) -> list[float]:
    """About ``n`` round times inside (0, upto] (the axis' own tick spacing, e.g. 12, 24, 36)."""
    from matplotlib.ticker import MaxNLocator

    if not upto > 0:
        return []
    ticks = MaxNLocator(nbins=n, steps=[1, 2, 2.5, 3, 5, 6, 10]).tick_values(0, upto)
    return [float(t) for t in ticks if 0 < t <= upto * (1 + 1e-9)]


# ---------------------------------------------------------------------------------- matching
def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().casefold()


def match_arms(a: list[ArmIPD], b: list[ArmIPD]) -> tuple[list[tuple[int, int, str]], list[int], list[int]]:
    """Pairs (i, j, how) with how "name" or "curve"; then A's and B's unmatched indices."""
    from scipy.optimize import linear_sum_assignment

    pairs, used_a, used_b = [], set(), set()
    bn = {_norm(x.name): j for j, x in enumerate(b)}
    for i, x in enumerate(a):
        j = bn.get(_norm(x.name))
        if j is not None and j not in used_b:
            pairs.append((i, j, "name"))
            used_a.add(i)
            used_b.add(j)
    ra = [i for i in range(len(a)) if i not in used_a]
    rb = [j for j in range(len(b)) if j not in used_b]
    if ra and rb:
        cost = np.zeros((len(ra), len(rb)))
        for p, i in enumerate(ra):
            for q, j in enumerate(rb):
                upto = min(_follow_up(a[i]), _follow_up(b[j])) or 1.0
                cost[p, q] = iae(a[i], b[j], upto) / upto
        rows, cols = linear_sum_assignment(cost)
        for p, q in zip(rows, cols):
            pairs.append((ra[p], rb[q], "curve"))
            used_a.add(ra[p])
            used_b.add(rb[q])
    pairs.sort()
    return pairs, [i for i in range(len(a)) if i not in used_a], [j for j in range(len(b)) if j not in used_b]


# ---------------------------------------------------------------------------------- report
@dataclass
class Agreement:
    """The comparison of two extractions: ``rows`` (one per arm x metric: figure, arm, metric,
    a, b, diff, threshold, flag, note), ``flags`` (plain sentences, one per disagreement)."""

    key: str
    a: Extraction
    b: Extraction
    rows: list[dict] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    pairs: list[tuple[int, int, str]] = field(default_factory=list)
    landmarks: list[float] = field(default_factory=list)
    upto: float = 0.0
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def agree(self) -> bool:
        return not self.flags

    def flagged_arms(self) -> set[str]:
        return {r["arm"] for r in self.rows if r["flag"] and r["arm"]}

    def _add(self, arm, metric, a, b, diff, threshold, flag, note="", sentence=None):
        self.rows.append({"figure": self.key, "arm": arm, "metric": metric, "a": a, "b": b,
                          "diff": diff, "threshold": threshold, "flag": bool(flag), "note": note,
                          "sentence": sentence if flag else None})
        if flag and sentence:
            self.flags.append(sentence)


def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.{digits}g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def compare(a: Extraction, b: Extraction, *, key: str | None = None, landmarks: list[float] | None = None,
            thresholds: Thresholds | None = None) -> Agreement:
    """Compare two extractions of one figure (see the module docstring)."""
    th = thresholds or Thresholds()
    if key is None:     # batch/extract files have standard names: their folder names the figure
        key = a.path.parent.name if a.path.stem in ("ipd", "project") and a.path.parent.name else a.path.stem
    rep = Agreement(key, a, b, thresholds=th)
    if a.figure_sha256 and b.figure_sha256 and a.figure_sha256 != b.figure_sha256:
        rep._add("", "figure", a.figure, b.figure, None, None, True, "different figure files",
                 "The two extractions were made from different figure files (SHA-256 differs).")
    pairs, only_a, only_b = match_arms(a.arms, b.arms)
    rep.pairs = pairs
    for i in only_a:
        rep._add(a.arms[i].name, "arm", a.arms[i].name, None, None, None, True, "only in A",
                 f"Arm '{a.arms[i].name}' is only in A.")
    for j in only_b:
        rep._add(b.arms[j].name, "arm", None, b.arms[j].name, None, None, True, "only in B",
                 f"Arm '{b.arms[j].name}' is only in B.")
    _check_swapped_names(rep, a, b, pairs, th)
    ups = [min(_follow_up(a.arms[i]), _follow_up(b.arms[j])) for i, j, _ in pairs]
    rep.upto = float(min(ups)) if ups else 0.0
    rep.landmarks = list(landmarks) if landmarks else nice_landmarks(max(ups) if ups else 0.0)
    for i, j, how in pairs:
        x, y = a.arms[i], b.arms[j]
        arm = x.name if how == "name" else f"{x.name} / {y.name}"
        if how == "curve":
            rep._add(arm, "matched by", x.name, y.name, None, None, False, "names differ; matched by curve")
        na, nb = int(x.time.size), int(y.time.size)
        flag = abs(na - nb) > max(1.0, th.n_rel * max(na, nb))
        rep._add(arm, "N", na, nb, nb - na, f"> max(1, {th.n_rel:.0%} of N)", flag, "",
                 f"{arm}: N differs ({na} vs {nb}).")
        da, db = int(x.event.sum()), int(y.event.sum())
        flag = abs(da - db) > max(1.0, th.events_rel * max(da, db))
        rep._add(arm, "events", da, db, db - da, f"> max(1, {th.events_rel:.0%} of events)", flag, "",
                 f"{arm}: events differ ({da} vs {db}).")
        ta, sa = km_step(x.time, x.event)
        tb, sb = km_step(y.time, y.event)
        upto = min(_follow_up(x), _follow_up(y))
        ma, mb = km_median(ta, sa), km_median(tb, sb)
        if ma is None and mb is None:
            flag, diff = False, None
        elif (ma is None) != (mb is None):
            flag, diff = True, None
        else:
            diff = mb - ma
            flag = abs(diff) > th.median_rel * max(upto, 1e-12)
        rep._add(arm, "median", ma, mb, diff, f"> {th.median_rel:.0%} of follow-up ({th.median_rel * upto:.3g})",
                 flag, "not reached" if ma is None or mb is None else "",
                 f"{arm}: median differs ({_fmt(ma)} vs {_fmt(mb)}).")
        for t in rep.landmarks:
            if t > upto * (1 + 1e-9):
                continue
            va, vb = float(step_value(ta, sa, t)), float(step_value(tb, sb, t))
            flag = abs(vb - va) > th.s_abs
            rep._add(arm, f"S({t:g})", va, vb, vb - va, f"> {th.s_abs:g}", flag, "",
                     f"{arm}: S({t:g}) differs ({va:.3f} vs {vb:.3f}).")
        area = iae(x, y, upto)
        mean_ds = area / upto if upto > 0 else 0.0
        rep._add(arm, "IAE", area, None, None, None, False, f"∫|S_A-S_B| dt over 0-{upto:.4g}")
        rep._add(arm, "mean |ΔS|", mean_ds, None, mean_ds, f"> {th.mean_abs_ds:g}", mean_ds > th.mean_abs_ds, "",
                 f"{arm}: the two KM curves differ by {mean_ds:.3f} on average.")
        _compare_risk(rep, arm, x, y, th)
    if len(pairs) >= 2:
        ri, rj, _ = pairs[0]
        for i, j, how in pairs[1:]:
            arm = a.arms[i].name if how == "name" else f"{a.arms[i].name} / {b.arms[j].name}"
            la, lb = log_hr(a.arms[i], a.arms[ri]), log_hr(b.arms[j], b.arms[rj])
            diff = None if la is None or lb is None else lb - la
            flag = diff is not None and abs(diff) > th.log_hr
            rep._add(arm, f"log HR vs {a.arms[ri].name}", la, lb, diff, f"> {th.log_hr:g}", flag,
                     f"HR {_fmt(math.exp(la)) if la is not None else '–'} vs {_fmt(math.exp(lb)) if lb is not None else '–'}",
                     f"{arm}: hazard ratio vs {a.arms[ri].name} differs "
                     f"({math.exp(la) if la is not None else float('nan'):.3f} vs "
                     f"{math.exp(lb) if lb is not None else float('nan'):.3f}).")
    _compare_calibration(rep, a, b, th)
    return rep


def _check_swapped_names(rep: Agreement, a: Extraction, b: Extraction, pairs, th: Thresholds) -> None:
    """Flag arm names that look swapped between the reviewers (a legend read the wrong way round):
    the pairing by curve differs from the pairing by name and fits far better. The report keeps
    the pairing by name (what each reviewer wrote) and says so."""
    from scipy.optimize import linear_sum_assignment

    named = [(i, j) for i, j, how in pairs if how == "name"]
    if len(named) < 2:
        return
    ia, jb = [i for i, _ in named], [j for _, j in named]
    cost = np.zeros((len(ia), len(jb)))
    for p, i in enumerate(ia):
        for q, j in enumerate(jb):
            upto = min(_follow_up(a.arms[i]), _follow_up(b.arms[j])) or 1.0
            cost[p, q] = iae(a.arms[i], b.arms[j], upto) / upto
    rows, cols = linear_sum_assignment(cost)
    by_name = float(np.trace(cost))
    by_curve = float(cost[rows, cols].sum())
    if any(c != r for r, c in zip(rows, cols)) and by_name > th.mean_abs_ds * len(ia) and by_curve < 0.5 * by_name:
        moved = [f"A's '{a.arms[ia[r]].name}' with B's '{b.arms[jb[c]].name}'" for r, c in zip(rows, cols) if r != c]
        rep._add("", "arm names", None, None, None, None, True,
                 f"by curve: {'; '.join(moved)} (mean |ΔS| {by_curve / len(ia):.3f} vs {by_name / len(ia):.3f} by name)",
                 "The arm names look swapped between A and B: the curves match " + "; ".join(moved)
                 + f" (mean |ΔS| {by_curve / len(ia):.3f}, against {by_name / len(ia):.3f} as named). "
                 "Check the legend; the table below pairs the arms by name.")


def _compare_risk(rep: Agreement, arm: str, x: ArmIPD, y: ArmIPD, th: Thresholds) -> None:
    if x.risk_times is None and y.risk_times is None:
        return
    if (x.risk_times is None) != (y.risk_times is None):
        which = "A" if x.risk_times is not None else "B"
        rep._add(arm, "risk table", which, None, None, None, True, f"numbers at risk only in {which}",
                 f"{arm}: numbers at risk given only in {which}.")
        return

    def cells(t, n):
        return {round(float(tt), 9): float(v) for tt, v in zip(t, n) if np.isfinite(v)}

    ca, cb = cells(x.risk_times, x.n_risk), cells(y.risk_times, y.n_risk)
    diffs = []
    for t in sorted(set(ca) | set(cb)):
        va, vb = ca.get(t), cb.get(t)
        if va != vb:
            diffs.append(f"t={t:g}: {_fmt(va) if va is None else int(va)} vs {_fmt(vb) if vb is None else int(vb)}")
    flag = len(diffs) > th.risk_cells
    rep._add(arm, "risk table cells differing", len(diffs), None, len(diffs), f"> {th.risk_cells}", flag,
             "; ".join(diffs[:8]) + (" …" if len(diffs) > 8 else ""),
             f"{arm}: numbers at risk differ at {len(diffs)} time(s): {'; '.join(diffs[:4])}"
             + (" …" if len(diffs) > 4 else "."))


def _compare_calibration(rep: Agreement, a: Extraction, b: Extraction, th: Thresholds) -> None:
    ca, cb = a.calibration, b.calibration
    if ca is None or cb is None:
        rep._add("", "calibration", "yes" if ca else "no", "yes" if cb else "no", None, None, False,
                 "calibration not available in both; not compared")
        return
    same_figure = bool(a.figure_sha256 and a.figure_sha256 == b.figure_sha256)
    area = a.plot_area or b.plot_area
    if not same_figure or area is None:
        rep._add("", "calibration", None, None, None, None, False,
                 "not the same figure file: calibrations not compared pixel by pixel")
        return
    x0, y0, x1, y1 = (float(v) for v in area)
    gx, gy = np.meshgrid(np.linspace(x0, x1, 9), np.linspace(y0, y1, 9))
    ta, sa = ca.to_data(gx.ravel(), gy.ravel())
    tb, sb = cb.to_data(gx.ravel(), gy.ravel())
    span = float(np.nanmax(ta) - np.nanmin(ta)) or 1.0
    dt = float(np.nanmax(np.abs(tb - ta)))
    ds = float(np.nanmax(np.abs(sb - sa)))
    rep._add("", "calibration max |Δt|", dt, None, dt, f"> {th.cal_time_rel:.0%} of axis ({th.cal_time_rel * span:.3g})",
             dt > th.cal_time_rel * span, "over the plot area",
             f"The time axes are calibrated differently: up to {dt:.3g} apart ({dt / span:.1%} of the axis).")
    rep._add("", "calibration max |ΔS|", ds, None, ds, f"> {th.cal_s_abs:g}", ds > th.cal_s_abs, "over the plot area",
             f"The survival axes are calibrated differently: up to {ds:.3f} apart.")


# ---------------------------------------------------------------------------------- output
CSV_FIELDS = ("figure", "arm", "metric", "a", "b", "diff", "threshold", "flag", "note")


def write_csv(reports: list[Agreement], path) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
            w.writeheader()
            for rep in reports:
                for r in rep.rows:
                    w.writerow({k: (r[k] if not isinstance(r[k], float) else f"{r[k]:.6g}") for k in CSV_FIELDS})
    return Path(path)


def _color(rgb, k: int):
    import matplotlib

    if rgb is not None and sum(rgb) < 3 * 235:
        return tuple(c / 255 for c in rgb)
    return matplotlib.colormaps["tab10"](k % 10)


def plot_png(rep: Agreement) -> bytes:
    """PNG of the two reconstructed KMs overlaid (A solid, B dashed) and S_A - S_B over time."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), dpi=100)
    ax, dx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    flagged = rep.flagged_arms()
    tmax = 0.0
    for k, (i, j, how) in enumerate(rep.pairs):
        x, y = rep.a.arms[i], rep.b.arms[j]
        arm = x.name if how == "name" else f"{x.name} / {y.name}"
        col = _color(x.rgb, k)
        ta, sa = km_step(x.time, x.event)
        tb, sb = km_step(y.time, y.event)
        mark = "  ⚠" if arm in flagged else ""
        ax.step(ta, sa, where="post", color=col, lw=1.8, label=f"{arm} — A{mark}")
        ax.step(tb, sb, where="post", color=col, lw=1.6, ls=(0, (4, 2)), alpha=0.9, label=f"{arm} - - B")
        upto = min(_follow_up(x), _follow_up(y))
        grid = np.unique(np.r_[ta, tb])
        grid = grid[grid <= upto]
        dx.step(grid, step_value(ta, sa, grid) - step_value(tb, sb, grid), where="post", color=col, lw=1.4, label=arm)
        tmax = max(tmax, ta[-1], tb[-1])
    for t in rep.landmarks:
        ax.axvline(t, color="0.85", lw=0.8, zorder=0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, tmax * 1.02 or 1)
    unit = rep.a.time_unit or rep.b.time_unit or "x-axis units"
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("survival")
    ax.set_title("Reconstructed KM: A solid, B dashed", fontsize=10)
    ax.legend(fontsize=7.5, loc="best", frameon=False)
    th = rep.thresholds.s_abs
    dx.axhspan(-th, th, color="0.9", zorder=0, label=f"±{th:g} (threshold)")
    dx.axhline(0, color="0.5", lw=0.8)
    dx.set_xlabel(f"time ({unit})")
    dx.set_title("S_A(t) − S_B(t)", fontsize=10)
    lim = max(0.06, *(abs(v) for line in dx.get_lines() for v in np.asarray(line.get_ydata(), float)))
    dx.set_ylim(-lim * 1.1, lim * 1.1)
    dx.legend(fontsize=7.5, loc="best", frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1100px;color:#222}
h1{font-size:1.4em;margin-bottom:.2em} h2{font-size:1.1em;margin-top:1.4em}
.ok{background:#e6f4ea;border-left:6px solid #2e7d32;padding:.6em 1em}
.bad{background:#fdecea;border-left:6px solid #c62828;padding:.6em 1em}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f2f2f2} td.l,th.l{text-align:left} tr.flag td{background:#fdecea;font-weight:bold}
.small{color:#666;font-size:.85em}"""


def _td(v, cls="") -> str:
    text = v if isinstance(v, str) else _fmt(v, 4)
    return f'<td class="{cls}">{html.escape(str(text))}</td>'


def _grouped_flags(rep: Agreement) -> list[str]:
    """The disagreements as HTML list items, one per arm ("events 343 vs 366; median 6.71 vs
    4.94; ..."), then the figure-wide ones (calibration, names) as sentences."""
    by_arm: dict[str, list[str]] = {}
    general = []
    for r in rep.rows:
        if not r["flag"]:
            continue
        if not r["arm"] or r["metric"] in ("arm", "figure"):
            general.append(html.escape(r.get("sentence") or f"{r['metric']}: {r['note']}"))
            continue
        if r["metric"] == "risk table cells differing":
            item = f"numbers at risk differ ({r['note']})"
        elif r["metric"] == "risk table":
            item = r["note"]
        elif r["b"] is None and r["diff"] is not None:
            item = f"{r['metric']} {_fmt(r['diff'])}"
        elif r["metric"].startswith("log HR"):
            item = f"{r['metric'].replace('log HR', 'HR')}: {r['note'].replace('HR ', '')}"
        else:
            item = f"{r['metric']} {_fmt(r['a'], 4)} vs {_fmt(r['b'], 4)}"
        by_arm.setdefault(r["arm"], []).append(html.escape(item))
    return [f"<b>{html.escape(arm)}</b>: " + "; ".join(items) for arm, items in by_arm.items()] + general


def to_html(rep: Agreement, png: bytes | None = None, *, image_src: str | None = None) -> str:
    """A one-page report: verdict and the disagreements in words first, then the plot, then the
    numbers per arm. The plot is embedded as base64 PNG (or ``image_src`` names it, e.g. for
    Qt's QTextBrowser, which takes it as a document resource)."""
    if png is None and image_src is None:
        png = plot_png(rep)
    src = image_src or ("data:image/png;base64," + base64.b64encode(png).decode("ascii"))
    e = html.escape
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Agreement: {e(rep.key)}</title>"
           f"<style>{_CSS}</style></head><body>",
           f"<h1>Two-reviewer agreement: {e(rep.key)}</h1>",
           f"<p class='small'>A: {e(str(rep.a.path))} ({rep.a.kind})<br>B: {e(str(rep.b.path))} ({rep.b.kind})"
           f"<br>figure: {e(str(rep.a.figure or 'embedded in the project'))}</p>"]
    if rep.agree:
        out.append(f"<div class='ok'><b>The two extractions agree</b> on all {len(rep.pairs)} arm(s) "
                   "within the thresholds below.</div>")
    else:
        out.append(f"<div class='bad'><b>{len(rep.flags)} disagreement(s)</b>"
                   + (f" in arm(s): {e(', '.join(sorted(a for a in rep.flagged_arms())))}" if rep.flagged_arms() else "")
                   + "<ul>" + "".join(f"<li>{s}</li>" for s in _grouped_flags(rep)) + "</ul></div>")
    out.append(f"<p><img src='{src}' width='1000' alt='KM curves of A and B overlaid'></p>")
    out.append("<h2>Per arm</h2><table><tr><th class='l'>arm</th><th class='l'>metric</th><th>A</th><th>B</th>"
               "<th>B − A</th><th class='l'>flag if</th><th class='l'>note</th></tr>")
    for r in rep.rows:
        out.append(f"<tr class='{'flag' if r['flag'] else ''}'>" + _td(r["arm"], "l") + _td(r["metric"], "l")
                   + _td(r["a"]) + _td(r["b"]) + _td(r["diff"]) + _td(r["threshold"] or "", "l")
                   + _td(r["note"], "l") + "</tr>")
    out.append("</table>")
    th = rep.thresholds
    out.append("<h2>Thresholds</h2><p class='small'>"
               f"N: |ΔN| &gt; max(1, {th.n_rel:.0%} of N); events: &gt; max(1, {th.events_rel:.0%}); "
               f"median: &gt; {th.median_rel:.0%} of the follow-up compared, or reached in one only; "
               f"S at landmarks: |ΔS| &gt; {th.s_abs:g}; mean |ΔS| over the common follow-up &gt; {th.mean_abs_ds:g}; "
               f"|Δ log HR| &gt; {th.log_hr:g}; numbers at risk: more than {th.risk_cells} differing cell(s); "
               f"calibration: a plot-area pixel mapped &gt; {th.cal_time_rel:.0%} of the time axis or "
               f"&gt; {th.cal_s_abs:g} in S apart. Times in the figure's x-axis unit. "
               "Arms are matched by name, else by curve.</p></body></html>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------- folders
_STANDARD_NAMES = ("project.kmrecon", "ipd.json")


def extractions_in(folder) -> dict[str, Path]:
    """Key -> file of every sidecar/project under ``folder``. A batch folder's ``<name>/project.kmrecon``
    (preferred: it holds a reviewer's corrections) or ``<name>/ipd.json`` is keyed by ``<name>``;
    other files by their path without suffix."""
    folder = Path(folder)
    found: dict[str, tuple[int, Path]] = {}
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.suffix.lower() not in (".json", ".kmrecon"):
            continue
        rel = f.relative_to(folder)
        if rel.name in ("summary.json", "approvals.json", "result.json"):
            continue
        try:
            head = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(head, dict) or not (head.get("kind") == "kmrecon-extract"
                                              or head.get("format") == "kmrecon-project"):
            continue
        if rel.name in _STANDARD_NAMES and len(rel.parts) > 1:
            key, rank = rel.parent.as_posix(), _STANDARD_NAMES.index(rel.name)
        else:
            key, rank = rel.with_suffix("").as_posix(), 5
        if key not in found or rank < found[key][0]:
            found[key] = (rank, f)
    return {k: v[1] for k, v in sorted(found.items())}


def compare_paths(a, b, **kw) -> Agreement:
    return compare(load_extraction(a), load_extraction(b), **kw)


def write_report(rep: Agreement, html_path, csv_path=None) -> None:
    png = plot_png(rep)
    with atomic_path(html_path) as tmp:
        tmp.write_text(to_html(rep, png), encoding="utf-8")
    with atomic_path(Path(html_path).with_suffix(".png")) as tmp:
        tmp.write_bytes(png)
    if csv_path is not None:
        write_csv([rep], csv_path)


def compare_folders(a, b, out_dir, **kw) -> tuple[list[Agreement], list[str], list[str], dict[str, str]]:
    """Pair the extractions of two folders by key (see :func:`extractions_in`), write one HTML per
    pair, ``index.html`` and ``agreement.csv`` into ``out_dir``. Returns (reports, keys only in
    A, keys only in B, key -> error for pairs that could not be read)."""
    fa, fb = extractions_in(a), extractions_in(b)
    if not fa:
        raise KMReconError(f"{a}: no extract sidecars or KMRecon projects in this folder")
    if not fb:
        raise KMReconError(f"{b}: no extract sidecars or KMRecon projects in this folder")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports, errors = [], {}
    for key in sorted(set(fa) & set(fb)):
        try:
            rep = compare_paths(fa[key], fb[key], key=key, **kw)
        except KMReconError as exc:
            errors[key] = str(exc)
            continue
        write_report(rep, out_dir / f"{_slug(key)}.html")
        reports.append(rep)
    only_a, only_b = sorted(set(fa) - set(fb)), sorted(set(fb) - set(fa))
    write_csv(reports, out_dir / "agreement.csv")
    e = html.escape
    rows = []
    for rep in reports:
        verdict = "agree" if rep.agree else f"{len(rep.flags)} disagreement(s)"
        arms = ", ".join(sorted(rep.flagged_arms()))
        rows.append(f"<tr class='{'' if rep.agree else 'flag'}'><td class='l'><a href='{_slug(rep.key)}.html'>"
                    f"{e(rep.key)}</a></td><td class='l'>{e(verdict)}</td><td class='l'>{e(arms)}</td></tr>")
    for key, why in errors.items():
        rows.append(f"<tr class='flag'><td class='l'>{e(key)}</td><td class='l'>not compared</td><td class='l'>{e(why)}</td></tr>")
    for key in only_a:
        rows.append(f"<tr class='flag'><td class='l'>{e(key)}</td><td class='l'>only in A</td><td></td></tr>")
    for key in only_b:
        rows.append(f"<tr class='flag'><td class='l'>{e(key)}</td><td class='l'>only in B</td><td></td></tr>")
    n_ok = sum(r.agree for r in reports)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Agreement</title><style>{_CSS}</style>"
            f"</head><body><h1>Two-reviewer agreement</h1><p class='small'>A: {e(str(a))}<br>B: {e(str(b))}</p>"
            f"<div class='{'ok' if n_ok == len(reports) and not (only_a or only_b or errors) else 'bad'}'>"
            f"{n_ok} of {len(reports)} figure(s) agree; {len(reports) - n_ok} disagree; "
            f"{len(only_a)} only in A, {len(only_b)} only in B, {len(errors)} not readable.</div>"
            "<table><tr><th class='l'>figure</th><th class='l'>verdict</th><th class='l'>arms flagged</th></tr>"
            + "".join(rows) + "</table></body></html>")
    with atomic_path(out_dir / "index.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    return reports, only_a, only_b, errors


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._") or "figure"


def thresholds_from(args) -> Thresholds:
    kw = {k: getattr(args, k) for k in asdict(Thresholds()) if getattr(args, k, None) is not None}
    return Thresholds(**kw)
