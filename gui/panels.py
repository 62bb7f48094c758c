"""Side panels: calibration values, arms (model/view), checklist, diagnostics.

Panels read the document and turn user input into ``Document.edit`` calls; none of them
holds state of its own beyond what is on screen.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox,
                               QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QSpinBox, QTableView, QTableWidget, QTableWidgetItem, QTextBrowser,
                               QVBoxLayout, QWidget)

from kmrecon.project import CALIBRATION_KEYS, ArmState, RiskGrid

from gui.document import Document

DEFAULT_COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189),
                  (140, 86, 75)]


def sync_risk_rows(grid: RiskGrid, names: list[str], renames: dict[str, str] | None = None) -> RiskGrid:
    """The risk grid with one row per arm name, in order (renamed rows keep their cells)."""
    renames = renames or {}
    old = {renames.get(k, k): v for k, v in grid.rows.items()}
    n = len(grid.times)
    return RiskGrid(times=list(grid.times), rows={a: list(old.get(a, [""] * n)) for a in names})


def _parse_value(text: str) -> float | None:
    text = text.strip().replace(",", ".").replace("\u2212", "-").rstrip("%")
    if not text:
        return None
    return float(text)


# ---------------------------------------------------------------------------------- calibration
class CalibrationPanel(QWidget):
    """X1, X2, Y1, Y2: pixel position (read-only) and typed axis value; log-x, percent and
    no-rotation options; the calibration status in words."""

    place_requested = Signal(str)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        lay = QVBoxLayout(self)
        grid = QGridLayout()
        grid.addWidget(QLabel("<b>Point</b>"), 0, 0)
        grid.addWidget(QLabel("<b>Pixel</b>"), 0, 1)
        grid.addWidget(QLabel("<b>Value</b>"), 0, 2)
        self.value_edits: dict[str, QLineEdit] = {}
        self.pixel_labels: dict[str, QLabel] = {}
        self.place_buttons: dict[str, QPushButton] = {}
        for r, key in enumerate(CALIBRATION_KEYS, start=1):
            b = QPushButton(key.upper())
            b.setToolTip(f"Click, then click {key.upper()} on an axis tick in the figure")
            b.setFixedWidth(44)
            b.clicked.connect(lambda _=False, k=key: self.place_requested.emit(k))
            pix = QLabel("—")
            pix.setMinimumWidth(92)
            ed = QLineEdit()
            ed.setPlaceholderText("axis value")
            ed.setMaximumWidth(90)
            ed.editingFinished.connect(lambda k=key: self._value_entered(k))
            grid.addWidget(b, r, 0); grid.addWidget(pix, r, 1); grid.addWidget(ed, r, 2)
            self.value_edits[key] = ed
            self.pixel_labels[key] = pix
            self.place_buttons[key] = b
        lay.addLayout(grid)
        self.log_x = QCheckBox("Log time axis")
        self.no_rot = QCheckBox("Assume no rotation")
        self.percent = QComboBox()
        self.percent.addItems(["Survival scale: auto", "0-1 (probability)", "0-100 (%)"])
        for w in (self.log_x, self.no_rot):
            w.toggled.connect(self._options_changed)
        self.percent.currentIndexChanged.connect(self._options_changed)
        lay.addWidget(self.log_x); lay.addWidget(self.no_rot); lay.addWidget(self.percent)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.auto_button = QPushButton("Propose axes")
        self.auto_button.setToolTip("Read the axes, arms and risk table from the figure")
        self.confirm_button = QPushButton("Confirm axes")
        self.confirm_button.setToolTip("The axes are right: go on to the curves (click each curve when "
                                       "they share a colour, else trace them)")
        row = QHBoxLayout()   # side by side: the dock stays short on small screens
        row.addWidget(self.auto_button)
        row.addWidget(self.confirm_button)
        lay.addLayout(row)
        lay.addStretch(1)
        self._updating = False
        doc.changed.connect(self.refresh)
        self.refresh()

    def focus_value(self, key: str):
        ed = self.value_edits[key]
        ed.setFocus(Qt.FocusReason.OtherFocusReason)
        ed.selectAll()

    def _value_entered(self, key: str):
        if self._updating:
            return
        text = self.value_edits[key].text()
        self.value_edits[key].setModified(False)
        cal = dict(self.doc.project.calibration)
        p = cal.get(key)
        try:
            value = _parse_value(text)
        except ValueError:
            self.status.setText(f"<span style='color:#c62828'>{key.upper()}: '{text}' is not a number</span>")
            return
        if not isinstance(p, dict):
            if value is not None:
                self.status.setText(f"Place {key.upper()} on the figure first (calibrate tool)")
            return
        if p.get("value") == value:
            return
        cal[key] = dict(p, value=value)
        self.doc.edit({"calibration": cal}, f"Set {key.upper()} = {text}")

    def _options_changed(self):
        if self._updating:
            return
        cal = dict(self.doc.project.calibration)
        cal["log_x"] = self.log_x.isChecked()
        cal["no_rotation"] = self.no_rot.isChecked()
        cal["y_percent"] = [None, False, True][self.percent.currentIndex()]
        self.doc.edit({"calibration": cal}, "Calibration options")

    def refresh(self, fields=None):
        if fields and "calibration" not in fields:
            return
        self._updating = True
        cal = self.doc.project.calibration
        for key in CALIBRATION_KEYS:
            p = cal.get(key)
            ed = self.value_edits[key]
            if isinstance(p, dict):
                self.pixel_labels[key].setText(f"({p['px']:.1f}, {p['py']:.1f})")
                v = p.get("value")
                txt = "" if v is None else f"{v:g}"
            else:
                self.pixel_labels[key].setText("—")
                txt = ""
            if ed.text() != txt and not (ed.hasFocus() and ed.isModified()):
                ed.setText(txt)
        self.log_x.setChecked(bool(cal.get("log_x", False)))
        self.no_rot.setChecked(bool(cal.get("no_rotation", False)))
        self.percent.setCurrentIndex({None: 0, False: 1, True: 2}[cal.get("y_percent")])
        self._updating = False
        err = self.doc.calibration_error()
        if self.doc.image is None:
            self.status.setText("Open a figure first.")
        elif err is None:
            self.status.setText("<span style='color:#2e7d32'>✔ Axes calibrated (teal overlay)</span>")
        else:
            self.status.setText(f"<span style='color:#c62828'>{err}</span>")


# ---------------------------------------------------------------------------------------- arms
class ArmListModel(QAbstractTableModel):
    """Arms as rows: colour swatch + name, tolerance (ΔE, blank = adaptive), N, D, points,
    censor marks, detection confidence. Edits become undoable commands."""

    COLUMNS = ["Arm", "Tol. ΔE", "N", "D", "Points", "Censor", "Conf."]

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        doc.changed.connect(self._on_changed)

    def _on_changed(self, fields):
        if not fields or "arms" in fields:
            self.beginResetModel()
            self.endResetModel()
        elif "settings" in fields and self.rowCount():   # the saved detection confidences
            c = len(self.COLUMNS) - 1
            self.dataChanged.emit(self.index(0, c), self.index(self.rowCount() - 1, c))

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.doc.project.arms)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        arm = self.doc.project.arms[index.row()]
        c = index.column()
        det = self.doc.project.settings.get("detection")
        info = (det.get(arm.name) if isinstance(det, dict) else None) or self.doc.detect_info.get(arm.name, {})
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            vals = [arm.name, "" if arm.tolerance is None else f"{arm.tolerance:g}",
                    "" if arm.n_total is None else str(arm.n_total),
                    "" if arm.total_events is None else str(arm.total_events),
                    str(len(arm.points_px)), str(len(arm.censor_px)),
                    f"{info['confidence']:.2f}" if "confidence" in info else ""]
            return vals[c]
        if role == Qt.ItemDataRole.DecorationRole and c == 0:
            pm = QPixmap(14, 14)
            pm.fill(QColor(*arm.rgb))
            return pm
        if role == Qt.ItemDataRole.ToolTipRole:
            tips = {1: "Colour tolerance (Lab ΔE); blank = adaptive", 2: "Patients at time 0 (optional)",
                    3: "Total events (optional)"}
            if info.get("warnings"):
                return "\n".join(info["warnings"])
            return tips.get(c, f"RGB {arm.rgb}")
        return None

    def flags(self, index):
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() <= 3:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):
        if role != Qt.ItemDataRole.EditRole:
            return False
        i, c = index.row(), index.column()
        arm = self.doc.project.arms[i]
        text = str(value).strip()
        try:
            if c == 0:
                return rename_arm(self.doc, i, text)
            if c == 1:
                tol = None if text == "" else float(text)
                if tol is not None and tol <= 0:
                    return False
                if tol == arm.tolerance:
                    return False
                self.doc.edit_arm(i, f"Tolerance of '{arm.name}'", tolerance=tol)
            else:
                v = None if text == "" else int(float(text))
                if v is not None and v < 0:
                    return False
                field = "n_total" if c == 2 else "total_events"
                if getattr(arm, field) == v:
                    return False
                self.doc.edit_arm(i, f"{'N' if c == 2 else 'D'} of '{arm.name}'", **{field: v})
        except ValueError:
            return False
        return True


def rename_arm(doc: Document, i: int, name: str) -> bool:
    arms = doc.arms_copy()
    old = arms[i].name
    if not name or name == old or name in [a.name for a in arms]:
        return False
    arms[i].name = name
    risk = sync_risk_rows(doc.project.risk_table, [a.name for a in arms], {old: name})
    doc.edit({"arms": arms, "risk_table": risk}, f"Rename arm '{old}' to '{name}'")
    return True


def add_arm(doc: Document, name: str | None = None, rgb=None) -> int:
    arms = doc.arms_copy()
    names = {a.name for a in arms}
    if name is None:
        k = len(arms) + 1
        while f"Arm {k}" in names:
            k += 1
        name = f"Arm {k}"
    if rgb is None:
        rgb = DEFAULT_COLORS[len(arms) % len(DEFAULT_COLORS)]
    arms.append(ArmState(name=name, rgb=tuple(rgb)))
    risk = sync_risk_rows(doc.project.risk_table, [a.name for a in arms])
    doc.edit({"arms": arms, "risk_table": risk}, f"Add arm '{name}'")
    return len(arms) - 1


def delete_arm(doc: Document, i: int) -> None:
    arms = doc.arms_copy()
    gone = arms.pop(i)
    risk = sync_risk_rows(doc.project.risk_table, [a.name for a in arms])
    doc.edit({"arms": arms, "risk_table": risk}, f"Delete arm '{gone.name}'")


class ArmPanel(QWidget):
    """Arm list + buttons (add, delete, colour, eyedropper, auto colours, detect) + tolerance."""

    current_changed = Signal(int)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        lay = QVBoxLayout(self)
        self.model = ArmListModel(doc, self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.view.setMinimumHeight(110)
        lay.addWidget(self.view)
        # buttons on a 3-column grid: the dock stays narrow enough for the figure at 1024 px
        buttons = QGridLayout()
        self.add_button = QPushButton("Add")
        self.delete_button = QPushButton("Delete")
        self.color_button = QPushButton("Colour…")
        self.eyedropper_button = QPushButton("Eyedropper")
        self.eyedropper_button.setCheckable(True)
        self.auto_colors_button = QPushButton("Find colours")
        self.auto_colors_button.setToolTip("Find the curves' colours in the plot and give each arm the nearest")
        self.detect_button = QPushButton("Detect curves")
        self.detect_button.setStyleSheet("font-weight: bold")
        for i, b in enumerate((self.add_button, self.delete_button, self.color_button,
                               self.eyedropper_button, self.auto_colors_button, self.detect_button)):
            buttons.addWidget(b, i // 3, i % 3)
        lay.addLayout(buttons)
        form = QFormLayout()
        self.brush = QSpinBox()
        self.brush.setRange(1, 200)
        self.brush.setValue(6)
        self.brush.setSuffix(" px")
        form.addRow("Mask brush radius", self.brush)
        lay.addLayout(form)
        self.add_button.clicked.connect(self._add)
        self.delete_button.clicked.connect(self._delete)
        self.view.selectionModel().currentRowChanged.connect(lambda cur, _p: self._current(cur.row()))
        self.model.modelReset.connect(self._restore_selection)
        self._current_row = -1

    def current_row(self) -> int:
        return self._current_row

    def select_row(self, i: int):
        if 0 <= i < self.model.rowCount():
            self.view.selectRow(i)
            self.view.setCurrentIndex(self.model.index(i, 0))
        self._current(i)

    def _current(self, i):
        if i >= 0:
            self._current_row = i
            self.current_changed.emit(i)

    def _restore_selection(self):
        n = self.model.rowCount()
        if n == 0:
            self._current_row = -1
            self.current_changed.emit(-1)
            return
        i = min(max(self._current_row, 0), n - 1)
        self.view.selectRow(i)
        self._current_row = i
        self.current_changed.emit(i)

    def _add(self):
        i = add_arm(self.doc)
        self.select_row(i)

    def _delete(self):
        i = self._current_row
        if 0 <= i < len(self.doc.project.arms):
            delete_arm(self.doc, i)


# ------------------------------------------------------------------------------------ checklist
CHECK_STEPS = ["Calibrate the axes", "Arms: colours and traced curves", "Risk table",
               "Reconstruct", "Export"]


def checklist_state(doc: Document) -> list[tuple[bool, str]]:
    """(done, hint) for each step of Engauge-style checklist guide."""
    p = doc.project
    if doc.image is None:
        return [(False, "Open a figure (File > Open, drop a file, or paste an image)")] + [
            (False, "")] * 4
    cal_err = doc.calibration_error()
    out = [(cal_err is None, cal_err or "done")]
    if not p.arms:
        out.append((False, "Add an arm and pick its colour"))
    else:
        short = [a.name for a in p.arms if len(a.points_px) < 2]
        out.append((not short, f"trace the curve of {', '.join(short)} (Detect curves)" if short else "done"))
    from kmrecon.project import validate_risk_grid

    synced = sync_risk_rows(p.risk_table, [a.name for a in p.arms])
    table, errors = validate_risk_grid(synced, {a.name: a.n_total for a in p.arms})
    if errors:
        out.append((False, f"fix {len(errors)} invalid cell(s) (red)"))
    elif table is None:
        out.append((False, "paste the numbers at risk (optional)"))
    else:
        out.append((True, f"{table.times.size} times"))
    current = doc.current_ipd() is not None
    out.append((current, "done" if current else ("out of date: reconstruct again" if p.reconstruction
                                                 else "Run > Reconstruct")))
    out.append((current and doc.exported, "done" if doc.exported else "File > Export"))
    return out


class ChecklistPanel(QListWidget):
    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setWordWrap(True)
        doc.changed.connect(lambda _f: self.refresh())
        doc.reconstruction_changed.connect(self.refresh)
        doc.image_changed.connect(self.refresh)
        self.refresh()

    def refresh(self):
        self.clear()
        for k, ((done, hint), step) in enumerate(zip(checklist_state(self.doc), CHECK_STEPS), 1):
            item = QListWidgetItem(f"{'☑' if done else '☐'}  {k}. {step}" + ("" if done or not hint
                                                                             else f"\n      {hint}"))
            item.setData(Qt.ItemDataRole.UserRole, done)
            item.setForeground(QColor("#2e7d32") if done else QColor("#37474f"))
            item.setToolTip(hint)
            self.addItem(item)

    def done_flags(self) -> list[bool]:
        return [bool(self.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.count())]


# ---------------------------------------------------------------------------------- diagnostics
class DiagnosticsPanel(QWidget):
    """Per-arm accuracy (IAE, max |ΔS|, events vs target, median with 95% CI), HR for two arms,
    and the per-interval published vs reconstructed numbers at risk."""

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        lay = QHBoxLayout(self)
        self.summary = QTextBrowser()
        self.summary.setMinimumWidth(320)
        self.intervals = QTableWidget(0, 7)
        self.intervals.setHorizontalHeaderLabels(["Arm", "Start", "End", "At risk (published)",
                                                  "At risk (reconstr.)", "Events", "Censored"])
        hh = self.intervals.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)   # headers never clipped
        hh.setStretchLastSection(True)
        self.intervals.verticalHeader().hide()
        lay.addWidget(self.summary, 1)
        lay.addWidget(self.intervals, 1)
        doc.reconstruction_changed.connect(self.refresh)
        self.refresh()

    def refresh(self):
        rec = self.doc.project.reconstruction
        ipd = self.doc.current_ipd()
        key = (id(rec), ipd is None)
        if key == getattr(self, "_shown", None):   # every edit signals; redo work only on change
            return
        self._shown = key
        if not rec:
            self.summary.setHtml("<i>No reconstruction yet (Run &gt; Reconstruct).</i>")
            self.intervals.setRowCount(0)
            return
        from gui.summary import summarize_ipd

        stale = ipd is None
        if getattr(self, "_summary_of", None) is not rec:   # Cox/KM fits once per result
            import pandas as pd

            self._summary = summarize_ipd(pd.DataFrame(rec["ipd"]))
            self._summary_of = rec
        s = self._summary
        html = ["<h3 style='margin:2px'>Reconstruction" + (" <span style='color:#c62828'>(out of date"
                ": inputs changed — reconstruct again)</span>" if stale else
                " <span style='color:#e65100; font-weight:normal'>(orange dashed line on the figure)"
                "</span>") + "</h3>"]
        html.append("<table cellspacing=0 cellpadding=3 border=1 style='border-collapse:collapse'>"
                    "<tr><th>Arm</th><th>N</th><th>Events</th><th>IAE</th><th>max |ΔS|</th>"
                    "<th>Median (95% CI)</th></tr>")
        rows = []
        for arm, d in (rec.get("diagnostics") or {}).items():
            m = s["arms"].get(arm, {})
            tgt = d.get("events_target")
            ev = f"{d.get('events', m.get('events'))}" + (f" / {tgt}" if tgt is not None else "")
            html.append(f"<tr><td>{arm}</td><td>{d.get('n_total', m.get('n'))}</td><td>{ev}</td>"
                        f"<td>{_fmt(d.get('iae'))}</td><td>{_fmt(d.get('max_abs_dev'))}</td>"
                        f"<td>{_median_text(m)}</td></tr>")
            for iv in d.get("intervals") or []:
                rows.append([arm] + [iv.get(k) for k in ("start", "end", "n_published", "n_reconstructed",
                                                         "events", "censored")])
        html.append("</table>")
        if s.get("hr"):
            h = s["hr"]
            html.append(f"<p><b>HR</b> {h['arm']} vs {h['reference']}: {h['hr']:.3f} "
                        f"(95% CI {h['lower']:.3f}–{h['upper']:.3f}), p = {h['p']:.3g}</p>")
        notes = [f"{arm}: {n}" for arm, d in (rec.get("diagnostics") or {}).items() for n in d.get("notes") or []]
        if notes:
            html.append("<p><b>Notes</b><br>" + "<br>".join(notes) + "</p>")
        self.summary.setHtml("".join(html))
        self.intervals.setRowCount(len(rows))
        for r, vals in enumerate(rows):
            for c, v in enumerate(vals):
                it = QTableWidgetItem(_fmt(v) if not isinstance(v, str) else v)
                if c == 4 and vals[3] is not None and v is not None and vals[3] != v:
                    it.setBackground(QColor("#fff3e0"))
                self.intervals.setItem(r, c, it)


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if np.isnan(v):
        return "–"
    return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"


def _median_text(m: dict) -> str:
    if not m:
        return "–"
    med = m.get("median")
    if med is None or not np.isfinite(med):
        return "not reached"
    lo, hi = m.get("median_lower"), m.get("median_upper")
    ci = f" ({_fmt(lo)}–{_fmt(hi) if hi is not None and np.isfinite(hi) else 'NR'})"
    return f"{med:.3g}{ci}"


class SettingsPanel(QGroupBox):
    """Study name/subgroup (for pooling), time unit, reconstruction method."""

    def __init__(self, doc: Document, parent=None):
        super().__init__("Study", parent)
        self.doc = doc
        form = QFormLayout(self)
        self.study = QLineEdit(); self.subgroup = QLineEdit(); self.unit = QLineEdit()
        self.unit.setPlaceholderText("e.g. months")
        self.method = QComboBox(); self.method.addItems(["default", "guyot"])
        form.addRow("Study", self.study); form.addRow("Subgroup", self.subgroup)
        form.addRow("Time unit", self.unit); form.addRow("Method", self.method)
        self.study.setToolTip("Study name, used when the reconstruction is added to pooling")
        self.unit.setToolTip("Unit of the time axis, for the exported KM plot and pooling")
        self.method.setToolTip("Reconstruction algorithm: default (KMRecon) or guyot "
                               "(Guyot et al. 2012, BMC Med Res Methodol 12:9)")
        self._updating = False
        for key, w in (("study", self.study), ("subgroup", self.subgroup), ("time_unit", self.unit)):
            w.editingFinished.connect(lambda k=key, w=w: (w.setModified(False), self._set(k, w.text().strip())))
        self.method.currentTextChanged.connect(lambda t: self._set("method", t))
        doc.changed.connect(self.refresh)
        self.refresh()

    def _set(self, key, value):
        if self._updating or self.doc.project.settings.get(key) == value:
            return
        s = dict(self.doc.project.settings)
        s[key] = value
        self.doc.edit({"settings": s}, f"Setting {key}")

    def refresh(self, fields=None):
        if fields and "settings" not in fields:
            return
        self._updating = True
        s = self.doc.project.settings
        for w, key in ((self.study, "study"), (self.subgroup, "subgroup"), (self.unit, "time_unit")):
            if not (w.hasFocus() and w.isModified()):     # never overwrite what is being typed
                w.setText(s.get(key, ""))
        self.method.setCurrentText(s.get("method", "default"))
        self._updating = False
