"""Risk-table rows paired with curves by their numbers when nothing printed pairs them
(digitize.auto.pairing; detect_figure re-pairs an order guess the numbers contradict).

Property: between two table times the patients leaving the risk set are the deaths (at least
n_k+1 (1 - S_k+1/S_k)) plus the censored (at least the marks drawn); the true row explains its
curve, a row of another arm lacks patients."""
import numpy as np
import pandas as pd
import pytest

from digitize.auto.pairing import best_pairing, shortfall
from simulate.ipd import km_corners, number_at_risk, simulate_arm


def _arm(n, median, seed):
    rng = np.random.default_rng(seed)
    df = simulate_arm(n, rng, median=median, follow_up=48.0, accrual=24.0, dropout_rate=0.0)
    df["time"] = np.maximum(df["time"].round(2), 0.01)
    return df


def _curve_and_row(df, times):
    t, s = km_corners(df["time"].to_numpy(), df["event"].to_numpy())
    marks = df.loc[df["event"] == 0, "time"].to_numpy()
    return (t, s, marks, 0.003), (times, number_at_risk(df["time"], times).astype(float))


def test_true_rows_explain_their_curves_and_swapped_rows_do_not():
    times = np.arange(0.0, 49.0, 6.0)
    small, big = _arm(110, 20.0, 1), _arm(320, 26.0, 2)
    (cs, rs), (cb, rb) = _curve_and_row(small, times), _curve_and_row(big, times)
    assert shortfall(*rs, *cs[:3], cs[3]) <= 1.0
    assert shortfall(*rb, *cb[:3], cb[3]) <= 1.0
    # the small arm's row cannot pay for the big arm's deaths and censorings
    assert shortfall(*rs, *cb[:3], cb[3]) >= 5.0
    best, cost = best_pairing([rb, rs], [cs, cb])      # rows given in the other order
    assert best == [1, 0], cost


pytest.importorskip("simulate.rfigures")
from simulate.rfigures import RSpec, r_available, render_r_figures  # noqa: E402


@pytest.mark.skipif(not r_available(), reason="Rscript with survival + survminer not installed")
def test_plain_row_labels_without_legend_pair_by_the_numbers(tmp_path):
    """Base R at 72 dpi, no legend, risk-table rows labelled in black: the names can only be
    tied to the curves by the numbers. Both colour orders come back right, and the pairing
    stays a review item."""
    from digitize.auto.detect import detect_figure
    from digitize.auto.legend import delta_e

    names = ["Surgery alone", "Surgery + chemo"]
    ipd = pd.concat([_arm(120, 14.0, 3).assign(arm=names[0]), _arm(330, 22.0, 4).assign(arm=names[1])],
                    ignore_index=True)
    jobs = [(ipd, RSpec(engine="base", names=names, colours=cols, legend="none", risk_table=True,
                        censor="|", lwd=1.5, width=531, height=435, res=72, base_axis="boxed"))
            for cols in (["#BC3C29", "#0072B5"], ["#0072B5", "#BC3C29"])]
    for fig in render_r_figures(jobs, tmp_path):
        det = detect_figure(fig.load_image())
        got = {a.name: a.rgb for a in det.arms}
        assert sorted(got) == sorted(names), got
        for name in names:
            assert delta_e(got[name], fig.truth.colors[name]) < 20, (name, got, fig.truth.colors)
            t, n = fig.truth.risk_table.for_arm(name)
            assert np.array_equal(det.risk_table.n_risk[name][:len(n)], n), name
        assert any(r["piece"] == "arms" for r in det.review)
