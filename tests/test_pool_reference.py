"""Pooling reproduces the reference values of R metafor 3.8-1 and survival 3.5-3
(BCG trials, survival::lung by ECOG score, Hozo/Wan), each to the printed precision."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pooling.hozo import hozo_mean, hozo_sd, hozo_sd_formula, hozo_sd_simple, median_se_from_range, wan_sd
from pooling.km import fit_km, median_se_from_ci, median_survival, quantile_crossing, survival_at
from pooling.meta import MetaAnalysis, meta_analysis
from pooling.pool import pool_studies

# R survival::lung (NCCTG lung cancer, public data), patients with ECOG 0-2; time in days,
# status 1 censored / 2 dead
LUNG = Path(__file__).parent / "data" / "pooling" / "lung_ecog012.csv"


def close(x, ref, decimals):
    """x equals ref to the printed number of decimals."""
    assert abs(float(x) - ref) <= 0.5 * 10.0**-decimals + 1e-12, (x, ref)


# ----------------------------------------------------------------------------- BCG (metafor dat.bcg)
YI = np.array([-0.889311, -1.585389, -1.348073, -1.441551, -0.217547, -0.786116, -1.620898, 0.011952,
               -0.469418, -1.371345, -0.339359, 0.445913, -0.017314])
VI = np.array([0.325585, 0.194581, 0.415368, 0.020010, 0.051210, 0.006906, 0.223017, 0.003962,
               0.056434, 0.073025, 0.012412, 0.532506, 0.071405])

BCG = [  # method, hk, tau2, estimate, se, ci_low, ci_high
    ("fe", False, 0.0, -0.4303, 0.0405, -0.5097, -0.3509),
    ("dl", False, 0.3088, -0.7141, 0.1787, -1.0644, -0.3638),
    ("reml", False, 0.3132, -0.7145, 0.1798, -1.0669, -0.3622),
    ("pm", False, 0.3181, -0.7150, 0.1809, -1.0695, -0.3604),
    ("reml", True, 0.3132, -0.7145, 0.1808, -1.1084, -0.3206),
]


@pytest.mark.parametrize("method,hk,tau2,est,se,lo,hi", BCG)
def test_bcg_matches_metafor(method, hk, tau2, est, se, lo, hi):
    r = MetaAnalysis(method, hk=hk).fit(YI, VI).result_
    for got, ref in ((r.tau2, tau2), (r.estimate, est), (r.se, se), (r.ci_low, lo), (r.ci_high, hi)):
        close(got, ref, 4)
    close(r.i2, 92.12, 2)  # (Q - df)/Q for every method
    # metafor's Q = 152.2330 comes from unrounded yi/vi; the 6-decimal inputs give 152.2268
    assert abs(r.q - 152.2330) < 0.01
    assert r.k == 13


def test_single_study_is_its_own_estimate():
    r = meta_analysis([0.3], [0.04], "reml")
    assert (r.estimate, r.se, r.tau2, r.i2) == (0.3, 0.2, 0.0, 0.0)
    close(r.ci_low, 0.3 - 1.959964 * 0.2, 6)


@pytest.mark.parametrize("method", ["dl", "reml", "pm"])
def test_homogeneous_studies_have_zero_tau2(method):
    r = meta_analysis([0.5, 0.52, 0.49, 0.51], [0.01, 0.02, 0.015, 0.03], method)
    assert r.tau2 == 0.0 and r.i2 == 0.0
    fe = meta_analysis([0.5, 0.52, 0.49, 0.51], [0.01, 0.02, 0.015, 0.03], "fe")
    assert r.estimate == pytest.approx(fe.estimate) and r.se == pytest.approx(fe.se)


# ----------------------------------------------------------------------------- lung by ECOG (survival)
LUNG_REF = {  # ecog: n, events, S(365), SE, log-log CI, median, log-log CI, log CI
    0: (63, 37, 0.535209, 0.072786, (0.383855, 0.664916), 394, (340, 558), (348, 574)),
    1: (113, 82, 0.430655, 0.050857, (0.329946, 0.527259), 306, (245, 426), (268, 429)),
    2: (50, 44, 0.214722, 0.061412, (0.109183, 0.343481), 199, (153, 285), (156, 288)),
}


@pytest.fixture(scope="module")
def lung():
    return pd.read_csv(LUNG)


@pytest.mark.parametrize("ecog", [0, 1, 2])
def test_lung_km_matches_survival(lung, ecog):
    n, d, s, se, ci, med, med_ll, med_log = LUNG_REF[ecog]
    sub = lung[lung["ph.ecog"] == ecog]
    curve = fit_km(sub["time"], (sub["status"] == 2).astype(int))
    assert (curve.n, curve.n_events) == (n, d)
    est = survival_at(curve, 365, "log-log")
    close(est.survival, s, 6)
    close(est.se, se, 6)
    close(est.ci_low, ci[0], 6)
    close(est.ci_high, ci[1], 6)
    m = median_survival(curve, "log-log")
    assert (m.median, m.ci_low, m.ci_high) == (med, *med_ll)
    m = median_survival(curve, "log")
    assert (m.median, m.ci_low, m.ci_high) == (med, *med_log)


@pytest.fixture(scope="module")
def lung_studies(lung, tmp_path_factory):
    """The three ECOG groups as IPD study files plus a study table."""
    d = tmp_path_factory.mktemp("lung")
    rows = []
    for g, sub in lung.groupby("ph.ecog"):
        pd.DataFrame({"time": sub["time"], "event": (sub["status"] == 2).astype(int)}).to_csv(d / f"e{g}.csv", index=False)
        rows.append({"study": f"ECOG {g}", "subgroup": "ecog 0-1" if g < 2 else "ecog 2", "ipd": f"e{g}.csv"})
    pd.DataFrame(rows).to_csv(d / "studies.csv", index=False)
    return d / "studies.csv"


@pytest.mark.parametrize("method,est,lo,hi,tau2,tau2_dec", [
    ("dl", 0.391581, 0.220042, 0.559550, 0.146188, 6),
    ("reml", 0.391761, 0.211502, 0.568204, 0.16634, 5),
])
def test_lung_pooled_survival(lung_studies, method, est, lo, hi, tau2, tau2_dec):
    res = pool_studies(lung_studies, [365], method, "cloglog")
    row = res.table[(res.table.subgroup == "all") & (res.table.measure == "S(365)")].iloc[0]
    close(row.estimate, est, 6)
    close(row.ci_low, lo, 6)
    close(row.ci_high, hi, 6)
    close(row.tau2, tau2, tau2_dec)
    close(row.q, 11.1487, 4)
    assert row.k == 3 and row.n == 226


@pytest.mark.parametrize("method,est,lo,hi", [
    ("dl", 292.3255, 184.0679, 400.5831),
    ("reml", 292.4523, 183.2026, 401.7020),
])
def test_lung_pooled_median_from_log_ci(lung_studies, method, est, lo, hi):
    res = pool_studies(lung_studies, [365], method, "cloglog", conf_type="log")
    row = res.table[(res.table.subgroup == "all") & (res.table.measure == "median")].iloc[0]
    close(row.estimate, est, 4)
    close(row.ci_low, lo, 4)
    close(row.ci_high, hi, 4)
    if method == "dl":
        close(row.tau2, 7193.33, 2)
    per = res.per_study[res.per_study.measure == "median"]
    assert per["se"].tolist() == pytest.approx([(574 - 348) / 3.919928, (429 - 268) / 3.919928, (288 - 156) / 3.919928], rel=1e-6)


def test_pooling_one_study_gives_its_own_km_estimate(lung_studies, lung):
    """k = 1 on the cloglog scale returns the study's S(t) and exactly its log-log CI."""
    table = pd.read_csv(lung_studies).iloc[[0]]
    res = pool_studies(table.assign(ipd=[str(lung_studies.parent / table.ipd.iloc[0])]), [365], "reml")
    row = res.table[(res.table.subgroup == "all") & (res.table.measure == "S(365)")].iloc[0]
    n, d, s, se, ci, *_ = LUNG_REF[0]
    close(row.estimate, s, 6)
    close(row.ci_low, ci[0], 6)
    close(row.ci_high, ci[1], 6)
    assert row.k == 1 and row.tau2 == 0


