"""Study tables, per-study estimates from each kind of input, transforms, subgroups,
sensitivity, pooled KM / stratified HR, outputs and the `kmrecon pool` command."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kmrecon.errors import KMReconError
from pooling.estimates import study_estimates, table_log_var
from pooling.km import fit_km, survival_at
from pooling.meta import MetaAnalysis
from pooling.pool import pool_studies
from pooling.studies import read_studies
from pooling.transform import SCALES, back_transform_interval, clip_survival, from_scale, to_scale
from simulate.ipd import km_table, number_at_risk, simulate_arm

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "pooling_example" / "studies.csv"
POOLED_COLUMNS = "subgroup,measure,method,scale,k,n,estimate,ci_low,ci_high,pi_low,pi_high,tau2,i2,q,q_p".split(",")


# ----------------------------------------------------------------------------- transforms
@pytest.mark.parametrize("scale", SCALES)
def test_transform_round_trip_and_delta_variance(scale):
    s, se = np.array([0.2, 0.5, 0.9]), np.array([0.05, 0.04, 0.02])
    y, v = to_scale(s, se, scale)
    assert from_scale(y, scale) == pytest.approx(s)
    h = 1e-6  # delta method: v = (dy/dS)^2 SE^2
    dy = (to_scale(s + h, se, scale)[0] - to_scale(s - h, se, scale)[0]) / (2 * h)
    assert v == pytest.approx(dy**2 * se**2, rel=1e-5)


def test_cloglog_interval_limits_swap_back():
    lo, hi = back_transform_interval(np.log(-np.log(0.3)), np.log(-np.log(0.7)), "cloglog")
    assert (lo, hi) == pytest.approx((0.3, 0.7))


def test_survival_on_a_bound_is_moved_in_with_a_note():
    s, se, note = clip_survival(1.0, 0.0, 40, "A S(12)")
    assert s == 1 - 0.5 / 40 and se == pytest.approx(np.sqrt(s * (1 - s) / 40))
    assert "A S(12)" in note
    assert clip_survival(0.4, 0.05, 40)[2] == ""


def test_fit_survival_matches_manual_transform():
    s, se = np.array([0.5, 0.4, 0.6]), np.array([0.05, 0.06, 0.04])
    a = MetaAnalysis("dl", "logit").fit_survival(s, se).result_
    y, v = to_scale(s, se, "logit")
    b = MetaAnalysis("dl", "logit").fit(y, v).result_
    assert a.estimate == b.estimate and a.natural()["estimate"] == pytest.approx(1 / (1 + np.exp(-b.estimate)))


# ----------------------------------------------------------------------------- survival tables
def _table_from_ipd(ipd, times):
    tab = km_table(ipd["time"], ipd["event"])
    surv = [tab.loc[tab.time <= t, "survival"].min() if (tab.time <= t).any() else 1.0 for t in times]
    return pd.DataFrame({"study": "T", "subgroup": "x", "time": [0, *times], "survival": [1.0, *surv],
                         "n_risk": [len(ipd), *number_at_risk(ipd["time"], times)]})


def test_table_se_equals_greenwood_without_censoring():
    """Uncensored data: the life-table Greenwood variance telescopes to KM's exactly."""
    rng = np.random.default_rng(1)
    ipd = simulate_arm(80, rng, median=20, follow_up=1e6, accrual=0)
    times = [12, 24, 36]
    study = read_studies(_table_from_ipd(ipd, times))[0]
    est = study_estimates(study, times)
    curve = fit_km(ipd["time"], ipd["event"])
    for e, t in zip(est, times):
        ref = survival_at(curve, t)
        assert e.source == "table"
        assert e.estimate == pytest.approx(ref.survival) and e.se == pytest.approx(ref.se, rel=1e-9)


def test_table_se_close_to_greenwood_with_censoring():
    rng = np.random.default_rng(2)
    ipd = simulate_arm(200, rng, median=30, follow_up=70, accrual=30, dropout_rate=0.01)
    times = [12, 24, 36, 48, 60]
    est = study_estimates(read_studies(_table_from_ipd(ipd, times))[0], times)
    curve = fit_km(ipd["time"], ipd["event"])
    for e, t in zip(est, times):
        ref = survival_at(curve, t)
        # the life table cannot see censoring inside intervals: close while many are at risk
        assert e.se == pytest.approx(ref.se, rel=0.06 if ref.n_risk >= 20 else 0.15)


