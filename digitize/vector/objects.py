"""A PDF page's drawing as plain data: stroked/filled paths, text runs and images.

Coordinates are PDF points in page space (x right, y UP, as pdfium reports them), after every
object and form XObject transform. Nothing here interprets the drawing (see
:mod:`digitize.vector.roles`); it only walks pdfium's object tree (``pypdfium2.raw``) and copies
what each object is.

Text is read through pdfium's text page (character by character) rather than
``FPDFTextObj_GetText``: the latter returns nothing for simple fonts with an /Encoding
/Differences table, which R's ``pdf()`` device writes for every string.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

import numpy as np

RGB = tuple[int, int, int]


@dataclass
class VPath:
    """One path object. ``subpaths``: list of (n, 2) point arrays (page points; Bézier control
    points are kept as plain vertices, which is exact for the straight segments KM figures use).
    ``stroke``/``fill``: RGB or None when the path is not stroked/filled (or fully transparent).
    ``width``: stroke width in points; ``dash``: dash array in points (empty = solid)."""

    subpaths: list[np.ndarray]
    stroke: RGB | None
    fill: RGB | None
    width: float
    dash: tuple[float, ...] = ()
    closed: bool = False
    curved: bool = False
    in_form: bool = False
    form_id: int = -1     # index of the innermost form XObject holding it (-1: page level)
    clip: tuple[float, float, float, float] | None = None   # box of its clip path (page points)

    @property
    def points(self) -> np.ndarray:
        return np.vstack(self.subpaths) if self.subpaths else np.empty((0, 2))

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        p = self.points
        return (float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max()))


@dataclass
class VText:
    """A run of characters from one text object. ``box``: (x0, y0, x1, y1) from the fonts'
    advance boxes (points); ``ink``: tight glyph box; ``baseline``: origin y of the first
    character; ``size``: font size in points; ``angle``: degrees (0 = horizontal)."""

    text: str
    box: tuple[float, float, float, float]
    ink: tuple[float, float, float, float]
    baseline: float
    size: float
    rgb: RGB
    angle: float = 0.0

    @property
    def cx(self) -> float:
        return 0.5 * (self.box[0] + self.box[2])

    @property
    def cy(self) -> float:
        return 0.5 * (self.ink[1] + self.ink[3])


@dataclass
class VImage:
    """An image object: where it sits on the page (points) and its native pixels (RGB uint8,
    row 0 at the top) when they could be decoded."""

    box: tuple[float, float, float, float]
    pixels: np.ndarray | None


@dataclass
class PageDrawing:
    """Everything drawn on one page."""

    width: float
    height: float
    paths: list[VPath] = field(default_factory=list)
    texts: list[VText] = field(default_factory=list)
    images: list[VImage] = field(default_factory=list)
    origin: tuple[float, float] = (0.0, 0.0)   # lower-left of the page box (points)
    text_objects: list = field(default_factory=list)   # (handle, box, rgb) of every text object

    @property
    def blank(self) -> bool:
        """Nothing but (white) background drawn."""
        inked = [p for p in self.paths if (p.stroke and p.stroke != (255, 255, 255))
                 or (p.fill and p.fill != (255, 255, 255))]
        return not inked and not [t for t in self.texts if t.text.strip()] and not self.images


# --------------------------------------------------------------------------- matrices

def _matrix(obj) -> np.ndarray:
    """The object's own transform as a 3x3 matrix acting on column vectors (x, y, 1)."""
    import pypdfium2.raw as r

    m = r.FS_MATRIX()
    if not r.FPDFPageObj_GetMatrix(obj, ctypes.byref(m)):
        return np.eye(3)
    return np.array([[m.a, m.c, m.e], [m.b, m.d, m.f], [0.0, 0.0, 1.0]])


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:2, :2].T + m[:2, 2]


# --------------------------------------------------------------------------- paths

def _colour(getter, obj) -> tuple[RGB, int] | None:
    r_, g, b, a = (ctypes.c_uint() for _ in range(4))
    if not getter(obj, r_, g, b, a):
        return None
    return (int(r_.value), int(g.value), int(b.value)), int(a.value)


