"""The review list: work through a ``kmrecon batch`` folder figure by figure, and the
two-reviewer agreement dialog. Displays :mod:`review.batch` / :mod:`review.agree`; holds no
algorithm.

- :class:`ReviewListModel` (Qt model): one row per figure of the folder's summary, with its
  thumbnail, status (confident / needs review / failed), reasons and approval;
- :class:`ReviewListPanel`: the table plus Previous / Next / Open / Approve; a figure opens in the
  main window as a normal project (its ``project.kmrecon`` in the batch folder; a failed figure
  opens as a fresh figure). Approvals go to ``approvals.json`` in the batch folder (atomic write);
- :class:`BatchRunner`: runs ``kmrecon batch`` in a child process (QProcess) and reports its
  progress lines, so the window stays responsive and a crash cannot take the app down;
- :class:`AgreementDialog`: the agreement report of two extractions;
- :func:`install`: the Review menu and the dock, added to the main window.
"""
from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QObject, QProcess, QSize,
                            QSortFilterProxyModel, Qt, QTimer, QUrl, Signal)
from PySide6.QtGui import QAction, QBrush, QColor, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QDockWidget,
                               QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableView, QTextBrowser, QVBoxLayout, QWidget)

from kmrecon.errors import KMReconError

THUMB = QSize(64, 48)
_STATUS_COLOURS = {"confident": "#2e7d32", "needs review": "#b26a00", "failed": "#c62828"}


class ReviewListModel(QAbstractTableModel):
    """Rows of a batch folder's summary; columns Figure (thumbnail + name), Status, Arms,
    Reasons, Approved. ``approve(row, on)`` writes the folder's approvals.json."""

    COLUMNS = ("Figure", "Status", "Arms", "Reasons", "OK")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.folder: Path | None = None
        self.rows: list[dict] = []
        self.approvals: dict = {}
        self._thumbs: dict[str, QPixmap] = {}
        self._sha_cache: dict = {}

    def load(self, folder) -> None:
        """Read ``summary.json``/``.csv`` and ``approvals.json``; KMReconError if not a batch folder."""
        from review.batch import load_approvals, read_summary

        folder = Path(folder)
        rows, approvals = read_summary(folder), load_approvals(folder)
        self.beginResetModel()
        self.folder, self.rows, self.approvals, self._thumbs = folder, rows, approvals, {}
        self.endResetModel()

    # -- Qt model API ------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()):  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: B008, N802 - Qt API
        return len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], self.COLUMNS[index.column()]
        name = str(row.get("name", ""))
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "Figure":
                return name
            if col == "Status":
                return row.get("status", "")
            if col == "Arms":
                return str(row.get("arms", ""))
            if col == "Reasons":
                return str(row.get("reasons", "") or "")
            if col == "OK":
                if not self.is_approved(index.row()):
                    return ""
                return "✓*" if self.changed_since_approval(index.row()) else "✓"
        if role == Qt.ItemDataRole.DecorationRole and col == "Figure":
            return self.thumbnail(name)
        if role == Qt.ItemDataRole.ForegroundRole and col == "Status":
            return QBrush(QColor(_STATUS_COLOURS.get(row.get("status"), "#000000")))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("Arms", "OK"):
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == "OK" and self.is_approved(index.row()):
            a = self.approvals.get(name) or {}
            return (f"approved {a.get('at', '')}" + (" - the project was saved again since: approve it again"
                                                     if self.changed_since_approval(index.row()) else ""))
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.get('figure', '')}\n{row.get('arm_names', '')}\n{row.get('reasons', '') or 'no reasons to review'}"
        return None

    # -- helpers -------------------------------------------------------------------------
    def thumbnail(self, name: str) -> QPixmap | None:
        if name not in self._thumbs and self.folder is not None:
            p = self.folder / name / "thumb.png"
            pix = QPixmap(str(p)) if p.exists() else QPixmap()
            self._thumbs[name] = pix.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation) if not pix.isNull() else pix
        pix = self._thumbs.get(name)
        return pix if pix is not None and not pix.isNull() else None

    def name(self, row: int) -> str:
        return str(self.rows[row].get("name", ""))

    def is_approved(self, row: int) -> bool:
        return bool((self.approvals.get(self.name(row)) or {}).get("approved"))

    def changed_since_approval(self, row: int) -> bool:
        """True when the figure's project was saved again after it was approved."""
        from kmrecon.jsonio import file_sha256

        a = self.approvals.get(self.name(row)) or {}
        proj = self.path_to_open(row)
        if not a.get("approved") or not a.get("project_sha256") or proj is None or proj.suffix != ".kmrecon":
            return False
        key = (str(proj), proj.stat().st_mtime_ns)
        if key not in self._sha_cache:
            self._sha_cache[key] = file_sha256(proj)
        return self._sha_cache[key] != a["project_sha256"]

    def path_to_open(self, row: int) -> Path | None:
        """The figure's project in the batch folder, else (a failed figure) the figure file."""
        r = self.rows[row]
        if r.get("project") and self.folder is not None and (self.folder / r["project"]).exists():
            return self.folder / r["project"]
        fig = str(r.get("figure", "")).split("#page=")[0]
        return Path(fig) if fig and Path(fig).exists() else None

    def approve(self, row: int, on: bool = True) -> None:
        from review.batch import set_approval

        if self.folder is None or not 0 <= row < len(self.rows):
            return
        if on and self.rows[row].get("status") == "failed" and not self.rows[row].get("project"):
            raise KMReconError("a failed figure has nothing to approve: open it, extract it, save the project")
        self.approvals = set_approval(self.folder, self.name(row), on)
        i = self.index(row, self.COLUMNS.index("OK"))
        self.dataChanged.emit(i, i)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in _STATUS_COLOURS}
        for r in self.rows:
            out[r.get("status", "failed")] = out.get(r.get("status", "failed"), 0) + 1
        out["approved"] = sum(self.is_approved(i) for i in range(len(self.rows)))
        return out


