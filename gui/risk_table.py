"""Number-at-risk grid: one row of times, one row per arm (as printed under a KM plot).

``RiskTableModel`` (a ``QAbstractTableModel``) shows ``Project.risk_table`` with every invalid
cell coloured and its reason in the tooltip (rules in :func:`kmrecon.project.validate_risk_grid`);
edits and pastes go through the document's undo stack. The last column is always blank so the
user can type a new time. ``RiskTableView`` pastes clipboard text (tab, comma, semicolon or
space separated) at the current cell with Ctrl+V.
"""
from __future__ import annotations

import re

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import QApplication, QHeaderView, QTableView

from kmrecon.project import RiskGrid, validate_risk_grid

from gui.document import Document

_SPLIT = re.compile(r"[\t,;]+|\s+")
_NUMBER = re.compile(r"^[-\u2212]?\d+(\.\d*)?([eE][-+]?\d+)?$|^[-\u2212]?\.\d+$")
TIME_LABELS = {"time", "times", "months", "month", "days", "years", "weeks", "t", "at risk",
               "no. at risk", "number at risk"}


def parse_table_text(text: str, names: list[str] = ()) -> list[tuple[str | None, list[str]]]:
    """Clipboard text -> rows of (label or None, cells). A row starting with one of ``names``
    (case-insensitive, e.g. an arm called "Arm 1") has that label; otherwise its leading
    non-numeric words are the label ("Placebo 120 98 77" -> ("Placebo", ["120", "98", "77"])).
    Blank lines are skipped. Tabs keep empty cells; other separators collapse."""
    rows = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            continue
        known = next((n for n in sorted(names, key=len, reverse=True)
                      if line.strip().lower().startswith(n.lower())
                      and not line.strip()[len(n):len(n) + 1].isalnum()), None)
        if known is not None:
            rest = line.strip()[len(known):].lstrip(" :\t,;")
            cells = ([c.strip() for c in rest.split("\t")] if "\t" in rest
                     else [c for c in _SPLIT.split(rest) if c != ""])
            while cells and cells[-1] == "":
                cells.pop()
            rows.append((known, cells))
            continue
        if "\t" in line:
            cells = [c.strip() for c in line.split("\t")]
        else:
            cells = [c for c in _SPLIT.split(line.strip()) if c != ""]
        label_parts = []
        while cells and cells[0] and not _NUMBER.match(cells[0].replace(",", "")):
            label_parts.append(cells.pop(0))
        while cells and cells[-1] == "":
            cells.pop()
        rows.append((" ".join(label_parts) or None, cells))
    return rows


def paste_into_grid(grid: RiskGrid, text: str, row: int, col: int) -> RiskGrid:
    """A new grid with the clipboard block written at (row, col) (row 0 = times, row i = arm i).
    Rows whose label names an arm (or 'time') go to that row; the rest fill downwards."""
    arms = list(grid.rows)
    times = list(grid.times)
    rows = {a: list(c) for a, c in grid.rows.items()}
    parsed = parse_table_text(text, arms)
    lower = {a.lower(): i + 1 for i, a in enumerate(arms)}
    r = row
    for label, cells in parsed:
        target = r
        if label is not None:
            key = label.lower().rstrip(":")
            if key in lower:
                target = lower[key]
            elif key in TIME_LABELS:
                target = 0
        if target > len(arms):
            break
        need = col + len(cells)
        if need > len(times):
            times += [""] * (need - len(times))
            for a in arms:
                rows[a] += [""] * (need - len(rows[a]))
        for k, c in enumerate(cells):
            if target == 0:
                times[col + k] = c
            else:
                rows[arms[target - 1]][col + k] = c
        r = target + 1
    return RiskGrid(times=times, rows=rows)