def _dash(obj, scale: float) -> tuple[float, ...]:
    import pypdfium2.raw as r

    n = r.FPDFPageObj_GetDashCount(obj)
    if n <= 0:
        return ()
    arr = (ctypes.c_float * n)()
    if not r.FPDFPageObj_GetDashArray(obj, arr, n):
        return ()
    return tuple(round(float(v) * scale, 4) for v in arr)


def _segments(obj, m: np.ndarray) -> tuple[list[np.ndarray], bool, bool]:
    """Subpaths (page points), whether any subpath closes, whether any segment is a Bézier."""
    import pypdfium2.raw as r

    subs, cur, closed, curved = [], [], False, False
    x, y = ctypes.c_float(), ctypes.c_float()
    for i in range(r.FPDFPath_CountSegments(obj)):
        seg = r.FPDFPath_GetPathSegment(obj, i)
        r.FPDFPathSegment_GetPoint(seg, x, y)
        kind = r.FPDFPathSegment_GetType(seg)
        if kind == r.FPDF_SEGMENT_MOVETO and cur:
            subs.append(cur)
            cur = []
        curved |= kind == r.FPDF_SEGMENT_BEZIERTO
        cur.append((x.value, y.value))
        if r.FPDFPathSegment_GetClose(seg):
            closed = True
    if cur:
        subs.append(cur)
    return [_apply(m, np.asarray(s, float)) for s in subs], closed, curved


def _clip_box(obj, m_parent: np.ndarray) -> tuple[float, float, float, float] | None:
    """Bounding box (page points) of the object's clip path: the plot region plotting programs
    clip curves to (a curve may run on below a truncated axis, invisibly)."""
    import pypdfium2.raw as r

    clip = r.FPDFPageObj_GetClipPath(obj)
    if not clip:
        return None
    pts = []
    x, y = ctypes.c_float(), ctypes.c_float()
    for k in range(r.FPDFClipPath_CountPaths(clip)):
        for j in range(r.FPDFClipPath_CountPathSegments(clip, k)):
            seg = r.FPDFClipPath_GetPathSegment(clip, k, j)
            if seg and r.FPDFPathSegment_GetPoint(seg, x, y):
                pts.append((x.value, y.value))
    if len(pts) < 2:
        return None
    p = _apply(m_parent, np.asarray(pts, float))
    return (float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max()))


def _path(obj, m: np.ndarray, form_id: int, m_parent: np.ndarray | None = None) -> VPath | None:
    import pypdfium2.raw as r

    fill_mode, stroked = ctypes.c_int(), ctypes.c_int()
    r.FPDFPath_GetDrawMode(obj, fill_mode, stroked)
    subs, closed, curved = _segments(obj, m)
    if not subs:
        return None
    scale = float(np.sqrt(abs(np.linalg.det(m[:2, :2])))) or 1.0
    sc = _colour(r.FPDFPageObj_GetStrokeColor, obj) if stroked.value else None
    fc = _colour(r.FPDFPageObj_GetFillColor, obj) if fill_mode.value else None
    w = ctypes.c_float(0.0)
    r.FPDFPageObj_GetStrokeWidth(obj, w)
    return VPath(subs, sc[0] if sc and sc[1] > 0 else None, fc[0] if fc and fc[1] > 0 else None,
                 float(w.value) * scale, _dash(obj, scale) if sc else (), closed, curved,
                 form_id >= 0, form_id,
                 _clip_box(obj, m_parent if m_parent is not None else np.eye(3)))


# --------------------------------------------------------------------------- images

