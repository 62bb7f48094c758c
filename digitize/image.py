"""Load a KM figure as an RGB uint8 array: raster images (PNG, JPEG, TIFF, BMP, WebP) and PDF pages.

Raster files are decoded from their bytes with ``cv2.imdecode`` (works with non-ASCII paths);
the pixel dimensions are read from the header first (Pillow, lazy) so that decompression bombs are
refused before any pixel is decoded. PDF pages are rendered with pypdfium2 at a chosen dpi.
Transparent images are composited on white, greyscale is expanded to RGB, 16-bit and float
images are scaled to 8 bits.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from kmrecon.errors import KMReconError

#: largest image accepted (pixels); a KM figure at 600 dpi on a full page is ~35 megapixels
MAX_PIXELS = 100_000_000
#: PDF rendering resolution accepted (dots per inch)
DPI_RANGE = (10, 1200)


class ImageLoadError(KMReconError):
    """The figure file is missing, empty, corrupt, too large or of an unsupported kind."""


def _is_pdf(path: Path, head: bytes) -> bool:
    return head.startswith(b"%PDF") or path.suffix.lower() == ".pdf"


def _read_bytes(path) -> tuple[Path, bytes]:
    path = Path(path)
    if not path.exists():
        raise ImageLoadError(f"figure file not found: {path}")
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not a figure file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageLoadError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not data:
        raise ImageLoadError(f"{path.name} is empty (0 bytes); choose the figure file again")
    return path, data


def _check_size(width: int, height: int, name: str) -> None:
    if width <= 0 or height <= 0:
        raise ImageLoadError(f"{name} has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageLoadError(
            f"{name} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels), more than "
            f"the {MAX_PIXELS / 1e6:.0f}-megapixel limit; crop the figure or export it at a lower dpi"
        )


def _header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the file header without decoding pixels; None if Pillow cannot tell."""
    try:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None  # our own limit applies (checked by the caller)
        with Image.open(io.BytesIO(data)) as im:
            return int(im.size[0]), int(im.size[1])
    except Exception:  # noqa: BLE001 - unknown/corrupt header: cv2 gets the final word
        return None


def to_rgb8(arr: np.ndarray, bgr: bool = True) -> np.ndarray:
    """Any decoded image (grey, grey+alpha, BGR(A) or RGB(A); 8/16-bit/float) -> HxWx3 uint8 RGB.

    Alpha is composited on white (transparent figure backgrounds read as paper).
    """
    a = np.asarray(arr)
    if a.dtype == np.uint8 and (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3))):
        # the common case without float copies (a 100-megapixel figure would need GBs)
        if a.ndim == 3 and a.shape[2] == 3:
            return np.ascontiguousarray(a[:, :, ::-1] if bgr else a)
        g = a.reshape(a.shape[0], a.shape[1])
        return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))
    if a.ndim == 3 and a.shape[0] > 512 and a.size > 3 * 4_000_000:
        # large images with alpha / 16 bits: convert in bands of rows to bound the float copies
        return np.concatenate([to_rgb8(a[i:i + 512], bgr) for i in range(0, a.shape[0], 512)], axis=0)
    if a.dtype == np.uint8:
        f = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        f = a.astype(np.float32) / 65535.0
    elif np.issubdtype(a.dtype, np.floating):
        f = a.astype(np.float32)
        top = float(np.nanmax(f)) if f.size else 1.0
        if top > 1.0:
            f = f / (255.0 if top <= 255.0 else 65535.0)
        f = np.nan_to_num(f, nan=1.0)
    else:
        f = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    if f.ndim == 2:
        f = f[:, :, None]
    ch = f.shape[2]
    alpha = None
    if ch in (2, 4):
        alpha = f[:, :, -1:]
        f = f[:, :, :-1]
    if f.shape[2] == 1:
        f = np.repeat(f, 3, axis=2)
    elif bgr:
        f = f[:, :, ::-1]
    if alpha is not None:
        f = f * alpha + (1.0 - alpha)
    return np.ascontiguousarray(np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8))


