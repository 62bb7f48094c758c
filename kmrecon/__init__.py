"""KMRecon: Kaplan-Meier figure -> reconstructed individual patient data -> pooled survival.

The work flows one way through the top-level packages:
``digitize`` (image -> calibrated curves, censor marks, risk table) ->
``reconstruct`` (curves + risk table -> IPD) -> ``pooling`` (many studies -> pooled estimates).
``gui`` only drives and displays them; ``kmrecon.cli`` is the ``kmrecon`` command.
"""

__version__ = "0.1.0"
