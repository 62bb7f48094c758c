"""JPEG artefacts: chroma subsampling undone before colours are read, ringing measured.

Screenshots and journal figures often come as JPEG, which keeps brightness (luma) at full
resolution but colour (chroma) at half resolution in each direction (4:2:0) and interpolates it
back. A curve one or two pixels wide then loses half or more of its colour: its core reads darker
and greyer than drawn (#1B648F for #0072B5), and the colour it lost lies beside it on the paper as
a pale fringe (#AFE5FF beside a blue line on a grey panel). Colour clustering finds each arm two
or three times and the legend's names pair with fringes.

General property used: a curve's pixels are blends of one ink with the paper, so each pixel's
chroma deviation from the paper is the ink's chroma deviation per unit of luma deviation, ``r``,
times its own luma deviation. Subsampling and interpolation move chroma between neighbouring
pixels but keep its sum over a small window; the window's sums of chroma and luma deviation
therefore still give ``r``, and each pixel gets back the chroma its own (full-resolution) luma
implies. Pixels as light as the paper get the paper's chroma: the fringes vanish. On white
paper the restoration is partial: the decoder clips the chroma spread onto white (no channel
can exceed 255), so part of it is lost (a 1-px blue line comes back about 12 Delta E from the
lossless one, 18 before).

Figures whose chroma is as sharp as their luma (PNG, PDF pages, JPEG without subsampling) are
left untouched (:func:`chroma_subsampled`). Pure functions on RGB uint8 arrays (H, W, 3).
"""
from __future__ import annotations

import weakref

import numpy as np

#: chroma's second-to-first difference ratio over luma's below this: chroma was subsampled and
#: interpolated (measured: R-drawn PNG figures 0.89-1.06, published PNG/PDF figures 0.93-1.29;
#: the same R figures as JPEG quality 75 0.54-0.78, published JPEG screenshots 0.65-0.84)
SUBSAMPLED_RATIO = 0.86
#: mean absolute chroma step (8-bit units a pixel) below which a figure has too little colour to
#: judge (and nothing to restore): black-and-white figures measure 0.00-0.01, coloured ones 0.2+
MIN_CHROMA_STEP = 0.05
#: the paper under each pixel: median over this square (pixels), wider than any curve or mark
PAPER_SIZE = 15
#: chroma is pooled over this square (pixels): two chroma samples plus the interpolation's reach
WINDOW = 5
#: damping of the window's luma sum (8-bit units): windows holding less ink than about a 5-pixel
#: piece of a faint line carry no colour of their own (JPEG ringing on the paper, not a line)
DAMPING = 60.0


#: RGB -> (Y, Cb, Cr) rows, JPEG's transform (ITU-R BT.601, full range, chroma centred on 0)
TO_YCC = np.array([[0.299, 0.587, 0.114],
                    [-0.168736, -0.331264, 0.5],
                    [0.5, -0.418688, -0.081312]], np.float32)
FROM_YCC = np.linalg.inv(TO_YCC).astype(np.float32)


def _ycc(rgb: np.ndarray) -> np.ndarray:
    """Float32 (H, W, 3): luma, Cb, Cr of RGB uint8."""
    import cv2

    return cv2.transform(np.ascontiguousarray(rgb).astype(np.float32), TO_YCC)


def _paper_ycc(img: np.ndarray) -> np.ndarray:
    """Float32 (H, W, 3) luma and chroma of the paper under each pixel: the median over a
    :data:`PAPER_SIZE` square, which thin lines, marks and text do not reach."""
    import cv2

    return _ycc(cv2.medianBlur(img, PAPER_SIZE))


def _rgb(ycc: np.ndarray) -> np.ndarray:
    import cv2

    return np.clip(np.round(cv2.transform(ycc, FROM_YCC)), 0, 255).astype(np.uint8)


_D1 = (np.array([[-1, 1]], np.float32), np.array([[-1], [1]], np.float32))
_D2 = (np.array([[1, -2, 1]], np.float32), np.array([[1], [-2], [1]], np.float32))


def _step_ratio(a: np.ndarray) -> tuple[float, float]:
    """(sum |second differences| / sum |first differences|, sum |first differences|) along rows
    and columns of a float32 image: high for sharp edges, low for a signal interpolated from
    half resolution."""
    import cv2

    a = np.ascontiguousarray(a)
    d1 = sum(cv2.norm(cv2.filter2D(a, -1, k, borderType=cv2.BORDER_REPLICATE), cv2.NORM_L1) for k in _D1)
    d2 = sum(cv2.norm(cv2.filter2D(a, -1, k, borderType=cv2.BORDER_REPLICATE), cv2.NORM_L1) for k in _D2)
    return d2 / max(d1, 1e-6), d1