def _native_pixels(obj) -> np.ndarray | None:
    """The image's own pixels (``FPDFImageObj_GetBitmap``: decoded as stored, unscaled) as RGB."""
    import pypdfium2.raw as r

    from digitize.image import to_rgb8

    bm = r.FPDFImageObj_GetBitmap(obj)
    if not bm:
        return None
    try:
        w, h = r.FPDFBitmap_GetWidth(bm), r.FPDFBitmap_GetHeight(bm)
        stride, fmt = r.FPDFBitmap_GetStride(bm), r.FPDFBitmap_GetFormat(bm)
        channels = {r.FPDFBitmap_Gray: 1, r.FPDFBitmap_BGR: 3, r.FPDFBitmap_BGRx: 4,
                    r.FPDFBitmap_BGRA: 4}.get(fmt)
        if not channels or w <= 0 or h <= 0:
            return None
        buf = ctypes.cast(r.FPDFBitmap_GetBuffer(bm), ctypes.POINTER(ctypes.c_ubyte * (stride * h)))
        raw = np.frombuffer(buf.contents, np.uint8).reshape(h, stride)[:, : w * channels]
        arr = raw.reshape(h, w, channels).copy()
    finally:
        r.FPDFBitmap_Destroy(bm)
    if channels == 4:
        arr = arr[:, :, :3]            # BGRx / BGRA: alpha is not used by image objects here
    return to_rgb8(arr[:, :, 0] if channels == 1 else arr, bgr=True)


def _image(obj, m: np.ndarray) -> VImage:
    """Image object: its page box from the unit square under ``m``; native pixels decoded by
    pdfium (``FPDFImageObj_GetBitmap``: the image as stored, not re-rendered)."""
    corners = _apply(m, np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float))
    box = (float(corners[:, 0].min()), float(corners[:, 1].min()),
           float(corners[:, 0].max()), float(corners[:, 1].max()))
    pixels = None
    try:
        pixels = _native_pixels(obj)
    except Exception:  # noqa: BLE001 - an undecodable image is reported as such by the caller
        pixels = None
    return VImage(box, pixels)


# --------------------------------------------------------------------------- walk

def _walk(get_count, get_obj, parent, m_parent, out: PageDrawing, form_id: int,
          counter: list[int]) -> None:
    import pypdfium2.raw as r

    for i in range(get_count(parent)):
        obj = get_obj(parent, i)
        m = m_parent @ _matrix(obj)
        kind = r.FPDFPageObj_GetType(obj)
        if kind == r.FPDF_PAGEOBJ_PATH:
            p = _path(obj, m, form_id, m_parent)
            if p is not None:
                out.paths.append(p)
        elif kind == r.FPDF_PAGEOBJ_FORM:
            counter[0] += 1
            _walk(r.FPDFFormObj_CountObjects, r.FPDFFormObj_GetObject, obj, m, out, counter[0],
                  counter)
        elif kind == r.FPDF_PAGEOBJ_IMAGE:
            out.images.append(_image(obj, m))
        elif kind == r.FPDF_PAGEOBJ_TEXT:
            out.text_objects.append(_text_object(obj, m_parent))


def _text_object(obj, m_parent: np.ndarray) -> tuple[int, tuple, RGB]:
    """(handle, page box, fill colour) of a text object, for glyphs the text page drops."""
    import pypdfium2.raw as r

    lb, bb, rb, tb = (ctypes.c_float() for _ in range(4))
    r.FPDFPageObj_GetBounds(obj, lb, bb, rb, tb)
    c = _apply(m_parent, np.array([[lb.value, bb.value], [rb.value, tb.value]]))
    box = (float(c[:, 0].min()), float(c[:, 1].min()), float(c[:, 0].max()), float(c[:, 1].max()))
    col = _colour(r.FPDFPageObj_GetFillColor, obj)
    return ctypes.cast(obj, ctypes.c_void_p).value, box, col[0] if col else (0, 0, 0)


def _char_colour(tp, i) -> RGB:
    import pypdfium2.raw as r

    c = _colour(lambda _o, *a: r.FPDFText_GetFillColor(tp, i, *a), None)
    return c[0] if c else (0, 0, 0)