def test_compact_table_percent_equals_one_row_per_time():
    long = pd.DataFrame({"study": "A", "subgroup": "lung", "time": [12, 24], "survival": [0.8, 0.6],
                         "n_risk": [40, 30], "n": 50})
    compact = pd.DataFrame({"study": ["A"], "subgroup": ["lung"], "time": ["12;24"], "survival": ["80;60"],
                            "n_risk": ["40;30"], "n": [50]})
    a, b = read_studies(long)[0].table, read_studies(compact)[0].table
    for f in ("times", "survival", "n_risk"):
        assert getattr(a, f) == pytest.approx(getattr(b, f))
    assert a.times.tolist() == [0, 12, 24] and a.n_risk[0] == 50
    assert np.all(np.diff(table_log_var(a)) > 0)


def test_landmark_missing_from_a_table_is_skipped_with_a_note():
    df = pd.DataFrame({"study": "A", "subgroup": "lung", "time": [12, 36], "survival": [0.8, 0.5],
                       "n_risk": [40, 25], "n": 50})
    est = study_estimates(read_studies(df)[0], [24, 36])
    assert np.isnan(est[0].estimate) and "no survival reported at 24" in est[0].note
    assert est[1].estimate == 0.5


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("table,message", [
    (pd.DataFrame({"study": ["A"], "median": [10]}), "no 'subgroup' column"),
    (pd.DataFrame({"name": ["A"], "subgroup": ["x"]}), "no 'study' column"),
    (pd.DataFrame({"study": ["A", "Bad"], "subgroup": ["x", "y"], "median": [10, 12],
                   "median_ci_low": [8, np.nan], "median_ci_high": [13, np.nan]}), "study 'Bad': nothing usable"),
    (pd.DataFrame({"study": ["R"], "subgroup": ["x"], "median": [10], "median_min": [1], "median_max": [30]}),
     "study 'R': a median with a range needs n"),
    (pd.DataFrame({"study": ["R"], "subgroup": ["x"], "median": [10], "median_min": [1]}), "study 'R': give both median_min"),
    (pd.DataFrame({"study": ["T"], "subgroup": ["x"], "time": [12], "survival": [0.8], "n_risk": [30]}),
     "study 'T': give the number at start"),
    (pd.DataFrame({"study": ["T", "T"], "subgroup": ["x", "x"], "time": [12, 24], "survival": [0.6, 0.8],
                   "n_risk": [30, 20], "n": [40, 40]}), "study 'T': survival must"),
    (pd.DataFrame({"study": ["I"], "subgroup": ["x"], "ipd": ["missing.csv"]}), "study 'I': IPD file not found"),
    (pd.DataFrame({"study": ["A"], "subgroup": ["all"], "median": [10], "median_ci_low": [8]}), "reserved"),
])
def test_bad_study_tables_name_the_problem(table, message):
    with pytest.raises(KMReconError, match=message):
        read_studies(table, base_dir=ROOT)


