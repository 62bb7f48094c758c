"""The review list: what the automatic reading of a figure is unsure of, arms first, each with
a reason a person can act on. It shows the same list `kmrecon extract` prints as REVIEW lines
and writes into the sidecar (``FigureDetection.review_items``); the app holds no logic here
beyond displaying it.
"""
from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

#: what each piece is called in the list, in the order a person should check them
PIECE_TITLES = {"arms": "Arms", "risk_table": "Number at risk", "calibration_x": "Time axis",
                "calibration_y": "Survival axis"}
_ORDER = list(PIECE_TITLES)


def review_items_of(detection) -> list[dict]:
    """``[{"piece", "reason"}]`` from a FigureDetection (or such a list itself), arms first."""
    if detection is None:
        return []
    items = detection if isinstance(detection, list) else list(getattr(detection, "review_items", []) or [])
    return sorted((dict(i) for i in items),
                  key=lambda i: _ORDER.index(i["piece"]) if i.get("piece") in _ORDER else len(_ORDER))


def still_open(items: list[dict], arms=(), axes_confirmed: bool = False) -> list[dict]:
    """The findings a person has not settled yet. Axis findings are settled by confirming the
    axes; an arm finding is settled once every arm it names ('Name', as the reading quotes arm
    names) has been pointed at its curve by a click (``ArmState.at``): the click, not the
    reading, now says which curve is that arm. Findings that name no arm stay until a new
    reading replaces them."""
    pointed = {a.name for a in arms if getattr(a, "at", None) is not None}
    known = {a.name for a in arms}
    out = []
    for it in items:
        piece = str(it.get("piece", ""))
        if axes_confirmed and piece.startswith("calibration"):
            continue
        if piece == "arms":
            named = {n for n in re.findall(r"'([^']+)'", str(it.get("reason", ""))) if n in known}
            if named and named <= pointed:
                continue
        out.append(it)
    return out


class ReviewPanel(QWidget):
    """A header ("3 things to check") over one row per finding: '<Piece>: <reason>'."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items: list[dict] = []
        self.read_items: list[dict] = []    # as the automatic reading gave them
        self.axes_confirmed = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        lay.addWidget(self.header)
        lay.addWidget(self.list, 1)
        self.set_items([])

    def set_items(self, detection) -> None:
        """Show the findings of a detection (or a list of {"piece", "reason"})."""
        self.items = review_items_of(detection)
        self.list.clear()
        for it in self.items:
            title = PIECE_TITLES.get(it.get("piece"), str(it.get("piece", "")))
            reason = str(it.get("reason", ""))
            # the reason often starts with its piece ("arms: ..."): say it once
            head = reason.split(":", 1)
            if len(head) == 2 and head[0].strip().replace(" ", "_") == it.get("piece"):
                reason = head[1].strip()
            row = QListWidgetItem(f"{title}: {reason}")
            row.setData(Qt.ItemDataRole.UserRole, it.get("piece"))
            if it.get("piece") == "arms":
                row.setForeground(QBrush(QColor("#b71c1c")))
            self.list.addItem(row)
        n = len(self.items)
        if n:
            self.header.setText(f"<b>{n} thing{'s' if n != 1 else ''} to check</b> in what was read "
                                "from the figure (arms first):")
        else:
            self.header.setText("Nothing to check: everything read from the figure was read confidently.")

    def status_text(self) -> str:
        """One line for the status bar: the first finding and how many more there are."""
        if not self.items:
            return ""
        first = self.items[0]["reason"]
        more = len(self.items) - 1
        return f"please check: {first}" + (f" (+{more} more in the Review tab)" if more else "")

    def tab_title(self) -> str:
        return f"Review ({len(self.items)})" if self.items else "Review"


def install_review_panel(window) -> ReviewPanel:
    """Add the panel as a tab of the window's bottom tab widget (``window.tabs``)."""
    panel = ReviewPanel()
    window.tabs.addTab(panel, panel.tab_title())
    window.doc.changed.connect(lambda _keys: refresh_review(window, panel))
    # a new figure: the previous figure's findings no longer apply (its reading refills them)
    window.doc.image_changed.connect(lambda: show_review(window, panel, []))
    return panel


def show_review(window, panel: ReviewPanel, detection) -> str:
    """Fill the panel from a new reading (a detection), retitle its tab and bring it to the front
    when there is something to check. Returns the status-bar text ('' when nothing needs review)."""
    panel.read_items = review_items_of(detection)
    panel.axes_confirmed = False
    panel.set_items(panel.read_items)
    idx = window.tabs.indexOf(panel)
    if idx >= 0:
        window.tabs.setTabText(idx, panel.tab_title())
        if panel.items:
            window.tabs.setCurrentIndex(idx)
    return panel.status_text()


def refresh_review(window, panel: ReviewPanel) -> None:
    """Re-filter the reading's findings against what the user has settled since (confirmed axes,
    arms pointed at their curves); undoing a click brings its finding back."""
    items = still_open(panel.read_items, window.doc.project.arms, panel.axes_confirmed)
    if [dict(i) for i in items] != panel.items:
        panel.set_items(items)
        idx = window.tabs.indexOf(panel)
        if idx >= 0:
            window.tabs.setTabText(idx, panel.tab_title())
