"""The desktop app driven through its real widgets (pytest-qt, offscreen) on a rendered figure
with known truth: calibrate by clicking, pick colours, detect, drag + undo/redo, paste the risk
table, reconstruct, export; the exported IPD must match the figure's IPD.
Also: save/reopen, autosave recovery, and error dialogs for bad input."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from gui.image_view import role_of
from simulate.ipd import km_table, simulate_arm

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ------------------------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def figure():
    """Two-arm figure (150 patients each, '+' censor marks, legend, risk table) and its truth."""
    from simulate.figure import render_figure
    from simulate.styles import FigureStyle

    rng = np.random.default_rng(7)
    a = simulate_arm(150, rng, median=12.0)
    a["arm"] = "Control"
    b = simulate_arm(150, rng, median=24.0)
    b["arm"] = "Treatment"
    ipd = pd.concat([a, b], ignore_index=True)[["arm", "time", "event"]]
    style = FigureStyle(arm_names=("Control", "Treatment"), censor_mark="+", risk_table=True,
                        legend_loc="upper right")
    return render_figure(ipd, style)


@pytest.fixture(scope="module")
def figure_file(figure, tmp_path_factory):
    d = tmp_path_factory.mktemp("fig")
    return figure.save(d)["image"]


@pytest.fixture
def make_window(qtbot, tmp_path):
    from gui.main_window import MainWindow

    def make():
        w = MainWindow(settings_path=str(tmp_path / "settings.ini"), recovery_dir=str(tmp_path / "recovery"),
                       autosave_seconds=3600, auto_propose=False)
        w.confirm_discard = lambda: "discard"   # teardown closes windows: never block on the prompt
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        qtbot.waitExposed(w)
        return w
    return make


def km_iae(t1, e1, t2, e2, t_max: float) -> float:
    """Integrated |S1 - S2| over [0, t_max] divided by t_max (0 = identical KM curves)."""
    grid = np.linspace(0, t_max, 4001)

    def s_at(t, e):
        tab = km_table(t, e)
        idx = np.searchsorted(tab["time"].to_numpy(), grid, side="right") - 1
        s = tab["survival"].to_numpy()
        return np.where(idx >= 0, s[np.clip(idx, 0, None)], 1.0)

    return float(np.mean(np.abs(s_at(t1, e1) - s_at(t2, e2))))


def view_pos(window, x: float, y: float) -> QPoint:
    """Viewport widget position of image pixel (x, y)."""
    return window.view.mapFromScene(float(x), float(y))


def click_image(qtbot, window, x, y):
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=view_pos(window, x, y))


def open_and_wait(qtbot, window, path):
    window.open_file(str(path))
    qtbot.waitUntil(lambda: window.doc.image is not None and "open" not in window.busy, timeout=20000)


def calibrate_by_clicking(qtbot, window, calibration: dict):
    """Calibrate tool; click the four truth pixels; type each value into the panel + Enter."""
    window.tool_actions["calibrate"].trigger()
    for key in ("x1", "x2", "y1", "y2"):
        p = calibration[key]
        click_image(qtbot, window, p["px"], p["py"])
        edit = window.calib_panel.value_edits[key]
        edit.selectAll()
        qtbot.keyClicks(edit, f"{p['value']:g}")
        qtbot.keyClick(edit, Qt.Key.Key_Return)


def curve_pixel(truth, arm: str, t: float):
    """Image pixel on the truth KM curve of ``arm`` at time t (middle of a plateau)."""
    sub = truth.ipd[truth.ipd["arm"] == arm]
    tab = km_table(sub["time"], sub["event"])
    i = np.searchsorted(tab["time"].to_numpy(), t, side="right") - 1
    s = 1.0 if i < 0 else float(tab["survival"].iloc[i])
    y = s * 100 if truth.y_percent else s
    px, py = truth.to_pixel(t, y)
    return float(px), float(py)


def separated_time(truth) -> float:
    """A time at which the two arms' curves are far apart and both on a plateau."""
    best, best_gap = None, -1.0
    span = truth.x_range[1] - truth.x_range[0]
    for t in np.linspace(0.1, 0.7, 121) * span:
        (_, y0), (_, y1) = curve_pixel(truth, "Control", t), curve_pixel(truth, "Treatment", t)
        flat = sum(abs(curve_pixel(truth, a, t)[1] - curve_pixel(truth, a, t + d)[1])
                   for a in ("Control", "Treatment") for d in (-0.005 * span, 0.005 * span))
        gap = abs(y1 - y0) - 20 * flat
        if gap > best_gap:
            best, best_gap = t, gap
    return best


def risk_clipboard_text(truth) -> str:
    rt = truth.risk_table
    lines = ["Time\t" + "\t".join(f"{t:g}" for t in rt.times)]
    for arm in truth.arms:
        lines.append(arm + "\t" + "\t".join(f"{v:g}" for v in rt.n_risk[arm]))
    return "\n".join(lines)