def test_bad_ipd_row_and_time_beyond_follow_up(tmp_path):
    pd.DataFrame({"time": [1, 2, -3], "event": [1, 0, 1]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(KMReconError, match="study 'B': IPD row 4"):
        read_studies(pd.DataFrame({"study": ["B"], "subgroup": ["x"], "ipd": ["bad.csv"]}), tmp_path)
    pd.DataFrame({"time": [1, 5, 8], "event": [1, 0, 1]}).to_csv(tmp_path / "short.csv", index=False)
    studies = read_studies(pd.DataFrame({"study": ["Short"], "subgroup": ["x"], "ipd": ["short.csv"]}), tmp_path)
    with pytest.raises(KMReconError, match="study 'Short': time 12 is beyond the study's follow-up"):
        pool_studies(studies, [12])


def test_bad_options():
    df = pd.DataFrame({"study": ["A"], "subgroup": ["x"], "median": [10], "median_ci_low": [8], "median_ci_high": [13]})
    with pytest.raises(KMReconError, match="unknown method"):
        pool_studies(df, [12], method="ml")
    with pytest.raises(KMReconError, match="unknown scale"):
        pool_studies(df, [12], scale="probit")


# ----------------------------------------------------------------------------- the bundled example
@pytest.fixture(scope="module")
def example():
    return pool_studies(EXAMPLE, [12, 24, 36, 48, 60], "reml", "cloglog")


def test_example_pooled_table(example):
    t = example.table
    assert list(t.columns) == POOLED_COLUMNS
    assert set(t.subgroup) == {"all", "lung", "liver", "spine", "brain"}
    overall = t[t.subgroup == "all"].set_index("measure")
    assert list(overall.index) == ["S(12)", "S(24)", "S(36)", "S(48)", "S(60)", "median"]
    assert overall.loc["S(12)", "k"] == 7 and overall.loc["median", "k"] == 8
    s = overall.loc[["S(12)", "S(24)", "S(36)", "S(48)", "S(60)"], "estimate"].to_numpy()
    assert np.all(np.diff(s) < 0)
    assert (overall.ci_low <= overall.estimate).all() and (overall.estimate <= overall.ci_high).all()
    # the sites were simulated with clearly different survival: the subgroup test sees it
    assert (example.subgroup_tests.p < 0.01).all()
    brain, lung = (t[(t.subgroup == g) & (t.measure == "S(36)")].estimate.iloc[0] for g in ("brain", "lung"))
    assert brain < lung


def test_example_per_study_sources_and_flags(example):
    ps = example.per_study
    src = ps.groupby("study").source.first()
    assert src["Chen 2012"] == src["Evans 2011"] == "table"
    assert src["Fischer 2019"] == "median_ci" and src["Jones 2020"] == "median_range"
    assert set(ps[ps.range_derived].study) == {"Hansen 2017", "Jones 2020"}
    for measure, part in ps.groupby("measure"):
        assert part.weight.sum() == pytest.approx(100)


def test_example_medians_cover_truth(example):
    """Known truth: each single-arm IPD study's median CI covers its simulated median."""
    truth = pd.read_csv(EXAMPLE.parent / "truth.csv").groupby("study").true_median.first()
    ps = example.per_study[(example.per_study.measure == "median") & (example.per_study.source == "ipd")]
    for r in ps.itertuples():
        if r.study in ("Baker 2018", "Dubois 2016"):   # two arms with different medians pooled
            continue
        assert r.ci_low <= truth[r.study] <= r.ci_high, r.study


def test_sensitivity_analyses(example):
    sens = example.sensitivity
    loo = sens[(sens.analysis == "leave-one-out") & (sens.measure == "median")]
    assert len(loo) == 8 and (loo.k == 7).all()
    no_hozo = sens[sens.analysis.str.startswith("without range")]
    assert list(no_hozo.measure) == ["median"] and no_hozo.k.iloc[0] == 6
    assert set(no_hozo.omitted.iloc[0].split(";")) == {"Hansen 2017", "Jones 2020"}


def test_stratified_hr_and_pooled_km(example):
    hr = example.hr.iloc[0]
    assert hr.k == 2 and hr.comparison == "resection+chemo vs resection"
    # simulated HRs: Baker (36/52)^1 = 0.69, Dubois (40/56)^1.2 = 0.67
    assert hr.ci_low < 0.68 < hr.ci_high and hr.hr < 1
    km = example.km
    ipd_n = sum(pd.read_csv(p).shape[0] for p in (EXAMPLE.parent / "ipd").glob("*.csv"))
    assert km.curves["all"].n == ipd_n == km.risk_table.loc["all", 0.0]
    assert km.risk_table.loc[["lung", "liver", "spine", "brain"], 0.0].sum() == ipd_n


def test_hk_and_method_change_the_table(example):
    hk = pool_studies(EXAMPLE, [12, 24, 36, 48, 60], "reml", "cloglog", hk=True)
    a = example.table.set_index(["subgroup", "measure"])
    b = hk.table.set_index(["subgroup", "measure"])
    assert (b.method == "reml+hk").all()
    assert np.allclose(a.estimate, b.estimate)
    assert not np.allclose(a.ci_low, b.ci_low)


# ----------------------------------------------------------------------------- command line
def _run(*args):
    return subprocess.run([sys.executable, "-m", "kmrecon", "pool", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_end_to_end_on_example(tmp_path):
    p = _run(EXAMPLE, "--times", "12,24,36,48,60", "--method", "dl", "--scale", "logit", "--hk", "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    pooled = pd.read_csv(tmp_path / "pooled.csv")
    assert list(pooled.columns) == POOLED_COLUMNS
    assert set(pooled.method) == {"dl+hk"} and set(pooled[pooled.measure != "median"].scale) == {"logit"}
    api = pool_studies(EXAMPLE, [12, 24, 36, 48, 60], "dl", "logit", True).table
    assert np.allclose(pooled.estimate, api.estimate)
    for name in ("per_study.csv", "subgroup_tests.csv", "sensitivity.csv", "hazard_ratio.csv",
                 "pooling_results.xlsx", "forest_S12.png", "forest_median.png", "survival_by_subgroup.png",
                 "pooled_km.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    sheets = pd.read_excel(tmp_path / "pooling_results.xlsx", sheet_name=None)
    assert {"pooled", "per_study", "sensitivity", "settings"} <= set(sheets)


def test_cli_bad_input_exits_2_naming_the_study(tmp_path, capsys):
    from kmrecon.cli import main

    bad = tmp_path / "studies.csv"
    pd.DataFrame({"study": ["Lonely"], "subgroup": ["lung"], "n": [20]}).to_csv(bad, index=False)
    assert main(["pool", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "study 'Lonely': nothing usable" in capsys.readouterr().err
    assert main(["pool", str(EXAMPLE), "--times", "12,120", "--no-figures", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "beyond" in err and "time 120" in err
    assert main(["pool", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "out")]) == 2
    assert "file not found" in capsys.readouterr().err


# ----------------------------------------------------------------------------- more inputs
def test_xlsx_table_arm_rows_and_semicolon_csv(tmp_path):
    ipd = EXAMPLE.parent / "ipd" / "baker_2018.csv"
    df = pd.DataFrame({"study": ["Baker", "Baker", "Fischer"], "subgroup": ["lung", "lung", "liver"],
                       "arm": ["resection", "resection+chemo", None], "ipd": [str(ipd), str(ipd), None],
                       "median": [None, None, 41.6], "median_ci_low": [None, None, 31.1],
                       "median_ci_high": [None, None, "NR"], "n": [None, None, 140]})
    df.to_excel(tmp_path / "s.xlsx", index=False)
    df.to_csv(tmp_path / "s.csv", sep=";", index=False)
    for path in (tmp_path / "s.xlsx", tmp_path / "s.csv"):
        studies = read_studies(path)
        assert [s.label for s in studies] == ["Baker (resection)", "Baker (resection+chemo)", "Fischer"]
        assert [len(s.ipd) for s in studies[:2]] == [90, 90]
        assert np.isnan(studies[2].median_ci_high)
    med = study_estimates(studies[2], [])[0]
    assert med.se == pytest.approx((41.6 - 31.1) / 1.959964, rel=1e-6) and "not reached" in med.note
    with pytest.raises(KMReconError, match="no arm 'placebo'"):
        read_studies(df.assign(arm=["placebo", "resection", None]))
    with pytest.raises(KMReconError, match="appears twice"):
        pool_studies(studies + studies[:1], [12])


def test_project_json_goes_through_project_ipd(tmp_path, monkeypatch):
    import kmrecon.project

    proj = tmp_path / "study.json"
    proj.write_text("{}")
    calls = []

    def fake_project_ipd(path):
        calls.append(Path(path))
        return pd.DataFrame({"arm": "A", "time": [1.0, 5.0, 20.0], "event": [1, 0, 1]})

    monkeypatch.setattr(kmrecon.project, "project_ipd", fake_project_ipd)
    s = read_studies(pd.DataFrame({"study": ["P"], "subgroup": ["lung"], "ipd": ["study.json"]}), tmp_path)[0]
    assert calls == [proj] and s.n == 3 and s.ipd["time"].tolist() == [1.0, 5.0, 20.0]