def chroma_subsampled(rgb: np.ndarray) -> bool:
    """Whether the image's colour is blurrier than its brightness (JPEG 4:2:0 or 4:2:2, also
    after a screenshot or a PNG conversion): chroma's edges are less sharp than luma's by
    :data:`SUBSAMPLED_RATIO`, and there is colour enough to tell."""
    ycc = _ycc(rgb)
    y = ycc[..., 0]
    ry, _ = _step_ratio(y)
    parts = [_step_ratio(ycc[..., i]) for i in (1, 2)]
    d1c = sum(p[1] for p in parts)
    if d1c < MIN_CHROMA_STEP * y.size or ry <= 0:
        return False
    rc = sum(p[0] * p[1] for p in parts) / d1c
    return rc / ry < SUBSAMPLED_RATIO


def restore_chroma(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) with each pixel's chroma recomputed from its own luma (see the module
    docstring); luma is kept as it is."""
    import cv2

    img = np.ascontiguousarray(np.asarray(rgb, np.uint8))
    ycc = _ycc(img)
    paper = _paper_ycc(img)
    # ink darker than its paper (curves, marks, text); lighter lines (white grid lines on a grey
    # panel) are neutral and carry no chroma
    dy = np.minimum(ycc[..., 0] - paper[..., 0], 0.0)
    k = (WINDOW, WINDOW)
    sy = cv2.boxFilter(dy, -1, k, normalize=False)
    sc = cv2.boxFilter(np.ascontiguousarray(ycc[..., 1:] - paper[..., 1:]), -1, k, normalize=False)
    # r = sum(dc) / sum(dy), damped (Tikhonov) where the window holds little ink
    g = sy / (sy * sy + DAMPING * DAMPING)
    ycc[..., 1:] = paper[..., 1:] + sc * (g * dy)[..., None]
    return _rgb(ycc)


#: the arrays :func:`analysis_image` restored (weakly held): given one back (or a view of one,
#: a panel's crop), it is returned as it is. The test for subsampling is no test for "already
#: restored" (a restored figure can still read as blurry-coloured), and detection and tracing
#: each ask for the analysis image of what the command line or the app hands them
_RESTORED: "weakref.WeakValueDictionary[int, np.ndarray]" = weakref.WeakValueDictionary()


def _restored(img: np.ndarray) -> bool:
    """Whether ``img`` is (a view of) an array :func:`analysis_image` restored."""
    base = img
    while base is not None:
        if _RESTORED.get(id(base)) is base:
            return True
        base = base.base if isinstance(base, np.ndarray) else None
    return False


def analysis_image(rgb: np.ndarray) -> np.ndarray:
    """The image the digitizer reads: chroma restored when it was subsampled, else ``rgb``
    itself (no copy); an image this function restored comes back as it is."""
    img = np.asarray(rgb)
    if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 2 * PAPER_SIZE or _restored(img):
        return img
    if not chroma_subsampled(img):
        return img
    out = restore_chroma(img)
    _RESTORED[id(out)] = out
    return out


#: ink for :func:`ringing`: luma this far (8-bit units) from its paper
RING_INK = 20.0
#: ... and the paper around it rings where it differs from the paper by more than this
RING_STEP = 2.0


def ringing(rgb: np.ndarray) -> float:
    """Share of the paper pixels 2-4 px from strong ink whose luma differs from the paper by more
    than :data:`RING_STEP` (8-bit units): 0-0.09 for lossless figures (anti-aliasing reaches one
    pixel; R-drawn PNGs), 0.18-0.45 for the same figures as JPEG quality 75 (the DCT's ringing
    around every line). The colour search widens its idea of "one colour" by this much noise."""
    import cv2

    img = np.ascontiguousarray(np.asarray(rgb, np.uint8))
    if img.ndim != 3 or min(img.shape[:2]) < 2 * PAPER_SIZE:
        return 0.0
    y = _ycc(img)[..., 0]
    d = y - _paper_ycc(img)[..., 0]
    ink = (np.abs(d) > RING_INK).astype(np.uint8)
    ring = (cv2.dilate(ink, np.ones((9, 9), np.uint8)) > 0) & (cv2.dilate(ink, np.ones((3, 3), np.uint8)) == 0)
    if not ring.any():
        return 0.0
    return float(np.mean(np.abs(d[ring]) > RING_STEP))
