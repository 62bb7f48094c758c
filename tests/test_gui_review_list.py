"""The review list in the app (pytest-qt, real widgets): open a batch folder, thumbnails and
statuses shown, Next/Previous open each figure's project in the main window as a normal
project, approval persists in the folder's approvals.json; the agreement dialog for two
projects flags the arm whose risk table differs."""
from __future__ import annotations

import json

import numpy as np
import pytest

from kmrecon.project import ArmState, ImageRef, Project, RiskGrid, encode_png, save_project
from review.batch import write_summary
from simulate.ipd import km_table, simulate_arm

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CAL = {"x1": {"px": 50.0, "py": 250.0, "value": 0.0}, "x2": {"px": 350.0, "py": 250.0, "value": 36.0},
       "y1": {"px": 50.0, "py": 250.0, "value": 0.0}, "y2": {"px": 50.0, "py": 50.0, "value": 1.0}}


def _project(seed: int, arms=("Control", "Drug"), shift_risk: str | None = None) -> Project:
    """A project whose arms are the exact KM step corners of simulated IPD (pixels via CAL) with
    the true numbers at risk at 0, 6, ..., 30; ``shift_risk`` arm gets 10 % fewer at risk after 0."""
    rng = np.random.default_rng(seed)
    img = np.full((300, 400, 3), 255, np.uint8)
    img[250, 50:351] = 0
    img[50:251, 50] = 0
    times = [0, 6, 12, 18, 24, 30]
    states, rows = [], {}
    for k, name in enumerate(arms):
        ipd = simulate_arm(80, rng, median=10.0 * (k + 1), follow_up=36.0, accrual=12.0)
        tab = km_table(ipd["time"].to_numpy(), ipd["event"].to_numpy())
        tab = tab[tab["events"] > 0]
        t = np.r_[0.0, np.repeat(tab["time"].to_numpy(), 2), ipd["time"].max()]
        s_prev = np.r_[1.0, tab["survival"].to_numpy()[:-1]]
        s = np.r_[1.0, np.column_stack([s_prev, tab["survival"].to_numpy()]).ravel(), tab["survival"].iloc[-1]]
        px = np.column_stack([50 + t / 36 * 300, 250 - 200 * s])
        states.append(ArmState(name=name, rgb=((31, 119, 180), (214, 39, 40))[k], points_px=px))
        at = [int((ipd["time"] >= tt).sum()) for tt in times]
        if name == shift_risk:
            at = [at[0]] + [int(round(v * 0.9)) for v in at[1:]]
        rows[name] = [str(v) for v in at]
    return Project(image=ImageRef(png_base64=encode_png(img)), calibration=CAL, arms=states,
                   risk_table=RiskGrid(times=[str(t) for t in times], rows=rows))


@pytest.fixture
def batch_folder(tmp_path):
    """A batch folder as ``kmrecon batch`` writes it: two extracted figures and a failed one."""
    import cv2

    folder = tmp_path / "batch"
    rows = []
    for i, (name, status, reasons) in enumerate((("trial_a", "confident", ""),
                                                 ("trial_b", "needs review", "risk table (confidence 0.40)"))):
        (folder / name).mkdir(parents=True)
        save_project(_project(10 + i, arms=("Control", f"Drug {name[-1].upper()}")), folder / name / "project.kmrecon")
        thumb = np.full((72, 96, 3), 200, np.uint8)
        cv2.imwrite(str(folder / name / "thumb.png"), thumb)
        rows.append({"figure": str(tmp_path / f"{name}.png"), "name": name, "status": status, "arms": 2,
                     "arm_names": f"Control; Drug {name[-1].upper()}", "needs_review": "", "reasons": reasons,
                     "seconds": 1.0, "project": f"{name}/project.kmrecon", "ipd": "", "sidecar": ""})
    rows.append({"figure": str(tmp_path / "scan.png"), "name": "scan", "status": "failed", "arms": 0,
                 "arm_names": "", "needs_review": "", "reasons": "scan.png is not a readable image",
                 "seconds": 0.1, "project": "", "ipd": "", "sidecar": ""})
    write_summary(rows, folder)
    return folder


