"""Run long work (curve detection, reconstruction) off the GUI thread.

``run_task(fn, *args, on_done, on_error, on_progress)`` runs ``fn(*args, progress=cb)`` on the
global ``QThreadPool``; ``cb(fraction)`` may be called from the worker with 0-1. Results,
errors and progress come back to the GUI thread as queued signals, so the window stays
responsive and no widget is touched from the worker.
"""
from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_LIVE: set = set()   # keep Python wrappers of running tasks alive until they report


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object, str)
    progress = Signal(float)


class Task(QRunnable):
    def __init__(self, fn, args, kwargs):
        super().__init__()
        self.setAutoDelete(False)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = _Signals()

    def run(self):
        try:
            result = self.fn(*self.args, progress=self._progress, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported to the GUI thread, never lost
            self.signals.failed.emit(exc, traceback.format_exc())
        else:
            self.signals.done.emit(result)

    def _progress(self, fraction):
        try:
            self.signals.progress.emit(float(fraction))
        except (TypeError, ValueError):
            pass


def run_task(fn, *args, on_done, on_error, on_progress=None, **kwargs) -> Task:
    task = Task(fn, args, kwargs)
    _LIVE.add(task)

    def finish(cb):
        def slot(*a):
            _LIVE.discard(task)
            cb(*a)
        return slot

    task.signals.done.connect(finish(on_done))
    task.signals.failed.connect(finish(on_error))
    if on_progress is not None:
        task.signals.progress.connect(on_progress)
    QThreadPool.globalInstance().start(task)
    return task


def busy() -> bool:
    return bool(_LIVE)