def _chars(tp) -> list[dict]:
    """Every real (not generated) character: unicode, boxes, origin, size, colour, object."""
    import pypdfium2.raw as r

    out = []
    lft, rgt, bot, top = (ctypes.c_double() for _ in range(4))
    ox, oy = ctypes.c_double(), ctypes.c_double()
    loose = r.FS_RECTF()
    for i in range(r.FPDFText_CountChars(tp)):
        if r.FPDFText_IsGenerated(tp, i) == 1:
            continue
        u = r.FPDFText_GetUnicode(tp, i)
        if u in (0, 0xFFFE, 0xFFFF) or chr(u) in "\r\n":
            continue
        r.FPDFText_GetCharBox(tp, i, lft, rgt, bot, top)
        r.FPDFText_GetLooseCharBox(tp, i, loose)
        r.FPDFText_GetCharOrigin(tp, i, ox, oy)
        obj = r.FPDFText_GetTextObject(tp, i)
        out.append({"ch": chr(u), "ink": (lft.value, bot.value, rgt.value, top.value),
                    "box": (loose.left, loose.bottom, loose.right, loose.top),
                    "origin": (ox.value, oy.value), "size": r.FPDFText_GetFontSize(tp, i),
                    "rgb": _char_colour(tp, i), "angle": np.degrees(r.FPDFText_GetCharAngle(tp, i)),
                    "obj": ctypes.cast(obj, ctypes.c_void_p).value if obj else None})
    return out


def _union(boxes) -> tuple[float, float, float, float]:
    b = np.asarray(boxes, float)
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))


def _run(chars: list[dict]) -> VText | None:
    text = "".join(c["ch"] for c in chars).strip()
    if not text:
        return None
    inked = [c for c in chars if not c["ch"].isspace()]
    box = _union([c["box"] for c in inked])
    size = float(inked[0]["size"])
    if size < 2.0:   # size carried by the text matrix (R's pdf()): the advance box height
        size = (box[3] - box[1]) / 1.15
    return VText(text, box, _union([c["ink"] for c in inked]), float(inked[0]["origin"][1]),
                 size, inked[0]["rgb"], float(inked[0]["angle"]))


def group_runs(chars: list[dict]) -> list[VText]:
    """Characters -> runs: consecutive characters of one text object, on one line.

    A text object is what the program drew with one call (a tick label, one number at risk, a
    legend entry), so it is the natural unit; a new line or a jump back starts a new run."""
    runs, cur = [], []
    for c in chars:
        if cur:
            prev = cur[-1]
            same_obj = c["obj"] == prev["obj"] and c["obj"] is not None
            h = max(1e-6, prev["box"][3] - prev["box"][1])
            same_line = abs(c["origin"][1] - prev["origin"][1]) < 0.3 * h or abs(c["angle"]) > 1
            # cairo writes several strings into one text object: a jump wider than a couple of
            # spaces starts a new string (tick labels "50" and "100" are not "50100")
            gap = c["box"][0] - prev["box"][2]
            near = abs(c["angle"]) > 1 or -0.3 * h <= gap <= 0.6 * h
            if not (same_obj and same_line and near):
                runs.append(cur)
                cur = []
        cur.append(c)
    if cur:
        runs.append(cur)
    return [t for t in (_run(r_) for r_ in runs) if t is not None]


def _unread_glyphs(objects, chars) -> list[VText]:
    """Text objects with no character in the text page: pdfium drops a character drawn over an
    identical one (its fake-bold rule), which is what overlapping censor marks printed as '+'
    are. They come back as text '' with the object's box, so glyph-sized ones still count."""
    seen = {c["obj"] for c in chars}
    out = []
    for handle, box, rgb in objects:
        if handle in seen or box[2] <= box[0] or box[3] <= box[1]:
            continue
        out.append(VText("", box, box, box[1], box[3] - box[1], rgb))
    return out


def read_page(doc, index: int) -> PageDrawing:
    """Walk page ``index`` (0-based) of an open ``pypdfium2.PdfDocument``."""
    import pypdfium2.raw as r

    page = doc[index]
    try:
        w, h = page.get_size()
        box = page.get_cropbox() if hasattr(page, "get_cropbox") else (0, 0, w, h)
        out = PageDrawing(float(w), float(h), origin=(float(box[0]), float(box[1])))
        _walk(r.FPDFPage_CountObjects, r.FPDFPage_GetObject, page.raw, np.eye(3), out, -1, [-1])
        tp = page.get_textpage()
        try:
            chars = _chars(tp.raw)
        finally:
            tp.close()
        out.texts = group_runs(chars) + _unread_glyphs(out.text_objects, chars)
        return out
    finally:
        page.close()
