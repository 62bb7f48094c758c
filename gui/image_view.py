"""The figure view: image, calibration handles, calibrated axes, traced steps, masks, overlays.

A ``QGraphicsView`` whose scene coordinates ARE image pixels (x right, y down), so
``view.mapFromScene(QPointF(px, py))`` gives the widget position of an image pixel.
Markers ignore the zoom (constant on-screen size). The view never edits the project
itself: every gesture ends in ``Document.edit`` (one undo step).

Tools (``set_tool``): "edit" (drag points/handles, box-select, Delete), "calibrate" (click
X1, X2, Y1, Y2 in turn), "eyedropper" (pick the current arm's colour), "add_arm" (a new arm from
a click on its curve: colour and line style read there), "add_point",
"censor" (click adds a censor mark on the current arm; click on a mark removes it),
"mask_rect", "mask_brush". Always: the wheel or +/- zoom at the cursor, middle-drag or
Space+drag pans, arrow keys nudge the selected handle/points (Shift: 10 px).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (QBrush, QColor, QCursor, QFont, QImage, QPainter, QPainterPath,
                           QPen, QPixmap)
from PySide6.QtWidgets import (QGraphicsEllipseItem, QGraphicsItem, QGraphicsPathItem,
                               QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene,
                               QGraphicsSimpleTextItem, QGraphicsView, QLabel)

from kmrecon.project import CALIBRATION_KEYS, MaskShape

from gui.document import Document, new_merge_id

HANDLE_COLORS = {"x1": "#d81b60", "x2": "#d81b60", "y1": "#1e88e5", "y2": "#1e88e5"}
MARKER_SIZE = 5.0          # point handle, screen pixels (ItemIgnoresTransformations)
MAX_MARKERS = 3000         # above this many traced points, handles appear only when zoomed in (each
                           # redraw of 3000 handles costs ~0.2 s, their painting ~0.2 s)


def tick_text(v: float, span: float) -> str:
    """An axis value for an overlay label, rounded to the precision the axis span warrants
    (values come from pixel arithmetic: 0 arrives as 2.2e-16, 0.6 as 0.6000000000000001)."""
    if not np.isfinite(v):
        return str(v)
    span = abs(span) if np.isfinite(span) and span > 0 else max(abs(v), 1.0)
    digits = max(0, int(-np.floor(np.log10(span))) + 5)
    v = round(float(v), digits)
    if abs(v) < 10.0 ** -digits:
        v = 0.0
    return f"{v:.6g}"


def role_of(item) -> tuple | None:
    """("pt"|"cen"|"cal", arm index or handle key, point index) of an editable marker, else None.
    Kept as a Python attribute: PySide6 6.12 mis-counts references of tuples put in
    QGraphicsItem.setData (a crash on redraw)."""
    return getattr(item, "role", None)


def numpy_to_qimage(image: np.ndarray) -> QImage:
    """HxWx3 uint8 RGB -> QImage (copied, so the array may be freed)."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _step_order(points: np.ndarray) -> np.ndarray:
    """Step corners in drawing order: by x, and the corners of one drop (x within half a pixel:
    on a slightly rotated calibration a drop's lower corner maps a fraction of a pixel left of
    its upper one) from the top down (y down = lower survival)."""
    p = points[np.argsort(points[:, 0], kind="stable")]
    group = np.r_[0, np.cumsum(np.diff(p[:, 0]) > 0.5)]
    return p[np.lexsort((p[:, 1], group))]


def step_path_px(points: np.ndarray) -> np.ndarray:
    """Pixel polyline of a right-continuous step function through points (sorted by x):
    horizontal to the next x, then vertical (y down = lower survival)."""
    if len(points) == 0:
        return points
    p = _step_order(np.asarray(points, float))
    out = [p[0]]
    for a, b in zip(p[:-1], p[1:]):
        out.append((b[0], a[1]))
        out.append(b)
    return np.asarray(out, float)


def curve_y_at(points: np.ndarray, x: float) -> float | None:
    """y pixel of the traced step line at pixel column x (None outside the traced span)."""
    if len(points) == 0:
        return None
    p = points[np.argsort(points[:, 0], kind="stable")]
    if x < p[0, 0] or x > p[-1, 0]:
        return None
    i = int(np.searchsorted(p[:, 0], x, side="right")) - 1
    return float(p[max(i, 0), 1])


def nice_ticks(lo: float, hi: float, n: int = 6) -> np.ndarray:
    """Round-number ticks covering [lo, hi] (1-2-5 steps)."""
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        return np.array([lo])
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = np.ceil(lo / step - 1e-9) * step
    return np.arange(start, hi + step * 1e-6, step)


ROUND_MANTISSAS = (1.0, 2.0, 2.5, 5.0)          # 1-2-5 steps (matplotlib, R defaults)
TIME_MANTISSAS = (1.2, 3.0, 6.0)               # 3-, 6-, 12-month steps common in KM figures


def overlay_ticks(v1: float, v2: float, hints=None, n_target: int = 5) -> np.ndarray:
    """Values (axis units) for the calibration overlay's ticks: the two typed calibration
    values and equal subdivisions of the span between them.

    The user reads both calibration values off printed ticks, so subdividing their span into
    the printed number of intervals puts every overlay tick on a printed tick; a tick that
    does not coincide then shows a wrong value or click at a glance. The number of intervals
    is taken from ``hints`` (e.g. the risk-table times, which are printed at the ticks) when
    they are equally spaced and divide the span; otherwise the count in 2-10 closest to
    ``n_target`` whose step is a round number (1-2-2.5-5, or 3/6/12 as for months), the
    1-2-5 steps winning ties."""
    lo, hi = (float(min(v1, v2)), float(max(v1, v2)))
    span = hi - lo
    if not (np.isfinite(lo) and np.isfinite(hi)) or span <= 0:
        return np.array([lo]) if np.isfinite(lo) else np.empty(0)
    tol = 1e-6 * span
    if hints is not None:
        h = np.unique(np.asarray([v for v in hints if v is not None], float))
        h = h[np.isfinite(h) & (h >= lo - tol) & (h <= hi + tol)]
        if h.size >= 3:
            d = np.diff(h)
            step = float(np.median(d))
            n = span / step if step > 0 else 0
            on_grid = np.abs((h - lo) / step - np.rint((h - lo) / step)) < 1e-3 if step > 0 else [False]
            if (step > 0 and np.allclose(d, step, rtol=1e-3) and abs(n - round(n)) < 1e-3
                    and 2 <= round(n) <= 20 and np.all(on_grid)):
                return np.linspace(lo, hi, int(round(n)) + 1)
    best, best_key = 1, None
    for n in range(2, 11):
        step = span / n
        mant = step / 10 ** np.floor(np.log10(step) + 1e-9)
        if any(abs(mant - m) < 1e-6 for m in ROUND_MANTISSAS):
            kind = 0
        elif any(abs(mant - m) < 1e-6 for m in TIME_MANTISSAS):
            kind = 1
        else:
            continue
        key = (abs(n - n_target), kind, -n)
        if best_key is None or key < best_key:
            best, best_key = n, key
    return np.linspace(lo, hi, best + 1)


