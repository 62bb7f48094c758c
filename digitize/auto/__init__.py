"""Zero-click mode: read a KM figure's axes, arm names and number-at-risk table by itself.

``detect_figure(image) -> FigureDetection`` (see :mod:`digitize.auto.detect`).
"""
from digitize.auto.detect import REVIEW_BELOW, FigureDetection, detect_figure

__all__ = ["detect_figure", "FigureDetection", "REVIEW_BELOW"]
