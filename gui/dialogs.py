"""Dialogs: non-blocking messages and the PDF page picker with crop.

Messages open window-modal with ``QMessageBox.open()`` (never a nested ``exec()``), so an
error raised inside a slot, a worker callback or the excepthook cannot dead-lock the event
loop, and tests can inspect ``window.messages``.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QMessageBox,
                               QRubberBand, QSpinBox, QVBoxLayout)


def show_message(parent, title: str, text: str, kind: str = "error", detail: str | None = None):
    """Show a message without blocking; it is also appended to ``parent.messages`` (kind, title,
    text) when the parent keeps such a list."""
    icon = {"error": QMessageBox.Icon.Critical, "warning": QMessageBox.Icon.Warning}.get(
        kind, QMessageBox.Icon.Information)
    if hasattr(parent, "messages"):
        parent.messages.append((kind, title, text))
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if detail:
        box.setDetailedText(detail)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


class _CropLabel(QLabel):
    """Preview that lets the user drag a crop rectangle (widget pixels)."""

    def __init__(self):
        super().__init__()
        self.band = QRubberBand(QRubberBand.Shape.Rectangle, self)
        self.origin = QPoint()
        self.crop = QRect()
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def mousePressEvent(self, e):
        self.origin = e.position().toPoint()
        self.band.setGeometry(QRect(self.origin, QSize()))
        self.band.show()

    def mouseMoveEvent(self, e):
        self.band.setGeometry(QRect(self.origin, e.position().toPoint()).normalized())

    def mouseReleaseEvent(self, e):
        r = QRect(self.origin, e.position().toPoint()).normalized()
        self.crop = r if r.width() > 8 and r.height() > 8 else QRect()
        if self.crop.isNull():
            self.band.hide()


class PdfPageDialog(QDialog):
    """Pick a PDF page and optionally drag a crop box around the figure. ``result_value()`` ->
    (page 0-based, crop (x0, y0, x1, y1) in pixels at ``dpi`` or None)."""

    PREVIEW_DPI = 50

    def __init__(self, path, n_pages: int, dpi: int = 200, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Choose a PDF page")
        self.path, self.dpi = path, dpi
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel(f"Page (1-{n_pages}):"))
        self.page = QSpinBox()
        self.page.setRange(1, n_pages)
        top.addWidget(self.page)
        top.addWidget(QLabel("Drag on the preview to crop to the figure (optional)."))
        top.addStretch(1)
        lay.addLayout(top)
        self.preview = _CropLabel()
        self.preview.setMinimumSize(420, 500)
        lay.addWidget(self.preview, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.page.valueChanged.connect(self._render)
        self._scale = 1.0
        self._render()

    def _render(self):
        from digitize.image import load_image

        from gui.image_view import numpy_to_qimage

        img = load_image(self.path, page=self.page.value() - 1, dpi=self.PREVIEW_DPI)
        pm = QPixmap.fromImage(numpy_to_qimage(img))
        self._scale = 1.0
        if pm.height() > 700:
            self._scale = 700 / pm.height()
            pm = pm.scaledToHeight(700, Qt.TransformationMode.SmoothTransformation)
        self.preview.setPixmap(pm)
        self.preview.crop = QRect()
        self.preview.band.hide()

    def result_value(self) -> tuple[int, tuple[int, int, int, int] | None]:
        crop = None
        r = self.preview.crop
        if not r.isNull():
            f = self.dpi / self.PREVIEW_DPI / self._scale
            crop = tuple(int(round(v)) for v in np.array([r.left(), r.top(), r.right() + 1, r.bottom() + 1]) * f)
        return self.page.value() - 1, crop