@pytest.mark.parametrize("t_extra", [5, 60, 92])
def test_all_lung_patients(lung, t_extra):
    """R's values are for all 228 survival::lung patients; the file holds the 226 with ECOG 0-2.
    Adding the other two as deaths (ECOG 3: 118 days; ECOG missing: any day before 93)
    reproduces all four reference values exactly."""
    time = np.concatenate([lung["time"], [118, t_extra]])
    event = np.concatenate([(lung["status"] == 2).astype(int), [1, 1]])
    curve = fit_km(time, event)
    est = survival_at(curve, 365)
    close(est.survival, 0.409242, 6)
    close(est.se, 0.035824, 6)
    m = median_survival(curve, "log-log")
    assert (m.median, m.ci_low, m.ci_high) == (310, 284, 361)


def test_median_on_a_flat_step_uses_r_rule():
    """A curve sitting exactly at 0.5 gives R's midpoint of that flat step (lifelines would give
    its left end); a flat at the end of the curve runs to the last follow-up time."""
    assert quantile_crossing([0, 2, 5], [1.0, 0.5, 0.25], 0.5, 8) == 3.5
    assert quantile_crossing([0, 2], [1.0, 0.5], 0.5, 8) == 5.0
    assert quantile_crossing([0, 2, 5], [1.0, 0.6, 0.4], 0.5, 8) == 5.0
    assert np.isnan(quantile_crossing([0, 2], [1.0, 0.6], 0.5, 8))   # not reached
    c = fit_km([1, 2, 3, 4], [1, 1, 0, 0])  # S = 0.75, 0.5, then flat to t = 4
    assert median_survival(c).median == 3.0
    m = median_survival(fit_km([1, 2, 3, 4, 5, 6], [1, 0, 0, 0, 0, 0]))
    assert np.isnan(m.median) and not m.reached


