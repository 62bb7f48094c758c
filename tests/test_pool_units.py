"""Time units in pooling: studies in days, months and years are converted to the pooling unit
(the same patients give the same S(1 year) whatever unit their times were written in), mixing
units without a pooling unit is refused, and the default landmarks are whole years."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kmrecon.errors import KMReconError
from pooling.pool import pool_studies
from pooling.studies import read_studies, study_from_ipd
from pooling.units import check_units, default_landmarks, factor, normalize_unit
from simulate.ipd import km_table, simulate_arm


def _ipd(seed: int, n: int = 120) -> pd.DataFrame:
    """IPD in months (median 20 months, 5 years of follow-up)."""
    return simulate_arm(n, np.random.default_rng(seed), median=20.0, follow_up=84, accrual=12).assign(arm="A")


def _s_at(ipd: pd.DataFrame, t: float) -> float:
    tab = km_table(ipd["time"], ipd["event"])
    i = np.searchsorted(tab["time"].to_numpy(), t, side="right") - 1
    return 1.0 if i < 0 else float(tab["survival"].iloc[i])


def test_unit_names_factors_and_default_landmarks():
    assert [normalize_unit(u) for u in ("Months", "mo", "yrs", "Time (days)", "weeks since randomisation",
                                        "", None)] == ["months", "months", "years", "days", "weeks", None, None]
    with pytest.raises(KMReconError, match="not a time unit"):
        normalize_unit("patients")
    assert factor("years", "months") == 12 and factor("months", "days") == pytest.approx(30.4375)
    assert default_landmarks("months") == [12, 24, 36, 48, 60]
    assert default_landmarks("years") == [1, 2, 3, 4, 5]
    assert default_landmarks("days") == pytest.approx([365.25 * k for k in range(1, 6)])


def test_the_same_patients_in_days_months_and_years_pool_alike():
    ipd = _ipd(1)
    as_days = ipd.assign(time=ipd["time"] * 365.25 / 12)
    as_years = ipd.assign(time=ipd["time"] / 12)
    studies = [study_from_ipd("D", "g", as_days, unit="days"), study_from_ipd("M", "g", ipd, unit="months"),
               study_from_ipd("Y", "g", as_years, unit="years")]
    with pytest.raises(KMReconError, match="different units.*days: D.*months: M.*years: Y"):
        pool_studies(studies, times=[12])
    res = pool_studies(studies, times=[12, 24], method="dl", unit="months")
    truth = {12: _s_at(ipd, 12), 24: _s_at(ipd, 24)}
    per = res.per_study
    for t in (12, 24):
        got = per[per["measure"] == f"S({t})"]["estimate"].to_numpy(float)
        assert got == pytest.approx([truth[t]] * 3, abs=1e-9)
        row = res.table[(res.table["subgroup"] == "all") & (res.table["measure"] == f"S({t})")].iloc[0]
        assert row["estimate"] == pytest.approx(truth[t], abs=1e-6)
    med = per[per["measure"] == "median"]["estimate"].to_numpy(float)
    assert np.ptp(med) < 1e-9
    assert any("converted from days to months" in n for n in res.notes)
    assert res.settings["unit"] == "months"
    # the same, pooled in years: S(1 year) is S(12 months)
    res_y = pool_studies(studies, times=[1], method="dl", unit="years")
    row = res_y.table[(res_y.table["subgroup"] == "all") & (res_y.table["measure"] == "S(1)")].iloc[0]
    assert row["estimate"] == pytest.approx(truth[12], abs=1e-6)


def test_study_table_unit_column_and_cli(tmp_path, capsys):
    from kmrecon.cli import main

    a, b = _ipd(2), _ipd(3)
    b_days = b.assign(time=b["time"] * 365.25 / 12)
    a.to_csv(tmp_path / "a.csv", index=False)
    b_days.to_csv(tmp_path / "b.csv", index=False)
    table = pd.DataFrame({"study": ["A", "B", "C"], "subgroup": ["x", "x", "x"],
                          "ipd": ["a.csv", "b.csv", ""], "unit": ["months", "Days", "yrs"],
                          "median": ["", "", 1.6], "median_ci_low": ["", "", 1.2], "median_ci_high": ["", "", 2.1]})
    table.to_csv(tmp_path / "studies.csv", index=False)
    studies = read_studies(tmp_path / "studies.csv")
    assert [s.unit for s in studies] == ["months", "days", "years"]
    converted, unit = check_units(studies, "months")
    assert unit == "months" and converted[2].median == pytest.approx(1.6 * 12)
    assert converted[1].ipd["time"].to_numpy() == pytest.approx(b["time"].to_numpy())
    # no pooling unit: refused, with the units named
    assert main(["pool", str(tmp_path / "studies.csv"), "--out", str(tmp_path / "o1")]) == 2
    assert "different units" in capsys.readouterr().err
    # --unit months: converted; the default landmarks are whole years in months
    assert main(["pool", str(tmp_path / "studies.csv"), "--unit", "months", "--no-figures",
                 "--out", str(tmp_path / "o2")]) == 0
    out = capsys.readouterr().out
    assert "landmark times: 12, 24, 36, 48, 60 (months" in out
    pooled = pd.read_csv(tmp_path / "o2" / "pooled.csv")
    s12 = pooled[(pooled["subgroup"] == "all") & (pooled["measure"] == "S(12)")].iloc[0]
    assert s12["k"] == 2 and s12["estimate"] == pytest.approx((_s_at(a, 12) + _s_at(b, 12)) / 2, abs=0.03)
    med = pooled[(pooled["subgroup"] == "all") & (pooled["measure"] == "median")].iloc[0]
    assert med["k"] == 3 and 12 < med["estimate"] < 30       # C's 1.6 years counted as 19.2 months
    # a bad unit names the study
    table.loc[0, "unit"] = "patients"
    table.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(KMReconError, match="study 'A'.*not a time unit"):
        read_studies(tmp_path / "bad.csv")
