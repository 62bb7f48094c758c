"""The pooling tab: a study list (with editable subgroups), pooling options, results and plots.

It only drives :mod:`pooling` (no statistics here): studies come from a study table
(CSV/XLSX, see :mod:`pooling.studies`), from IPD files, or from the open project via
:meth:`PoolingPanel.add_study`; "Pool" runs :func:`pooling.pool_studies` off the GUI thread
and shows the pooled table, the per-study table and the figures.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QGridLayout,
    QHBoxLayout, QHeaderView,
    QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget,
    QVBoxLayout, QWidget,
)

from kmrecon.errors import KMReconError

EXAMPLE = Path(__file__).resolve().parents[1] / "resources" / "pooling_example" / "studies.csv"
_STUDY_COLS = ["Study", "Subgroup", "Arm", "Unit", "Data", "N"]
_EDITABLE = {1: "subgroup", 3: "unit"}


def _arm_text(study) -> str:
    """Which arm(s) a row contributes: its arm, or all arms of its IPD pooled as one."""
    if study.arm:
        return study.arm
    if study.ipd is not None:
        arms = list(dict.fromkeys(study.ipd["arm"]))
        return "all arms as one" if len(arms) > 1 else ("" if arms == ["all"] else str(arms[0]))
    return ""


def _source_text(study) -> str:
    parts = []
    if study.ipd is not None:
        arms = study.ipd["arm"].nunique()
        parts.append("IPD" + (f" ({arms} arms)" if arms > 1 else ""))
    if study.table is not None:
        parts.append("survival table")
    if study.has_median_ci:
        parts.append("median + CI")
    elif study.has_median_range:
        parts.append("median + range (Hozo)")
    return ", ".join(parts)


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return ""
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def fill_table(widget: QTableWidget, df: pd.DataFrame) -> None:
    """Show a DataFrame read-only in a QTableWidget."""
    widget.clear()
    widget.setRowCount(len(df))
    widget.setColumnCount(len(df.columns))
    widget.setHorizontalHeaderLabels([str(c) for c in df.columns])
    for i, row in enumerate(df.itertuples(index=False)):
        for j, v in enumerate(row):
            item = QTableWidgetItem(_cell(v))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            if isinstance(v, (int, float, np.number)):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            widget.setItem(i, j, item)
    widget.resizeColumnsToContents()


class ArmChoiceDialog(QDialog):
    """Which arms of a multi-arm study to pool: one checkbox per arm; each chosen arm becomes
    its own study row (arms are never pooled together as one study without being asked)."""

    def __init__(self, arms: list[str], study: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Add to pooling: which arms?")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"<b>{study}</b> has {len(arms)} arms. Each arm you tick is added as "
                             "its own row in the study list<br>(pool like with like: e.g. only the "
                             "experimental arms, or only the controls)."))
        self.boxes = {a: QCheckBox(a) for a in arms}
        for b in self.boxes.values():
            lay.addWidget(b)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def chosen(self) -> list[str]:
        return [a for a, b in self.boxes.items() if b.isChecked()]


def ask_arms(parent, arms: list[str], study: str) -> list[str] | None:
    """The arms the user ticks (None: cancelled)."""
    dlg = ArmChoiceDialog(arms, study, parent)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return dlg.chosen()


class PoolingPanel(QWidget):
    """Study list + options + results. ``result`` holds the last PoolResult (or None)."""

    pooled = Signal(object)   # PoolResult, after each successful run

    def __init__(self, parent=None):
        super().__init__(parent)
        self.studies: list = []
        self.result = None
        self.messages: list[tuple[str, str, str]] = []   # (kind, title, text) shown to the user
        self._canvas = None
        self._busy = False

        # --- left: studies and options
        self.study_table = QTableWidget(0, len(_STUDY_COLS))
        self.study_table.setHorizontalHeaderLabels(_STUDY_COLS)
        self.study_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.study_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.study_table.setToolTip("Double-click a Subgroup or Unit cell to change it")
        self.study_table.itemChanged.connect(self._subgroup_edited)
        self.open_button = QPushButton("Open study table…")
        self.open_button.setToolTip("CSV/XLSX with study, subgroup and ipd / survival table / median columns")
        self.open_button.clicked.connect(self._open_table_dialog)
        self.ipd_button = QPushButton("Add IPD file…")
        self.ipd_button.clicked.connect(self._add_ipd_dialog)
        self.example_button = QPushButton("Load example")
        self.example_button.clicked.connect(lambda: self.load_studies(EXAMPLE))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        for b in (self.open_button, self.ipd_button, self.example_button, self.remove_button):
            buttons.addWidget(b)

        from pooling.units import UNITS, default_landmarks, format_landmarks

        self.unit_combo = QComboBox()
        self.unit_combo.addItems(list(UNITS))
        self.unit_combo.setCurrentText("months")
        self.unit_combo.setToolTip("Pooling time unit: every study's times are converted to it "
                                   "(a study's own unit is in its Unit column)")
        self.times_edit = QLineEdit(format_landmarks(default_landmarks("months")))
        self.times_edit.setToolTip("landmark times in the pooling unit (default: whole years 1-5)")
        self._default_times = self.times_edit.text()
        self.unit_combo.currentTextChanged.connect(self._unit_changed)
        self.method_combo = QComboBox()
        for label, key in (("REML", "reml"), ("DerSimonian–Laird", "dl"), ("Paule–Mandel", "pm"), ("Fixed effect", "fe")):
            self.method_combo.addItem(label, key)
        self.scale_combo = QComboBox()
        for key in ("cloglog", "logit", "log", "arcsine", "raw"):
            self.scale_combo.addItem(key, key)
        self.ci_combo = QComboBox()
        for key in ("log-log", "log", "plain"):
            self.ci_combo.addItem(key, key)
        self.hk_check = QCheckBox("Hartung–Knapp")
        # options on a two-column grid, so the whole left side fits a short bottom panel
        form = QGridLayout()
        for r, c, text, w in ((0, 0, "Unit", self.unit_combo), (0, 2, "Times", self.times_edit),
                              (1, 0, "Method", self.method_combo), (1, 2, "Scale", self.scale_combo),
                              (2, 0, "KM CI", self.ci_combo)):
            form.addWidget(QLabel(text), r, c)
            form.addWidget(w, r, c + 1)
        form.addWidget(self.hk_check, 2, 2, 1, 2)
        form.setColumnStretch(3, 1)
        self.run_button = QPushButton("Pool")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run_pooling)
        self.save_button = QPushButton("Save results…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._save_dialog)
        self.status = QLabel("Add studies, then Pool.")
        self.status.setWordWrap(True)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.save_button)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(2, 2, 2, 2)
        self.study_table.setMinimumHeight(90)
        ll.addWidget(self.study_table, 1)
        ll.addLayout(buttons)
        ll.addLayout(form)
        run_row.addWidget(self.status, 1)
        ll.addLayout(run_row)

        # --- right: results
        self.results_table = QTableWidget()
        self.per_study_table = QTableWidget()
        self.subgroup_table = QTableWidget()
        self.sensitivity_table = QTableWidget()
        self.hr_table = QTableWidget()
        for t in (self.results_table, self.per_study_table, self.subgroup_table, self.sensitivity_table, self.hr_table):
            t.verticalHeader().setVisible(False)
        self.figure_combo = QComboBox()
        self.figure_combo.currentIndexChanged.connect(self._show_figure)
        self.plot_holder = QWidget()
        self.plot_layout = QVBoxLayout(self.plot_holder)
        self.plot_layout.setContentsMargins(0, 0, 0, 0)
        plot_page = QWidget()
        pl = QVBoxLayout(plot_page)
        pl.setContentsMargins(2, 2, 2, 2)
        pl.addWidget(self.figure_combo)
        pl.addWidget(self.plot_holder, 1)
        self.result_tabs = QTabWidget()
        self.result_tabs.addTab(self.results_table, "Pooled")
        self.result_tabs.addTab(plot_page, "Plots")
        self.result_tabs.addTab(self.per_study_table, "Per study")
        self.result_tabs.addTab(self.subgroup_table, "Subgroup tests")
        self.result_tabs.addTab(self.sensitivity_table, "Sensitivity")
        self.result_tabs.addTab(self.hr_table, "Cox HR")
        self.notes_view = QPlainTextEdit()
        self.notes_view.setReadOnly(True)
        self.result_tabs.addTab(self.notes_view, "Notes")
        self._figures: dict = {}

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.result_tabs)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    # ------------------------------------------------------------------ studies
    def _message(self, title: str, text: str, kind: str = "error"):
        try:
            from gui.dialogs import show_message

            show_message(self, title, text, kind)
        except ImportError:  # dialogs module unavailable: keep the message in the list
            self.messages.append((kind, title, text))

    def _unit_changed(self, unit: str):
        """Landmarks follow the pooling unit (whole years in it) unless the user typed others."""
        from pooling.units import default_landmarks, format_landmarks

        if self.times_edit.text().replace(" ", "") == self._default_times:
            self.times_edit.setText(format_landmarks(default_landmarks(unit)))
        self._default_times = format_landmarks(default_landmarks(unit))

    def add_study(self, name: str, subgroup: str, ipd, arm: str | None = None, unit: str | None = None) -> None:
        """Add one study from IPD (DataFrame arm,time,event or a path to IPD CSV/XLSX or a
        project .json): ``arm`` = the one arm it contributes (None: all of its IPD as one
        unit), ``unit`` = its time unit (days/weeks/months/years; None = unknown, shown '?').
        A blank subgroup becomes 'unassigned' (editable in the list)."""
        from pooling.studies import study_from_ipd

        try:
            name = str(name).strip() or f"Study {len(self.studies) + 1}"
            taken = {s.label for s in self.studies}
            base, i = name, 2
            while (f"{name} ({arm})" if arm else name) in taken:
                name, i = f"{base} ({i})", i + 1
            study = study_from_ipd(name, str(subgroup or "").strip() or "unassigned", ipd, arm, unit)
        except KMReconError as exc:
            self._message("Add study", str(exc))
            return
        self.studies.append(study)
        self._refresh_studies()

    def load_studies(self, path) -> bool:
        """Add every study of a study table (CSV/XLSX); False (message shown) on bad input."""
        from pooling.studies import read_studies

        try:
            new = read_studies(path)
        except KMReconError as exc:
            self._message("Open study table", str(exc))
            return False
        self.studies += new
        self._refresh_studies()
        self.status.setText(f"Loaded {len(new)} studies from {Path(path).name}.")
        return True

    def remove_selected(self):
        rows = sorted({i.row() for i in self.study_table.selectedIndexes()}, reverse=True)
        for r in rows:
            del self.studies[r]
        self._refresh_studies()

    def _refresh_studies(self):
        t = self.study_table
        t.blockSignals(True)
        t.setRowCount(len(self.studies))
        for i, s in enumerate(self.studies):
            values = [s.name, s.subgroup, _arm_text(s), s.unit or "?", _source_text(s),
                      "" if s.n is None else str(s.n)]
            for j, v in enumerate(values):
                item = QTableWidgetItem(v)
                if j == 3 and not s.unit:
                    item.setToolTip("Time unit unknown: type days, weeks, months or years "
                                    "(taken to be the pooling unit otherwise)")
                if j not in _EDITABLE:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                t.setItem(i, j, item)
        t.resizeColumnsToContents()
        t.blockSignals(False)

    def _subgroup_edited(self, item: QTableWidgetItem):
        if item.column() == 3 and item.row() < len(self.studies):
            from pooling.units import normalize_unit

            try:
                self.studies[item.row()].unit = normalize_unit(item.text().replace("?", ""))
            except KMReconError as exc:
                self._message("Time unit", str(exc), "warning")
            self._refresh_studies()
            return
        if item.column() == 1 and item.row() < len(self.studies):
            text = item.text().strip()
            if not text or text.lower() == "all":
                self._message("Subgroup", "a subgroup needs a name other than 'all'", "warning")
                self._refresh_studies()
                return
            self.studies[item.row()].subgroup = text

    def _open_table_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open study table", "", "Study tables (*.csv *.xlsx)")
        if path:
            self.load_studies(path)

    def _add_ipd_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Add IPD", "", "IPD or project (*.csv *.xlsx *.kmrecon *.json)")
        if path:
            self.add_ipd_file(path)

    def ask_arms(self, arms: list[str], study: str) -> list[str] | None:
        """Which arms to add (a patch point for tests, like the main window's ask_* methods)."""
        return ask_arms(self, arms, study)

    def add_ipd_file(self, path, subgroup: str = "", unit: str | None = None) -> int:
        """Add an IPD file (or project): one row per arm the user picks when it has several.
        Returns the number of rows added."""
        from pooling.studies import read_ipd

        try:
            ipd = read_ipd(path, Path(path).name)
        except KMReconError as exc:
            self._message("Add IPD", str(exc))
            return 0
        from pooling.studies import PROJECT_SUFFIXES

        if unit is None and Path(path).suffix.lower() in PROJECT_SUFFIXES:   # a project knows its unit
            from pooling.units import project_unit

            unit = project_unit(path)
        arms = list(dict.fromkeys(ipd["arm"]))
        chosen = [None] if len(arms) == 1 else self.ask_arms(arms, Path(path).stem)
        if not chosen:
            if chosen is not None:
                self._message("Add IPD", "no arm ticked: nothing added", "warning")
            return 0
        n0 = len(self.studies)
        for arm in chosen:
            self.add_study(Path(path).stem, subgroup, ipd, arm, unit)
        return len(self.studies) - n0

    # ------------------------------------------------------------------ pooling
    def settings(self) -> dict:
        try:
            times = [float(x) for x in self.times_edit.text().replace(";", ",").split(",") if x.strip()]
        except ValueError:
            raise KMReconError("times must be comma-separated numbers, e.g. 12,24,36") from None
        if not times:
            raise KMReconError("give at least one landmark time")
        return {"times": times, "method": self.method_combo.currentData(), "scale": self.scale_combo.currentData(),
                "hk": self.hk_check.isChecked(), "conf_type": self.ci_combo.currentData(),
                "unit": self.unit_combo.currentText()}

    def run_pooling(self) -> None:
        """Pool the listed studies in the background; results appear when done."""
        if self._busy:
            return
        if not self.studies:
            self._message("Pool", "add at least one study first")
            return
        try:
            opts = self.settings()
        except KMReconError as exc:
            self._message("Pool", str(exc))
            return
        from gui.workers import run_task

        self._busy = True
        self.run_button.setEnabled(False)
        self.status.setText("Pooling…")
        run_task(_pool_job, list(self.studies), opts, on_done=self._pooled, on_error=self._failed)

    def _failed(self, exc, tb: str):
        self._busy = False
        self.run_button.setEnabled(True)
        self.status.setText("Pooling failed.")
        if isinstance(exc, KMReconError):
            self._message("Pool", str(exc))
        else:
            self._message("Pool", f"unexpected error: {type(exc).__name__}: {exc}")

    def _pooled(self, payload):
        result, figures = payload
        self._busy = False
        self.run_button.setEnabled(True)
        self.result = result
        self._figures = figures
        fill_table(self.results_table, result.table)
        fill_table(self.per_study_table, result.per_study)
        fill_table(self.subgroup_table, result.subgroup_tests)
        fill_table(self.sensitivity_table, result.sensitivity)
        fill_table(self.hr_table, result.hr)
        self.figure_combo.blockSignals(True)
        self.figure_combo.clear()
        self.figure_combo.addItems(list(figures))
        self.figure_combo.blockSignals(False)
        self._show_figure(0)
        self.save_button.setEnabled(True)
        overall = result.table[result.table["subgroup"] == "all"]
        self.status.setText(f"Pooled {len(self.studies)} studies: {len(overall)} measures; "
                            + (f"{len(result.notes)} notes (see the Notes tab)." if result.notes else "no notes."))
        self.notes_view.setPlainText("\n".join(result.notes) or "No notes.")
        self.pooled.emit(result)

    def _show_figure(self, index: int):
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

        if self._canvas is not None:
            self.plot_layout.removeWidget(self._canvas)
            self._canvas.setParent(None)
            self._canvas.deleteLater()
            self._canvas = None
        name = self.figure_combo.itemText(index) if index >= 0 else ""
        fig = self._figures.get(name)
        if fig is None:
            return
        if not name.startswith("forest"):
            # laid out again at the canvas' size: a short bottom panel must not cut the axis
            # labels off (forest plots place their own text around the axes)
            fig.set_layout_engine("tight")
        self._canvas = FigureCanvasQTAgg(fig)
        self.plot_layout.addWidget(self._canvas)
        self._canvas.draw_idle()

    def show_plot(self, name: str) -> None:
        """Switch the Plots tab to figure ``name`` (e.g. 'forest_S(12)')."""
        i = self.figure_combo.findText(name)
        if i < 0:
            raise KMReconError(f"no figure '{name}'")
        self.figure_combo.setCurrentIndex(i)
        self.result_tabs.setCurrentIndex(1)

    def save_results(self, out_dir) -> None:
        from pooling.report import write_outputs

        if self.result is None:
            raise KMReconError("pool first")
        write_outputs(self.result, out_dir)

    def _save_dialog(self):
        d = QFileDialog.getExistingDirectory(self, "Save pooling results to folder")
        if d:
            try:
                self.save_results(d)
                self.status.setText(f"Saved to {d}")
            except KMReconError as exc:
                self._message("Save results", str(exc))


def _pool_job(studies, opts, progress=None):
    """Worker: pool and build the figures (matplotlib Figure objects, no pyplot)."""
    from pooling.pool import pool_studies

    opts = dict(opts)
    result = pool_studies(studies, opts.pop("times"), opts.pop("method"), opts.pop("scale"), opts.pop("hk"), **opts)
    return result, result.figures()
