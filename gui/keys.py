"""Who gets a key: a text field or the window's shortcuts.

Qt asks the focused widget first (a ``ShortcutOverride`` event) whether it wants a key that is
also a shortcut. Two rules of the app are decided here, in one place:

* **Plain letters belong to the field being typed in.** The tool shortcuts are single letters
  (E, C, I, A, K, M, B); in a text field, a spin box, an editable combo box, or a grid marked
  as a data-entry grid (``set_text_entry``: the number-at-risk grid, the pooling study list)
  the letter is typed, never taken as a tool switch.
* **Undo/redo go to the document unless a field is mid-edit.** In a text field with typing not
  yet committed (``isModified()``), Ctrl+Z / Ctrl+Shift+Z edit the field as everywhere else;
  once the field's value was committed (Enter or focus change; the panels then reset the
  modified flag) or in any other widget, they undo/redo the document's last edit.

The filter is installed on whichever widget has the focus (``QApplication.focusChanged``), so
it costs nothing for the other events of the app.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QAbstractSpinBox, QApplication, QComboBox, QLineEdit,
                               QPlainTextEdit, QTextEdit, QWidget)

TEXT_ENTRY = "kmrecon_text_entry"
_UNDO_REDO = (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo)


def set_text_entry(widget: QWidget, on: bool = True) -> None:
    """Mark an item view as a data-entry grid: typed letters start editing its cell."""
    widget.setProperty(TEXT_ENTRY, on)


def is_text_entry(w: QWidget | None) -> bool:
    """True for widgets a typed letter belongs to (see the module docstring)."""
    if w is None:
        return False
    if isinstance(w, QLineEdit):
        return not w.isReadOnly()
    if isinstance(w, (QTextEdit, QPlainTextEdit)):
        return not w.isReadOnly()
    if isinstance(w, QAbstractSpinBox):
        return not w.isReadOnly()
    if isinstance(w, QComboBox):
        return w.isEditable()
    if isinstance(w, QAbstractItemView):
        return bool(w.property(TEXT_ENTRY))
    return False


def _is_undo_redo(e) -> bool:
    if any(e.matches(k) for k in _UNDO_REDO):
        return True
    combo = e.keyCombination()
    return combo.key() == Qt.Key.Key_Z and combo.keyboardModifiers() == (
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


def _is_plain_letter(e) -> bool:
    mods = e.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
    return mods == Qt.KeyboardModifier.NoModifier and bool(e.text()) and e.text().isprintable()


class FieldKeys(QObject):
    """The event filter of the module docstring; one per main window."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._on: QWidget | None = None
        app = QApplication.instance()
        app.focusChanged.connect(self._focus_changed)
        self._focus_changed(None, app.focusWidget())

    def _focus_changed(self, _old, new):
        if self._on is not None:
            try:
                self._on.removeEventFilter(self)
            except RuntimeError:       # the widget is already deleted
                pass
        self._on = new
        if new is not None:
            new.installEventFilter(self)

    def eventFilter(self, obj, e):  # noqa: N802 (Qt API name)
        if e.type() != QEvent.Type.ShortcutOverride:
            return False
        if _is_undo_redo(e):
            if isinstance(obj, (QLineEdit, QAbstractSpinBox)):
                edit = obj if isinstance(obj, QLineEdit) else obj.findChild(QLineEdit)
                if edit is not None and edit.isModified():
                    return False               # mid-edit: the field's own undo
            if isinstance(obj, (QTextEdit, QPlainTextEdit)) and not obj.isReadOnly():
                return False
            e.ignore()                          # let the window's Undo/Redo shortcut run
            return True
        if _is_plain_letter(e) and is_text_entry(obj):
            e.accept()                          # typed into the field, not a tool switch
            return True
        return False
