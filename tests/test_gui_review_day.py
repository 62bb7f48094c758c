"""Defects found in a reviewer's day in the app (issue 17), each driven through real widgets:
keys and clicks on the window, the figure, the risk grid and the text fields, the layout at the
default and small window sizes, and the README's shortcuts."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QWheelEvent
from PySide6.QtWidgets import QApplication, QGraphicsSimpleTextItem, QMessageBox, QToolBar

# fixtures (figure, figure_file, make_window) and drivers shared with the workflow tests
from test_gui import click_image, figure, figure_file, make_window, open_and_wait, view_pos  # noqa: F401,F811

from gui.image_view import Marker
from test_gui_editing import _traced_window
from kmrecon.project import RiskGrid

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _window(make_window, qtbot, figure, figure_file, with_points=True, risk=False):
    """Window on the figure, calibrated from truth, the two arms traced from their true KM
    corners (optionally with the printed risk table), focus on the figure."""
    w = _traced_window(make_window, qtbot, figure, figure_file, with_points, risk)
    w.set_tool("edit")
    w.activateWindow()
    w.view.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.view)
    return w


def _focus_risk_grid(qtbot, w):
    """The risk grid shown and focused on its first cell; returns it."""
    g = w.risk_view
    w.tabs.setCurrentIndex(0)
    g.setFocus()
    g.setCurrentIndex(w.risk_model.index(0, 0))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is g)
    return g


def _close_messages():
    for box in QApplication.topLevelWidgets():
        if isinstance(box, QMessageBox) and box.isVisible():
            box.close()


def _type(qtbot, text: str):
    """Type as a user does: each key goes to whichever widget has the focus at that moment."""
    for ch in text:
        qtbot.keyClicks(QApplication.focusWidget(), ch)


def _drag(qtbot, widget, a: QPoint, b: QPoint):
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(widget, (a + b) / 2)
    qtbot.mouseMove(widget, b)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=b)


# ------------------------------------------------------------------------------- data loss
def test_deleting_box_selected_censor_marks_removes_exactly_those(qtbot, make_window, figure, figure_file):
    w = _window(make_window, qtbot, figure, figure_file, with_points=False)
    y = figure.truth.calibration["y2"]["py"] + 60
    x0 = figure.truth.calibration["x1"]["px"] + 60
    marks = np.column_stack([x0 + 40.0 * np.arange(8), np.full(8, y)])
    w.doc.edit_arm(0, "marks", censor_px=marks)
    vp = w.view.viewport()
    _drag(qtbot, vp, view_pos(w, marks[2, 0] - 14, y - 14), view_pos(w, marks[4, 0] + 14, y + 14))
    assert sorted(w.view.selected_censors().get(0, [])) == [2, 3, 4]
    qtbot.keyClick(w.view, Qt.Key.Key_Delete)
    kept = w.doc.project.arms[0].censor_px
    assert np.array_equal(kept, marks[[0, 1, 5, 6, 7]])
    assert w.view.selected_censors() == {}            # the selection did not move to other marks
    qtbot.keyClick(w.view, Qt.Key.Key_Delete)          # a second Delete removes nothing
    assert np.array_equal(w.doc.project.arms[0].censor_px, marks[[0, 1, 5, 6, 7]])
    qtbot.keyClick(w.view, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(w.doc.project.arms[0].censor_px, marks)
    assert w.view.selected_censors() == {}             # nor to the restored ones


# ------------------------------------------------------------------------------- keys
def test_no_key_sequence_is_bound_twice(qtbot, make_window):
    """A sequence on two shortcuts (or twice on one) is an 'ambiguous overload': it does nothing."""
    w = make_window()
    seen = {}
    for a in w.findChildren(QAction):
        for k in a.shortcuts():
            assert k.toString() not in seen, f"{k.toString()}: {seen.get(k.toString())} and {a.text()}"
            seen[k.toString()] = a.text()


def test_undo_redo_keys_on_figure_grid_and_fields(qtbot, make_window, figure, figure_file):
    w = _window(make_window, qtbot, figure, figure_file, with_points=False)
    n0 = w.doc.undo_stack.index()
    w.set_tool("add_point")
    p = figure.truth.calibration
    click_image(qtbot, w, (p["x1"]["px"] + p["x2"]["px"]) / 2, (p["y1"]["py"] + p["y2"]["py"]) / 2)
    assert len(w.doc.project.arms[0].points_px) == 1
    qtbot.keyClick(w.view, Qt.Key.Key_Z, CTRL)                      # on the figure
    assert len(w.doc.project.arms[0].points_px) == 0
    qtbot.keyClick(w.view, Qt.Key.Key_Z, CTRL | SHIFT)             # redo
    assert len(w.doc.project.arms[0].points_px) == 1
    qtbot.keyClick(w.view, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(w.view, Qt.Key.Key_Y, CTRL)                     # redo, the other binding
    assert len(w.doc.project.arms[0].points_px) == 1
    # on the risk grid
    g = _focus_risk_grid(qtbot, w)
    qtbot.keyClick(g, Qt.Key.Key_Z, CTRL)
    assert len(w.doc.project.arms[0].points_px) == 0
    qtbot.keyClick(g, Qt.Key.Key_Z, CTRL | SHIFT)
    assert len(w.doc.project.arms[0].points_px) == 1
    # a committed text field: Ctrl+Z undoes the document's last edit (the field follows)
    study = w.settings_panel.study
    study.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is study)
    qtbot.keyClicks(study, "TRIAL")
    qtbot.keyClick(study, Qt.Key.Key_Return)
    assert w.doc.project.settings["study"] == "TRIAL"
    qtbot.keyClick(study, Qt.Key.Key_Z, CTRL)
    assert w.doc.project.settings["study"] == "" and study.text() == ""
    qtbot.keyClick(study, Qt.Key.Key_Z, CTRL | SHIFT)
    assert w.doc.project.settings["study"] == "TRIAL" and study.text() == "TRIAL"
    # ... while typing (not yet committed), Ctrl+Z is the field's own undo
    qtbot.keyClicks(study, "XY")
    depth = w.doc.undo_stack.index()
    qtbot.keyClick(study, Qt.Key.Key_Z, CTRL)
    assert study.text().startswith("TRIAL") and len(study.text()) < 7
    assert w.doc.undo_stack.index() == depth and w.doc.project.settings["study"] == "TRIAL"
    assert w.doc.undo_stack.index() > n0


def test_ctrl_d_detects_while_the_risk_grid_has_focus(qtbot, make_window, figure, figure_file):
    w = _window(make_window, qtbot, figure, figure_file, with_points=False)
    g = _focus_risk_grid(qtbot, w)
    qtbot.keyClick(g, Qt.Key.Key_D, CTRL)
    assert "detect" in w.busy                                      # the shortcut reached the window
    qtbot.waitUntil(lambda: "detect" not in w.busy, timeout=30000)
    _close_messages()
    assert all(len(a.points_px) > 20 for a in w.doc.project.arms)
    # the grid's own Delete key still clears cells
    w.doc.edit({"risk_table": RiskGrid(times=["0", "12"], rows={a: ["150", "90"] for a in figure.truth.arms})},
               "grid")
    g.setCurrentIndex(w.risk_model.index(1, 1))
    qtbot.keyClick(g, Qt.Key.Key_Delete)
    assert w.doc.project.risk_table.rows[figure.truth.arms[0]][1] == ""


def test_tool_letters_typed_into_fields_go_to_the_field(qtbot, make_window, figure, figure_file):
    w = _window(make_window, qtbot, figure, figure_file, with_points=False)
    w.set_tool("add_point")
    letters = "ECIAKMB"
    # the number-at-risk grid: a typed letter starts editing the cell
    g = w.risk_view
    w.tabs.setCurrentIndex(0)
    g.setFocus()
    g.setCurrentIndex(w.risk_model.index(1, 0))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is g)
    _type(qtbot, letters)
    assert w.view.tool == "add_point"
    editor = QApplication.focusWidget()
    assert editor is not g and editor.text() == letters
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    # a text field
    unit = w.settings_panel.unit
    unit.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is unit)
    _type(qtbot, letters)
    assert unit.text() == letters and w.view.tool == "add_point"
    # the pooling study list (typing a subgroup such as "brain")
    pp = w.pooling_panel
    pp.add_study("S", "lung", figure.truth.ipd, arm=figure.truth.arms[0], unit="months")
    w.tabs.setCurrentWidget(w._pool_page)
    t = pp.study_table
    t.setFocus()
    t.setCurrentCell(0, 1)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is t)
    _type(qtbot, "brain")
    assert w.view.tool == "add_point"
    editor = QApplication.focusWidget()
    qtbot.keyClick(editor, Qt.Key.Key_Return)                 # the delegate commits queued
    qtbot.waitUntil(lambda: pp.studies[0].subgroup == "brain")


def test_readme_shortcuts_work(qtbot, make_window, figure, figure_file, tmp_path):
    """Every shortcut the README lists, pressed on the figure: the tools, Ctrl+D, Ctrl+R,
    Ctrl+Z / Ctrl+Shift+Z; then the detection confidences survive a save and reopen."""
    w = _window(make_window, qtbot, figure, figure_file, with_points=False, risk=True)
    for letter, tool in (("E", "edit"), ("C", "calibrate"), ("I", "eyedropper"), ("A", "add_point"),
                         ("K", "censor"), ("M", "mask_rect"), ("B", "mask_brush"), ("E", "edit")):
        qtbot.keyClick(w.view, getattr(Qt.Key, f"Key_{letter}"))
        assert w.view.tool == tool and w.tool_actions[tool].isChecked(), letter
    qtbot.keyClick(w.view, Qt.Key.Key_A, SHIFT)      # Shift+A: add an arm by clicking its curve
    assert w.view.tool == "add_arm" and w.tool_actions["add_arm"].isChecked()
    qtbot.keyClick(w.view, Qt.Key.Key_E)
    qtbot.keyClick(w.view, Qt.Key.Key_D, CTRL)
    qtbot.waitUntil(lambda: "detect" not in w.busy and len(w.doc.project.arms[0].points_px) > 20, timeout=30000)
    _close_messages()
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_R, CTRL)
    qtbot.waitUntil(lambda: w.doc.current_ipd() is not None, timeout=30000)
    traced = w.doc.project.arms[0].points_px.copy()
    qtbot.keyClick(w.view, Qt.Key.Key_Z, CTRL)
    assert len(w.doc.project.arms[0].points_px) == 0
    qtbot.keyClick(w.view, Qt.Key.Key_Z, CTRL | SHIFT)
    assert np.array_equal(w.doc.project.arms[0].points_px, traced)
    # the Conf. column after reopening the saved project
    model = w.arm_panel.model
    conf = [model.data(model.index(r, 6)) for r in range(model.rowCount())]
    assert all(c for c in conf), conf
    w.doc.edit({"settings": dict(w.doc.project.settings, time_unit="Months")}, "unit")
    path = tmp_path / "p.kmrecon"
    assert w.save_to(str(path))
    w2 = make_window()
    w2.open_file(str(path))
    m2 = w2.arm_panel.model
    assert [m2.data(m2.index(r, 6)) for r in range(m2.rowCount())] == conf
    # the saved project is a pooling study: its IPD and its time unit
    import pandas as pd

    from pooling.studies import read_studies

    (st,) = read_studies(pd.DataFrame({"study": ["P"], "subgroup": ["g"], "arm": ["Treatment"],
                                       "ipd": [str(path)]}))
    assert st.unit == "months" and len(st.ipd) == 150
    w2.pooling_panel.ask_arms = lambda arms, study: ["Control"]
    assert w2.pooling_panel.add_ipd_file(path) == 1
    assert (w2.pooling_panel.studies[0].arm, w2.pooling_panel.studies[0].unit) == ("Control", "months")


# ------------------------------------------------------------------------------- the figure
def test_point_handles_are_small_light_and_shown_at_fit_zoom(qtbot, make_window, figure, figure_file):
    w = _window(make_window, qtbot, figure, figure_file)
    w.view.fit()
    n = sum(len(a.points_px) for a in w.doc.project.arms)
    markers = [it for it in w.view.scene().items() if isinstance(it, Marker)]
    assert len(markers) == n > 50
    for m in markers[:20]:
        r = m.boundingRect()
        assert r.width() <= 7 and r.height() <= 7          # screen pixels (ignores the zoom)
        assert m.brush().color().lightness() > 200         # a light handle, not a dark square
        assert m.pen().isCosmetic() and m.pen().widthF() <= 1.5
    # a clicked handle is drawn selected (yellow), and light again once deselected
    x, y = w.doc.project.arms[0].points_px[10]
    click_image(qtbot, w, x, y)
    (sel,) = [it for it in w.view.scene().selectedItems() if isinstance(it, Marker)]
    assert sel.brush().color().name() == "#ffeb3b"
    w.view.scene().clearSelection()
    assert sel.brush().color().lightness() > 200 and sel.brush().color().name() != "#ffeb3b"


def test_plain_wheel_zooms_around_the_cursor(qtbot, make_window, figure, figure_file):
    w = _window(make_window, qtbot, figure, figure_file, with_points=False)
    v, vp = w.view, w.view.viewport()
    s0 = v.transform().m11()
    pos = view_pos(w, 300, 200)
    for k in (1, 2):
        ev = QWheelEvent(QPointF(pos), QPointF(v.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120),
                         Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                         Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(vp, ev)
        assert v.transform().m11() == pytest.approx(s0 * 1.25 ** k)
        under = v.mapToScene(pos)
        assert abs(under.x() - 300) < 2 and abs(under.y() - 200) < 2


def test_add_point_refuses_clicks_outside_the_axes(qtbot, make_window, figure, figure_file):
    w = _window(make_window, qtbot, figure, figure_file, with_points=False)
    w.set_tool("add_point")
    c = figure.truth.calibration
    xm = (c["x1"]["px"] + c["x2"]["px"]) / 2
    below = c["y1"]["py"] + 0.1 * (c["y1"]["py"] - c["y2"]["py"])     # S = -0.1: below the time axis
    click_image(qtbot, w, xm, below)
    assert len(w.doc.project.arms[0].points_px) == 0
    assert "not added" in w.statusBar().currentMessage()
    left = c["x1"]["px"] - 0.1 * (c["x2"]["px"] - c["x1"]["px"])       # before time 0
    click_image(qtbot, w, left, (c["y1"]["py"] + c["y2"]["py"]) / 2)
    assert len(w.doc.project.arms[0].points_px) == 0
    click_image(qtbot, w, xm, c["y1"]["py"] - 2)                      # on the axis: a last drop to 0
    assert len(w.doc.project.arms[0].points_px) == 1
    above = c["y2"]["py"] - 0.1 * (c["y1"]["py"] - c["y2"]["py"])     # S = 1.1
    click_image(qtbot, w, xm, above)
    assert len(w.doc.project.arms[0].points_px) == 1
    # Y2 calibrated on the 0.8 tick: S = 0.98 is still inside the axes
    y1, y2 = c["y1"]["py"], c["y2"]["py"]
    cal = dict(c, y2=dict(c["y2"], py=y1 + 0.8 * (y2 - y1), value=0.8 * c["y2"]["value"]))
    w.doc.edit({"calibration": cal}, "Y2 on the 0.8 tick")
    click_image(qtbot, w, xm, y1 + 0.98 * (y2 - y1))
    assert len(w.doc.project.arms[0].points_px) == 2


def test_overlay_labels_are_round_numbers(qtbot, make_window, figure, figure_file):
    from gui.image_view import tick_text

    assert tick_text(2.220446049250313e-16, 1.0) == "0"
    assert tick_text(0.6000000000000001, 1.0) == "0.6"
    assert tick_text(35.99999999, 60) == "36" and tick_text(365.25, 1826.25) == "365.25"
    w = _window(make_window, qtbot, figure, figure_file, with_points=False)
    # clicks by hand on a 900x675 figure, slightly tilted: the survival axis' two ends come
    # back from the pixel arithmetic as -2.2e-16 and 0.9999999999999998
    cal = {"x1": {"px": 151.6, "py": 482.1, "value": 0}, "x2": {"px": 872.4, "py": 481.6, "value": 48},
           "y1": {"px": 152.1, "py": 483.4, "value": 0}, "y2": {"px": 151.7, "py": 21.2, "value": 1}}
    w.doc.edit({"calibration": cal}, "cal")
    texts = [it.text() for it in w.view.scene().items() if isinstance(it, QGraphicsSimpleTextItem)]
    labels = [t for t in texts if t.rstrip("%").replace(".", "").isdigit() or "e" in t]
    assert labels and not any("e" in t for t in labels), labels
    assert {"0", "0%"} & set(labels)


def test_find_arm_colours_matches_and_says_so(qtbot, make_window, figure, figure_file):
    w = _window(make_window, qtbot, figure, figure_file, with_points=False)
    truth = figure.truth
    off = [tuple(int(min(255, max(0, c + d))) for c, d in zip(truth.colors[a], (25, -20, 15))) for a in truth.arms]
    arms = w.doc.arms_copy()
    for a, rgb in zip(arms, off):
        a.rgb = rgb
    w.doc.edit({"arms": arms}, "rough colours")
    qtbot.mouseClick(w.arm_panel.auto_colors_button, Qt.MouseButton.LeftButton)
    msg = w.statusBar().currentMessage()
    assert msg.startswith("Find arm colours"), msg
    for a in w.doc.project.arms:                         # each arm took its own curve's colour
        assert np.abs(np.subtract(a.rgb, truth.colors[a.name])).max() <= 12, (a.name, a.rgb)
    qtbot.mouseClick(w.arm_panel.auto_colors_button, Qt.MouseButton.LeftButton)
    assert "already" in w.statusBar().currentMessage()


def test_risk_grid_time_header_follows_the_unit(qtbot, make_window, figure, figure_file):
    w = _window(make_window, qtbot, figure, figure_file, with_points=False, risk=True)
    hdr = w.risk_view.verticalHeader()
    w.tabs.setCurrentIndex(0)
    qtbot.wait(10)
    unit = w.settings_panel.unit
    unit.setFocus()
    unit.selectAll()
    qtbot.keyClicks(unit, "weeks since randomisation")
    qtbot.keyClick(unit, Qt.Key.Key_Return)
    qtbot.wait(10)
    text = "Time weeks since randomisation"
    assert w.risk_model.headerData(0, Qt.Orientation.Vertical) == text
    assert hdr.sizeHint().width() >= hdr.fontMetrics().horizontalAdvance(text)


# ------------------------------------------------------------------------------- layout
def _toolbar_hides(w) -> list[str]:
    tb = w.findChild(QToolBar, "main_toolbar")
    hidden = []
    for a in tb.actions():
        if a.isSeparator():
            continue
        b = tb.widgetForAction(a)
        if b is None or not b.isVisible() or b.geometry().right() > tb.width():
            hidden.append(a.iconText())
    return hidden


@pytest.mark.parametrize("size", [(1400, 900), (1024, 700)])
def test_layout_after_reconstruction(qtbot, make_window, figure, figure_file, size):
    w = _window(make_window, qtbot, figure, figure_file, risk=True)
    w.resize(*size)
    w.act_reconstruct.trigger()
    qtbot.waitUntil(lambda: w.doc.current_ipd() is not None, timeout=30000)
    t = w.diagnostics.intervals
    assert t.rowCount() >= 6
    need = 6 if size[0] >= 1400 else 4
    qtbot.waitUntil(lambda: t.viewport().height() // max(1, t.rowHeight(0)) >= need, timeout=3000)
    assert _toolbar_hides(w) == []                     # no button in the overflow menu
    assert w.view.height() >= 0.3 * size[1] and w.view.width() >= 0.35 * size[0]
    w.pooling_panel.add_study("S", "lung", figure.truth.ipd, arm=figure.truth.arms[0], unit="months")
    w.tabs.setCurrentWidget(w._pool_page)
    run = w.pooling_panel.run_button

    def run_shown():
        vis = run.visibleRegion().boundingRect()
        return run.isVisible() and vis.height() == run.height() and vis.width() == run.width()
    qtbot.waitUntil(run_shown, timeout=3000)


def test_minimum_window_keeps_the_figure_usable(qtbot, make_window):
    w = make_window()
    qtbot.waitUntil(lambda: w._docks_sized)
    qtbot.waitUntil(lambda: w.view.height() >= 0.5 * w.height(), timeout=3000)   # the figure has most room
    w.resize(w.minimumSizeHint())
    qtbot.wait(50)
    assert w.width() <= 1024 and w.height() <= 700
    assert w.view.width() >= 300 and w.view.height() >= 200


# ------------------------------------------------------------------------------- pooling
def test_add_to_pooling_asks_which_arms_and_converts_units(qtbot, make_window, figure, tmp_path, monkeypatch):
    w = make_window()
    pp = w.pooling_panel
    truth = figure.truth
    monkeypatch.setattr(w.doc, "current_ipd", lambda: truth.ipd.copy())
    w.doc.project.settings.update(study="TRIAL", time_unit="Months")
    asked = []
    answers = iter([None, [], ["Treatment"], ["Control", "Treatment"]])
    w.ask_pool_arms = lambda arms, study: asked.append((arms, study)) or next(answers)
    w.add_to_pooling()                                     # cancelled: nothing added
    assert asked == [(truth.arms, "TRIAL")] and pp.studies == []
    w.add_to_pooling()                                     # no arm ticked: nothing, and said so
    assert pp.studies == [] and "no arm ticked" in w.messages[-1][2]
    w.add_to_pooling()
    (s,) = pp.studies
    assert (s.name, s.arm, s.unit, s.n) == ("TRIAL", "Treatment", "months", 150)
    row = [pp.study_table.item(0, c).text() for c in range(pp.study_table.columnCount())]
    assert row[:4] == ["TRIAL", "unassigned", "Treatment", "months"]
    w.add_to_pooling()                                     # both arms: one row each, never one study
    assert [(s.arm, s.label) for s in pp.studies[1:]] == [("Control", "TRIAL (Control)"),
                                                          ("Treatment", "TRIAL (2) (Treatment)")]
    # landmarks follow the pooling unit: whole years in it, unless typed
    pp.unit_combo.setCurrentText("years")
    assert pp.times_edit.text() == "1,2,3,4,5"
    pp.unit_combo.setCurrentText("days")
    assert pp.times_edit.text() == "365.25,730.5,1095.75,1461,1826.25"
    pp.times_edit.setText("1,2")
    pp.unit_combo.setCurrentText("years")
    assert pp.times_edit.text() == "1,2"
    # an IPD file in days, its unit typed into the list: pooled in years with the months study
    sub = truth.ipd[truth.ipd["arm"] == "Treatment"]
    sub.assign(time=sub["time"] * 365.25 / 12).to_csv(tmp_path / "days.csv", index=False)
    assert pp.add_ipd_file(tmp_path / "days.csv") == 1
    assert pp.study_table.item(3, 3).text() == "?"
    pp.study_table.item(3, 3).setText("d")
    assert pp.studies[3].unit == "days" and pp.study_table.item(3, 3).text() == "days"
    del pp.studies[1:3]
    pp._refresh_studies()
    with qtbot.waitSignal(pp.pooled, timeout=30000):
        pp.run_pooling()
    per = pp.result.per_study
    s1 = per[per["measure"] == "S(1)"]["estimate"].to_numpy(float)
    assert len(s1) == 2 and s1[0] == pytest.approx(s1[1], abs=1e-9)
