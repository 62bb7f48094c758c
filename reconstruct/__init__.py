"""Reconstruct individual patient data (IPD) from digitized Kaplan-Meier curves.

``reconstruct(arms, method="default")`` takes :class:`kmrecon.data.ArmData` (curve points, and
optionally the risk table, N, D and censor-mark times) and returns a :class:`Reconstruction`
(IPD with columns arm, time, event, plus :class:`ArmDiagnostics` per arm). ``method="guyot"``
runs Guyot et al. (2012) as published; the default mode solves each interval exactly.
"""
from reconstruct.core import KMReconstructor, Reconstruction, reconstruct
from reconstruct.diagnostics import ArmDiagnostics
from reconstruct.errors import ReconstructionInputError

__all__ = [
    "reconstruct",
    "KMReconstructor",
    "Reconstruction",
    "ArmDiagnostics",
    "ReconstructionInputError",
]
