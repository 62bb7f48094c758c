"""Digitize KM figures: image -> calibrated step curves, censor marks -> reconstructed IPD.

Modules (import them directly; this package imports nothing heavy on its own):
``image`` (load_image, pdf_page_count), ``calibrate`` (AxisPoint, Calibration),
``extract`` (ArmSpec, ExtractedArm, extract_arms), ``colors`` (find_arm_colors),
``pipeline`` (run_pipeline: the whole chain), ``sidecar`` (JSON record of a run), ``cli``
(``kmrecon extract``); internals: ``inkmask``, ``trace``, ``censor``, ``steps``, ``plotarea``,
``accuracy``. ``digitize.auto`` reads axes, arms and the risk table without clicks.
"""