@pytest.fixture
def window(qtbot, tmp_path):
    from gui.main_window import MainWindow

    w = MainWindow(settings_path=str(tmp_path / "settings.ini"), recovery_dir=str(tmp_path / "recovery"),
                   autosave_seconds=3600, auto_propose=False)
    w.confirm_discard = lambda: "discard"
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_review_list_next_previous_approve(window, batch_folder, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from gui.review_list import ReviewListModel

    hooks, panel = window.review_hooks, window.review_list
    hooks.ask_folder = lambda title: str(batch_folder)
    window.review_actions["Open batch folder"].trigger()
    assert window.review_dock.isVisible()
    m = panel.model
    assert m.rowCount() == 3
    assert [m.data(m.index(r, 1)) for r in range(3)] == ["confident", "needs review", "failed"]
    assert m.data(m.index(0, 0), Qt.ItemDataRole.DecorationRole) is not None     # thumbnail
    assert "confidence 0.40" in m.data(m.index(1, 3))
    assert "1 need review" in panel.header.text()

    qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)          # row 0 -> 1, opens it
    assert panel.current_row() == 1
    assert [a.name for a in window.doc.project.arms] == ["Control", "Drug B"]
    assert window.doc.path == str(batch_folder / "trial_b" / "project.kmrecon")
    qtbot.mouseClick(panel.prev_button, Qt.MouseButton.LeftButton)
    assert panel.current_row() == 0
    assert [a.name for a in window.doc.project.arms] == ["Control", "Drug A"]
    assert window.doc.image is not None
    # the README's keys: Ctrl+PgDown / Ctrl+PgUp step through the list from the figure
    window.show()
    window.activateWindow()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: panel.current_row() == 1, timeout=5000)
    qtbot.keyClick(window.view, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: panel.current_row() == 0, timeout=5000)
    assert [a.name for a in window.doc.project.arms] == ["Control", "Drug A"]

    qtbot.mouseClick(panel.approve_button, Qt.MouseButton.LeftButton)        # approve row 0
    assert panel.approve_button.text().startswith("Approved")
    data = json.loads((batch_folder / "approvals.json").read_text())
    assert data["approvals"]["trial_a"]["approved"] is True
    assert data["approvals"]["trial_a"]["project_sha256"]
    fresh = ReviewListModel()                                                 # persisted
    fresh.load(batch_folder)
    assert [fresh.is_approved(r) for r in range(3)] == [True, False, False]
    assert "1 approved" in panel.header.text()
    assert m.data(m.index(0, 4)) == "✓"
    window.save()                                                              # saved unchanged: same bytes
    assert m.data(m.index(0, 4)) == "✓"
    window.doc.edit({"settings": dict(window.doc.project.settings, subgroup="PD-L1 >= 1%")}, "Subgroup")
    window.save()                                                              # an edit, saved
    assert m.data(m.index(0, 4)) == "✓*"                                       # changed since approval

    panel.select_row(2)                                                       # a failed figure
    n_msgs = len(window.messages)
    qtbot.mouseClick(panel.approve_button, Qt.MouseButton.LeftButton)
    assert len(window.messages) == n_msgs + 1 and "nothing to approve" in window.messages[-1][2]
    assert not panel.approve_button.isChecked()
    assert "scan" not in json.loads((batch_folder / "approvals.json").read_text())["approvals"]

    panel.filter.setCurrentText("Needs review")                              # show only those
    assert panel.proxy.rowCount() == 1 and panel.current_row() == 1
    assert not panel.next_button.isEnabled() and not panel.prev_button.isEnabled()
    panel.filter.setCurrentText("Not approved yet")
    assert panel.proxy.rowCount() == 2
    qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)          # trial_b -> scan (opens the figure)
    assert panel.current_row() == 2
    panel.filter.setCurrentText("All figures")
    panel.select_row(0)
    qtbot.mouseClick(panel.approve_button, Qt.MouseButton.LeftButton)        # withdraw
    assert "trial_a" not in json.loads((batch_folder / "approvals.json").read_text())["approvals"]
    qtbot.wait(50)
    window.grab().save(str(tmp_path / "review_list.png"))


def test_agreement_dialog_flags_the_arm_with_another_risk_table(window, qtbot, tmp_path):
    a, b = tmp_path / "a.kmrecon", tmp_path / "b.kmrecon"
    save_project(_project(3), a)
    save_project(_project(3, shift_risk="Drug"), b)
    window.review_hooks.compare([str(a), str(b)])
    qtbot.waitUntil(lambda: window.agreement_dialog is not None, timeout=60_000)
    dlg = window.agreement_dialog
    assert dlg.report.flagged_arms() == {"Drug"}
    text = dlg.browser.toPlainText()
    assert "disagreement" in text and "in arm(s): Drug" in text and "numbers at risk differ" in text
    dlg.grab().save(str(tmp_path / "agreement_dialog.png"))


def test_batch_from_the_app_runs_in_a_child_process_and_opens_the_list(window, qtbot, tmp_path):
    """Review ▸ Batch extract figures… on a folder holding one unreadable file: the batch runs
    (kmrecon batch in a QProcess), the window stays usable, and the list opens with its failed row."""
    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / "broken.png").write_bytes(b"not a png")
    hooks = window.review_hooks
    hooks.ask_figures = lambda: [str(figs)]
    hooks.ask_folder = lambda title: str(tmp_path / "out")
    window.review_actions["Batch extract figures"].trigger()
    assert hooks.runner is not None
    qtbot.waitUntil(lambda: window.review_dock.isVisible(), timeout=120_000)
    m = window.review_list.model
    assert m.rowCount() == 1 and m.rows[0]["status"] == "failed"
    assert "not a readable image" in m.rows[0]["reasons"]
    assert any("1/1" in line for line in hooks.runner.log)       # progress lines came through
    assert "batch" not in window.busy
