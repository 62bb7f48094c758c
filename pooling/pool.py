"""The pooling workflow: studies -> per-study estimates -> pooled estimates, subgroups,
sensitivity analyses, pooled KM and stratified HR, in one :class:`PoolResult`.

>>> res = pool_studies("studies.csv", times=[12, 24, 36], method="reml", scale="cloglog")
>>> res.table          # pooled.csv: one row per subgroup (and 'all') and measure
>>> res.save("out/")   # CSV + XLSX tables and PNG figures
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kmrecon.errors import KMReconError
from pooling.estimates import estimates_frame, measure_name, study_estimates
from pooling.hozo import SD_METHODS
from pooling.km import CONF_TYPES
from pooling.meta import METHODS
from pooling.pooled_km import PooledKM, pooled_km, stratified_hr
from pooling.sensitivity import sensitivity
from pooling.studies import Study, read_studies
from pooling.subgroups import MEDIAN_SCALES, POOLED_COLUMNS, Pooled, pool_rows, subgroup_test
from pooling.transform import check_scale


@dataclass
class PoolResult:
    """Everything one pooling run produces.

    table: pooled.csv rows (POOLED_COLUMNS); per_study: one row per study and measure with its
    estimate, SE, CI, source, flags and weight (%) in the overall model; subgroup_tests:
    Q-between per measure; sensitivity: leave-one-out and without range-derived studies;
    hr: stratified Cox HR for two-arm IPD studies; km: combined-IPD KM (None without IPD).
    """

    table: pd.DataFrame
    per_study: pd.DataFrame
    subgroup_tests: pd.DataFrame
    sensitivity: pd.DataFrame
    hr: pd.DataFrame
    km: PooledKM | None
    pooled: dict[tuple[str, str], Pooled]
    settings: dict
    notes: list[str] = field(default_factory=list)

    @property
    def measures(self) -> list[str]:
        return list(dict.fromkeys(self.table["measure"]))

    def figures(self) -> dict:
        """name -> matplotlib Figure (forest plot per measure, survival by subgroup, pooled KM)."""
        from pooling.plots import all_figures

        return all_figures(self)

    def save(self, out_dir) -> dict[str, Path]:
        """Write CSV/XLSX tables and PNG figures into ``out_dir``; returns name -> path."""
        from pooling.report import write_outputs

        return write_outputs(self, out_dir)


def _as_studies(studies) -> list[Study]:
    if isinstance(studies, (str, Path, pd.DataFrame)):
        return read_studies(studies)
    studies = list(studies)
    if not studies or not all(isinstance(s, Study) for s in studies):
        raise KMReconError("give a study table (path or DataFrame) or a non-empty list of Study objects")
    return studies


def pool_studies(studies, times=(12, 24, 36, 48, 60), method: str = "reml", scale: str = "cloglog",
                 hk: bool = False, *, conf_type: str = "log-log", range_method: str = "hozo",
                 median_scale: str = "raw", alpha: float = 0.05, risk_times=None,
                 unit: str | None = None) -> PoolResult:
    """Pool S(t) at ``times`` (in the pooling unit) and the median across studies.

    unit: the pooling time unit (days/weeks/months/years): studies that state their unit are
    converted to it (:func:`pooling.units.check_units`); None = the studies' common unit,
    and studies in different units are refused.

    studies: a study-table path/DataFrame (see :mod:`pooling.studies`) or a list of Study.
    method: fe | dl | reml | pm; scale: cloglog | logit | log | arcsine | raw (for S(t));
    hk: Hartung–Knapp CI; conf_type: KM CI band for per-study CIs and median CIs;
    range_method: hozo | wan for medians given with a range; median_scale: raw | log.
    """
    if method not in METHODS:
        raise KMReconError(f"unknown method '{method}': use one of {', '.join(METHODS)}")
    if method == "fe" and hk:
        raise KMReconError("the Hartung-Knapp CI (--hk) is for random-effects models: drop --hk or use "
                           "method reml, dl or pm")
    check_scale(scale)
    if conf_type not in CONF_TYPES:
        raise KMReconError(f"unknown CI type '{conf_type}': use one of {', '.join(CONF_TYPES)}")
    if range_method not in SD_METHODS:
        raise KMReconError(f"unknown range method '{range_method}': use hozo or wan")
    if median_scale not in MEDIAN_SCALES:
        raise KMReconError(f"unknown median scale '{median_scale}': use raw or log")
    times = [float(t) for t in times]
    if any(not np.isfinite(t) or t <= 0 for t in times):
        raise KMReconError("landmark times must be positive numbers")
    study_list = _as_studies(studies)
    from pooling.units import check_units

    study_list, unit = check_units(study_list, unit)
    labels = [s.label for s in study_list]
    dup = {x for x in labels if labels.count(x) > 1}
    if dup:
        raise KMReconError(f"study {sorted(dup)[0]!r} appears twice; give each arm an 'arm' value")

    est = []
    for s in study_list:
        est += study_estimates(s, times, conf_type, range_method, alpha)
    per_study = estimates_frame(est)
    per_study["weight"] = np.nan
    measures = [measure_name(t) for t in times] + ["median"]
    subgroups = list(dict.fromkeys(s.subgroup for s in study_list))

    rows, tests, notes = [], [], []
    pooled: dict[tuple[str, str], Pooled] = {}
    for measure in measures:
        m_rows = per_study[per_study["measure"] == measure]
        overall = pool_rows(m_rows, "all", measure, method, scale, hk, median_scale, alpha)
        if overall is None:
            notes.append(f"{measure}: no study gives it; not pooled")
            continue
        pooled[("all", measure)] = overall
        notes += overall.notes
        rows.append(overall.row())
        weights = dict(zip(overall.labels, overall.result.weights))
        idx = m_rows.index
        per_study.loc[idx, "weight"] = [weights.get(f"{r.study} ({r.arm})" if r.arm else r.study, np.nan)
                                        for r in m_rows.itertuples()]
        sub_results = []
        for sub in subgroups:
            p = pool_rows(m_rows[m_rows["subgroup"] == sub], sub, measure, method, scale, hk, median_scale, alpha)
            if p is not None:
                pooled[(sub, measure)] = p
                sub_results.append(p)
                rows.append(p.row())
        test = subgroup_test(sub_results)
        if test is not None:
            tests.append(test)
    if not rows:
        raise KMReconError("no study gives any of the requested measures; check the study table")
    table = pd.DataFrame(rows, columns=POOLED_COLUMNS)
    notes += [f"{r.study}: {r.measure}: {r.note}" for r in per_study.itertuples() if r.note]
    from_tables = sorted({r.study + (f" ({r.arm})" if r.arm else "") for r in per_study.itertuples()
                          if r.source == "table" and np.isfinite(r.se)})
    if from_tables:
        notes.append(f"S(t) SEs of {len(from_tables)} stud{'y' if len(from_tables) == 1 else 'ies'} "
                     f"({', '.join(from_tables)}) come from published survival tables (actuarial "
                     "variance, censoring inside intervals unknown); they run up to ~7 % below "
                     "Greenwood's from IPD, so these studies weigh slightly more than IPD would give")
    notes += [f"{s.label}: {n}" for s in study_list for n in s.notes]
    settings = {"times": times, "method": method, "scale": scale, "hk": hk, "conf_type": conf_type,
                "range_method": range_method, "median_scale": median_scale, "alpha": alpha,
                "unit": unit}
    return PoolResult(
        table=table,
        per_study=per_study,
        subgroup_tests=pd.DataFrame(tests, columns=["measure", "groups", "q_between", "df", "p", "subgroups"]),
        sensitivity=sensitivity(per_study, measures, method, scale, hk, median_scale, alpha),
        hr=stratified_hr(study_list),
        km=pooled_km(study_list, risk_times if risk_times is not None else times),
        pooled=pooled,
        settings=settings,
        notes=list(dict.fromkeys(notes)),
    )
