"""Errors the user can fix when reconstructing IPD (bad curve, risk table, N/D or marks)."""
from kmrecon.errors import KMReconError


class ReconstructionInputError(KMReconError):
    """Inconsistent or malformed reconstruction input; the message names the file/arm and row."""
