"""The KMRecon main window: menus, toolbar, image view, panels, background work, files.

Blocking questions (file names, colours, "save changes?", "recover?", PDF page) go through
the ``ask_*``/``confirm_*``/``pick_*`` methods, one place each, so tests can replace them.
Errors the user can fix (KMReconError) and unexpected ones both end in a non-blocking
message (``gui.dialogs.show_message``); unexpected ones also autosave first.
"""
from __future__ import annotations

import contextlib
import functools
import json
import traceback
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QColorDialog, QDockWidget, QFileDialog, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QScrollArea, QTabWidget, QVBoxLayout, QWidget)

from kmrecon.errors import KMReconError
from kmrecon.project import ImageRef, file_sha256, load_project, rasterize_masks, write_json_atomic

from gui.dialogs import PdfPageDialog, show_message
from gui.document import Document
from gui.image_view import ImageView
from gui.panels import (ArmPanel, CalibrationPanel, ChecklistPanel, DiagnosticsPanel, SettingsPanel,
                        sync_risk_rows)
from gui.risk_table import RiskTableModel, RiskTableView
from gui.workers import run_task

PROJECT_SUFFIXES = (".kmrecon", ".json")
IMAGE_FILTER = "Figures (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp *.pdf);;KMRecon projects (*.kmrecon *.json);;All files (*)"
TOOLS = [("edit", "Select / edit", "E"), ("calibrate", "Calibrate axes", "C"),
         ("eyedropper", "Eyedropper", "I"), ("add_arm", "Add arm by clicking its curve", "Shift+A"),
         ("add_point", "Add point", "A"),
         ("censor", "Censor mark", "K"), ("mask_rect", "Mask rectangle", "M"),
         ("mask_brush", "Mask brush", "B")]
MAX_RECENT = 8


def _load_figure(path: str, page: int, dpi: int, crop, progress=None):
    """Worker: read the figure file and hash it (both can take a while on big scans)."""
    from digitize.image import load_image

    img = load_image(path, page=page, dpi=dpi)
    if crop:
        x0, y0, x1, y1 = crop
        img = np.ascontiguousarray(img[max(0, y0):y1, max(0, x0):x1])
        if img.size == 0:
            raise KMReconError("the crop box is empty: drag a box around the figure")
    from gui.image_view import numpy_to_qimage   # QImage (not QPixmap) is safe off the GUI thread
    from kmrecon.project import encode_png

    # the PNG embedded in the project is encoded here once, not in the first (GUI-thread) autosave
    return img, file_sha256(path), numpy_to_qimage(img), encode_png(img)


def _extract(image, calibration, specs, mask, progress=None):
    from digitize.extract import extract_arms

    return extract_arms(image, calibration, specs, mask=mask, progress=progress)


def _reconstruct(arms, method, progress=None):
    from reconstruct import reconstruct

    return reconstruct(arms, method=method, progress=progress)


def _detect_figure(image, progress=None):
    from digitize.auto.detect import detect_figure

    return detect_figure(image, progress=progress)


def _detect_pdf_figure(path: str, page: int, panel: int, dpi: int, crop, image, progress=None):
    """A PDF page drawn as vectors: the detection read from the drawing (exact calibration,
    names, risk table; digitize.vector); a bitmap page or no figure: the raster detector."""
    from digitize.vector.route import pick_figure, survey_pdf, vector_detection

    try:
        fig, _ = pick_figure(survey_pdf(path, [page]), Path(path).name, page, panel)
    except KMReconError:
        fig = None
    if fig is not None and fig.source == "vector":
        return vector_detection(fig, dpi, crop)
    return _detect_figure(image, progress)


def auto_detection_available() -> bool:
    try:
        import digitize.auto.detect  # noqa: F401 - optional zero-click module
    except Exception:  # noqa: BLE001 - optional feature: any import failure means "not available"
        return False
    return True


