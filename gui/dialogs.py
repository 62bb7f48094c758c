"""Dialogs: non-blocking messages and the PDF page picker with crop.

Messages open window-modal with ``QMessageBox.open()`` (never a nested ``exec()``), so an
error raised inside a slot, a worker callback or the excepthook cannot dead-lock the event
loop, and tests can inspect ``window.messages``.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMessageBox, QRubberBand, QSpinBox, QVBoxLayout)


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
    """Pick a PDF page (thumbnails list what each page holds: blank, the KM figures found) and
    optionally drag a crop box around the figure. ``result_value()`` -> (page 0-based, crop
    (x0, y0, x1, y1) in pixels at ``dpi`` or None); ``panel_value()`` -> the figure (1-based)
    on that page. Opens on the first page with a figure."""

    PREVIEW_DPI = 50
    THUMB_DPI = 14
    MAX_SURVEYED = 40      # pages looked at for figures (a long article: the first 40)

    def __init__(self, path, n_pages: int, dpi: int = 200, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Choose a PDF page")
        self.path, self.dpi = path, dpi
        self.survey = self._survey(path, n_pages)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel(f"Page (1-{n_pages}):"))
        self.page = QSpinBox()
        self.page.setRange(1, n_pages)
        top.addWidget(self.page)
        top.addWidget(QLabel("Figure:"))
        self.panel = QSpinBox()
        self.panel.setRange(1, 1)
        top.addWidget(self.panel)
        top.addWidget(QLabel("Drag on the preview to crop to the figure (optional)."))
        top.addStretch(1)
        lay.addLayout(top)
        self.found = QLabel()
        self.found.setWordWrap(True)
        lay.addWidget(self.found)
        body = QHBoxLayout()
        self.thumbs = QListWidget()
        self.thumbs.setIconSize(QSize(90, 120))
        self.thumbs.setFixedWidth(230)
        body.addWidget(self.thumbs)
        self.preview = _CropLabel()
        self.preview.setMinimumSize(420, 500)
        body.addWidget(self.preview, 1)
        lay.addLayout(body, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self._scale = 1.0
        self._fill_thumbs(n_pages)
        first = self.survey.figures[0].page if self.survey is not None and self.survey.figures else 0
        self.page.setValue(first + 1)
        self.page.valueChanged.connect(self._render)
        self.thumbs.currentRowChanged.connect(lambda row: row >= 0 and self.page.setValue(row + 1))
        self._render()

    @classmethod
    def _survey(cls, path, n_pages: int):
        """What the first pages hold (digitize.vector.route.survey_pdf); None if unreadable."""
        try:
            from digitize.vector.route import survey_pdf

            return survey_pdf(path, range(min(n_pages, cls.MAX_SURVEYED)))
        except Exception:  # noqa: BLE001 - the picker still works without the survey
            return None

    def page_summary(self, page: int) -> str:
        """One line on what ``page`` (0-based) holds."""
        if self.survey is None or page >= self.MAX_SURVEYED:
            return "not examined"
        figs = self.survey.on_page(page)
        if figs:
            return "; ".join(f.describe().split(": ", 1)[1] for f in figs)
        return "blank" if page in self.survey.blank_pages else "no KM figure found"

    def _fill_thumbs(self, n_pages: int) -> None:
        from digitize.image import load_image

        from gui.image_view import numpy_to_qimage

        for i in range(min(n_pages, self.MAX_SURVEYED)):
            figs = self.survey.on_page(i) if self.survey is not None else []
            text = f"Page {i + 1}: " + (f"{len(figs)} figure(s)" if figs else self.page_summary(i))
            item = QListWidgetItem(text)
            try:
                img = load_image(self.path, page=i, dpi=self.THUMB_DPI).copy()
                img[[0, -1], :] = 150           # a frame, so a blank page still shows as a page
                img[:, [0, -1]] = 150
                item.setIcon(QIcon(QPixmap.fromImage(numpy_to_qimage(img))))
            except Exception:  # noqa: BLE001 - a page that cannot render keeps its text
                pass
            item.setToolTip(self.page_summary(i))
            self.thumbs.addItem(item)

    def _render(self):
        from digitize.image import load_image

        from gui.image_view import numpy_to_qimage

        page = self.page.value() - 1
        img = load_image(self.path, page=page, dpi=self.PREVIEW_DPI)
        pm = QPixmap.fromImage(numpy_to_qimage(img))
        self._scale = 1.0
        if pm.height() > 700:
            self._scale = 700 / pm.height()
            pm = pm.scaledToHeight(700, Qt.TransformationMode.SmoothTransformation)
        self.preview.setPixmap(pm)
        self.preview.crop = QRect()
        self.preview.band.hide()
        n_figs = len(self.survey.on_page(page)) if self.survey is not None else 0
        self.panel.setRange(1, max(1, n_figs))
        self.panel.setEnabled(n_figs > 1)
        self.found.setText(f"Page {page + 1}: {self.page_summary(page)}")
        if self.thumbs.currentRow() != page and page < self.thumbs.count():
            self.thumbs.blockSignals(True)
            self.thumbs.setCurrentRow(page)
            self.thumbs.blockSignals(False)

    def panel_value(self) -> int:
        """The figure on the chosen page, 1-based (as ``kmrecon extract --panel``)."""
        return self.panel.value()

    def result_value(self) -> tuple[int, tuple[int, int, int, int] | None]:
        crop = None
        r = self.preview.crop
        if not r.isNull():
            f = self.dpi / self.PREVIEW_DPI / self._scale
            crop = tuple(int(round(v)) for v in np.array([r.left(), r.top(), r.right() + 1, r.bottom() + 1]) * f)
        return self.page.value() - 1, crop
