"""The open document: a :class:`kmrecon.project.Project`, its image, and ONE undo stack.

Every user edit goes through :meth:`Document.edit`, which pushes a :class:`SetFieldsCommand`
(Engauge's design: each edit is a ``QUndoCommand`` on one ``QUndoStack``). A command swaps
whole project fields (``calibration``, ``arms``, ``masks``, ``risk_table``, ``settings``) for
deep copies, so undo/redo is exact and the command code stays trivial. Views listen to
:attr:`Document.changed` (the names of the fields that changed) and redraw.
"""
from __future__ import annotations

import copy
import itertools

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from kmrecon.errors import KMReconError
from kmrecon.jsonio import json_safe
from kmrecon.project import ArmState, ImageRef, Project, RiskGrid, encode_png

EDITABLE_FIELDS = ("calibration", "arms", "masks", "risk_table", "settings")
_merge_ids = itertools.count(1000)


def new_merge_id() -> int:
    """A fresh id for a family of commands that should merge (e.g. repeated arrow-key nudges)."""
    return next(_merge_ids)


class SetFieldsCommand(QUndoCommand):
    """Replace some project fields; undo puts the old values back. Commands with the same
    ``merge_id`` (not -1) that touch the same fields merge into one undo step."""

    def __init__(self, doc: "Document", values: dict, text: str, merge_id: int = -1):
        super().__init__(text)
        unknown = set(values) - set(EDITABLE_FIELDS)
        if unknown:
            raise ValueError(f"not an editable field: {sorted(unknown)}")
        self.doc = doc
        self.new = {k: copy.deepcopy(v) for k, v in values.items()}
        self.old = {k: copy.deepcopy(getattr(doc.project, k)) for k in values}
        self._merge_id = merge_id

    def id(self) -> int:  # noqa: A003 (Qt API name)
        return self._merge_id

    def mergeWith(self, other) -> bool:
        if not isinstance(other, SetFieldsCommand) or set(other.new) != set(self.new):
            return False
        self.new = other.new
        return True

    def redo(self):
        self.doc._apply(self.new)

    def undo(self):
        self.doc._apply(self.old)