class RiskTableModel(QAbstractTableModel):
    """Rows: 'Time' then one per arm; columns: the times (+ one blank column)."""

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.errors: dict[tuple[int, int], str] = {}
        doc.changed.connect(self._on_changed)
        self._validate()

    # --- helpers
    def grid(self) -> RiskGrid:
        return self.doc.project.risk_table

    def synced_grid(self) -> RiskGrid:
        """The grid with exactly one row per arm, in arm order (rows follow the arm list)."""
        g = self.grid()
        n = len(g.times)
        rows = {a.name: list(g.rows.get(a.name, [""] * n)) for a in self.doc.project.arms}
        return RiskGrid(times=list(g.times), rows=rows)

    def _validate(self):
        g = self.synced_grid()
        _, self.errors = validate_risk_grid(g, {a.name: a.n_total for a in self.doc.project.arms})

    def _on_changed(self, fields):
        if not fields or {"risk_table", "arms"} & set(fields):
            self.beginResetModel()
            self._validate()
            self.endResetModel()
        elif "settings" in fields:      # the time unit in the 'Time' row header
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, 0)

    # --- Qt model API
    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else 1 + len(self.doc.project.arms)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.grid().times) + 1

    def _cell(self, r, c) -> str:
        g = self.synced_grid()
        if c >= len(g.times):
            return ""
        if r == 0:
            return g.times[c]
        return g.rows[self.doc.project.arms[r - 1].name][c]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._cell(r, c)
        err = self.errors.get((r, c))
        if role == Qt.ItemDataRole.ToolTipRole:
            return err
        if role == Qt.ItemDataRole.BackgroundRole:
            if err:
                return QColor("#ffcdd2")
            if r == 0:
                return QColor("#eceff1")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Vertical:
            if section == 0:
                unit = self.doc.project.settings.get("time_unit") or ""
                return f"Time {unit}".strip()
            return self.doc.project.arms[section - 1].name
        return str(section + 1) if section < len(self.grid().times) else "+"

    def flags(self, index):
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable)

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        text = "" if value is None else str(value).strip()
        if text == self._cell(index.row(), index.column()):
            return False
        g = self.synced_grid()
        n = len(g.times)
        c = index.column()
        if c >= n:
            g.times.append("")
            for a in g.rows:
                g.rows[a].append("")
        if index.row() == 0:
            g.times[c] = text
        else:
            g.rows[self.doc.project.arms[index.row() - 1].name][c] = text
        self.doc.edit({"risk_table": _trim(g)}, "Edit risk table cell")
        return True

    def paste(self, text: str, row: int, col: int) -> None:
        g = paste_into_grid(self.synced_grid(), text, row, col)
        self.doc.edit({"risk_table": _trim(g)}, "Paste risk table")

    def clear_cells(self, cells: list[tuple[int, int]]) -> None:
        g = self.synced_grid()
        arms = list(g.rows)
        for r, c in cells:
            if c < len(g.times):
                if r == 0:
                    g.times[c] = ""
                else:
                    g.rows[arms[r - 1]][c] = ""
        self.doc.edit({"risk_table": _trim(g)}, "Clear risk table cells")

    def first_error(self) -> str | None:
        if not self.errors:
            return None
        (r, c), why = sorted(self.errors.items())[0]
        name = "Time" if r == 0 else self.doc.project.arms[r - 1].name
        return f"{name}, column {c + 1}: {why}"


def _trim(g: RiskGrid) -> RiskGrid:
    """Drop trailing all-blank columns."""
    n = len(g.times)
    while n and not g.times[n - 1].strip() and not any(row[n - 1].strip() for row in g.rows.values()):
        n -= 1
    return RiskGrid(times=g.times[:n], rows={a: r[:n] for a, r in g.rows.items()})


class RiskTableView(QTableView):
    """Grid view; Ctrl+V pastes clipboard text at the current cell, Delete clears cells."""

    pasted = Signal()

    def __init__(self, model: RiskTableModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setDefaultSectionSize(56)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setToolTip("Number at risk: first row = times, one row per arm. Paste with Ctrl+V "
                        "(tab, comma or space separated; a leading arm name picks the row).")

    def event(self, e):
        # Claim Ctrl+V and the Delete key before the window's shortcuts see them. Only the
        # Delete/Backspace keys themselves: on X11 the standard "Delete" sequence also
        # includes Ctrl+D, which is the window's Detect shortcut.
        if e.type() == e.Type.ShortcutOverride and (e.matches(QKeySequence.StandardKey.Paste)
                                                    or _is_delete_key(e)):
            e.accept()
            return True
        return super().event(e)

    def keyPressEvent(self, e):
        if e.matches(QKeySequence.StandardKey.Paste):
            idx = self.currentIndex()
            r, c = (idx.row(), idx.column()) if idx.isValid() else (0, 0)
            self.model().paste(QApplication.clipboard().text(), r, c)
            self.pasted.emit()
            return
        if _is_delete_key(e):
            cells = [(i.row(), i.column()) for i in self.selectedIndexes()]
            if cells:
                self.model().clear_cells(cells)
                return
        super().keyPressEvent(e)


def _is_delete_key(e) -> bool:
    """The Delete or Backspace key with no modifier (not every sequence bound to "Delete")."""
    mods = e.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return e.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and mods == Qt.KeyboardModifier.NoModifier