#: contrast (0-255, per channel) below which an image counts as blank: no drawn axes or curves
BLANK_CONTRAST = 16


def is_blank(image: np.ndarray) -> bool:
    """True when every channel spans less than :data:`BLANK_CONTRAST` levels: one flat colour,
    nothing drawn (a KM figure has dark axes on paper). Detection bails out on such an image
    instead of spending the whole pipeline's time and memory on a huge empty page."""
    a = np.asarray(image)
    if a.size == 0:
        return True
    if a.ndim == 2:
        a = a[..., None]
    return all(int(a[..., c].max()) - int(a[..., c].min()) < BLANK_CONTRAST for c in range(a.shape[2]))


def pdf_page_count(path) -> int:
    """Number of pages in a PDF file."""
    path, data = _read_bytes(path)
    doc = _open_pdf(path, data)
    try:
        return len(doc)
    finally:
        doc.close()


def _open_pdf(path: Path, data: bytes):
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except Exception as exc:  # noqa: BLE001 - pdfium raises its own error types
        why = str(exc)
        if "PDFium: Success" in why or "Failed to load document" in why:
            why = "the file is damaged, incomplete or not a PDF"
        elif "password" in why.lower():
            why = "it is password-protected; save an unprotected copy"
        raise ImageLoadError(f"{path.name} is not a readable PDF ({why}); export the figure "
                             "again or save the page as PNG") from exc
    if len(doc) == 0:
        doc.close()
        raise ImageLoadError(f"{path.name} has no pages; export the figure again or save it as PNG")
    return doc


def _load_pdf_page(path: Path, data: bytes, page: int, dpi: int) -> np.ndarray:
    if not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]:
        raise ImageLoadError(f"dpi {dpi} is out of range; use {DPI_RANGE[0]}-{DPI_RANGE[1]} "
                             "(150-300 suits most figures)")
    doc = _open_pdf(path, data)
    try:
        n = len(doc)
        if not 0 <= page < n:
            raise ImageLoadError(f"{path.name} has {n} page(s); page {page} (0-based) does not exist")
        pg = doc[page]
        w_pt, h_pt = pg.get_size()
        scale = dpi / 72.0
        _check_size(int(round(w_pt * scale)), int(round(h_pt * scale)), f"page {page} at {dpi} dpi")
        bitmap = pg.render(scale=scale, rev_byteorder=True, fill_color=(255, 255, 255, 255))
        arr = np.array(bitmap.to_numpy(), copy=True)
        return to_rgb8(arr[:, :, :3] if arr.ndim == 3 and arr.shape[2] == 4 else arr, bgr=False)
    finally:
        doc.close()


def load_image(path, page: int = 0, dpi: int = 200) -> np.ndarray:
    """Read a figure file -> HxWx3 uint8 RGB array (row 0 at the top).

    ``page`` (0-based) and ``dpi`` apply to PDF files only. Raises :class:`ImageLoadError` with a
    message saying what to do when the file is missing, empty, corrupt or larger than
    :data:`MAX_PIXELS`.
    """
    import cv2

    path, data = _read_bytes(path)
    if _is_pdf(path, data[:8]):
        return _load_pdf_page(path, data, int(page), int(dpi))
    size = _header_size(data)
    if size is not None:
        _check_size(size[0], size[1], path.name)
    buf = np.frombuffer(data, np.uint8)
    try:
        arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageLoadError(f"{path.name} could not be decoded ({exc.msg if hasattr(exc, 'msg') else exc})") from exc
    if arr is None or arr.size == 0:
        raise ImageLoadError(
            f"{path.name} is not a readable image (corrupt or unsupported format); "
            "use PNG, JPEG, TIFF, BMP, WebP or PDF"
        )
    if size is None:
        _check_size(arr.shape[1], arr.shape[0], path.name)
    return to_rgb8(arr, bgr=True)