class ReviewFilter(QSortFilterProxyModel):
    """Which rows the list shows: all, those needing review, failed ones, or not yet approved.
    Re-filtered only when the choice changes, so approving a row does not pull it away."""

    MODES = {"All figures": None, "Needs review": "needs review", "Failed": "failed",
             "Not approved yet": "not approved"}

    def __init__(self, parent=None):
        super().__init__(parent)
        self.mode = None
        self.setDynamicSortFilter(False)

    def set_mode(self, label: str) -> None:
        self.mode = self.MODES.get(label)
        self.invalidateFilter()

    def filterAcceptsRow(self, row, parent):  # noqa: N802 - Qt API
        m = self.sourceModel()
        if self.mode is None:
            return True
        if self.mode == "not approved":
            return not m.is_approved(row)
        return m.rows[row].get("status") == self.mode


class ReviewListPanel(QWidget):
    """The review list as a widget; ``open_requested(path)`` asks the window to open a figure."""

    open_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = ReviewListModel(self)
        self.header = QLabel("Open a batch folder (Review ▸ Open batch folder…) or run a batch.")
        self.header.setWordWrap(True)
        self.proxy = ReviewFilter(self)
        self.proxy.setSourceModel(self.model)
        self.filter = QComboBox()
        self.filter.addItems(list(ReviewFilter.MODES))
        self.filter.currentTextChanged.connect(self._set_filter)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setIconSize(THUMB)
        self.view.setWordWrap(True)
        self.view.verticalHeader().setDefaultSectionSize(THUMB.height() + 6)
        self.view.verticalHeader().hide()
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.view.setColumnWidth(0, 170)
        self.view.setColumnWidth(1, 90)
        self.view.setColumnWidth(2, 40)
        self.view.setColumnWidth(4, 30)
        self.view.doubleClicked.connect(lambda idx: self.open_row(self.proxy.mapToSource(idx).row()))
        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.open_button = QPushButton("Open")
        self.approve_button = QPushButton("Approve")
        self.approve_button.setCheckable(True)
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.open_button.clicked.connect(lambda: self.open_row(self.current_row()))
        self.approve_button.clicked.connect(lambda on: self.approve_current(on))
        buttons = QHBoxLayout()
        for b in (self.prev_button, self.next_button, self.open_button, self.approve_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("Show"))
        buttons.addWidget(self.filter)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.header)
        lay.addWidget(self.view, 1)
        lay.addLayout(buttons)
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._sync_buttons())
        self.model.modelReset.connect(self._sync_buttons)
        self.model.dataChanged.connect(lambda *_: self._sync_buttons())
        self._sync_buttons()

    def load(self, folder) -> None:
        self.model.load(folder)
        self.proxy.invalidateFilter()
        if self.model.rowCount():
            self.select_row(0)
        self._sync_buttons()

    def current_row(self) -> int:
        """The current figure as a row of the model (not of the filtered view); -1 if none."""
        idx = self.proxy.mapToSource(self.view.currentIndex())
        return idx.row() if idx.isValid() else -1

    def _view_row(self) -> int:
        idx = self.view.currentIndex()
        return idx.row() if idx.isValid() else -1

    def select_row(self, row: int) -> None:
        """Make model row ``row`` current (the filter is reset to all if it hides the row)."""
        if not 0 <= row < self.model.rowCount():
            return
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if not idx.isValid():
            self.filter.setCurrentIndex(0)
            idx = self.proxy.mapFromSource(self.model.index(row, 0))
        self.view.setCurrentIndex(idx)
        self.view.scrollTo(idx)

    def open_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        self.select_row(row)
        path = self.model.path_to_open(row)
        if path is None:
            raise KMReconError(f"'{self.model.name(row)}': neither its project nor its figure file exists any more")
        self.open_requested.emit(str(path))

    def _step(self, delta: int) -> None:
        n = self.proxy.rowCount()
        if n == 0:
            return
        v = min(max(self._view_row() + delta, 0), n - 1) if self._view_row() >= 0 else 0
        self.open_row(self.proxy.mapToSource(self.proxy.index(v, 0)).row())

    def next(self) -> None:
        """Open the next figure shown in the list."""
        self._step(+1)

    def previous(self) -> None:
        """Open the previous figure shown in the list."""
        self._step(-1)

    def _set_filter(self, label: str) -> None:
        row = self.current_row()
        self.proxy.set_mode(label)
        idx = self.proxy.mapFromSource(self.model.index(row, 0)) if row >= 0 else QModelIndex()
        if not idx.isValid() and self.proxy.rowCount():
            idx = self.proxy.index(0, 0)
        self.view.setCurrentIndex(idx)
        self._sync_buttons()

    def approve_current(self, on: bool | None = None) -> None:
        row = self.current_row()
        if row < 0:
            return
        self.model.approve(row, (not self.model.is_approved(row)) if on is None else bool(on))

    def _sync_buttons(self) -> None:
        row, v, nv, n = self.current_row(), self._view_row(), self.proxy.rowCount(), self.model.rowCount()
        self.prev_button.setEnabled(v > 0)
        self.next_button.setEnabled(0 <= v < nv - 1 or (v < 0 and nv > 0))
        self.open_button.setEnabled(row >= 0)
        self.approve_button.setEnabled(row >= 0)
        approved = row >= 0 and self.model.is_approved(row)
        self.approve_button.blockSignals(True)
        self.approve_button.setChecked(approved)
        self.approve_button.setText("Approved ✓" if approved else "Approve")
        self.approve_button.blockSignals(False)
        if self.model.folder is not None:
            c = self.model.counts()
            self.header.setText(f"<b>{self.model.folder.name}</b>: {n} figure(s) — {c['confident']} confident, "
                                f"{c['needs review']} need review, {c['failed']} failed; {c['approved']} approved")


