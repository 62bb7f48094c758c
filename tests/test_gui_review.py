"""The app's review panel: after an automatic proposal the findings that need a person
(FigureDetection.review_items, the list `kmrecon extract` prints as REVIEW lines) are listed
arms first in a 'Review' tab brought to the front, and the status line names the first one."""
from __future__ import annotations

import pytest

from digitize.auto.detect import FigureDetection
from digitize.extract import ArmSpec
from test_gui import figure, figure_file, make_window, open_and_wait  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_review_panel_lists_findings_arms_first(qtbot, make_window, figure, figure_file, tmp_path):  # noqa: F811
    w = make_window()
    open_and_wait(qtbot, w, figure_file)
    det = FigureDetection(None, None, arms=[ArmSpec("Control", (31, 119, 180)), ArmSpec("Arm 2", (214, 39, 40))],
                          confidence={"calibration_x": 0.0, "calibration_y": 1.0, "arms": 0.5, "risk_table": 0.9})
    det.flag("risk_table", "risk table: row 3 ('Drug') matches no arm (arms: Control, Arm 2)")
    det.flag("arms", "arms: a curve drawn in #d62728 has no printed name; it is kept as 'Arm 2'")
    w._proposed(det, w.doc.image)
    panel = w.review_panel
    texts = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert [i["piece"] for i in panel.items] == ["arms", "risk_table", "calibration_x"]
    assert texts[0].startswith("Arms: a curve drawn in #d62728") and texts[1].startswith("Number at risk:")
    assert "Time axis" in texts[2]
    assert w.tabs.currentWidget() is panel and w.tabs.tabText(w.tabs.indexOf(panel)) == "Review (3)"
    msg = w.statusBar().currentMessage()
    assert "please check: arms: a curve drawn in #d62728" in msg and "+2 more" in msg
    # the arms were applied as proposed (the review does not block the proposal)
    assert [a.name for a in w.doc.project.arms] == ["Control", "Arm 2"]
    w.grab().save(str(tmp_path / "review.png"))
    # a confident detection empties the list
    ok = FigureDetection(None, None, confidence={k: 1.0 for k in ("calibration_x", "calibration_y", "arms", "risk_table")})
    w._proposed(ok, w.doc.image)
    assert panel.list.count() == 0 and w.tabs.tabText(w.tabs.indexOf(panel)) == "Review"
    assert "please check" not in w.statusBar().currentMessage()
