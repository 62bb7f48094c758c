"""The pooling panel: load the example study table, add a study from IPD, pool, see results."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pytestqt")

from gui.pooling_panel import EXAMPLE, PoolingPanel  # noqa: E402
from simulate.ipd import simulate_arm  # noqa: E402


def test_pooling_panel_runs_the_example(qtbot):
    w = PoolingPanel()
    qtbot.addWidget(w)
    w.resize(1400, 800)
    w.show()
    assert w.load_studies(EXAMPLE)
    assert w.study_table.rowCount() == 10
    ipd = simulate_arm(60, np.random.default_rng(3), median=30, follow_up=96, accrual=30).assign(arm="A")
    w.add_study("Current project", "", ipd)               # as the main window does
    assert w.study_table.rowCount() == 11
    assert w.study_table.item(10, 1).text() == "unassigned"
    w.study_table.item(10, 1).setText("lung")              # edit the subgroup in the list
    assert w.studies[10].subgroup == "lung"

    w.times_edit.setText("12,24,36,48,60")
    w.method_combo.setCurrentIndex(w.method_combo.findData("dl"))
    with qtbot.waitSignal(w.pooled, timeout=30000):
        w.run_pooling()
    assert not w.messages, w.messages
    res = w.result
    assert w.results_table.rowCount() == len(res.table) > 0
    overall = res.table[(res.table.subgroup == "all") & (res.table.measure == "S(12)")].iloc[0]
    assert overall.k == 8 and overall.method == "dl"
    headers = [w.results_table.horizontalHeaderItem(j).text() for j in range(w.results_table.columnCount())]
    r = next(i for i in range(w.results_table.rowCount())
             if w.results_table.item(i, 0).text() == "all" and w.results_table.item(i, 1).text() == "S(12)")
    assert float(w.results_table.item(r, headers.index("estimate")).text()) == pytest.approx(overall.estimate, abs=5e-4)
    assert w.figure_combo.count() == 8 and w._canvas is not None   # 6 forests, by subgroup, KM
    w.show_plot("forest_S(36)")
    qtbot.wait(50)
    Path("/tmp/shots").mkdir(parents=True, exist_ok=True)
    assert w.grab().save("/tmp/shots/pooling_panel.png")


def test_pooling_panel_reports_bad_input(qtbot, tmp_path):
    w = PoolingPanel()
    qtbot.addWidget(w)
    bad = tmp_path / "s.csv"
    pd.DataFrame({"study": ["X"], "subgroup": ["lung"]}).to_csv(bad, index=False)
    assert not w.load_studies(bad)
    assert "study 'X': nothing usable" in w.messages[-1][2]
    w.run_pooling()                                       # nothing to pool
    assert "add at least one study" in w.messages[-1][2]
    w.add_study("Short", "lung", pd.DataFrame({"time": [1, 2, 3], "event": [1, 0, 1]}))
    w.times_edit.setText("12")
    w.run_pooling()
    qtbot.waitUntil(lambda: not w._busy, timeout=30000)
    assert "study 'Short': time 12 is beyond" in w.messages[-1][2]
    assert w.result is None