class BatchRunner(QObject):
    """``kmrecon batch`` in a child process; ``progress(done, total, line)`` per figure,
    ``finished(exit_code, folder)`` at the end. Output lines are kept in ``log``."""

    progress = Signal(int, int, str)
    finished = Signal(int, str)

    def __init__(self, inputs: list[str], out_dir: str, jobs: int | None = None, parent=None):
        super().__init__(parent)
        self.out_dir, self.log = out_dir, []
        self.proc = QProcess(self)
        self.proc.setProgram(sys.executable)
        args = ["-m", "kmrecon", "batch", *inputs, "--out", out_dir]
        if jobs:
            args += ["-j", str(jobs)]
        self.proc.setArguments(args)
        self.proc.readyReadStandardError.connect(self._read)
        self.proc.finished.connect(lambda code, _status: self.finished.emit(int(code), self.out_dir))
        self._buf = ""

    def start(self) -> None:
        self.proc.start()

    def _read(self) -> None:
        self._buf += bytes(self.proc.readAllStandardError()).decode("utf-8", "replace")
        *lines, self._buf = re.split(r"[\r\n]", self._buf)
        for line in lines:
            if not line.strip():
                continue
            self.log.append(line)
            m = re.search(r"\] (\d+)/(\d+) ", line)
            if m:
                self.progress.emit(int(m.group(1)), int(m.group(2)), line.strip())