def test_median_se_from_ci():
    assert median_se_from_ci(394, 348, 574) == pytest.approx((574 - 348) / (2 * 1.959964), rel=1e-6)
    assert median_se_from_ci(394, 348, np.nan) == pytest.approx((394 - 348) / 1.959964, rel=1e-6)
    assert np.isnan(median_se_from_ci(np.nan, np.nan, np.nan))


# ----------------------------------------------------------------------------- Hozo / Wan
def test_hozo_wan_reference_values():
    close(hozo_mean(2, 10, 40, 30), 15.6833, 4)
    close(hozo_sd_formula(2, 10, 40, 30), 10.5838, 4)
    assert hozo_sd(2, 10, 40, 30) == 9.5            # 15 < n <= 70: range/4
    close(wan_sd(2, 10, 40, 30), 9.3124, 4)
    close(hozo_mean(1, 12, 60, 12), 22.0208, 4)
    close(hozo_sd_formula(1, 12, 60, 12), 18.9452, 4)
    close(hozo_sd_simple(1, 12, 60), 17.8495, 4)
    close(hozo_sd(1, 12, 60, 12), 17.8495, 4)       # n <= 15: the simple form
    close(hozo_mean(3, 14.5, 48, 100), 20.0550, 4)
    assert hozo_sd(3, 14.5, 48, 100) == 7.5         # n > 70: range/6
    assert median_se_from_range(10, 2, 40, 30) == pytest.approx(9.5 / np.sqrt(30))
    assert median_se_from_range(10, 2, 40, 30, "wan") == pytest.approx(wan_sd(2, 10, 40, 30) / np.sqrt(30))


# ----------------------------------------------------------------------------- REML edge cases
# Data sets whose restricted likelihood has a local maximum at τ² > 0 where Fisher scoring from
# the DL value stops, while the global maximum is at τ² = 0 (metafor 3.8-1 warns and reports 0)
# or lies elsewhere; values from R: rma(yi, vi, method = "REML") and method = "PM".
REML_EDGE = [  # yi, vi, metafor tau2, estimate, se, PM tau2
    ([1.503579, 1.696161, -3.806636, 0.323904, 0.126665],
     [0.837052, 7.482164, 1.97376, 0.112469, 0.008727], 0.0, 0.13955785, 0.08933087, None),
    ([0.133419, -2.148238, 0.219786, 2.206486, -0.149726, -1.594479, 2.221032, 1.202252, 0.228803,
      -1.462126, 1.735493, 1.847534],
     [6.938434, 5.199259, 0.020314, 1.719923, 0.222721, 1.373883, 0.859188, 0.506675, 0.083908,
      0.816967, 0.946357, 2.599542], 0.0, 0.25060539, 0.11697422, 0.77454109),
    ([-0.123161, -8.689491, 0.541365, -0.605762, 3.932236, 9.643664],
     [0.103784, 8.751747, 0.034184, 0.049914, 8.725809, 13.673048], 17.52598476, 0.42182220, 1.89400277, None),
]


@pytest.mark.parametrize("yi,vi,tau2,est,se,pm", REML_EDGE)
def test_reml_takes_the_global_maximum_as_metafor(yi, vi, tau2, est, se, pm):
    from pooling.meta import restricted_loglik, tau2_reml

    r = meta_analysis(yi, vi, "reml")
    assert r.tau2 == pytest.approx(tau2, rel=1e-5, abs=1e-9)
    assert r.estimate == pytest.approx(est, rel=1e-5) and r.se == pytest.approx(se, rel=1e-5)
    # the plain scoring update from DL would have stopped elsewhere, at a lower likelihood
    from statsmodels.stats.meta_analysis import combine_effects
    dl = max(0.0, float(combine_effects(np.array(yi), np.array(vi), method_re="chi2").tau2))
    local = tau2_reml(np.array(yi), np.array(vi), dl)
    assert abs(local - tau2) > 0.1
    assert restricted_loglik(r.tau2, np.array(yi), np.array(vi)) > restricted_loglik(local, np.array(yi), np.array(vi))
    if pm is not None:
        assert meta_analysis(yi, vi, "pm").tau2 == pytest.approx(pm, rel=1e-5)


def test_fixed_effect_with_hartung_knapp_is_refused():
    from kmrecon.errors import KMReconError

    with pytest.raises(KMReconError, match="random-effects"):
        meta_analysis(YI, VI, "fe", hk=True)