class Document(QObject):
    """The project being edited. ``changed(fields)`` fires after any field change (edit, undo,
    redo, load); ``image_changed`` when a new figure is loaded; ``reconstruction_changed``
    when a result is stored or becomes stale."""

    changed = Signal(list)
    image_changed = Signal()
    reconstruction_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project = Project()
        self.image: np.ndarray | None = None
        self._analysis: np.ndarray | None = None   # analysis_image, computed on first use
        self.path: str | None = None           # project file, once saved/opened
        self.qimage = None                     # QImage of ``image`` made by a worker, or None
        self.undo_stack = QUndoStack(self)
        self.result = None                     # reconstruct.Reconstruction of this session, if any
        self.exported = False                  # export done since the last reconstruction
        self.extra_dirty = False               # non-undoable changes (new image, reconstruction)
        self.detect_info: dict[str, dict] = {}  # arm name -> {"confidence", "warnings"} of last detect
        self.undo_stack.cleanChanged.connect(self._clean_changed)

    def _clean_changed(self, _clean: bool) -> None:
        self.changed.emit([])

    # -- edits ---------------------------------------------------------------------------
    def edit(self, values: dict, text: str, merge_id: int = -1) -> None:
        """Apply an edit through the undo stack (the only way views change the project)."""
        self.undo_stack.push(SetFieldsCommand(self, values, text, merge_id))

    def _apply(self, values: dict) -> None:
        for k, v in values.items():
            setattr(self.project, k, copy.deepcopy(v))
        self.changed.emit(list(values))
        self.reconstruction_changed.emit()

    def arms_copy(self) -> list[ArmState]:
        return [a.copy() for a in self.project.arms]

    def edit_arm(self, index: int, text: str, merge_id: int = -1, **changes) -> None:
        arms = self.arms_copy()
        for k, v in changes.items():
            setattr(arms[index], k, v)
        arms[index].__post_init__()
        self.edit({"arms": arms}, text, merge_id)

    def arm_index(self, name: str) -> int:
        for i, a in enumerate(self.project.arms):
            if a.name == name:
                return i
        raise KeyError(name)

    @property
    def analysis_image(self) -> np.ndarray | None:
        """The figure as the digitizer reads it (digitize.jpeg.analysis_image: a JPEG's colour
        given back to its thin lines), for colours read at a click; the display keeps the
        file's own pixels. Computed once per figure."""
        if self.image is None:
            return None
        if self._analysis is None:
            from digitize.jpeg import analysis_image

            self._analysis = analysis_image(self.image)
        return self._analysis

    # -- whole-document changes (not undoable: they reset the stack) ---------------------
    def set_image(self, image: np.ndarray, ref: ImageRef, qimage=None) -> None:
        """Start a new project on this figure (``qimage``: the same pixels already converted to a
        QImage off the GUI thread, to keep a 12-megapixel open from freezing the window)."""
        self._replace(Project(image=ref), image, qimage, path=None, dirty=True)

    def set_project(self, project: Project, image: np.ndarray | None, path: str | None) -> None:
        self._replace(project, image, None, path=path, dirty=False)

    def _replace(self, project: Project, image, qimage, *, path, dirty: bool) -> None:
        """Swap in a whole document: results and history go (``clear`` leaves the undo stack
        clean), and every view is told to redraw everything."""
        self.project = project
        self.image = None if image is None else np.ascontiguousarray(image)
        self._analysis = None
        self.qimage = qimage
        self.path = path
        self.result = None
        self.exported = False
        # the last detection's confidences, as saved in the project (settings["detection"])
        det = project.settings.get("detection")
        self.detect_info = {str(k): dict(v) for k, v in det.items() if isinstance(v, dict)} \
            if isinstance(det, dict) else {}
        self.undo_stack.clear()
        self.extra_dirty = dirty
        self.image_changed.emit()
        self.changed.emit(list(EDITABLE_FIELDS))
        self.reconstruction_changed.emit()

    def is_dirty(self) -> bool:
        return self.extra_dirty or not self.undo_stack.isClean()

    def mark_saved(self, path: str) -> None:
        self.path = path
        self.extra_dirty = False
        self.undo_stack.setClean()
        self.changed.emit([])

    # -- derived state --------------------------------------------------------------------
    def calibration(self):
        """The current Calibration, or None if incomplete or degenerate (see calibration_error)."""
        try:
            return self.project.build_calibration()
        except KMReconError:
            return None
        except ImportError:
            return None

    def calibration_error(self) -> str | None:
        """Why the four points do not make a calibration, in words, or None."""
        if not self.project.calibration_complete():
            missing = [k.upper() for k in ("x1", "x2", "y1", "y2")
                       if not isinstance(self.project.calibration.get(k), dict)
                       or self.project.calibration[k].get("value") is None]
            return "place and type values for " + ", ".join(missing)
        try:
            self.project.build_calibration()
        except KMReconError as exc:
            return str(exc)
        except ImportError as exc:
            return f"calibration unavailable: {exc}"
        return None

    def set_reconstruction(self, rec, inputs_hash: str | None = None) -> None:
        """Store a reconstruction result (IPD + diagnostics) computed from the inputs whose
        :meth:`Project.inputs_hash` is ``inputs_hash`` (default: the current inputs)."""
        self.result = rec
        diag = {arm: d.to_dict() for arm, d in rec.diagnostics.items()}
        ipd = rec.ipd
        self.project.reconstruction = {
            "ipd": {"arm": ipd["arm"].astype(str).tolist(), "time": ipd["time"].astype(float).tolist(),
                    "event": ipd["event"].astype(int).tolist()},
            "diagnostics": json_safe(diag),
            "inputs": inputs_hash or self.project.inputs_hash(),
        }
        self.exported = False
        self.extra_dirty = True
        self.reconstruction_changed.emit()
        self.changed.emit([])

    def current_ipd(self):
        """IPD DataFrame of the stored reconstruction if it matches the current inputs."""
        return self.project.stored_ipd()

    def image_ref_for_save(self) -> ImageRef | None:
        """The image reference to write: embeds the PNG (cached) when the figure has no file."""
        ref = self.project.image
        if ref is None or self.image is None:
            return ref
        if ref.png_base64 is None and (ref.path is None or ref.crop is not None
                                       or self.project.settings.get("embed_image", True)):
            ref.png_base64 = encode_png(self.image)
        return ref


def empty_risk_grid(arms: list[str]) -> RiskGrid:
    return RiskGrid(times=[], rows={a: [] for a in arms})
