"""Editing gestures of the desktop app, each checked against the project state and the undo
stack: view zoom/pan/loupe, nudging handles, box-select delete, add point, censor marks,
mask brush, arm edits, settings, clipboard image, drag-and-drop, PDF page + crop, recent
files, automatic proposal, pooling hand-off."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

# fixtures (figure, figure_file, make_window) and drivers shared with the workflow tests
from test_gui import (calibrate_by_clicking, click_image, figure, figure_file, km_iae,  # noqa: F401,F811
                      make_window, open_and_wait, view_pos)

from kmrecon.project import ArmState, RiskGrid


def _traced_window(make_window, qtbot, figure, figure_file, with_points=True, risk=False):
    """Window on the figure, calibrated from truth, with the two truth arms traced from their
    true KM corners (no detection: these tests are about editing), optionally with the printed
    risk table."""
    from simulate.ipd import km_corners

    w = make_window()
    open_and_wait(qtbot, w, figure_file)
    truth = figure.truth
    arms = []
    for arm in truth.arms:
        pts = np.empty((0, 2))
        if with_points:
            sub = truth.ipd[truth.ipd["arm"] == arm]
            t, s = km_corners(sub["time"], sub["event"])
            pts = np.column_stack(truth.to_pixel(t, s * 100 if truth.y_percent else s))
        arms.append(ArmState(arm, truth.colors[arm], points_px=pts))
    values = {"calibration": truth.calibration, "arms": arms}
    if risk:
        rt = truth.risk_table
        values["risk_table"] = RiskGrid(times=[f"{t:g}" for t in rt.times],
                                        rows={a: [f"{v:g}" for v in rt.n_risk[a]] for a in truth.arms})
    w.doc.edit(values, "setup")
    w.arm_panel.select_row(0)
    return w


def test_zoom_pan_fit_and_loupe(qtbot, make_window, figure, figure_file):
    w = make_window()
    open_and_wait(qtbot, w, figure_file)
    v, vp = w.view, w.view.viewport()
    s0 = v.transform().m11()
    pos = view_pos(w, 300, 200)
    ev = QWheelEvent(QPointF(pos), QPointF(v.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, ev)
    assert v.transform().m11() == pytest.approx(s0 * 1.25)
    under = v.mapToScene(pos)              # zoom at the cursor: the pixel under it stays put
    assert abs(under.x() - 300) < 2 and abs(under.y() - 200) < 2
    qtbot.keyClick(v, Qt.Key.Key_Plus)
    assert v.transform().m11() == pytest.approx(s0 * 1.25 ** 2)
    qtbot.keyClick(v, Qt.Key.Key_Minus)
    assert v.transform().m11() == pytest.approx(s0 * 1.25)
    # middle-button drag pans
    h0 = v.horizontalScrollBar().value()
    c = QPoint(vp.width() // 2, vp.height() // 2)
    qtbot.mousePress(vp, Qt.MouseButton.MiddleButton, pos=c)
    qtbot.mouseMove(vp, c + QPoint(-40, 0))
    qtbot.mouseRelease(vp, Qt.MouseButton.MiddleButton, pos=c + QPoint(-40, 0))
    assert v.horizontalScrollBar().value() == h0 + 40
    # Space + left drag pans too, without placing anything
    w.set_tool("calibrate")
    qtbot.keyPress(v, Qt.Key.Key_Space)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=c)
    qtbot.mouseMove(vp, c + QPoint(30, 0))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=c + QPoint(30, 0))
    qtbot.keyRelease(v, Qt.Key.Key_Space)
    assert v.horizontalScrollBar().value() == h0 + 10 and w.doc.project.calibration == {}
    w.act_fit.trigger()
    assert v.transform().m11() == pytest.approx(s0, rel=0.02)
    # loupe follows the cursor with data coordinates once calibrated
    w.doc.edit({"calibration": figure.truth.calibration}, "cal")
    p = figure.truth.calibration["x2"]
    qtbot.mouseMove(vp, view_pos(w, p["px"], p["py"]))
    assert v.loupe.isVisible()
    assert w.coord_label.text().startswith("t = 60")


def test_calibration_nudge_merges_and_undoes(qtbot, make_window, figure, figure_file):
    w = make_window()
    open_and_wait(qtbot, w, figure_file)
    calibrate_by_clicking(qtbot, w, figure.truth.calibration)
    cal0 = w.doc.project.calibration
    x2 = cal0["x2"]
    qtbot.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, pos=view_pos(w, x2["px"], x2["py"]))
    assert w.view._selected_handle == "x2"
    n = w.doc.undo_stack.count()
    qtbot.keyClick(w.view, Qt.Key.Key_Right)
    qtbot.keyClick(w.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(w.view, Qt.Key.Key_Up)
    got = w.doc.project.calibration["x2"]
    assert (got["px"] - x2["px"], got["py"] - x2["py"]) == pytest.approx((11, -1), abs=0.51)
    assert w.doc.undo_stack.count() == n + 1          # three nudges, one undo step
    w.act_undo.trigger()
    assert w.doc.project.calibration["x2"]["px"] == pytest.approx(x2["px"], abs=0.51)
    # dragging a handle moves the calibration point (one undo step)
    vp = w.view.viewport()
    start = view_pos(w, x2["px"], x2["py"])
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, start + QPoint(0, 6))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(0, 12))
    scale = w.view.transform().m11()
    assert w.doc.project.calibration["x2"]["py"] == pytest.approx(x2["py"] + 12 / scale, abs=1 / scale)
    assert w.doc.project.calibration["x2"]["value"] == x2["value"]
    w.act_undo.trigger()
    assert w.doc.project.calibration["x2"]["py"] == pytest.approx(x2["py"], abs=0.51)
    # calibration options are undoable settings too
    w.calib_panel.percent.setCurrentIndex(2)
    assert w.doc.project.calibration["y_percent"] is True
    w.act_undo.trigger()
    assert w.doc.project.calibration.get("y_percent") is None and w.calib_panel.percent.currentIndex() == 0


def test_box_select_delete_add_point_and_censor(qtbot, make_window, figure, figure_file):
    w = _traced_window(make_window, qtbot, figure, figure_file)
    v, vp = w.view, w.view.viewport()
    pts = w.doc.project.arms[0].points_px
    gap = np.median(np.hypot(*np.diff(pts[np.argsort(pts[:, 0])], axis=0).T))
    while gap * v.transform().m11() < 6:        # zoom in until neighbouring corners are apart
        v.zoom(1.25)
    assert v.markers_visible()
    k = len(pts) // 3
    v.centerOn(*pts[k])
    inside = np.flatnonzero((np.abs(pts[:, 0] - pts[k, 0]) < 6) & (np.abs(pts[:, 1] - pts[k, 1]) < 12))
    others = w.doc.project.arms[1].points_px
    assert not np.any((np.abs(others[:, 0] - pts[k, 0]) < 6) & (np.abs(others[:, 1] - pts[k, 1]) < 12))
    a, b = view_pos(w, pts[k, 0] - 6, pts[k, 1] - 12), view_pos(w, pts[k, 0] + 6, pts[k, 1] + 12)
    w.set_tool("edit")
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(vp, (a + b) / 2)
    qtbot.mouseMove(vp, b)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)
    sel = set(v.selected_points().get(0, []))
    scale = v.transform().m11()
    inner = np.flatnonzero((np.abs(pts[:, 0] - pts[k, 0]) < 6 - 5 / scale) & (np.abs(pts[:, 1] - pts[k, 1]) < 12 - 5 / scale))
    assert set(inner) <= sel <= set(inside) and k in sel and not v.selected_points().get(1)
    qtbot.keyClick(v, Qt.Key.Key_Delete)
    assert len(w.doc.project.arms[0].points_px) == len(pts) - len(sel)
    w.act_undo.trigger()
    assert np.array_equal(w.doc.project.arms[0].points_px, pts)
    # add a point with the add-point tool
    w.set_tool("add_point")
    click_image(qtbot, w, pts[k, 0] + 3, pts[k, 1] + 20)
    new = w.doc.project.arms[0].points_px
    assert len(new) == len(pts) + 1 and np.allclose(new[-1], (pts[k, 0] + 3, pts[k, 1] + 20), atol=1)
    # censor mark: placed on the traced line at the clicked x; a second click removes it
    w.set_tool("censor")
    x = float(np.mean(pts[k:k + 2, 0]))
    click_image(qtbot, w, x, pts[k, 1] - 30)
    cen = w.doc.project.arms[0].censor_px
    assert len(cen) == 1 and abs(cen[0, 1] - pts[k:k + 2, 1].max()) <= abs(pts[k, 1] - pts[k + 1, 1]) + 1
    click_image(qtbot, w, *cen[0])
    assert len(w.doc.project.arms[0].censor_px) == 0
    w.act_undo.trigger()
    assert len(w.doc.project.arms[0].censor_px) == 1


def test_mask_brush_reaches_detection(qtbot, make_window, figure, figure_file, monkeypatch):
    import gui.main_window as mw

    w = _traced_window(make_window, qtbot, figure, figure_file, with_points=False)
    w.arm_panel.brush.setValue(9)
    w.set_tool("mask_brush")
    vp = w.view.viewport()
    a, b = view_pos(w, 200, 150), view_pos(w, 260, 150)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(vp, (a + b) / 2)
    qtbot.mouseMove(vp, b)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)
    (m,) = w.doc.project.masks
    assert m.kind == "brush" and m.radius == 9 and len(m.points) == 3
    seen = {}

    def fake_extract(image, calibration, specs, mask, progress=None):
        seen["mask"], seen["specs"] = mask, specs
        return []
    monkeypatch.setattr(mw, "_extract", fake_extract)
    w.detect()
    qtbot.waitUntil(lambda: "detect" not in w.busy)
    mask = seen["mask"]
    assert mask[150, 230] and mask[158, 200] and not mask[150, 280] and not mask[170, 230]
    assert [s.name for s in seen["specs"]] == figure.truth.arms
    w.act_clear_masks.trigger()
    assert w.doc.project.masks == []


def test_arm_edits_are_undoable(qtbot, make_window, figure, figure_file, monkeypatch):
    w = _traced_window(make_window, qtbot, figure, figure_file, with_points=False)
    m = w.arm_panel.model
    assert m.setData(m.index(0, 1), "15")           # tolerance
    assert m.setData(m.index(0, 2), "180")          # N
    assert not m.setData(m.index(0, 3), "-4")       # D must be >= 0: refused
    assert w.doc.project.arms[0].tolerance == 15 and w.doc.project.arms[0].n_total == 180
    monkeypatch.setattr(w, "ask_color", lambda rgb: (1, 2, 3))
    w.arm_panel.color_button.click()
    assert w.doc.project.arms[0].rgb == (1, 2, 3)
    w.doc.edit({"risk_table": w.risk_model.synced_grid()}, "grid")
    assert m.setData(m.index(0, 0), "Placebo")      # rename carries the risk-table row along
    assert list(w.doc.project.risk_table.rows) == ["Placebo", "Treatment"]
    w.arm_panel.select_row(1)
    w.arm_panel.delete_button.click()
    assert [a.name for a in w.doc.project.arms] == ["Placebo"]
    assert list(w.doc.project.risk_table.rows) == ["Placebo"]
    for _ in range(5):
        w.act_undo.trigger()
    assert [a.name for a in w.doc.project.arms] == figure.truth.arms
    assert w.doc.project.arms[0].tolerance == 15 and w.doc.project.arms[0].rgb != (1, 2, 3)
    w.settings_panel.study.setText("TRIAL-1")
    w.settings_panel.study.editingFinished.emit()
    assert w.doc.project.settings["study"] == "TRIAL-1"
    w.act_undo.trigger()
    assert w.doc.project.settings["study"] == "" and w.settings_panel.study.text() == ""


def test_paste_image_drop_file_and_recent(qtbot, make_window, figure, figure_file):
    w = make_window()
    img = np.ascontiguousarray(figure.image[:200, :300])
    q = QImage(img.data, 300, 200, 900, QImage.Format.Format_RGB888).copy()
    QApplication.clipboard().setImage(q)
    w.act_paste.trigger()
    assert np.array_equal(w.doc.image, img) and w.doc.project.image.path is None
    assert w.project_dict()["image"]["png_base64"]          # a pasted image is embedded
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(figure_file))])
    w.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: w.doc.image is not None and w.doc.image.shape == figure.image.shape, timeout=10000)
    assert w.recent_files()[0] == str(figure_file.resolve())
    assert [a.text() for a in w.recent_menu.actions()] == [figure_file.name]
    w.doc.set_image(np.zeros((10, 10, 3), np.uint8), w.doc.project.image)
    w.recent_menu.actions()[0].trigger()                    # reopen from the recent-files menu
    qtbot.waitUntil(lambda: w.doc.image.shape == figure.image.shape, timeout=10000)
    # numbers on the clipboard + Paste: a risk table, not an image
    QApplication.clipboard().setText("Time 0 12\nControl 150 90")
    w.act_paste.trigger()
    assert w.doc.project.risk_table.times == ["0", "12"] and w.doc.image.shape == figure.image.shape


def test_pdf_page_picker_with_crop(qtbot, make_window, figure, tmp_path, monkeypatch):
    from digitize.image import load_image
    from gui.dialogs import PdfPageDialog
    from simulate.figure import render_pdf

    pdf = tmp_path / "fig.pdf"
    render_pdf(figure.truth.ipd, figure.style, pdf)
    dlg = PdfPageDialog(str(pdf), 1, dpi=100)
    qtbot.addWidget(dlg)
    lab = dlg.preview
    qtbot.mousePress(lab, Qt.MouseButton.LeftButton, pos=QPoint(10, 12))
    qtbot.mouseMove(lab, QPoint(60, 50))
    qtbot.mouseRelease(lab, Qt.MouseButton.LeftButton, pos=QPoint(110, 92))
    page, crop = dlg.result_value()
    assert page == 0 and crop == (20, 24, 222, 186)        # preview at 50 dpi -> x2 at 100 dpi
    w = make_window()
    monkeypatch.setattr(w, "pick_pdf_page", lambda path, n: (0, (20, 24, 222, 186)))
    w.open_file(str(pdf), dpi=100)
    qtbot.waitUntil(lambda: w.doc.image is not None, timeout=10000)
    full = load_image(pdf, dpi=100)
    assert np.array_equal(w.doc.image, full[24:186, 20:222])
    assert w.doc.project.image.crop == (20, 24, 222, 186)


def test_automatic_proposal_then_zero_click(qtbot, make_window, figure, figure_file):
    from gui.main_window import auto_detection_available

    if not auto_detection_available():
        pytest.skip("digitize.auto is not importable")
    w = make_window()
    open_and_wait(qtbot, w, figure_file)
    w.propose_axes()
    qtbot.waitUntil(lambda: "auto" not in w.busy, timeout=60000)
    cal = w.doc.calibration()
    if cal is None:
        pytest.skip(f"automatic detection found no calibration here: {w.messages}")
    from digitize.calibrate import Calibration

    ref = Calibration.from_dict(figure.truth.calibration)
    px = np.array([200.0, 500.0, 800.0]), np.array([100.0, 300.0, 450.0])
    assert np.allclose(cal.to_data(*px), ref.to_data(*px), atol=0.02 * 60)
    grid = w.doc.project.risk_table                        # the risk table read off the figure
    if not grid.is_empty():
        rt = figure.truth.risk_table
        assert [float(t) for t in grid.times] == list(rt.times)
        assert sorted(float(v) for row in grid.rows.values() for v in row if v) == \
            sorted(float(v) for arm in rt.n_risk for v in rt.n_risk[arm])
    w.act_undo.trigger()                                   # the proposal is one undo step
    assert w.doc.calibration() is None and w.doc.project.risk_table.is_empty()
    w.act_redo.trigger()
    if len(w.doc.project.arms) != len(figure.truth.arms):
        return
    # zero-click from here: Detect, Reconstruct, and the IPD matches the truth
    w.act_detect.trigger()
    qtbot.waitUntil(lambda: "detect" not in w.busy, timeout=30000)
    w.act_reconstruct.trigger()
    qtbot.waitUntil(lambda: w.doc.current_ipd() is not None, timeout=30000)
    ipd = w.doc.current_ipd()
    for arm in figure.truth.arms:
        got, ref = ipd[ipd["arm"] == arm], figure.truth.ipd[figure.truth.ipd["arm"] == arm]
        assert km_iae(got["time"], got["event"], ref["time"], ref["event"], figure.truth.x_range[1]) < 0.01
        assert abs(got["event"].sum() - ref["event"].sum()) <= 0.05 * ref["event"].sum()


def test_add_to_pooling(qtbot, make_window, figure, figure_file, monkeypatch):
    w = make_window()
    if w.pooling_panel is None:
        pytest.skip("pooling panel unavailable")
    calls = []
    monkeypatch.setattr(w.pooling_panel, "add_study", lambda *a, **k: calls.append(a))
    w.add_to_pooling()
    assert not calls and "reconstruct first" in w.messages[-1][2]
    w.doc.project.settings["study"] = "S"
    monkeypatch.setattr(w.doc, "current_ipd", lambda: pd.DataFrame({"arm": ["A"], "time": [1.0], "event": [1]}))
    w.add_to_pooling()
    assert calls and calls[0][0] == "S" and list(calls[0][2].columns) == ["arm", "time", "event"]


def test_overlay_ticks_line_up_with_printed_ticks(figure):
    """The teal overlay ticks are the calibration values and equal subdivisions of their span,
    so they fall on the printed ticks (the figure's own tick values from its truth)."""
    from gui.image_view import overlay_ticks

    assert list(overlay_ticks(0, 60)) == [0, 12, 24, 36, 48, 60]
    assert list(overlay_ticks(0, 60, hints=[0, 6, 12, 18, 24])) == list(range(0, 61, 6))
    assert overlay_ticks(1, 0) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    printed = [t["value"] for t in figure.truth.x_ticks]
    vals = overlay_ticks(printed[0], printed[-1], hints=printed)
    assert vals == pytest.approx(printed)
