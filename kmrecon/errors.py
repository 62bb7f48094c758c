"""User-facing errors.

Anything the user can fix (a bad file, an absurd calibration, an inconsistent risk table)
raises a subclass of :class:`KMReconError` whose message says what is wrong and what to fix.
The command line prints it and exits with code 2; the GUI shows it in a dialog.
"""


class KMReconError(ValueError):
    """Bad input the user can fix; the message says what to fix."""


class InputFileError(KMReconError):
    """A CSV/XLSX/JSON input file is missing, malformed or inconsistent (message names the row)."""


#: the app's error log (in the user's data folder), kept below this size by trimming its start
ERROR_LOG_NAME = "errors.log"
ERROR_LOG_MAX_BYTES = 1 << 20


def log_traceback(folder, text: str) -> "Path | None":
    """Append a traceback (with a UTC time stamp) to ``folder``/errors.log and return its path;
    None if even that cannot be written. The app shows a short message and points here instead
    of showing the traceback itself."""
    import datetime
    from pathlib import Path

    try:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ERROR_LOG_NAME
        old = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        if len(old) > ERROR_LOG_MAX_BYTES:
            old = old[-ERROR_LOG_MAX_BYTES // 2:]
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        path.write_text(f"{old}--- {stamp}\n{text.rstrip()}\n", encoding="utf-8")
        return path
    except OSError:
        return None