class AgreementDialog(QDialog):
    """The agreement report of two extractions (the same HTML ``kmrecon agree`` writes, the plot
    given to the browser as a document resource)."""

    def __init__(self, report, parent=None):
        from review.agree import plot_png, to_html

        super().__init__(parent)
        self.report = report
        self.setWindowTitle(f"Agreement: {report.key}")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.png = plot_png(report)
        self.browser.document().addResource(2, QUrl("kmrecon:agreement.png"), QImage.fromData(self.png))
        self.browser.setHtml(to_html(report, image_src="kmrecon:agreement.png"))
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.save_button = box.addButton("Save report…", QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.clicked.connect(self._save)
        box.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser, 1)
        lay.addWidget(box)
        self.resize(1080, 820)

    def ask_save_path(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, "Save agreement report", f"{self.report.key}-agreement.html",
                                              "HTML report (*.html)")
        return path or None

    def _save(self) -> None:
        from review.agree import write_report

        path = self.ask_save_path()
        if path:
            write_report(self.report, path, Path(path).with_suffix(".csv"))


# ---------------------------------------------------------------------------------- main window hook
def _compare(a: str, b: str, progress=None):
    from review.agree import compare_paths

    return compare_paths(a, b)


class _Hooks(QObject):
    """The main window's Review menu actions (kept here so main_window.py only calls install)."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.runner: BatchRunner | None = None

    def ask_folder(self, title: str) -> str | None:
        return QFileDialog.getExistingDirectory(self.w, title, self.w._last_dir()) or None

    def ask_figures(self) -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(self.w, "Figures to extract (or cancel to pick a folder)",
                                                self.w._last_dir(),
                                                "Figures (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp *.pdf)")
        if files:
            return files
        folder = self.ask_folder("Folder of figures to extract")
        return [folder] if folder else []

    def ask_two_extractions(self) -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(self.w, "Two extractions of the same figure", self.w._last_dir(),
                                                "Projects and extract sidecars (*.kmrecon *.json)")
        return files

    def open_folder(self, folder: str | None = None) -> None:
        with self.w.guard("Cannot open the batch folder"):
            folder = folder or self.ask_folder("Batch folder to review")
            if folder:
                self.w.review_panel.load(folder)
                self.w.review_dock.show()
                self.w.review_dock.raise_()
                QTimer.singleShot(0, self._size_dock)

    def _size_dock(self) -> None:
        """Half the bottom width and room for three rows (the dock only takes sizes once shown)."""
        d = self.w.review_dock
        self.w.resizeDocks([d], [max(520, self.w.width() // 2)], Qt.Orientation.Horizontal)
        self.w.resizeDocks([d], [max(250, self.w.height() // 4)], Qt.Orientation.Vertical)

    def open_path(self, path: str) -> None:
        if self.w._may_discard():
            self.w.open_file(path)

    def run_batch(self, inputs: list[str] | None = None, out_dir: str | None = None) -> BatchRunner | None:
        with self.w.guard("Cannot run the batch"):
            inputs = inputs or self.ask_figures()
            if not inputs:
                return None
            out_dir = out_dir or self.ask_folder("Folder for the batch results")
            if not out_dir:
                return None
            if self.runner is not None and self.runner.proc.state() != QProcess.ProcessState.NotRunning:
                raise KMReconError("a batch is already running; wait for it to finish")
            self.runner = BatchRunner(inputs, out_dir, parent=self)
            self.runner.progress.connect(self._batch_progress)
            self.runner.finished.connect(self._batch_done)
            self.w._start("batch", "Extracting figures…")
            self.runner.start()
            return self.runner
        return None

    def _batch_progress(self, done: int, total: int, line: str) -> None:
        self.w._progress(done / max(total, 1))
        self.w.statusBar().showMessage(line[line.find("]") + 1:].strip())

    def _batch_done(self, code: int, folder: str) -> None:
        self.w._finish("batch")
        if code == 2 or not (Path(folder) / "summary.csv").exists():
            tail = "\n".join(self.runner.log[-5:]) if self.runner else ""
            from gui.dialogs import show_message

            show_message(self.w, "Batch failed", tail or f"kmrecon batch stopped with exit status {code}")
            return
        self.open_folder(folder)

    def compare(self, paths: list[str] | None = None) -> None:
        from gui.workers import run_task

        with self.w.guard("Cannot compare"):
            paths = paths or self.ask_two_extractions()
            if not paths:
                return
            if len(paths) != 2:
                raise KMReconError("pick exactly two files: two projects or extract sidecars of the same figure")
            self.w._start("agree", "Comparing the two extractions…")
            run_task(_compare, paths[0], paths[1], on_done=self._compared,
                     on_error=lambda e, tb: self.w._failed("agree", "Cannot compare", e, tb))

    def _compared(self, report) -> None:
        self.w._finish("agree")
        with self.w.guard("Cannot show the agreement"):
            self.w.agreement_dialog = AgreementDialog(report, self.w)
            self.w.agreement_dialog.show()


def install(window) -> None:
    """Add the Review menu and the (hidden until used) review-list dock to the main window."""
    hooks = _Hooks(window)
    panel = ReviewListPanel()
    dock = QDockWidget("Review list", window)
    dock.setObjectName("review_list")
    dock.setWidget(panel)
    # beside the tables at the bottom: the list wants width (reasons), the figure keeps its height
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    tables = window.findChild(QDockWidget, "tables")
    if tables is not None:
        window.splitDockWidget(tables, dock, Qt.Orientation.Horizontal)
    dock.hide()
    window.review_panel, window.review_dock, window.review_hooks = panel, dock, hooks
    window.agreement_dialog = None

    def guarded(fn, what):
        def slot(*_):
            with window.guard(what):
                fn()
            panel._sync_buttons()
        return slot

    panel.open_requested.connect(hooks.open_path)
    for b, fn in ((panel.prev_button, panel.previous), (panel.next_button, panel.next),
                  (panel.open_button, lambda: panel.open_row(panel.current_row())),
                  (panel.approve_button, lambda: panel.approve_current(panel.approve_button.isChecked()))):
        with contextlib.suppress(RuntimeError, TypeError):
            b.clicked.disconnect()
        b.clicked.connect(guarded(fn, "Review list"))
    menu = window.menuBar().addMenu("Re&view")
    acts = [("&Batch extract figures…", hooks.run_batch, None,
             "Zero-click extraction of many figures or a folder into a batch folder to review"),
            ("&Open batch folder…", hooks.open_folder, None, "Review the figures of a batch folder"),
            None,
            ("&Previous figure", guarded(panel.previous, "Review list"), "Ctrl+PgUp", None),
            ("&Next figure", guarded(panel.next, "Review list"), "Ctrl+PgDown", None),
            ("&Approve figure", guarded(lambda: panel.approve_current(None), "Approve"), None,
             "Mark the current figure of the review list as checked (stored in the batch folder)"),
            None,
            ("&Compare two extractions…", hooks.compare, None,
             "Two-reviewer agreement between two projects or extract sidecars of one figure")]
    window.review_actions = {}
    for spec in acts:
        if spec is None:
            menu.addSeparator()
            continue
        text, slot, sc, tip = spec
        a = QAction(text, window)
        if sc:
            a.setShortcut(QKeySequence(sc))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(lambda _=False, s=slot: s())
        menu.addAction(a)
        window.review_actions[text.replace("&", "").rstrip("…")] = a
    menu.addAction(dock.toggleViewAction())