class _Selectable:
    """Mixin: restyle on selection via itemChange. (No Python ``paint`` overrides anywhere in
    this module: PySide6 6.12 drops a reference to None on every call of an overridden
    ``paint(painter, option, widget=None)``, which crashes the interpreter after a few
    thousand repaints.)"""

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.restyle()
        return super().itemChange(change, value)


class Marker(QGraphicsRectItem):
    """A step-corner handle of constant screen size (a small light square: white fill, thin
    outline in the arm's colour), selectable. Small and light so that at fit-to-window zoom a
    dense trace (a corner every 1-2 image pixels) still shows its line through the handles and
    a sparse one is not hidden under them. There are thousands of them, so no Python
    ``itemChange``: the view restyles them on the scene's ``selectionChanged``."""

    def __init__(self, x, y, color: QColor, role, size=MARKER_SIZE):
        super().__init__(-size / 2, -size / 2, size, size)
        self.color = QColor(color)
        self.setPos(x, y)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.role = role
        self.setZValue(6)
        self.restyle()

    def restyle(self):
        sel = self.isSelected()
        self.setBrush(QBrush(QColor("#ffeb3b") if sel else QColor(255, 255, 255, 150)))
        pen = QPen(QColor("#e65100") if sel else self.color, 1.5 if sel else 1.0)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.setZValue(6.5 if sel else 6)


def _plus_path(r: float) -> QPainterPath:
    path = QPainterPath()
    path.moveTo(-r, 0); path.lineTo(r, 0)
    path.moveTo(0, -r); path.lineTo(0, r)
    return path


class CensorMarker(_Selectable, QGraphicsPathItem):
    """A '+' censor mark of constant screen size: white halo with the arm colour on top."""

    def __init__(self, x, y, color: QColor, role):
        super().__init__(_plus_path(4))
        self.color = QColor(color)
        self.setPos(x, y)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.role = role
        self.setZValue(7)
        self.top = QGraphicsPathItem(_plus_path(4), self)
        self.restyle()

    def shape(self):
        p = QPainterPath()
        p.addRect(QRectF(-5, -5, 10, 10))
        return p

    def restyle(self):
        sel = self.isSelected()
        self.setPen(QPen(QColor("#fbc02d") if sel else QColor(255, 255, 255, 200), 5 if sel else 3.5))
        self.top.setPen(QPen(self.color, 1.6))


class CalibrationHandle(_Selectable, QGraphicsEllipseItem):
    """Circle + crosshair + "X1 = 0" label for one calibration point (constant screen size)."""

    def __init__(self, key: str, x: float, y: float, label: str):
        super().__init__(-7, -7, 14, 14)
        self.key = key
        self.color = QColor(HANDLE_COLORS[key])
        self.setPos(x, y)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.role = ("cal", key, 0)
        self.setZValue(10)
        cross = QPainterPath()
        for a, b in (((-13, 0), (-4, 0)), ((4, 0), (13, 0)), ((0, -13), (0, -4)), ((0, 4), (0, 13))):
            cross.moveTo(*a); cross.lineTo(*b)
        self.cross_halo = QGraphicsPathItem(cross, self)
        self.cross_halo.setPen(QPen(QColor("white"), 4))
        self.cross = QGraphicsPathItem(cross, self)
        text = QGraphicsSimpleTextItem(label)
        f = QFont(); f.setPointSize(9); f.setBold(True)
        text.setFont(f)
        text.setBrush(self.color)
        br = text.boundingRect()
        # label sits below-right for X points and right of Y points, so X1/Y1 at the origin do not collide
        ox, oy = (10, 8) if key.startswith("x") else (12, -br.height() - 8)
        bg = QGraphicsRectItem(QRectF(ox - 3, oy - 1, br.width() + 6, br.height() + 2), self)
        bg.setBrush(QColor(255, 255, 255, 225)); bg.setPen(QPen(self.color, 1))
        text.setParentItem(self)
        text.setPos(ox, oy)
        self.restyle()

    def restyle(self):
        sel = self.isSelected()
        c = QColor("#fbc02d") if sel else self.color
        self.setPen(QPen(c, 3 if sel else 2))
        self.setBrush(QColor(255, 255, 255, 60))
        self.cross.setPen(QPen(c, 2))


class Loupe(QLabel):
    """Magnifier following the cursor: 4x crop of the image with a crosshair and the data
    coordinates under the cursor (when calibrated)."""

    SIZE = 150
    ZOOM = 4

    def __init__(self, parent):
        super().__init__(parent)
        self.setFixedSize(self.SIZE, self.SIZE + 18)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("background: white; border: 1px solid #555;")
        self.hide()

    def show_at(self, qimage: QImage, scene_pt: QPointF, widget_pt, text: str):
        half = self.SIZE // (2 * self.ZOOM)
        x, y = int(scene_pt.x()), int(scene_pt.y())
        crop = qimage.copy(x - half, y - half, 2 * half, 2 * half)
        pm = QPixmap(self.SIZE, self.SIZE + 18)
        pm.fill(QColor("white"))
        p = QPainter(pm)
        p.drawImage(QRectF(0, 0, self.SIZE, self.SIZE), crop)
        c = self.SIZE / 2
        p.setPen(QPen(QColor(255, 0, 0, 200), 1))
        p.drawLine(QPointF(c, 0), QPointF(c, c - 4)); p.drawLine(QPointF(c, c + 4), QPointF(c, self.SIZE))
        p.drawLine(QPointF(0, c), QPointF(c - 4, c)); p.drawLine(QPointF(c + 4, c), QPointF(self.SIZE, c))
        p.setPen(QColor("black"))
        f = p.font(); f.setPointSize(8); p.setFont(f)
        p.drawText(QRectF(2, self.SIZE, self.SIZE - 4, 18), Qt.AlignmentFlag.AlignCenter, text)
        p.end()
        self.setPixmap(pm)
        parent = self.parentWidget()
        px, py = widget_pt.x() + 24, widget_pt.y() + 24
        if px + self.width() > parent.width():
            px = widget_pt.x() - 24 - self.width()
        if py + self.height() > parent.height():
            py = widget_pt.y() - 24 - self.height()
        self.move(max(0, px), max(0, py))
        self.show()
        self.raise_()