def drive_to_traced(qtbot, window, figure, figure_file):
    """Open, calibrate, add/rename arms, eyedropper colours, detect. Returns nothing."""
    truth = figure.truth
    open_and_wait(qtbot, window, figure_file)
    calibrate_by_clicking(qtbot, window, truth.calibration)
    assert window.doc.calibration() is not None, window.doc.calibration_error()
    t_sep = separated_time(truth)
    for k, arm in enumerate(truth.arms):
        qtbot.mouseClick(window.arm_panel.add_button, Qt.MouseButton.LeftButton)
        idx = window.arm_panel.model.index(k, 0)
        window.arm_panel.view.setCurrentIndex(idx)
        window.arm_panel.view.edit(idx)
        editor = QApplication.focusWidget()
        editor.selectAll()
        qtbot.keyClicks(editor, arm)
        qtbot.keyClick(editor, Qt.Key.Key_Return)
        qtbot.mouseClick(window.arm_panel.eyedropper_button, Qt.MouseButton.LeftButton)
        assert window.view.tool == "eyedropper"
        click_image(qtbot, window, *curve_pixel(truth, arm, t_sep))
        window.set_tool("edit")
    qtbot.mouseClick(window.arm_panel.detect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "detect" not in window.busy, timeout=30000)


# -------------------------------------------------------------------------------------- tests
def test_whole_workflow_matches_truth(qtbot, make_window, figure, figure_file, tmp_path, monkeypatch):
    truth = figure.truth
    w = make_window()
    drive_to_traced(qtbot, w, figure, figure_file)
    arms = w.doc.project.arms
    assert [a.name for a in arms] == truth.arms
    for a in arms:   # eyedropper took the drawn colour
        assert np.abs(np.subtract(a.rgb, truth.colors[a.name])).max() <= 12, (a.name, a.rgb)
        assert len(a.points_px) > 10
    assert not [m for m in w.messages if m[0] == "error"], w.messages

    # drag one traced point 15 screen px right and down; undo and redo restore exact states
    arm0 = w.doc.project.arms[0]
    before = arm0.points_px.copy()
    others = np.vstack([a.points_px for a in w.doc.project.arms] + [a.censor_px for a in w.doc.project.arms])
    gaps = [np.sort(np.hypot(*(others - p).T))[1] for p in before]
    j = int(np.argmax(gaps))                      # the point farthest from any other marker
    w.view.zoom(12.0 / max(gaps[j], 0.5) / w.view.transform().m11())   # zoom in as a user would
    while not w.view.markers_visible():
        w.view.zoom(1.25)
    w.view.centerOn(*before[j])
    assert [role_of(it) for it in w.view.items(view_pos(w, *before[j])) if role_of(it)] == [("pt", 0, j)]
    start = view_pos(w, *before[j])
    vp = w.view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    assert w.view._drag is not None and w.view._drag[:3] == ("pt", 0, j)
    qtbot.mouseMove(vp, start + QPoint(8, 8))
    qtbot.mouseMove(vp, start + QPoint(15, 15))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(15, 15))
    moved = w.doc.project.arms[0].points_px
    scale = w.view.transform().m11()
    assert np.allclose(moved[j] - before[j], 15 / scale, atol=1.5 / scale)
    assert np.array_equal(np.delete(moved, j, 0), np.delete(before, j, 0))
    qtbot.keyClick(w.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(w.doc.project.arms[0].points_px, before)
    qtbot.keyClick(w.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(w.doc.project.arms[0].points_px, moved)
    qtbot.keyClick(w.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(w.doc.project.arms[0].points_px, before)

    # paste the risk table (clipboard + Ctrl+V on the grid)
    QApplication.clipboard().setText(risk_clipboard_text(truth))
    w.tabs.setCurrentIndex(0)
    w.risk_view.setFocus()
    w.risk_view.setCurrentIndex(w.risk_model.index(0, 0))
    qtbot.keyClick(w.risk_view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    grid = w.doc.project.risk_table
    assert [float(t) for t in grid.times] == list(truth.risk_table.times)
    for arm in truth.arms:
        assert [float(v) for v in grid.rows[arm]] == list(truth.risk_table.n_risk[arm])
    assert w.risk_model.errors == {}

    # reconstruct in the background, then export through the menu actions
    w.act_reconstruct.trigger()
    qtbot.waitUntil(lambda: w.doc.current_ipd() is not None, timeout=30000)
    assert not [m for m in w.messages if m[0] == "error"], w.messages
    out = tmp_path / "ipd.csv"
    monkeypatch.setattr(w, "ask_save_path", lambda *a, **k: str(out))
    w.act_export_ipd.trigger()
    ipd = pd.read_csv(out)
    t_max = float(truth.x_range[1])
    for arm in truth.arms:
        got = ipd[ipd["arm"] == arm]
        ref = truth.ipd[truth.ipd["arm"] == arm]
        iae = km_iae(got["time"], got["event"], ref["time"], ref["event"], t_max)
        assert iae < 0.01, (arm, iae)
        assert abs(got["event"].sum() - ref["event"].sum()) <= 0.05 * ref["event"].sum(), arm
        assert len(got) == len(ref)
    for kind, name in (("plot", "km.png"), ("diagnostics", "diag.json"), ("points", "points.csv")):
        monkeypatch.setattr(w, "ask_save_path", lambda *a, p=tmp_path / name, **k: str(p))
        {"plot": w.act_export_plot, "diagnostics": w.act_export_diag, "points": w.act_export_points}[kind].trigger()
        assert (tmp_path / name).stat().st_size > 100, name
    assert set(json.loads((tmp_path / "diag.json").read_text())) and \
        set(pd.read_csv(tmp_path / "points.csv")["arm"]) == set(truth.arms)
    assert w.checklist.done_flags() == [True] * 5
    w.act_copy_points.trigger()                    # copy to clipboard = the exported points file
    copied = pd.read_csv(__import__("io").StringIO(QApplication.clipboard().text()), sep="\t")
    pd.testing.assert_frame_equal(copied, pd.read_csv(tmp_path / "points.csv"))
    assert "HR" in w.diagnostics.summary.toPlainText()


def test_save_reopen_and_recovery(qtbot, make_window, figure, figure_file, tmp_path, monkeypatch):
    w = make_window()
    drive_to_traced(qtbot, w, figure, figure_file)
    # a mask rectangle and a censor mark added by hand, so that every kind of edit is saved
    w.set_tool("mask_rect")
    lx0, ly0, lx1, ly1 = figure.truth.legend["bbox"]
    vp = w.view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_pos(w, lx0, ly0))
    qtbot.mouseMove(vp, view_pos(w, lx1, ly1))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_pos(w, lx1, ly1))
    assert len(w.doc.project.masks) == 1
    w.set_tool("censor")
    w.arm_panel.select_row(0)
    n_cen = len(w.doc.project.arms[0].censor_px)
    px = float(np.median(w.doc.project.arms[0].points_px[:, 0]))
    click_image(qtbot, w, px, 100)
    assert len(w.doc.project.arms[0].censor_px) == n_cen + 1
    path = tmp_path / "study.kmrecon"
    assert w.save_to(str(path))
    assert not w.doc.is_dirty()
    saved = w.project_dict()

    w2 = make_window()
    w2.open_file(str(path))
    assert w2.project_dict() == saved
    assert np.array_equal(w2.doc.image, w.doc.image)
    assert str(path.resolve()) in w2.recent_files()

    # autosave -> "crash" -> a new window offers recovery and restores the unsaved edit
    w2.doc.edit_arm(0, "rename for test", name="Renamed")
    assert not w2.recovery_path.exists()
    w2.autosave_timer.timeout.emit()                 # the autosave timer fires
    assert w2.recovery_path.exists()
    w3 = make_window()
    monkeypatch.setattr(w3, "ask_recover", lambda p: True)
    assert w3.check_recovery()
    assert w3.doc.project.arms[0].name == "Renamed"
    assert w3.doc.is_dirty() and w3.doc.path == str(path)
    # unsaved-changes prompt on close: cancel keeps the window open
    monkeypatch.setattr(w3, "confirm_discard", lambda: "cancel")
    assert not w3.close()
    monkeypatch.setattr(w3, "confirm_discard", lambda: "discard")
    assert w3.close()
    assert not w3.recovery_path.exists()


def test_bad_input_gives_dialogs(qtbot, make_window, figure, figure_file, tmp_path):
    w = make_window()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    w.open_file(str(bad))
    qtbot.waitUntil(lambda: "open" not in w.busy, timeout=10000)
    assert w.doc.image is None
    assert w.messages and w.messages[-1][0] == "error" and "broken.png" in w.messages[-1][2]

    bad_proj = tmp_path / "bad.kmrecon"
    bad_proj.write_text('{"format": "kmrecon-project", "arms": [{"name": ""}]}')
    w.open_file(str(bad_proj))
    assert "arms[0]" in w.messages[-1][2]

    open_and_wait(qtbot, w, figure_file)
    # degenerate calibration: X1 and X2 typed with the same value
    cal = dict(figure.truth.calibration)
    cal["x2"] = dict(cal["x2"], value=cal["x1"]["value"])
    calibrate_by_clicking(qtbot, w, cal)
    assert w.doc.calibration() is None
    assert w.calib_panel.status.text() and "✔" not in w.calib_panel.status.text()
    n = len(w.messages)
    w.detect()
    assert len(w.messages) == n + 1 and "same value" in w.messages[-1][2]

    # inconsistent risk table: counts rising over time and text in a number cell
    w.arm_panel.add_button.click()
    QApplication.clipboard().setText("Time 0 12 24\nArm 1 100 120 x")
    w.risk_view.setCurrentIndex(w.risk_model.index(0, 0))
    qtbot.keyClick(w.risk_view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    m = w.risk_model
    assert "rise" in m.data(m.index(1, 1), Qt.ItemDataRole.ToolTipRole)
    assert "not a number" in m.data(m.index(1, 2), Qt.ItemDataRole.ToolTipRole)
    assert m.data(m.index(1, 1), Qt.ItemDataRole.BackgroundRole) is not None
    assert "Fix:" in w.risk_error.text()
    edit = w.calib_panel.value_edits["x2"]       # fix the calibration by retyping X2
    edit.selectAll()
    qtbot.keyClicks(edit, f"{figure.truth.calibration['x2']['value']:g}")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert w.doc.calibration() is not None
    w.reconstruct()
    assert "risk table" in w.messages[-1][2] and "column 2" in w.messages[-1][2]


def test_excepthook_autosaves_and_reports(qtbot, make_window, figure, figure_file, monkeypatch):
    import sys

    from gui.main_window import install_excepthook

    w = make_window()
    open_and_wait(qtbot, w, figure_file)
    printed = []
    monkeypatch.setattr(sys, "excepthook", lambda *a: printed.append(a))  # the hook chains to it
    hook = install_excepthook(w)
    assert sys.excepthook is hook
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        hook(*sys.exc_info())
    assert printed and printed[0][0] is RuntimeError
    assert w.recovery_path.exists()
    assert "boom" in w.messages[-1][2] and str(w.recovery_path) in w.messages[-1][2]


def test_cli_parses_gui_command():
    from kmrecon.cli import build_parser

    args = build_parser().parse_args(["gui", "figure.png", "--no-auto"])
    assert args.file == "figure.png" and args.no_auto and callable(args._run)


@pytest.fixture(scope="module")
def percent_figure(tmp_path_factory):
    """One arm, y axis printed 0-100 %, '|' censor marks, no risk table (N typed by the user)."""
    from simulate.figure import render_figure
    from simulate.styles import FigureStyle

    rng = np.random.default_rng(11)
    a = simulate_arm(200, rng, median=18.0)
    a["arm"] = "Cohort"
    style = FigureStyle(arm_names=("Cohort",), colors=("#2ca02c",), censor_mark="|", y_percent=True)
    fig = render_figure(a[["arm", "time", "event"]], style)
    return fig, fig.save(tmp_path_factory.mktemp("pct"))["image"]


def test_percent_axis_without_risk_table(qtbot, make_window, percent_figure, tmp_path):
    fig, path = percent_figure
    truth = fig.truth
    w = make_window()
    open_and_wait(qtbot, w, path)
    calibrate_by_clicking(qtbot, w, truth.calibration)       # Y2 typed as 100
    assert truth.calibration["y2"]["value"] == 100 and w.doc.calibration() is not None
    qtbot.mouseClick(w.arm_panel.add_button, Qt.MouseButton.LeftButton)
    m = w.arm_panel.model
    assert m.setData(m.index(0, 0), "Cohort") and m.setData(m.index(0, 2), str(len(truth.ipd)))
    w.set_tool("eyedropper")
    t = separated_time_one(truth)
    click_image(qtbot, w, *curve_pixel(truth, "Cohort", t))
    assert np.abs(np.subtract(w.doc.project.arms[0].rgb, truth.colors["Cohort"])).max() <= 12
    w.act_detect.trigger()
    qtbot.waitUntil(lambda: "detect" not in w.busy, timeout=30000)
    w.act_reconstruct.trigger()
    qtbot.waitUntil(lambda: w.doc.current_ipd() is not None, timeout=30000)
    ipd = w.doc.current_ipd()
    ref = truth.ipd
    assert len(ipd) == len(ref)
    assert km_iae(ipd["time"], ipd["event"], ref["time"], ref["event"], truth.x_range[1]) < 0.01
    assert abs(ipd["event"].sum() - ref["event"].sum()) <= 0.05 * ref["event"].sum()


def separated_time_one(truth) -> float:
    """A time on a long plateau of the single arm (for the eyedropper)."""
    span = truth.x_range[1] - truth.x_range[0]
    ts = np.linspace(0.1, 0.6, 101) * span
    flat = [abs(curve_pixel(truth, truth.arms[0], t - 0.01 * span)[1] - curve_pixel(truth, truth.arms[0], t + 0.01 * span)[1])
            for t in ts]
    return float(ts[int(np.argmin(flat))])
