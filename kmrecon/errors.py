"""User-facing errors.

Anything the user can fix (a bad file, an absurd calibration, an inconsistent risk table)
raises a subclass of :class:`KMReconError` whose message says what is wrong and what to fix.
The command line prints it and exits with code 2; the GUI shows it in a dialog.
"""


class KMReconError(ValueError):
    """Bad input the user can fix; the message says what to fix."""


class InputFileError(KMReconError):
    """A CSV/XLSX/JSON input file is missing, malformed or inconsistent (message names the row)."""
