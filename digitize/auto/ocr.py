"""Offline OCR of small text crops (tick labels, table cells, legend entries).

Backend: RapidOCR 3.x (PP-OCR ONNX models shipped inside the wheel, run with onnxruntime;
no download at run time). Only its *recognition* model is used: text boxes are found by
:mod:`digitize.auto.text` from connected components, which is faster (about 10 ms per crop
instead of 2-4 s for detection on a whole figure) and gives exact label positions.

OCR is optional: when ``rapidocr``/``onnxruntime`` are not installed, :func:`ocr_available`
returns False with a reason and :func:`read_crops` raises :class:`OCRUnavailable`.
"""
from __future__ import annotations

import functools
import threading
import unicodedata

import numpy as np

_LOCK = threading.Lock()
#: crops are rescaled to this text height (pixels) before recognition: small labels read
#: much better upscaled (the PP-OCR recogniser works on 48-px-high lines).
TARGET_HEIGHT = 36
PAD = 6


class OCRUnavailable(RuntimeError):
    """No OCR backend could be loaded (message says what to install)."""


class _LatinOnly:
    """Wraps the recogniser's ONNX session so that only printable ASCII can be decoded.

    The PP-OCR model reads 18,000 characters (Chinese included); on small, blurred digits it
    sometimes prefers a CJK glyph ('444' -> '主'). Figures print Latin text, so the per-step
    probabilities of every other character are zeroed before CTC decoding (index 0, the
    CTC blank, is kept)."""

    def __init__(self, session, characters):
        self._session = session
        keep = np.array([i == 0 or (len(c) == 1 and 32 <= ord(c) < 127)
                         for i, c in enumerate(characters)], float)
        self._keep = keep

    def __call__(self, x):
        preds = np.asarray(self._session(x))
        if preds.shape[-1] == self._keep.size:
            preds = preds * self._keep
        return preds

    def __getattr__(self, name):
        return getattr(self._session, name)


@functools.lru_cache(maxsize=1)
def _engine():
    """The cached RapidOCR engine, or an error message string."""
    try:
        from rapidocr import RapidOCR  # noqa: PLC0415  (optional, heavy)
    except Exception as exc:  # ImportError, or onnxruntime missing inside rapidocr
        return f"OCR is not installed ({exc}); install it with: pip install rapidocr onnxruntime"
    import pathlib

    import rapidocr

    # the recognition model shipped inside the wheel; never let RapidOCR download one
    model = pathlib.Path(rapidocr.__file__).parent / "models" / "PP-OCRv6_rec_small.onnx"
    if not model.is_file():
        return f"the OCR model {model.name} is missing from the rapidocr package; reinstall with: " \
               "pip install --force-reinstall rapidocr onnxruntime"
    try:
        import logging

        # narrow minimum line width (120 px instead of 320) and bigger batches: tick labels and
        # table cells are short, and every crop is padded to the minimum width (3x faster)
        eng = RapidOCR(params={"Global.log_level": "error", "Rec.rec_img_shape": [3, 48, 120],
                               "Rec.rec_batch_num": 16, "Rec.model_path": str(model)})
        rec = eng._load_rec_model()  # recognition model only (see module docstring)
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        rec.session = _LatinOnly(rec.session, rec.postprocess_op.character)
    except Exception as exc:  # model files missing / onnxruntime absent
        return f"OCR could not start ({exc}); reinstall with: pip install rapidocr onnxruntime"
    return rec


def ocr_available() -> tuple[bool, str]:
    """(True, "") when OCR works, else (False, reason with the install command)."""
    eng = _engine()
    return (not isinstance(eng, str), eng if isinstance(eng, str) else "")


def prepare_crop(crop: np.ndarray, target_height: int = TARGET_HEIGHT, binarize: bool = False) -> np.ndarray:
    """Ink-on-white 3-channel uint8 crop, rescaled to ``target_height`` text pixels and padded.

    Coloured text (risk-table row labels in the arm's colour) becomes dark grey on white:
    the darkness is the colour's distance from the crop's background (its brightest pixels).
    ``binarize``: black on white after rescaling (Otsu's threshold), a second look at small
    blurred or JPEG-smeared glyphs whose grey edges the recogniser misreads ('8' vs '6').
    """
    crop = np.asarray(crop)
    if crop.ndim == 2:
        crop = np.repeat(crop[..., None], 3, axis=2)
    rgb = crop[..., :3].astype(float)
    bg = np.percentile(rgb.reshape(-1, 3), 90, axis=0)
    dist = np.sqrt(((rgb - bg) ** 2).sum(axis=2))
    ink = np.clip(dist / max(dist.max(), 1.0), 0, 1)
    gray = (255 * (1 - ink)).astype(np.uint8)
    h = max(gray.shape[0], 1)
    scale = target_height / h
    import cv2  # noqa: PLC0415

    if abs(scale - 1) > 0.05:
        interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
        gray = cv2.resize(gray, (max(1, round(gray.shape[1] * scale)), target_height),
                          interpolation=interp)
    if binarize:
        _, gray = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    p = round(PAD * target_height / 36)
    gray = cv2.copyMakeBorder(gray, p, p, p, p, cv2.BORDER_CONSTANT, value=255)
    return np.repeat(gray[..., None], 3, axis=2)


def read_crops(crops: list[np.ndarray], target_height: int = TARGET_HEIGHT,
               binarize: bool = False) -> list[tuple[str, float]]:
    """Recognise one line of text in each crop: [(text, score 0-1), ...] in input order
    (``binarize``: see :func:`prepare_crop`)."""
    if not crops:
        return []
    eng = _engine()
    if isinstance(eng, str):
        raise OCRUnavailable(eng)
    from rapidocr.ch_ppocr_rec import TextRecInput  # noqa: PLC0415

    imgs = [prepare_crop(c, target_height, binarize) for c in crops]
    with _LOCK:  # onnxruntime sessions are shared; keep calls serial
        out = eng(TextRecInput(img=imgs))
    # NFKC folds the recogniser's compatibility characters to ASCII ('Ⅱ' -> 'II', fullwidth
    # digits -> digits)
    return [(unicodedata.normalize("NFKC", str(t)).strip(), float(s)) for t, s in zip(out.txts, out.scores)]
