"""Figures drawn by R itself (survminer, base R) from known IPD come back as that IPD when the
calibration, colours and printed risk table are given. Skips without R (benchmark-only dependency)."""
import numpy as np
import pytest

from simulate.rfigures import RSpec, r_available, render_r_figures, simulate_trial

pytestmark = pytest.mark.skipif(not r_available(), reason="Rscript with survival + survminer not installed")


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    rng = np.random.default_rng(7)
    names = ["Control", "Experimental"]
    specs = [
        RSpec(engine="survminer", names=names, colours=["#00468B", "#ED0000"], legend="top",
              risk_table=True, theme="bw", censor="+", width=900, height=700, res=100),
        RSpec(engine="base", names=names, colours=["#0073C2", "#EFC000"], legend="topright",
              risk_table=True, percent=True, censor="|", lwd=1.5, width=900, height=700, res=100),
    ]
    jobs = [(simulate_trial(rng, names), s) for s in specs]
    # a single-arm figure (no strata in R's fit) is drawn too
    one = simulate_trial(rng, ["Cohort"])
    jobs.append((one, RSpec(engine="survminer", names=["Cohort"], colours=["#00468B"], legend="none",
                            risk_table=True, width=700, height=600, res=100)))
    return render_r_figures(jobs, tmp_path_factory.mktemp("r"))


def test_truth_table_is_what_r_printed(figures):
    from simulate.ipd import number_at_risk

    for fig in figures:
        tr = fig.truth
        for arm in tr.arms:
            t, n = tr.risk_table.for_arm(arm)
            assert np.array_equal(n, number_at_risk(tr.ipd.loc[tr.ipd["arm"] == arm, "time"], t))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_assisted_r_figure_recovers_ipd(figures, k):
    from digitize.calibrate import Calibration
    from digitize.extract import ArmSpec
    from digitize.pipeline import run_pipeline
    from benchmarks.bench_real import iae

    fig = figures[k]
    tr = fig.truth
    res = run_pipeline(fig.load_image(), Calibration.from_dict(tr.calibration),
                       [ArmSpec(a, tr.colors[a]) for a in tr.arms], risk_table=tr.risk_table)
    for arm in tr.arms:
        got = res.ipd[res.ipd["arm"] == arm]
        true = tr.ipd[tr.ipd["arm"] == arm]
        assert len(got) == len(true)                       # N from the printed table
        d_true = int(true["event"].sum())
        assert abs(int(got["event"].sum()) - d_true) <= max(2, 0.05 * d_true)
        from simulate.ipd import km_corners
        t, s = km_corners(got["time"].to_numpy(), got["event"].to_numpy())
        assert iae(*tr.km(arm), t, s, tr.x_range[1]) < 0.01
