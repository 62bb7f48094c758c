"""Base R's default y tick labels are written along the axis (las = 0). At 72 dpi the label
'0.8' turned a quarter comes apart at its decimal point, and the rotated labels are taller than
a line of text: zero-click read '0', '8', '0' and calibrated the survival axis to 8 %, exiting 0
with every arm's curve far off. The labels are now stacked into one token each and turned
before OCR. Skips without R."""
import numpy as np
import pytest

from simulate.rfigures import RSpec, r_available, render_r_figures, simulate_trial

pytestmark = pytest.mark.skipif(not r_available(), reason="Rscript with survival + survminer not installed")


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    rng = np.random.default_rng(17)
    names = ["Surgery alone", "Surgery + chemo"]
    spec = RSpec(engine="base", names=names, colours=["#F8766D", "#00BFC4"], legend="right", risk_table=True,
                 censor="+", break_time_by=6.0, lwd=1.5, width=557, height=482, res=72, base_axis="default")
    (fig,) = render_r_figures([(simulate_trial(rng, names), spec)], tmp_path_factory.mktemp("rot"))
    return fig


def test_rotated_y_labels_at_72_dpi_calibrate_the_survival_axis(figure):
    from digitize.auto.detect import detect_figure
    from digitize.calibrate import Calibration

    det = detect_figure(figure.load_image())
    truth = Calibration.from_dict(figure.truth.calibration)
    assert det.calibration is not None and not det.calibration.y_percent
    for s in (0.0, 0.5, 1.0):
        assert abs(det.calibration.to_pixel(0.0, s)[1] - truth.to_pixel(0.0, s)[1]) <= 1.5, s
    assert sorted(a.name for a in det.arms) == sorted(figure.truth.arms), (det.arms, det.warnings)


def test_survival_axis_read_as_a_few_percent_is_flagged(figure, monkeypatch):
    """Without the stacking (labels read '0', '8', '0' as before), the calibration to 8 % is
    not passed silently: it is a REVIEW item on the survival axis."""
    import digitize.auto.detect as D

    monkeypatch.setattr(D, "_stack_rotated", lambda yl, th: yl)
    monkeypatch.setattr(D, "_along_axis", lambda t, th: False)
    det = D.detect_figure(figure.load_image())
    assert det.calibration is not None and det.calibration.y_percent   # the old misread
    assert "calibration_y" in det.needs_review
    assert any("highest survival label" in r["reason"] for r in det.review)
