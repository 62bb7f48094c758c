"""KM figures read from a PDF's own vector drawing (no rasterising, no OCR).

objects (pypdfium2 page objects -> plain data: paths, text runs, images) -> roles (axes, curves,
censor marks, legend, risk table) -> read (one VectorFigure per plot; the raster pipeline's seam
objects in page pixels) -> route (which page/figure, ``--page``/``--panel``, embedded bitmaps,
reconstruction); counts: N from exact drop heights when no risk table is printed.
"""