class ImageView(QGraphicsView):
    """See the module docstring. Signals: ``cursor_data(text)`` for the status bar,
    ``calibration_point_placed(key)`` so the calibration panel can ask for the value."""

    cursor_data = Signal(str)
    calibration_point_placed = Signal(str)
    tool_changed = Signal(str)
    status = Signal(str)
    #: an arm was added by clicking its curve (tool "add_arm"): its index
    arm_added = Signal(int)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.setScene(QGraphicsScene(self))
        self._styled: set = set()              # markers drawn selected (see _restyle_selection)
        self.scene().selectionChanged.connect(self._restyle_selection)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setMouseTracking(True)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.ContainsItemShape)  # box = points inside
        self.setAcceptDrops(False)  # the main window takes dropped files
        self.viewport().setAcceptDrops(False)
        self.setBackgroundBrush(QColor("#e6e6e6"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.tool = "edit"
        self.current_arm = 0
        self.next_cal_key: str | None = None   # calibrate tool: which handle the next click places
        self.brush_radius = 6.0
        self.loupe_enabled = True
        self.loupe = Loupe(self.viewport())
        self._qimage: QImage | None = None
        self._pixmap_item: QGraphicsPixmapItem | None = None
        self._overlay_items: list[QGraphicsItem] = []
        self._mask_items: list[QGraphicsItem] = []
        self._recon_items: list[QGraphicsItem] = []
        self._drag = None          # ("pt", arm, idx) / ("cal", key) / ("pan",) / ("mask_rect", start) / ("brush", pts)
        self._space = False
        self._selected_handle: str | None = None
        self._nudge_id = new_merge_id()
        self._temp_item: QGraphicsItem | None = None
        doc.image_changed.connect(self._on_image)
        doc.changed.connect(self._on_changed)
        doc.reconstruction_changed.connect(self._draw_reconstruction)
        self._show_empty_hint()

    # -- public -------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.tool = tool
        if tool == "calibrate" and self.next_cal_key is None:
            self.next_cal_key = self._first_unplaced()
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag if tool == "edit"
                         else QGraphicsView.DragMode.NoDrag)
        cursors = {"edit": Qt.CursorShape.ArrowCursor, "eyedropper": Qt.CursorShape.PointingHandCursor,
                   "add_arm": Qt.CursorShape.PointingHandCursor}
        self.viewport().setCursor(cursors.get(tool, Qt.CursorShape.CrossCursor))
        self.tool_changed.emit(tool)

    def set_current_arm(self, i: int) -> None:
        self.current_arm = i

    def fit(self) -> None:
        self._auto_fit = True
        self.setSceneRect(QRectF())        # back to the scene's rect (zoom may have widened it)
        if self._pixmap_item is not None:
            # the scene is the image plus just enough margin for the handle labels at its
            # edges, so fitting it shows every label with no scrollbars
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            self._update_marker_visibility()
        elif getattr(self, "empty_hint", None) is not None:   # the "open a figure" text, whole
            self.resetTransform()
            r, vp = self.scene().sceneRect(), self.viewport().rect()
            if r.width() > vp.width() or r.height() > vp.height():
                self.fitInView(r, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float, anchor=None) -> None:
        """Scale by ``factor`` keeping the image pixel under ``anchor`` (viewport point; default
        the mouse cursor when it is over the view, else the centre) where it is."""
        s = self.transform().m11() * factor
        self._auto_fit = False
        if not 0.02 < s < 64:
            return
        vp = self.viewport()
        if anchor is None:
            cur = vp.mapFromGlobal(QCursor.pos())
            anchor = cur if vp.rect().contains(cur) else vp.rect().center()
        anchor = QPoint(int(anchor.x()), int(anchor.y()))
        before = self.mapToScene(anchor)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(factor, factor)
        if self._pixmap_item is not None:
            # the view's scene rect covers the view placed with ``before`` under the anchor,
            # and half a window beyond the figure for panning: a figure narrower than the
            # window would otherwise be re-centred and the pixel under the cursor would slide
            # away (fit() restores the scene's own rect)
            w, h = vp.width() / s, vp.height() / s
            vis = QRectF(before.x() - anchor.x() / s, before.y() - anchor.y() / s, w, h)
            self.setSceneRect(self.scene().sceneRect().adjusted(-w / 2, -h / 2, w / 2, h / 2).united(vis))
        delta = self.mapFromScene(before) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self._update_marker_visibility()

    def markers_visible(self) -> bool:
        """Point handles are shown at any zoom while there are at most ``MAX_MARKERS`` of them
        (they are small and light, so a dense trace stays readable); beyond that, only when
        zoomed in enough to tell them apart (median gap between neighbouring step corners
        >= 6 screen px), as thousands of items at fit-to-window zoom freeze the view."""
        arms = self.doc.project.arms
        if sum(len(a.points_px) for a in arms) <= MAX_MARKERS:
            return True
        gaps = [np.hypot(*np.diff(a.points_px[np.argsort(a.points_px[:, 0])], axis=0).T)
                for a in arms if len(a.points_px) > 2]
        if not gaps:
            return True
        return float(np.median(np.concatenate(gaps))) * self.transform().m11() >= 6.0

    def _update_marker_visibility(self):
        """Create the point markers only when they can be told apart (thousands of items at
        fit-to-window zoom cost a visible freeze and hide the curve)."""
        show = self.markers_visible()
        if show != getattr(self, "_markers_drawn", True) and not getattr(self, "_in_draw", False):
            self._draw_overlays()
            return
        if not show and self.doc.project.arms and getattr(self, "_hinted", False) is False:
            self._hinted = True
            self.status.emit("Zoom in (mouse wheel or +) to see and edit individual points")

    def scene_to_widget(self, x: float, y: float):
        """Viewport widget position of image pixel (x, y) — for tests and tools."""
        return self.mapFromScene(QPointF(x, y))

    def _selected(self, kind: str) -> dict[int, list[int]]:
        """Selected items of one kind ("pt" traced point, "cen" censor mark): {arm: [indices]}."""
        out: dict[int, list[int]] = {}
        for it in self.scene().selectedItems():
            role = role_of(it)
            if role and role[0] == kind:
                out.setdefault(role[1], []).append(role[2])
        return out

    def selected_points(self) -> dict[int, list[int]]:
        return self._selected("pt")

    def selected_censors(self) -> dict[int, list[int]]:
        return self._selected("cen")

    def delete_selected(self) -> None:
        pts, cens = self.selected_points(), self.selected_censors()
        if not pts and not cens:
            return
        arms = self.doc.arms_copy()
        n = 0
        # the redraw re-selects by (kind, arm, index): the deleted items' indices now belong
        # to their neighbours, which must not inherit the selection (a second Delete would
        # remove them too)
        self.scene().clearSelection()
        for i, idx in pts.items():
            arms[i].points_px = np.delete(arms[i].points_px, idx, axis=0); n += len(idx)
        for i, idx in cens.items():
            arms[i].censor_px = np.delete(arms[i].censor_px, idx, axis=0); n += len(idx)
        self.doc.edit({"arms": arms}, f"Delete {n} point(s)")

    # -- drawing -----------------------------------------------------------------------------
    def _on_image(self):
        sc = self.scene()
        sc.clear()
        self._styled = set()
        self._overlay_items, self._mask_items, self._recon_items = [], [], []
        self._pixmap_item = None
        self._qimage = None
        self.next_cal_key = None
        if self.doc.image is None:
            self._show_empty_hint()
            return
        pre = getattr(self.doc, "qimage", None)    # converted in the loading worker, if available
        self._qimage = pre if pre is not None else numpy_to_qimage(self.doc.image)
        self._pixmap_item = sc.addPixmap(QPixmap.fromImage(self._qimage))
        self._pixmap_item.setZValue(0)
        self._pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        # keep the scaled figure rendered at screen resolution: overlay edits then repaint
        # from the cache instead of rescaling a 12-megapixel image on every frame
        self._pixmap_item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        h, w = self.doc.image.shape[:2]
        m = max(70.0, 0.07 * max(w, h))   # room for handle labels at the image edge
        sc.setSceneRect(QRectF(-m, -m, w + 2 * m, h + 2 * m))
        self.fit()

    def _show_empty_hint(self):
        """What to do first, in the middle of the empty view."""
        sc = self.scene()
        it = sc.addText("Open a Kaplan–Meier figure to start:\n\n"
                        "File > Open (Ctrl+O): an image, a PDF page or a saved project\n"
                        "or drop a file here, or paste an image (Ctrl+V)")
        f = it.font(); f.setPointSize(12); it.setFont(f)
        it.setDefaultTextColor(QColor("#546e7a"))
        sc.setSceneRect(it.boundingRect().adjusted(-20, -20, 20, 20))
        self.empty_hint = it

    def _on_changed(self, fields):
        if self.doc.image is None:
            return
        if not fields:
            return
        if "masks" in fields:
            self._draw_masks()
        hints_moved = "risk_table" in fields and self._risk_times() != getattr(self, "_drawn_hints", None)
        if {"calibration", "arms"} & set(fields) or hints_moved:
            self._draw_overlays()
            self._draw_reconstruction()

    def _restyle_selection(self):
        """Point handles (no itemChange of their own) follow the selection here."""
        now = {it for it in self.scene().selectedItems() if isinstance(it, Marker)}
        for it in now ^ self._styled:
            try:
                it.restyle()
            except RuntimeError:          # removed from the scene and deleted meanwhile
                pass
        self._styled = now

    def _clear(self, items):
        sc = self.scene()
        for it in items:
            if it.scene() is sc:
                sc.removeItem(it)
        items.clear()

    def _draw_masks(self):
        self._clear(self._mask_items)
        for m in self.doc.project.masks:
            path = QPainterPath()
            pts = np.asarray(m.points, float)
            if m.kind == "rect":
                path.addRect(QRectF(QPointF(*pts[0]), QPointF(*pts[1])).normalized())
            else:
                for x, y in pts:
                    path.addEllipse(QPointF(x, y), m.radius, m.radius)
                path = path.simplified()
            it = QGraphicsPathItem(path)
            it.setBrush(QColor(255, 0, 0, 70))
            it.setPen(QPen(QColor(200, 0, 0, 160), 0))
            it.setZValue(2)
            self.scene().addItem(it)
            self._mask_items.append(it)

    def _draw_overlays(self):
        """Calibration handles, calibrated axes, and per-arm traced steps + censor marks."""
        sel_keys = {role_of(it) for it in self.scene().selectedItems()}
        # selection is kept by index, so only for arms whose points/marks kept their count
        # (an undo, add or delete renumbers them: then the old indices mean other items)
        counts = {(k, i): len(a.points_px if k == "pt" else a.censor_px)
                  for i, a in enumerate(self.doc.project.arms) for k in ("pt", "cen")}
        old_counts = getattr(self, "_drawn_counts", {})
        sel_keys = {r for r in sel_keys if not r or r[0] == "cal"
                    or counts.get(r[:2]) == old_counts.get(r[:2])}
        self._drawn_counts = counts
        self._clear(self._overlay_items)
        self._in_draw = True
        self._markers_drawn = show_markers = self.markers_visible()
        sc = self.scene()
        cal = self.doc.project.calibration
        for key in CALIBRATION_KEYS:
            p = cal.get(key)
            if isinstance(p, dict):
                v = p.get("value")
                label = f"{key.upper()} = {v:g}" if v is not None else f"{key.upper()} = ?"
                h = CalibrationHandle(key, p["px"], p["py"], label)
                sc.addItem(h)
                h.setSelected(("cal", key, 0) in sel_keys or key == self._selected_handle)
                self._overlay_items.append(h)
        calib = self.doc.calibration()
        if calib is not None:
            self._draw_axes(calib)
        for i, arm in enumerate(self.doc.project.arms):
            color = QColor(*arm.rgb)
            line = step_path_px(arm.points_px)
            if len(line) > 1:
                path = QPainterPath(QPointF(*line[0]))
                for x, y in line[1:]:
                    path.lineTo(x, y)
                halo = QGraphicsPathItem(path)
                hp = QPen(QColor(255, 255, 255, 200), 4, Qt.PenStyle.SolidLine,
                          Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
                hp.setCosmetic(True)
                halo.setPen(hp)
                halo.setZValue(3)
                pen = QPen(color.darker(130), 1.8)
                pen.setCosmetic(True)
                it = QGraphicsPathItem(path)
                it.setPen(pen)
                it.setZValue(4)
                sc.addItem(halo); sc.addItem(it)
                self._overlay_items += [halo, it]
            for j, (x, y) in enumerate(arm.points_px if show_markers else []):
                m = Marker(x, y, color, ("pt", i, j))
                sc.addItem(m)
                if ("pt", i, j) in sel_keys:
                    m.setSelected(True)
                self._overlay_items.append(m)
            for j, (x, y) in enumerate(arm.censor_px):
                m = CensorMarker(x, y, color.darker(150), ("cen", i, j))
                sc.addItem(m)
                if ("cen", i, j) in sel_keys:
                    m.setSelected(True)
                self._overlay_items.append(m)
        self._in_draw = False
        self._update_marker_visibility()

    def _draw_axes(self, calib):
        """The calibrated axes drawn back over the image, with a tick mark, a grid line and a
        label at each ``overlay_ticks`` value (the calibration values and equal subdivisions
        between them), so each overlay tick should sit on a printed tick; a wrong click or
        value shows at once as ticks that do not."""
        c = self.doc.project.calibration
        try:
            tv = [float(c[k]["value"]) for k in ("x1", "x2")]
            tx = [float(calib.to_data(c[k]["px"], c[k]["py"])[0]) for k in ("x1", "x2")]
            sy = [float(calib.to_data(c[k]["px"], c[k]["py"])[1]) for k in ("y1", "y2")]
        except Exception:  # noqa: BLE001 - overlay only; a bad calibration is reported elsewhere
            return
        t0, t1 = min(tx), max(tx)
        s0, s1 = min(sy), max(sy)
        if calib.log_x:
            xt = 10.0 ** np.arange(np.floor(np.log10(max(t0, 1e-12))), np.ceil(np.log10(t1)) + 1)
            xt = np.unique(np.concatenate([[t0, t1], xt[(xt >= t0 * 0.999) & (xt <= t1 * 1.001)]]))
        else:
            self._drawn_hints = self._risk_times()
            xt = overlay_ticks(*tv, hints=self._drawn_hints)
        pct = self.doc.project.calibration.get("y_percent")
        if pct is None:
            pct = max(abs(c["y1"]["value"]), abs(c["y2"]["value"])) > 1.5
        yt = overlay_ticks(*sy)
        color = QColor(0, 150, 136)
        pen = QPen(color, 2)
        pen.setCosmetic(True)
        sc = self.scene()

        def line(ta, sa, tb, sb):
            (xa, xb), (ya, yb) = calib.to_pixel(np.array([ta, tb]), np.array([sa, sb]))
            it = sc.addLine(float(xa), float(ya), float(xb), float(yb), pen)
            it.setZValue(5)
            self._overlay_items.append(it)
            return it

        def tick(t, s, dx, dy):
            """A short solid mark (screen pixels) out of the axis, over the printed tick."""
            x, y = calib.to_pixel(np.array([t]), np.array([s]))
            it = sc.addLine(0.0, 0.0, dx, dy, QPen(color, 2))
            it.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            it.setPos(float(x[0]), float(y[0]))
            it.setZValue(5)
            self._overlay_items.append(it)

        line(t0, s0, t1, s0)
        line(t0, s0, t0, s1)
        grid = QPen(QColor(0, 150, 136, 90), 1, Qt.PenStyle.DashLine)
        grid.setCosmetic(True)
        for t in xt:
            line(t, s0, t, s1).setPen(grid)
            tick(t, s0, 0.0, 9.0)
            self._label(calib, t, s0, tick_text(t, t1 - t0), color, dy=-18)   # inside the plot, above the axis
        for s in yt:
            line(t0, s, t1, s).setPen(grid)
            tick(t0, s, -9.0, 0.0)
            self._label(calib, t0, s, f"{tick_text(s * 100, (s1 - s0) * 100)}%" if pct
                        else tick_text(s, s1 - s0), color, dx=6)  # right of the axis
        self.overlay_tick_values = (np.asarray(xt, float), np.asarray(yt, float))

    def _risk_times(self) -> list[float]:
        """Risk-table times as typed (printed under the ticks in most KM figures)."""
        out = []
        for t in self.doc.project.risk_table.times:
            try:
                out.append(float(str(t).strip().replace(",", ".")))
            except ValueError:
                continue
        return out

    def _label(self, calib, t, s, text, color, dx=0, dy=0, right=False):
        x, y = calib.to_pixel(np.array([t]), np.array([s]))
        it = QGraphicsSimpleTextItem(text)
        it.setBrush(color)
        f = it.font(); f.setBold(True); f.setPointSize(8); it.setFont(f)
        it.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        br = it.boundingRect()
        it.setPos(float(x[0]), float(y[0]))
        it.setTransformOriginPoint(0, 0)
        # offsets are in screen pixels thanks to ItemIgnoresTransformations on a child-free item
        ox = (dx - br.width() if right else dx) if dx else -br.width() / 2
        oy = dy if dy else -br.height() / 2
        bg = QGraphicsRectItem(QRectF(ox - 1, oy, br.width() + 2, br.height()))
        bg.setBrush(QColor(255, 255, 255, 200)); bg.setPen(Qt.PenStyle.NoPen)
        bg.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        bg.setPos(float(x[0]), float(y[0])); bg.setZValue(5)
        it.setPos(float(x[0]), float(y[0]))
        it.setZValue(5.1)
        self.scene().addItem(bg)
        self.scene().addItem(it)
        # shift text inside its own (screen-pixel) coordinates
        it.setTransform(it.transform().translate(ox, oy))
        self._overlay_items += [bg, it]

    def _draw_reconstruction(self):
        self._clear(self._recon_items)
        ipd = self.doc.current_ipd()
        calib = self.doc.calibration()
        if ipd is None or calib is None or self.doc.image is None:
            return
        from lifelines import KaplanMeierFitter

        for arm in self.doc.project.arms:
            sub = ipd[ipd["arm"] == arm.name]
            if sub.empty:
                continue
            sf = KaplanMeierFitter().fit(sub["time"], sub["event"]).survival_function_
            t = sf.index.to_numpy(float)
            s = sf.iloc[:, 0].to_numpy(float)
            xs, ys = calib.to_pixel(t, s)
            pts = step_path_px(np.column_stack([xs, ys]))
            path = QPainterPath(QPointF(*pts[0]))
            for x, y in pts[1:]:
                path.lineTo(x, y)
            it = QGraphicsPathItem(path)
            pen = QPen(QColor(255, 111, 0, 230), 2.0, Qt.PenStyle.DashLine)   # orange: reconstruction
            pen.setCosmetic(True)
            it.setPen(pen)
            it.setZValue(4.5)
            self.scene().addItem(it)
            self._recon_items.append(it)

    # -- helpers -------------------------------------------------------------------------------
    def _first_unplaced(self) -> str | None:
        for k in CALIBRATION_KEYS:
            if not isinstance(self.doc.project.calibration.get(k), dict):
                return k
        return None

    def _role_at(self, pos):
        for it in self.items(pos):
            role = role_of(it)
            if role:
                return it, role
        return None, None

    def _in_image(self, sp: QPointF) -> bool:
        if self.doc.image is None:
            return False
        h, w = self.doc.image.shape[:2]
        return 0 <= sp.x() < w and 0 <= sp.y() < h

    def _outside_axes(self, sp: QPointF) -> str | None:
        """Why a click cannot be a point of a KM curve, or None. A survival curve lives where
        0 <= S <= 1 and t >= 0 (or from the time axis' first calibration value, if negative),
        so a click below the time axis, above S = 1 or left of time 0 is a slip; 2 % of each
        axis' calibrated span is allowed as slack (a curve drawn over an axis line is still on
        it). The calibration values need not be the axes' ends (Y2 may sit on the 0.8 tick),
        so the bounds are the survival scale's, not the calibration points'."""
        if not self._in_image(sp):
            return "the click is outside the figure"
        calib = self.doc.calibration()
        if calib is None:
            return None
        c = self.doc.project.calibration
        try:
            t, s = calib.to_data(np.array([sp.x()]), np.array([sp.y()]))
            tv = [float(calib.to_data(c[k]["px"], c[k]["py"])[0]) for k in ("x1", "x2")]
            sv = [float(calib.to_data(c[k]["px"], c[k]["py"])[1]) for k in ("y1", "y2")]
        except Exception:  # noqa: BLE001 - no usable calibration: the image bounds are all we know
            return None
        t, s = float(np.ravel(t)[0]), float(np.ravel(s)[0])
        t_slack = 0.02 * abs(tv[1] - tv[0])
        s_slack = 0.02 * abs(sv[1] - sv[0])
        if t < min(0.0, min(tv)) - t_slack:
            return "the click is left of time 0 (outside the axes)"
        if s < min(0.0, min(sv)) - s_slack:
            return "the click is below survival 0 (under the time axis)"
        if s > max(1.0, max(sv)) + s_slack:
            return "the click is above survival 1 (100 %)"
        return None

    def _pick_color(self, sp: QPointF):
        """The drawn colour of the curve under the click. A thin anti-aliased line often has
        no pure pixel at all (a 1.5 px line straddles two rows: every pixel is blended with the
        paper), so the curve colours of the surrounding region come from
        ``digitize.colors.find_arm_colors`` and the one in the direction (from the paper
        colour) of the strongest pixel under the click is taken; that pixel itself is the
        fallback."""
        img = self.doc.analysis_image
        h, w = img.shape[:2]
        x, y = int(sp.x()), int(sp.y())
        win = img[max(0, y - 3):min(h, y + 4), max(0, x - 3):min(w, x + 4)].reshape(-1, 3).astype(float)
        bg = np.median(win, axis=0)
        local = win[int(np.argmax(np.linalg.norm(win - bg, axis=1)))]
        try:
            from digitize.colors import find_arm_colors

            r = max(20, int(0.015 * max(h, w)))
            cands = find_arm_colors(img, (x - r, y - r, x + r, y + r), max_arms=4)
        except Exception:  # noqa: BLE001 - colour finding is a refinement; the pixel is a fine fallback
            cands = []
        d_local = local - bg
        best, best_cos = local, 0.97   # must point (almost) the same way from the paper colour
        for c in cands:
            d = np.asarray(c, float) - bg
            cos = float(d @ d_local / (np.linalg.norm(d) * np.linalg.norm(d_local) + 1e-9))
            if cos > best_cos and np.linalg.norm(d) >= np.linalg.norm(d_local) * 0.9:
                best, best_cos = np.asarray(c, float), cos
        return tuple(int(round(v)) for v in best)

    def _add_arm_at(self, sp: QPointF) -> None:
        """Tool "add_arm": a new arm whose colour is read at the clicked curve's core (snapped to
        the nearest ink, never the paper: digitize.colors.ink_colour_at) and whose curve is the
        one through that point (its line style tells it from arms of the same colour)."""
        from digitize.colors import ink_colour_at
        from kmrecon.project import ArmState

        arms = self.doc.arms_copy()
        rgb, at, warns = ink_colour_at(self.doc.analysis_image, (sp.x(), sp.y()),
                                       others={a.name: a.rgb for a in arms})
        if at is None:
            self.status.emit(f"No arm added: {warns[0]}")
            return
        i = self._proposed_arm_at(arms, rgb, at)
        if i is not None:
            # a proposed arm of this colour not yet pointed at by a click: the click says which
            # curve it is, over where the automatic reading found its mark symbols
            arms[i].at = (float(at[0]), float(at[1]))
            arms[i].marks = None
            self.doc.edit({"arms": arms}, f"Point arm '{arms[i].name}' at its curve")
            self.current_arm = i
            self.status.emit(f"{arms[i].name}: its curve is the one clicked")
            self.arm_added.emit(i)
            return
        names = {a.name for a in arms}
        k = len(arms) + 1
        while f"Arm {k}" in names:
            k += 1
        arm = ArmState(name=f"Arm {k}", rgb=rgb, at=(float(at[0]), float(at[1])))
        self.doc.edit({"arms": arms + [arm]}, f"Add arm '{arm.name}' by clicking its curve")
        self.current_arm = len(arms)
        same = [a.name for a in arms if a.rgb == rgb] or [w for w in warns if "matches" in w]
        self.status.emit(f"Added {arm.name} (RGB {rgb})" + (" - same colour as another arm: told apart by "
                                                             "line style" if same else ""))
        self.arm_added.emit(len(arms))

    def _proposed_arm_at(self, arms, rgb, at) -> int | None:
        """Index of the arm a click on a curve of colour ``rgb`` at pixel ``at`` stands for, among
        the arms of that colour (within extract.SAME_STYLED_DE) not yet pointed at by a click
        (``at`` None, or placed by the automatic reading on its mark symbols). Arms of one colour
        in different line styles: the one whose style is the curve's there
        (digitize.linestyle.style_at_point), traced or not; otherwise the selected arm if it is
        one of them, else the first of them with no traced curve yet, else the first of them.
        None (every arm of that colour pointed at already):
        the click adds a new arm."""
        from digitize.extract import SAME_STYLED_DE
        from digitize.inkmask import rgb_to_lab

        lab = rgb_to_lab(np.array([rgb], float))[0]
        near = [i for i, a in enumerate(arms)
                if np.linalg.norm(rgb_to_lab(np.array([a.rgb], float))[0] - lab) < SAME_STYLED_DE]
        free = [i for i in near if arms[i].at is None or arms[i].marks]
        styles = [arms[i].style for i in near if arms[i].style]
        if free and len(set(styles)) > 1:
            from digitize.linestyle import style_at_point

            h, w = self.doc.image.shape[:2]
            area = (0, 0, w - 1, h - 1)
            c = self.doc.project.calibration
            if all(isinstance(c.get(k), dict) for k in ("x1", "x2", "y1", "y2")):
                xs = [c[k]["px"] for k in ("x1", "x2", "y1", "y2")]
                ys = [c[k]["py"] for k in ("x1", "x2", "y1", "y2")]
                area = (min(xs), min(ys), max(xs), max(ys))
            st = style_at_point(self.doc.analysis_image, area, rgb, at, styles)
            return next((i for i in free if st is not None and arms[i].style == st), None)
        # one colour and one style: the selected arm if it awaits its click, else the first with
        # no traced curve yet, else the first awaiting one (the status line names the arm; select
        # another to point that one instead)
        if self.current_arm in free:
            return self.current_arm
        untraced = [i for i in free if len(arms[i].points_px) == 0]
        return untraced[0] if untraced else (free[0] if free else None)

    def _place_calibration(self, key: str, sp: QPointF):
        cal = dict(self.doc.project.calibration)
        old = cal.get(key) if isinstance(cal.get(key), dict) else {}
        cal[key] = {"px": float(sp.x()), "py": float(sp.y()), "value": old.get("value")}
        self.doc.edit({"calibration": cal}, f"Place {key.upper()}")
        self._selected_handle = key

    # -- events ---------------------------------------------------------------------------------
    def resizeEvent(self, event):
        super().resizeEvent(event)
        if getattr(self, "_auto_fit", True):
            self.fit()

    def wheelEvent(self, event):
        """The wheel zooms around the cursor (with or without Ctrl, as in image viewers);
        Shift+wheel scrolls."""
        dy = event.angleDelta().y()
        if dy and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.zoom(1.25 ** (dy / 120.0), event.position())
            event.accept()
        else:
            super().wheelEvent(event)

    def keyPressEvent(self, event):
        key = event.key()
        mods = event.modifiers()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1.25); return
        if key == Qt.Key.Key_Minus:
            self.zoom(0.8); return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not mods & Qt.KeyboardModifier.ControlModifier:
            self.delete_selected(); return
        arrows = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
                  Qt.Key.Key_Down: (0, 1)}
        if key in arrows:
            step = 10.0 if mods & Qt.KeyboardModifier.ShiftModifier else 1.0
            dx, dy = arrows[key]
            if self._nudge(dx * step, dy * step):
                return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event):
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.set_tool(self.tool)
            return
        super().keyReleaseEvent(event)

    def _nudge(self, dx: float, dy: float) -> bool:
        """Move the selected calibration handle, else the selected points, by (dx, dy) pixels.
        Repeated nudges of the same selection merge into one undo step."""
        key = self._selected_handle
        cal = self.doc.project.calibration
        if key and isinstance(cal.get(key), dict):
            new = dict(cal)
            new[key] = dict(cal[key], px=cal[key]["px"] + dx, py=cal[key]["py"] + dy)
            self.doc.edit({"calibration": new}, f"Nudge {key.upper()}", merge_id=self._nudge_id)
            return True
        pts = self.selected_points()
        if pts:
            arms = self.doc.arms_copy()
            for i, idx in pts.items():
                arms[i].points_px[idx] += (dx, dy)
            self.doc.edit({"arms": arms}, "Nudge points", merge_id=self._nudge_id)
            return True
        return False

    def mousePressEvent(self, event):
        sp = self.mapToScene(event.position().toPoint())
        btn = event.button()
        if btn == Qt.MouseButton.MiddleButton or (btn == Qt.MouseButton.LeftButton and self._space):
            self._drag = ("pan", event.position())
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if btn != Qt.MouseButton.LeftButton or self.doc.image is None:
            super().mousePressEvent(event)
            return
        self._nudge_id = new_merge_id()
        item, role = self._role_at(event.position().toPoint())
        placing = self.tool == "calibrate" and (self.next_cal_key or self._first_unplaced())
        if role and role[0] == "cal" and self.tool in ("edit", "calibrate") and not placing:
            self._selected_handle = role[1]
            self.scene().clearSelection()
            item.setSelected(True)
            self._drag = ("cal", role[1], item, sp)
            return
        tool = self.tool
        if tool == "calibrate":
            key = self.next_cal_key or self._first_unplaced() or self._selected_handle or "x1"
            self._place_calibration(key, sp)
            order = list(CALIBRATION_KEYS)
            nxt = [k for k in order[order.index(key) + 1:] + order[:order.index(key)]
                   if not isinstance(self.doc.project.calibration.get(k), dict)]
            self.next_cal_key = nxt[0] if nxt else None
            self.calibration_point_placed.emit(key)
            return
        self._selected_handle = None
        if tool == "edit":
            if role and role[0] == "pt":
                if not item.isSelected():
                    if not (event.modifiers() & Qt.KeyboardModifier.ControlModifier):
                        self.scene().clearSelection()
                    item.setSelected(True)
                self._drag = ("pt", role[1], role[2], item, sp)
                return
            if role and role[0] == "cen":
                if not (event.modifiers() & Qt.KeyboardModifier.ControlModifier):
                    self.scene().clearSelection()
                item.setSelected(True)
                return
            super().mousePressEvent(event)  # rubber-band box selection
            return
        arms = self.doc.project.arms
        if tool == "add_arm":
            if self._in_image(sp):
                self._add_arm_at(sp)
            return
        if tool in ("eyedropper", "add_point", "censor") and not (0 <= self.current_arm < len(arms)):
            self.status.emit("Add an arm first (Arms panel)")
            return
        if tool == "eyedropper":
            if self._in_image(sp):
                from digitize.colors import ink_colour_at

                others = {a.name: a.rgb for i, a in enumerate(arms) if i != self.current_arm}
                rgb, at, warns = ink_colour_at(self.doc.analysis_image, (sp.x(), sp.y()), others=others)
                if at is None:   # no ink under the click: never take the paper's colour
                    self.status.emit(f"Colour not taken: {warns[0]}")
                    return
                self.doc.edit_arm(self.current_arm, f"Pick colour of '{arms[self.current_arm].name}'", rgb=rgb,
                                  at=(float(at[0]), float(at[1])))
                self.status.emit(f"Colour of {arms[self.current_arm].name}: RGB {rgb}"
                                 + (f" - warning: {warns[0]}" if warns else ""))
        elif tool == "add_point":
            arm = arms[self.current_arm]
            why = self._outside_axes(sp)
            if why:
                self.status.emit(f"Point not added: {why}")
                return
            pts = np.vstack([arm.points_px, [[sp.x(), sp.y()]]])
            self.doc.edit_arm(self.current_arm, f"Add point to '{arm.name}'", points_px=pts)
        elif tool == "censor":
            arm = arms[self.current_arm]
            if role and role[0] == "cen" and role[1] == self.current_arm:
                cen = np.delete(arm.censor_px, role[2], axis=0)
                self.doc.edit_arm(self.current_arm, f"Remove censor mark of '{arm.name}'", censor_px=cen)
            else:
                y = curve_y_at(arm.points_px, sp.x())
                cen = np.vstack([arm.censor_px, [[sp.x(), sp.y() if y is None else y]]])
                self.doc.edit_arm(self.current_arm, f"Add censor mark to '{arm.name}'", censor_px=cen)
        elif tool == "mask_rect":
            self._drag = ("mask_rect", sp)
            self._temp_item = self.scene().addRect(QRectF(sp, sp), QPen(QColor("red"), 0),
                                                   QBrush(QColor(255, 0, 0, 60)))
            self._temp_item.setZValue(20)
        elif tool == "mask_brush":
            self._drag = ("brush", [(sp.x(), sp.y())])
            self._temp_item = QGraphicsPathItem()
            self._temp_item.setZValue(20)
            self.scene().addItem(self._temp_item)
            self._update_brush_preview()

    def _update_brush_preview(self):
        path = QPainterPath()
        r = self.brush_radius
        for x, y in self._drag[1]:
            path.addEllipse(QPointF(x, y), r, r)
        self._temp_item.setPath(path.simplified())
        self._temp_item.setBrush(QColor(255, 0, 0, 60))
        self._temp_item.setPen(QPen(QColor("red"), 0))

    def mouseMoveEvent(self, event):
        pos = event.position()
        sp = self.mapToScene(pos.toPoint())
        self._update_cursor_info(sp, pos.toPoint())
        d = self._drag
        if d is None:
            super().mouseMoveEvent(event)
            return
        if d[0] == "pan":
            delta = pos - d[1]
            self._drag = ("pan", pos)
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
        elif d[0] == "cal":
            p = self.doc.project.calibration[d[1]]
            d[2].setPos(QPointF(p["px"], p["py"]) + (sp - d[3]))
        elif d[0] == "pt":
            d[3].setPos(sp)
        elif d[0] == "mask_rect":
            self._temp_item.setRect(QRectF(d[1], sp).normalized())
        elif d[0] == "brush":
            d[1].append((sp.x(), sp.y()))
            self._update_brush_preview()

    def mouseReleaseEvent(self, event):
        d = self._drag
        self._drag = None
        sp = self.mapToScene(event.position().toPoint())
        if d is None:
            super().mouseReleaseEvent(event)
            return
        if d[0] == "pan":
            self.set_tool(self.tool)
        elif d[0] == "cal":
            p = self.doc.project.calibration[d[1]]
            delta = sp - d[3]
            if delta.manhattanLength() > 0:   # move by the drag, so grabbing off-centre does not jump
                self._place_calibration(d[1], QPointF(p["px"] + delta.x(), p["py"] + delta.y()))
        elif d[0] == "pt":
            _, i, j, item, start = d
            if (sp - start).manhattanLength() > 0:
                arms = self.doc.arms_copy()
                arms[i].points_px[j] += (sp.x() - start.x(), sp.y() - start.y())
                self.doc.edit({"arms": arms}, f"Move point of '{arms[i].name}'")
        elif d[0] in ("mask_rect", "brush"):
            self.scene().removeItem(self._temp_item)
            self._temp_item = None
            masks = list(self.doc.project.masks)
            if d[0] == "mask_rect":
                r = QRectF(d[1], sp).normalized()
                if r.width() < 2 or r.height() < 2:
                    return
                masks.append(MaskShape("rect", [(r.left(), r.top()), (r.right(), r.bottom())]))
                self.doc.edit({"masks": masks}, "Mask rectangle")
            else:
                masks.append(MaskShape("brush", d[1], self.brush_radius))
                self.doc.edit({"masks": masks}, "Mask brush stroke")

    def _update_cursor_info(self, sp: QPointF, widget_pt):
        if self.doc.image is None or not self._in_image(sp):
            self.loupe.hide()
            self.cursor_data.emit("")
            return
        text = f"px ({sp.x():.1f}, {sp.y():.1f})"
        calib = self.doc.calibration()
        if calib is not None:
            t, s = calib.to_data(np.array([sp.x()]), np.array([sp.y()]))
            text = f"t = {float(t[0]):.3g}, S = {float(s[0]):.3f}"
        self.cursor_data.emit(text)
        if self.loupe_enabled and self._qimage is not None:
            self.loupe.show_at(self._qimage, sp, widget_pt, text)

    def leaveEvent(self, event):
        self.loupe.hide()
        super().leaveEvent(event)