class MainWindow(QMainWindow):
    def __init__(self, settings_path: str | None = None, recovery_dir: str | None = None,
                 autosave_seconds: int = 60, auto_propose: bool = True):
        super().__init__()
        self.messages: list[tuple[str, str, str]] = []
        self.settings = (QSettings(settings_path, QSettings.Format.IniFormat) if settings_path
                         else QSettings("KMRecon", "KMRecon"))
        self.recovery_dir = Path(recovery_dir or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.AppDataLocation) or Path.home() / ".kmrecon")
        self.auto_propose = auto_propose and auto_detection_available()
        self.busy: set[str] = set()
        self.last_timing: dict[str, float] = {}
        self.doc = Document(self)
        self.setWindowTitle("KMRecon")
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_actions()
        self._build_menus()
        from gui.review_list import install as install_review_list  # Review menu + review-list dock

        install_review_list(self)
        from gui.keys import FieldKeys, set_text_entry

        self._field_keys = FieldKeys(self)      # letters to fields; Ctrl+Z to the document
        set_text_entry(self.risk_view)
        if self.pooling_panel is not None:
            set_text_entry(self.pooling_panel.study_table)
        self.doc.changed.connect(self._update_title)
        self.doc.changed.connect(self._update_actions)
        self.doc.reconstruction_changed.connect(self._update_actions)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(max(1, autosave_seconds) * 1000)
        self._update_title()
        self._update_actions()

    def showEvent(self, e):
        super().showEvent(e)
        if not self._docks_sized:   # dock sizes only stick once the window has its geometry
            self._docks_sized = True
            QTimer.singleShot(0, self._size_docks)

    def _size_docks(self):
        left, right, bottom = self._docks
        # side docks as narrow as their controls allow, so the figure gets the middle
        hh = self.arm_panel.view.horizontalHeader()     # room for every column and a name
        need = sum(hh.sectionSizeHint(c) for c in range(1, hh.count())) + \
            hh.fontMetrics().horizontalAdvance("Treatment arm") + 60
        rw = max(right.minimumSizeHint().width(), min(need, self.width() // 3))
        self.resizeDocks([left, right], [left.minimumSizeHint().width(), rw], Qt.Orientation.Horizontal)
        self._grow_tables(self.tabs.currentIndex(), shrink=True)

    def _grow_tables(self, index: int, shrink: bool = False):
        """Give the bottom tables the height their tab needs, taken from the figure: the risk
        grid a fifth of the window, the diagnostics (summary + per-interval rows) a third, the
        pooling tab (studies, options, results) half. Only grows (``shrink``: on the first
        show), so a height the user dragged larger stays."""
        bottom = self._docks[2]
        page = self.tabs.widget(index)
        share = (0.5 if page is getattr(self, "_pool_page", None) else
                 0.34 if page is self.diagnostics and self.doc.project.reconstruction else 0.2)
        want = max(170, int(self.height() * share))
        if bottom.height() < want or shrink:
            self.resizeDocks([bottom], [want], Qt.Orientation.Vertical)

    # ------------------------------------------------------------------------------- layout
    def _build_widgets(self):
        self.view = ImageView(self.doc, self)
        # the figure is the work area: the window's minimum size keeps room for it
        self.view.setMinimumSize(360, 240)
        self.setCentralWidget(self.view)
        self.calib_panel = CalibrationPanel(self.doc)
        self.checklist = ChecklistPanel(self.doc)
        self.settings_panel = SettingsPanel(self.doc)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(2, 2, 2, 2)
        ll.addWidget(QLabel("<b>Checklist</b>"))
        self.checklist.setMinimumHeight(120)
        self.checklist.setMaximumHeight(170)
        ll.addWidget(self.checklist)
        ll.addWidget(QLabel("<b>Axis calibration</b>"))
        ll.addWidget(self.calib_panel)
        scroll = QScrollArea()          # the panel must not force a tall minimum window height
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(left.sizeHint().width() + 12)
        dock = QDockWidget("Steps", self)
        dock.setObjectName("steps")
        dock.setWidget(scroll)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.arm_panel = ArmPanel(self.doc)
        right = QWidget()               # arms on top; the study settings fill the space below
        rl = QVBoxLayout(right)
        rl.setContentsMargins(2, 2, 2, 2)
        rl.addWidget(self.arm_panel, 1)
        rl.addWidget(self.settings_panel)
        rscroll = QScrollArea()         # like the steps: the arms must not force a tall window
        rscroll.setWidget(right)
        rscroll.setWidgetResizable(True)
        rscroll.setFrameShape(QScrollArea.Shape.NoFrame)
        rscroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rscroll.setMinimumWidth(right.minimumSizeHint().width() + 12)
        adock = QDockWidget("Arms", self)
        adock.setObjectName("arms")
        adock.setWidget(rscroll)
        adock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, adock)
        self.risk_model = RiskTableModel(self.doc, self)
        self.risk_view = RiskTableView(self.risk_model)
        self.risk_error = QLabel()
        self.risk_error.setStyleSheet("color: #c62828")
        rw = QWidget()
        rl = QVBoxLayout(rw)
        rl.setContentsMargins(2, 2, 2, 2)
        rl.addWidget(self.risk_view)
        rl.addWidget(self.risk_error)
        self.diagnostics = DiagnosticsPanel(self.doc)
        self.tabs = QTabWidget()
        self.tabs.addTab(rw, "Number at risk")
        self.tabs.addTab(self.diagnostics, "Diagnostics")
        from gui.review_panel import install_review_panel  # what the automatic reading is unsure of
        self.review_panel = install_review_panel(self)
        self.pooling_panel = None
        try:
            from gui.pooling_panel import PoolingPanel

            self.pooling_panel = PoolingPanel()
            pool_scroll = QScrollArea()     # its minimum height must not squeeze the figure
            pool_scroll.setWidget(self.pooling_panel)
            pool_scroll.setWidgetResizable(True)
            pool_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            self._pool_page = pool_scroll
            self.tabs.addTab(pool_scroll, "Pooling")
        except Exception as exc:  # noqa: BLE001 - optional panel, owned by the pooling engineer
            self.pooling_error = str(exc)
        self.tabs.currentChanged.connect(lambda i: getattr(self, "_docks_sized", False) and self._grow_tables(i))
        bdock = QDockWidget("Tables", self)
        bdock.setObjectName("tables")
        bdock.setWidget(self.tabs)
        bdock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, bdock)
        self._docks = (dock, adock, bdock)
        self._docks_sized = False
        self.coord_label = QLabel()
        self.coord_label.setMinimumWidth(260)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.coord_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.view.cursor_data.connect(self.coord_label.setText)
        self.view.status.connect(lambda t: self.statusBar().showMessage(t, 5000))
        # an arm added by clicking its curve is traced at once (with the others) once calibrated
        self.view.arm_added.connect(lambda _i: self.detect() if self.doc.calibration() is not None else None)
        self.view.calibration_point_placed.connect(self.calib_panel.focus_value)
        # a typed calibration value is committed with Enter: back to the figure for the next
        # click or tool key
        for ed in self.calib_panel.value_edits.values():
            ed.returnPressed.connect(lambda: self.view.setFocus(Qt.FocusReason.OtherFocusReason))
        self.calib_panel.place_requested.connect(self._place_calibration_point)
        self.calib_panel.auto_button.clicked.connect(self.propose_axes)
        self.calib_panel.confirm_button.clicked.connect(self.confirm_axes)
        self.calib_panel.auto_button.setEnabled(auto_detection_available())
        self.arm_panel.current_changed.connect(self.view.set_current_arm)
        self.arm_panel.detect_button.clicked.connect(self.detect)
        self.arm_panel.auto_colors_button.clicked.connect(self.find_colors)
        self.arm_panel.color_button.clicked.connect(self.choose_color)
        self.arm_panel.eyedropper_button.toggled.connect(
            lambda on: self.set_tool("eyedropper" if on else "edit"))
        self.arm_panel.brush.valueChanged.connect(lambda v: setattr(self.view, "brush_radius", float(v)))
        self.doc.changed.connect(self._update_risk_error)

    def _act(self, text, slot, shortcut=None, tip=None, checkable=False):
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.setCheckable(checkable)
        if slot is not None:
            a.triggered.connect(slot)
        return a

    def _build_actions(self):
        A = self._act
        SK = QKeySequence.StandardKey
        self.act_open = A("&Open…", self.open_dialog, SK.Open, "Open a figure (image/PDF) or a project")
        self.act_paste = A("&Paste image", self.paste_image, SK.Paste, "Open the image on the clipboard")
        self.act_save = A("&Save project", self.save, SK.Save)
        self.act_save_as = A("Save project &as…", self.save_as, SK.SaveAs)
        self.act_close = A("&Quit", self.close, SK.Quit)
        self.act_export_ipd = A("Export &IPD (CSV/XLSX)…", lambda: self._export("ipd"))
        self.act_export_points = A("Export digitized &points (CSV)…", lambda: self._export("points"))
        self.act_export_diag = A("Export &diagnostics (JSON)…", lambda: self._export("diagnostics"))
        self.act_export_plot = A("Export &KM plot (PNG/SVG/PDF)…", lambda: self._export("plot"))
        self.act_pool = A("Add current project to pooling", self.add_to_pooling)
        # Undo/Redo keep a short text (the toolbar must not widen with "Undo Detect curves"; the
        # tooltip names the step). Redo's keys are listed once each: on X11 the standard Redo
        # key IS Ctrl+Shift+Z, and a sequence bound twice is an "ambiguous shortcut" that
        # does nothing.
        stack = self.doc.undo_stack
        self.act_undo = A("&Undo", stack.undo, "Ctrl+Z")
        self.act_redo = A("&Redo", stack.redo)
        redo_keys = []
        for k in [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")] + QKeySequence.keyBindings(SK.Redo):
            if not k.isEmpty() and k not in redo_keys:
                redo_keys.append(k)
        self.act_redo.setShortcuts(redo_keys)
        undo_keys = [QKeySequence("Ctrl+Z")] + [k for k in QKeySequence.keyBindings(SK.Undo)
                                                 if not k.isEmpty() and k != QKeySequence("Ctrl+Z")]
        self.act_undo.setShortcuts(undo_keys)
        for act, can, text_sig, verb in ((self.act_undo, stack.canUndoChanged, stack.undoTextChanged, "Undo"),
                                         (self.act_redo, stack.canRedoChanged, stack.redoTextChanged, "Redo")):
            can.connect(act.setEnabled)
            text_sig.connect(lambda t, a=act, v=verb: a.setToolTip(f"{v} {t}" if t else v))
            act.setEnabled(False)
        self.act_delete = A("&Delete selected points", self.view.delete_selected)
        self.act_copy_points = A("&Copy digitized points (CSV)", self.copy_points,
                                 tip="Copy arm, kind, time, survival to the clipboard (tab separated)")
        self.act_clear_masks = A("Clear &masks", self.clear_masks)
        self.act_zoom_in = A("Zoom &in", lambda: self.view.zoom(1.25), "Ctrl+=")
        self.act_zoom_out = A("Zoom &out", lambda: self.view.zoom(0.8), "Ctrl+-")
        self.act_fit = A("&Fit to window", self.view.fit, "Ctrl+0")
        self.act_loupe = A("&Magnifier loupe", lambda on: setattr(self.view, "loupe_enabled", on),
                           checkable=True)
        self.act_loupe.setChecked(True)
        self.act_detect = A("&Detect curves", self.detect, "Ctrl+D")
        self.act_reconstruct = A("&Reconstruct IPD", self.reconstruct, "Ctrl+R")
        self.act_propose = A("Propose &axes automatically", self.propose_axes)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for key, text, sc in TOOLS:
            a = A(text, lambda _=False, k=key: self.set_tool(k), sc, checkable=True)
            self.tool_group.addAction(a)
            self.tool_actions[key] = a
        self.tool_actions["edit"].setChecked(True)

    def _build_menus(self):
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addAction(self.act_open)
        self.recent_menu = f.addMenu("Open &recent")
        self._rebuild_recent()
        f.addAction(self.act_paste)
        f.addSeparator()
        f.addAction(self.act_save); f.addAction(self.act_save_as)
        f.addSeparator()
        ex = f.addMenu("&Export")
        for a in (self.act_export_ipd, self.act_export_points, self.act_export_diag, self.act_export_plot):
            ex.addAction(a)
        f.addAction(self.act_pool)
        f.addSeparator()
        f.addAction(self.act_close)
        e = mb.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo, self.act_delete, self.act_copy_points, self.act_clear_masks):
            e.addAction(a)
        v = mb.addMenu("&View")
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_loupe):
            v.addAction(a)
        v.addSeparator()           # panels can be closed for a bigger figure, and shown again
        for d in self._docks:
            d.setFeatures(d.features() | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            v.addAction(d.toggleViewAction())
        t = mb.addMenu("&Tools")
        for a in self.tool_actions.values():
            t.addAction(a)
        r = mb.addMenu("&Run")
        for a in (self.act_propose, self.act_detect, self.act_reconstruct):
            r.addAction(a)
        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        # toolbar buttons show the short icon text (menus keep the full text), and the run
        # steps come before the tools, so a narrow window never hides Detect/Reconstruct
        short = {self.act_save: "Save", self.act_fit: "Fit", self.act_detect: "Detect",
                 self.act_reconstruct: "Reconstruct", **{self.tool_actions[k]: t for k, t in (
                     ("edit", "Select"), ("calibrate", "Calibrate"), ("eyedropper", "Eyedropper"),
                     ("add_arm", "Add arm"), ("add_point", "Add point"), ("censor", "Censor"), ("mask_rect", "Mask"),
                     ("mask_brush", "Brush"))}}
        for a, t in short.items():
            a.setIconText(t)
            if a.shortcut().toString():
                a.setToolTip(f"{a.text().replace('&', '')} ({a.shortcut().toString()})")
        for a in (self.act_open, self.act_save, None, self.act_undo, self.act_redo, None,
                  self.act_detect, self.act_reconstruct, None):
            tb.addSeparator() if a is None else tb.addAction(a)
        for a in self.tool_actions.values():
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.act_fit)
        f = self.act_reconstruct.font()
        f.setBold(True)
        self.act_reconstruct.setFont(f)

    # ------------------------------------------------------------------------- small helpers
    @contextlib.contextmanager
    def guard(self, what: str):
        """Turn any error inside into a message saying what to fix; never let it escape."""
        try:
            yield
        except KMReconError as exc:
            show_message(self, what, str(exc))
        except Exception as exc:  # noqa: BLE001 - last line of defence: report, autosave
            self.report_unexpected(exc, traceback.format_exc())

    def report_unexpected(self, exc: BaseException, tb: str = ""):
        """A bug, not the user's input: a short message, the traceback goes to errors.log in the
        user's data folder (never into the dialog)."""
        from kmrecon.errors import log_traceback

        saved = self.autosave(force=True)
        where = f"\n\nYour work was autosaved to {saved}." if saved else ""
        log = log_traceback(self.recovery_dir, tb or f"{type(exc).__name__}: {exc}")
        details = f"\n\nDetails for a bug report were written to {log}." if log else ""
        show_message(self, "Unexpected error",
                     f"Something went wrong that KMRecon did not expect ({type(exc).__name__}: {exc}).{where}{details}")

    def set_tool(self, tool: str):
        self.view.set_tool(tool)
        self.tool_actions[tool].setChecked(True)
        with contextlib.suppress(RuntimeError):
            self.arm_panel.eyedropper_button.blockSignals(True)
            self.arm_panel.eyedropper_button.setChecked(tool == "eyedropper")
            self.arm_panel.eyedropper_button.blockSignals(False)
        self.statusBar().showMessage({
            "calibrate": "Click X1, X2 on the time axis and Y1, Y2 on the survival axis; type each value",
            "eyedropper": "Click on the curve of the selected arm to take its colour",
            "add_arm": "Click on a curve to add it as an arm (its colour and line style are read there)",
            "add_point": "Click to add a step corner to the selected arm",
            "censor": "Click on the curve to add a censor mark; click a mark to remove it",
            "mask_rect": "Drag a rectangle over the legend, text or a band to exclude it",
            "mask_brush": "Paint over regions to exclude them from detection",
            "edit": "Drag points or handles; drag on empty space to box-select; Delete removes",
        }.get(tool, ""), 8000)

    def _place_calibration_point(self, key: str):
        self.view.next_cal_key = key
        self.set_tool("calibrate")
        self.view.setFocus()

    def _update_title(self, *_):
        name = Path(self.doc.path).name if self.doc.path else ("untitled" if self.doc.image is not None else "")
        self.setWindowTitle(f"KMRecon — {name}{' *' if self.doc.is_dirty() else ''}" if name else "KMRecon")

    def _update_actions(self, *_):
        has_img = self.doc.image is not None
        for a in (self.act_save, self.act_save_as, self.act_detect, self.act_propose):
            a.setEnabled(has_img)
        has_ipd = self.doc.current_ipd() is not None
        for a in (self.act_export_ipd, self.act_export_diag, self.act_export_plot, self.act_pool):
            a.setEnabled(has_ipd)
        self.act_detect.setEnabled(has_img and "detect" not in self.busy)
        self.arm_panel.detect_button.setEnabled(has_img and "detect" not in self.busy)
        self.act_reconstruct.setEnabled(has_img and "reconstruct" not in self.busy)

    def _update_risk_error(self, *_):
        err = self.risk_model.first_error()
        self.risk_error.setText(f"Fix: {err}" if err else "")

    # ------------------------------------------------------------------------- patch points
    def ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open figure or project", self._last_dir(), IMAGE_FILTER)
        return path or None

    def ask_save_path(self, title: str, filter_: str, suggested: str = "") -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, title, suggested or self._last_dir(), filter_)
        return path or None

    def ask_color(self, initial: tuple[int, int, int]):
        from PySide6.QtGui import QColor

        c = QColorDialog.getColor(QColor(*initial), self, "Arm colour")
        return (c.red(), c.green(), c.blue()) if c.isValid() else None

    def confirm_discard(self) -> str:
        """'save' | 'discard' | 'cancel' for unsaved changes."""
        r = QMessageBox.question(self, "Unsaved changes", "Save changes to the project before closing?",
                                 QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                 | QMessageBox.StandardButton.Cancel)
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(r, "cancel")

    def ask_recover(self, path: Path) -> bool:
        r = QMessageBox.question(self, "Recover work?",
                                 f"KMRecon did not close cleanly last time. Recover the autosaved work "
                                 f"from {path}?")
        return r == QMessageBox.StandardButton.Yes

    def ask_pool_arms(self, arms: list[str], study: str) -> list[str] | None:
        """Which arms of the project to add to pooling, each as its own study row (None: cancel)."""
        from gui.pooling_panel import ask_arms

        return ask_arms(self, arms, study)

    def pick_pdf_page(self, path: str, n_pages: int):
        """(page, crop) or None if cancelled."""
        dlg = PdfPageDialog(path, n_pages, parent=self)
        if dlg.exec() != PdfPageDialog.DialogCode.Accepted:
            return None
        self.pdf_panel = dlg.panel_value()
        return dlg.result_value()

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    # ----------------------------------------------------------------------------- opening
    def open_dialog(self):
        if not self._may_discard():
            return
        path = self.ask_open_path()
        if path:
            self.open_file(path)

    def open_file(self, path: str, page: int | None = None, crop=None, dpi: int = 200) -> None:
        """Open a project (.kmrecon/.json) or a figure (image, or a PDF page via the picker).
        Figures load in the background; watch ``doc.image_changed``."""
        with self.guard("Cannot open file"):
            p = Path(path)
            if not p.exists():
                raise KMReconError(f"'{path}' does not exist")
            self.settings.setValue("last_dir", str(p.parent))
            if p.suffix.lower() in PROJECT_SUFFIXES:
                self.open_project(str(p))
                return
            if p.suffix.lower() == ".pdf" and page is None:
                from digitize.image import pdf_page_count

                choice = self.pick_pdf_page(str(p), pdf_page_count(p))
                if choice is None:
                    return
                page, crop = choice
            page = page or 0
            self._start("open", f"Opening {p.name}…")
            ref = ImageRef(path=str(p.resolve()), page=page, dpi=dpi, crop=crop)
            run_task(_load_figure, str(p), page, dpi, crop,
                     on_done=lambda res: self._figure_loaded(res, ref),
                     on_error=lambda e, tb: self._failed("open", "Cannot open figure", e, tb),
                     on_progress=self._progress)

    def _figure_loaded(self, res, ref: ImageRef):
        self._finish("open")
        with self.guard("Cannot show figure"):
            img, sha, qimg, png = res
            ref.sha256 = sha
            ref.png_base64 = png
            self.doc.set_image(img, ref, qimg)
            self._add_recent(ref.path)
            self.set_tool("calibrate")
            self.statusBar().showMessage(f"Opened {Path(ref.path).name} ({img.shape[1]}×{img.shape[0]} px)"
                                         " — click X1, X2, Y1, Y2 to calibrate", 8000)
            if self.auto_propose:
                self.propose_axes()

    def open_image_array(self, image: np.ndarray, name: str = "pasted image"):
        """Start a project on an in-memory image (clipboard); it is embedded when saved."""
        from digitize.image import to_rgb8

        self.doc.set_image(to_rgb8(image, bgr=False), ImageRef(path=None, png_base64=None))
        self.doc.project.image.png_base64 = None
        self.set_tool("calibrate")
        self.statusBar().showMessage(f"Opened {name}", 5000)
        if self.auto_propose:
            self.propose_axes()

    def paste_image(self):
        with self.guard("Cannot paste"):
            cb = QGuiApplication.clipboard()
            md = cb.mimeData()
            if md is not None and md.hasImage():
                qimg = cb.image()
                if qimg.isNull():
                    raise KMReconError("the clipboard image is empty")
                if not self._may_discard():
                    return
                self.open_image_array(qimage_to_numpy(qimg))
                return
            if md is not None and md.hasUrls() and md.urls()[0].isLocalFile():
                if self._may_discard():
                    self.open_file(md.urls()[0].toLocalFile())
                return
            text = cb.text().strip()
            if text and "\n" not in text and Path(text).exists():
                if self._may_discard():
                    self.open_file(text)
                return
            if text and self.doc.image is not None and any(ch.isdigit() for ch in text):
                # numbers on the clipboard: a risk table copied from the paper
                idx = self.risk_view.currentIndex()
                r, c = (idx.row(), idx.column()) if idx.isValid() else (0, 0)
                self.risk_model.paste(text, r, c)
                self.tabs.setCurrentIndex(0)
                return
            raise KMReconError("the clipboard holds no image: copy a figure (or a file) first")

    def dragEnterEvent(self, e):
        md = e.mimeData()
        if md.hasUrls() or md.hasImage():
            e.acceptProposedAction()

    def dropEvent(self, e):
        md = e.mimeData()
        if not self._may_discard():
            return
        if md.hasUrls() and md.urls()[0].isLocalFile():
            self.open_file(md.urls()[0].toLocalFile())
        elif md.hasImage():
            self.open_image_array(qimage_to_numpy(md.imageData()))
        e.acceptProposedAction()

    def open_project(self, path: str):
        """Load a project file (validated); the image comes embedded or from its referenced file."""
        project = load_project(path)
        image = project.load_image(Path(path).parent) if project.image else None
        self.doc.set_project(project, image, path)
        self._add_recent(path)
        self.set_tool("edit")
        if project.arms:
            self.arm_panel.select_row(0)

    # ------------------------------------------------------------------------ recent files
    def recent_files(self) -> list[str]:
        v = self.settings.value("recent_files", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or [])]

    def _add_recent(self, path: str | None):
        if not path:
            return
        path = str(Path(path).resolve())
        lst = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent_files", ([path] + lst)[:MAX_RECENT])
        self.settings.sync()
        self._rebuild_recent()

    def _rebuild_recent(self):
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            act = self.recent_menu.addAction(Path(p).name)
            act.setStatusTip(p)
            act.setData(p)
            act.triggered.connect(functools.partial(self._open_recent, p))
        self.recent_menu.setEnabled(bool(files))

    def _open_recent(self, path: str, *_):
        if self._may_discard():
            self.open_file(path)

    # ------------------------------------------------------------------------------ saving
    def project_dict(self) -> dict:
        ref = self.doc.image_ref_for_save()
        self.doc.project.image = ref
        return self.doc.project.to_dict()

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self.save_to(self.doc.path)

    def save_as(self) -> bool:
        if self.doc.image is None:
            return False
        path = self.ask_save_path("Save project", "KMRecon project (*.kmrecon)", "figure.kmrecon")
        if not path:
            return False
        if not Path(path).suffix:
            path += ".kmrecon"
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        with self.guard("Cannot save project"):
            try:
                write_json_atomic(self.project_dict(), path)
            except OSError as exc:
                raise KMReconError(f"cannot write '{path}': {exc.strerror or exc}") from None
            self.doc.mark_saved(path)
            self._add_recent(path)
            self._remove_recovery()
            self.statusBar().showMessage(f"Saved {path}", 5000)
            return True
        return False

    # ---------------------------------------------------------------------------- autosave
    @property
    def recovery_path(self) -> Path:
        return self.recovery_dir / "autosave.kmrecon"

    def autosave(self, force: bool = False) -> Path | None:
        """Write the session to the recovery file if anything changed (atomic). Returns the path."""
        if self.doc.image is None or not (force or self.doc.is_dirty()):
            return None
        try:
            self.recovery_dir.mkdir(parents=True, exist_ok=True)
            d = self.project_dict()
            d["recovery"] = {"path": self.doc.path}
            write_json_atomic(d, self.recovery_path)
            return self.recovery_path
        except Exception:  # noqa: BLE001 - autosave must never take the app down
            return None

    def _remove_recovery(self):
        with contextlib.suppress(OSError):
            self.recovery_path.unlink()

    def check_recovery(self) -> bool:
        """Offer the autosaved session left by a crash; True if it was restored."""
        p = self.recovery_path
        if not p.exists():
            return False
        if not self.ask_recover(p):
            self._remove_recovery()
            return False
        with self.guard("Cannot recover"):
            meta = json.loads(p.read_text(encoding="utf-8")).get("recovery") or {}
            project = load_project(p)
            image = project.load_image(p.parent) if project.image else None
            self.doc.set_project(project, image, meta.get("path"))
            self.doc.extra_dirty = True
            self._update_title()
            if project.arms:
                self.arm_panel.select_row(0)
            self.statusBar().showMessage("Recovered autosaved work: save it to keep it", 8000)
            return True
        return False

    def _may_discard(self) -> bool:
        if not self.doc.is_dirty() or self.doc.image is None:
            return True
        ans = self.confirm_discard()
        if ans == "save":
            return self.save()
        return ans == "discard"

    def closeEvent(self, e):
        if not self._may_discard():
            e.ignore()
            return
        self.autosave_timer.stop()
        self._remove_recovery()
        e.accept()

    # ---------------------------------------------------------------------- background work
    def _start(self, key: str, text: str):
        self.busy.add(key)
        self.progress.setValue(0)
        self.progress.show()
        self.statusBar().showMessage(text)
        self._update_actions()

    def _finish(self, key: str):
        self.busy.discard(key)
        if not self.busy:
            self.progress.hide()
        self.statusBar().clearMessage()
        self._update_actions()

    def _progress(self, f: float):
        self.progress.setValue(int(1000 * min(max(f, 0.0), 1.0)))

    def _failed(self, key, title, exc, tb):
        self._finish(key)
        if isinstance(exc, KMReconError):
            show_message(self, title, str(exc))
        else:
            self.report_unexpected(exc, tb)

    def propose_axes(self):
        """Zero-click proposal (digitize.auto): calibration, arm colours/names, risk table.
        Applied as one undo step, only to the parts the user has not set yet."""
        if self.doc.image is None or "auto" in self.busy or not auto_detection_available():
            return
        self._start("auto", "Reading axes, legend and risk table…")
        image = self.doc.image
        ref = self.doc.project.image
        if ref is not None and ref.path and str(ref.path).lower().endswith(".pdf") and Path(ref.path).exists():
            run_task(_detect_pdf_figure, str(ref.path), ref.page, getattr(self, "pdf_panel", 1) or 1,
                     ref.dpi, ref.crop, image, on_done=lambda det: self._proposed(det, image),
                     on_error=lambda e, tb: self._failed("auto", "Automatic detection failed", e, tb),
                     on_progress=self._progress)
            return
        run_task(_detect_figure, image, on_done=lambda det: self._proposed(det, image),
                 on_error=lambda e, tb: self._failed("auto", "Automatic detection failed", e, tb),
                 on_progress=self._progress)

    def _proposed(self, det, image):
        self._finish("auto")
        if image is not self.doc.image:
            return
        with self.guard("Automatic detection"):
            p = self.doc.project
            values = {}
            if det.calibration is not None and not any(isinstance(p.calibration.get(k), dict)
                                                       for k in ("x1", "x2", "y1", "y2")):
                values["calibration"] = det.calibration.to_dict()
            arms = self.doc.arms_copy()
            if det.arms and not arms:
                from kmrecon.project import ArmState

                # with their line styles, a point on each curve and their censor-mark symbols'
                # places: arms of one colour (and one style) are told apart by them
                arms = [ArmState(name=a.name, rgb=tuple(a.rgb), style=a.style, at=a.at, marks=a.marks)
                        for a in det.arms]
                values["arms"] = arms
            names = [a.name for a in arms]
            if det.risk_table is not None and p.risk_table.is_empty():
                rt = det.risk_table
                rows = {a: ["" if np.isnan(v) else f"{v:g}" for v in rt.n_risk.get(a, [])] for a in rt.n_risk}
                from kmrecon.project import RiskGrid

                grid = RiskGrid(times=[f"{t:g}" for t in rt.times],
                                rows={a: rows.get(a, [""] * len(rt.times)) for a in names})
                if set(rt.n_risk) <= set(names) or len(rt.n_risk) == len(names):
                    if set(rt.n_risk) != set(names) and len(rt.n_risk) == len(names):
                        grid.rows = {n: rows[k] for n, k in zip(names, rt.n_risk)}
                    values["risk_table"] = sync_risk_rows(grid, names)
            if det.time_unit and not p.settings.get("time_unit"):
                values["settings"] = dict(p.settings, time_unit=det.time_unit)
            if values:
                self.doc.edit(values, "Automatic proposal (axes/arms/risk table)")
                if "arms" in values:
                    self.arm_panel.select_row(0)
                self.set_tool("edit")
            from gui.review_panel import show_review
            review = show_review(self, self.review_panel, det)   # same list as the CLI's REVIEW lines
            msg = "Automatic proposal applied" + (f"; {review}" if review else "")
            self.statusBar().showMessage(msg + " (Ctrl+Z undoes it)", 10000)

    def confirm_axes(self):
        """The user has checked the calibration (proposed or placed): the axis findings leave the
        review list and the next step begins: clicking each curve (tool add_arm) when there are
        no arms yet or arms share a colour (a black-and-white figure: the click tells which curve
        is which arm), else tracing the arms (detect)."""
        with self.guard("Cannot confirm the axes"):
            if self.doc.image is None:
                raise KMReconError("open a figure first")
            if self.doc.calibration() is None:
                raise KMReconError(f"the axes are not calibrated yet: {self.doc.calibration_error()}")
            from gui.review_panel import refresh_review

            self.review_panel.axes_confirmed = True
            refresh_review(self, self.review_panel)
            arms = self.doc.project.arms
            rgbs = [tuple(a.rgb) for a in arms]
            if not arms or len(set(rgbs)) < len(rgbs):
                self.set_tool("add_arm")
                self.statusBar().showMessage("Axes confirmed: click each curve once (its arm is traced "
                                             "through the click)", 10000)
            else:
                self.statusBar().showMessage("Axes confirmed: tracing the curves…", 5000)
                self.detect()

    def find_colors(self):
        with self.guard("Find arm colours"):
            if self.doc.image is None:
                raise KMReconError("open a figure first")
            from digitize.colors import find_arm_colors

            cal = self.doc.calibration()
            h, w = self.doc.image.shape[:2]
            area = (0, 0, w, h)
            if cal is not None:
                c = self.doc.project.calibration
                xs = [c[k]["px"] for k in ("x1", "x2", "y1", "y2")]
                ys = [c[k]["py"] for k in ("x1", "x2", "y1", "y2")]
                area = (int(min(xs)), int(min(ys)), int(max(xs)) + 1, int(max(ys)) + 1)
            colors = find_arm_colors(self.doc.analysis_image, area)
            if not colors:
                raise KMReconError("no coloured curves found: add arms and use the eyedropper")
            arms = self.doc.arms_copy()
            found = ", ".join("#%02x%02x%02x" % tuple(int(v) for v in c) for c in colors)
            if arms:
                old = [a.rgb for a in arms]
                # the arms take the most prominent colours (one per arm: the curves, ahead of
                # text and frame ink), each arm the one nearest its current colour, so arms
                # that already have roughly the right colour are refined, never swapped
                from scipy.optimize import linear_sum_assignment

                top = colors[:len(arms)]
                cost = np.linalg.norm(np.asarray(old, float)[:, None, :] - np.asarray(top, float)[None, :, :],
                                      axis=2)
                for i, j in zip(*linear_sum_assignment(cost)):
                    arms[i].rgb = tuple(int(v) for v in top[j])
                extra = (f"; the {len(arms)} most prominent used (more colours: add an arm for each)"
                         if len(colors) > len(arms) else
                         f"; {len(arms) - len(colors)} arm(s) kept their colour (fewer colours found)"
                         if len(colors) < len(arms) else "")
                if [a.rgb for a in arms] == old:
                    self.statusBar().showMessage(f"Find arm colours: found {found}, the arms' colours "
                                                 f"already{extra}", 10000)
                    return
                self.doc.edit({"arms": arms}, "Find arm colours")
                self.statusBar().showMessage(f"Find arm colours: {len(colors)} found ({found}), "
                                             f"each arm took the nearest{extra} (Ctrl+Z undoes)", 10000)
            else:
                from kmrecon.project import ArmState

                arms = [ArmState(name=f"Arm {i + 1}", rgb=tuple(int(v) for v in c)) for i, c in enumerate(colors)]
                self.doc.edit({"arms": arms, "risk_table": sync_risk_rows(self.doc.project.risk_table,
                                                                          [a.name for a in arms])},
                              "Find arm colours")
                self.arm_panel.select_row(0)
                self.statusBar().showMessage(f"Find arm colours: {len(arms)} arm(s) added ({found}); "
                                             "rename them in the Arms table", 10000)

    def choose_color(self):
        i = self.arm_panel.current_row()
        if not 0 <= i < len(self.doc.project.arms):
            return
        rgb = self.ask_color(self.doc.project.arms[i].rgb)
        if rgb is not None:
            self.doc.edit_arm(i, f"Colour of '{self.doc.project.arms[i].name}'", rgb=tuple(rgb))

    def clear_masks(self):
        if self.doc.project.masks:
            self.doc.edit({"masks": []}, "Clear masks")

    def detect(self):
        """Trace every arm's curve in the background (digitize.extract.extract_arms)."""
        with self.guard("Cannot detect curves"):
            if self.doc.image is None:
                raise KMReconError("open a figure first")
            cal = self.doc.project.build_calibration()
            if cal is None:
                raise KMReconError(f"calibrate the axes first: {self.doc.calibration_error()}")
            if not self.doc.project.arms:
                raise KMReconError("add at least one arm and pick its colour (eyedropper) first")
            from digitize.extract import ArmSpec

            specs = [ArmSpec(a.name, tuple(a.rgb), a.tolerance, style=a.style, at=a.at, marks=a.marks)
                     for a in self.doc.project.arms]
            mask = rasterize_masks(self.doc.project.masks, self.doc.image.shape)
            self._start("detect", "Detecting curves…")
            import time

            t0 = time.perf_counter()

            def done(results):
                self.last_timing["detect"] = time.perf_counter() - t0
                self._finish("detect")
                with self.guard("Detect curves"):
                    self._apply_detection(results, cal)

            run_task(_extract, self.doc.image, cal, specs, mask, on_done=done,
                     on_error=lambda e, tb: self._failed("detect", "Cannot detect curves", e, tb),
                     on_progress=self._progress)

    def _apply_detection(self, results, cal):
        arms = self.doc.arms_copy()
        by_name = {r.name: r for r in results}
        warnings = []
        for a in arms:
            r = by_name.get(a.name)
            if r is None:
                continue
            if len(r.time):
                x, y = cal.to_pixel(np.asarray(r.time, float), np.asarray(r.survival, float))
                a.points_px = np.column_stack([x, y])
            else:
                a.points_px = np.empty((0, 2))
            a.censor_px = np.asarray(r.censor_px, float).reshape(-1, 2)
            # how surely corners and marks were read: the reconstruction weighs them by it
            a.corner_sd_px = r.corner_sd_px
            rel = r.censor_reliability
            a.read_marks = (tuple((x, y, float(v)) for (x, y), v in zip(a.censor_px.tolist(), rel))
                            if rel is not None and len(rel) == len(a.censor_px) else None)
            self.doc.detect_info[a.name] = {"confidence": float(r.confidence), "warnings": list(r.warnings)}
            warnings += [f"{a.name}: {w}" for w in r.warnings]
        # kept in the project (settings["detection"]) so the Conf. column survives a reopen,
        # and undone with the detection it belongs to
        settings = dict(self.doc.project.settings,
                        detection={a.name: self.doc.detect_info[a.name] for a in arms if a.name in self.doc.detect_info})
        self.doc.edit({"arms": arms, "settings": settings}, "Detect curves")
        if warnings:
            show_message(self, "Detection warnings", "\n".join(warnings), kind="warning")
        else:
            self.statusBar().showMessage("Curves detected: check the traced steps (drag/delete/add points)", 8000)

    def reconstruct(self):
        """Reconstruct IPD in the background from the current points, calibration and risk table."""
        with self.guard("Cannot reconstruct"):
            arms = self.doc.project.arm_data()
            method = self.doc.project.settings.get("method", "default")
            inputs = self.doc.project.inputs_hash()
            self._start("reconstruct", "Reconstructing IPD…")

            def done(rec):
                self._finish("reconstruct")
                with self.guard("Reconstruction"):
                    self.doc.set_reconstruction(rec, inputs)
                    self.tabs.setCurrentWidget(self.diagnostics)
                    self._grow_tables(self.tabs.currentIndex())    # room for the per-interval rows
                    self.statusBar().showMessage(f"Reconstructed {len(rec.ipd)} patients", 8000)

            run_task(_reconstruct, arms, method, on_done=done,
                     on_error=lambda e, tb: self._failed("reconstruct", "Cannot reconstruct", e, tb),
                     on_progress=self._progress)

    # ------------------------------------------------------------------------------ export
    def _export(self, kind: str):
        filters = {"ipd": ("Export IPD", "CSV (*.csv);;Excel (*.xlsx)", "ipd.csv"),
                   "points": ("Export digitized points", "CSV (*.csv)", "points.csv"),
                   "diagnostics": ("Export diagnostics", "JSON (*.json)", "diagnostics.json"),
                   "plot": ("Export KM plot", "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)", "km.png")}
        title, flt, name = filters[kind]
        path = self.ask_save_path(title, flt, str(Path(self._last_dir()) / name))
        if path:
            self.export(kind, path)

    def export(self, kind: str, path: str) -> bool:
        """Write one export ('ipd' | 'points' | 'diagnostics' | 'plot') to ``path``."""
        with self.guard("Cannot export"):
            p = self.doc.project
            if kind == "points":
                from gui.export import write_points_csv

                write_points_csv(p.arm_data(), path)
            else:
                ipd = self.doc.current_ipd()
                if ipd is None:
                    raise KMReconError("reconstruct first (Run > Reconstruct): the IPD is missing or out of date")
                if kind == "ipd":
                    from reconstruct.io import write_ipd

                    write_ipd(ipd, path)
                elif kind == "diagnostics":
                    if self.doc.result is not None:
                        from reconstruct.io import write_diagnostics_json

                        write_diagnostics_json(self.doc.result, path)
                    else:
                        write_json_atomic({"arms": p.reconstruction.get("diagnostics")}, path)
                elif kind == "plot":
                    from gui.export import plot_km_with_risk
                    from kmrecon.project import validate_risk_grid

                    table, _ = validate_risk_grid(sync_risk_rows(p.risk_table, [a.name for a in p.arms]))
                    plot_km_with_risk(ipd, path, colors={a.name: a.rgb for a in p.arms},
                                      risk_times=None if table is None else table.times,
                                      time_unit=p.settings.get("time_unit", ""),
                                      title=p.settings.get("study", ""))
                else:
                    raise ValueError(kind)
                self.doc.exported = True
            self.doc.changed.emit([])
            self.statusBar().showMessage(f"Exported {path}", 5000)
            return True
        return False

    def copy_points(self):
        """Digitized points (data units) to the clipboard as tab-separated text, for a spreadsheet."""
        with self.guard("Cannot copy points"):
            from gui.export import points_table

            text = points_table(self.doc.project.arm_data()).to_csv(sep="\t", index=False, float_format="%.6g")
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage("Digitized points copied to the clipboard", 5000)

    def add_to_pooling(self):
        with self.guard("Add to pooling"):
            if self.pooling_panel is None:
                raise KMReconError(f"the pooling panel is unavailable ({getattr(self, 'pooling_error', '')})")
            ipd = self.doc.current_ipd()
            if ipd is None:
                raise KMReconError("reconstruct first: the IPD is missing or out of date")
            s = self.doc.project.settings
            name = s.get("study") or (Path(self.doc.path).stem if self.doc.path else "Study")
            from pooling.units import normalize_unit

            try:   # the time unit typed or read off the axis label (Study panel)
                unit = normalize_unit(s.get("time_unit"))
            except KMReconError:
                unit = None
            if unit is None:
                self.statusBar().showMessage("The study's time unit is unknown: set Time unit in the "
                                             "Study panel, or type it in the pooling list's Unit column", 10000)
            arms = list(dict.fromkeys(ipd["arm"].astype(str)))
            chosen = arms if len(arms) == 1 else self.ask_pool_arms(arms, name)
            if not chosen:
                if chosen is not None:
                    show_message(self, "Add to pooling", "no arm ticked: nothing was added", kind="warning")
                return
            for arm in chosen:
                self.pooling_panel.add_study(name, s.get("subgroup", ""), ipd, arm=arm, unit=unit)
            self.tabs.setCurrentWidget(self._pool_page)


def qimage_to_numpy(qimg) -> np.ndarray:
    """QImage -> HxWx3 uint8 RGB."""
    from PySide6.QtGui import QImage

    q = qimg.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = q.width(), q.height(), q.bytesPerLine()
    arr = np.frombuffer(q.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)[:, : 3 * w]
    return arr.reshape(h, w, 3).copy()


def install_excepthook(window: MainWindow):
    """Show uncaught exceptions in a dialog and autosave, instead of dying silently."""
    import sys

    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        previous(exc_type, exc, tb)
        if isinstance(exc, KMReconError):
            show_message(window, "Problem", str(exc))
        elif not issubclass(exc_type, KeyboardInterrupt):
            window.report_unexpected(exc, text)

    sys.excepthook = hook
    return hook
