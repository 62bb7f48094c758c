"""digitize.image (figure loading) and digitize.calibrate (axis calibration)."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from digitize.calibrate import AxisPoint, Calibration, CalibrationError
from digitize.image import ImageLoadError, load_image, pdf_page_count
from kmrecon.errors import KMReconError


def _pattern(h=40, w=60) -> np.ndarray:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[:10, :10] = (255, 0, 0)
    return img


# ------------------------------------------------------------------------------- loading

@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".webp"])
def test_lossless_formats_round_trip_as_rgb(tmp_path, ext):
    img = _pattern()
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if ext == ".webp" else []
    ok, buf = cv2.imencode(ext, cv2.cvtColor(img, cv2.COLOR_RGB2BGR), params)
    assert ok
    path = tmp_path / f"figure{ext}"
    path.write_bytes(buf.tobytes())
    out = load_image(path)
    assert out.dtype == np.uint8 and out.shape == img.shape
    np.testing.assert_array_equal(out, img)
    assert tuple(out[0, 0]) == (255, 0, 0)   # RGB order, not BGR


def test_jpeg_and_unicode_path(tmp_path):
    img = np.full((50, 80, 3), 255, np.uint8)
    img[20:30, :] = (0, 0, 200)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    path = tmp_path / "überlebenskurve_生存.jpg"
    path.write_bytes(buf.tobytes())
    out = load_image(path)
    assert out.shape == (50, 80, 3)
    assert abs(int(out[25, 40, 2]) - 200) < 12 and out[25, 40, 0] < 20


def test_rgba_composited_on_white_grey_expanded_16bit_scaled(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 255            # red ...
    rgba[:, :10, 3] = 0           # ... transparent on the left -> white paper
    rgba[:, 10:, 3] = 255
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    out = load_image(tmp_path / "a.png")
    assert tuple(out[5, 2]) == (255, 255, 255) and tuple(out[5, 15]) == (255, 0, 0)

    grey = np.tile(np.arange(0, 200, 10, dtype=np.uint8), (5, 1))
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    out = load_image(tmp_path / "g.png")
    assert out.shape == (5, 20, 3) and (out[..., 0] == out[..., 2]).all()
    assert out[0, 3, 1] == 30

    deep = np.full((6, 6, 3), 65535, np.uint16)
    deep[0, 0] = (0, 32896, 65535)  # BGR in the file
    cv2.imwrite(str(tmp_path / "d.png"), deep)
    out = load_image(tmp_path / "d.png")
    assert out.dtype == np.uint8 and tuple(out[0, 0]) == (255, 128, 0)


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    with pytest.raises(ImageLoadError, match="not a readable image"):
        load_image(tmp_path / "junk.png")
    (tmp_path / "text.jpg").write_text("hello, I am not a JPEG")
    with pytest.raises(KMReconError):
        load_image(tmp_path / "text.jpg")


def test_decompression_bomb_refused_from_header(tmp_path):
    """A PNG whose header claims 50000 x 50000 pixels is refused before decoding."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(png)
    with pytest.raises(ImageLoadError, match="megapixel"):
        load_image(tmp_path / "bomb.png")


def test_pdf_page(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0], color="#d62728", lw=3)
    fig.savefig(tmp_path / "two.pdf")
    plt.close(fig)
    assert pdf_page_count(tmp_path / "two.pdf") == 1
    img = load_image(tmp_path / "two.pdf", page=0, dpi=100)
    assert img.shape == (200, 300, 3)
    reds = (img[..., 0] > 180) & (img[..., 1] < 90)
    assert reds.sum() > 100
    with pytest.raises(ImageLoadError, match="page 3"):
        load_image(tmp_path / "two.pdf", page=3)
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 truncated")
    with pytest.raises(ImageLoadError, match="not a readable PDF"):
        load_image(tmp_path / "bad.pdf")


# ------------------------------------------------------------------------------- calibration

def _affine_points(theta_deg=0.8, shear=0.01):
    """A known pixel->data map of a rotated, sheared scan and four clicked points on it."""
    th = np.radians(theta_deg)
    # data -> pixel: time 0..60 over 600 px, survival 0..1 over -400 px, then rotate/shear
    base = np.array([[10.0, 0.0], [0.0, -400.0]])
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) @ np.array([[1, shear], [0, 1]])
    a = rot @ base
    origin = np.array([100.0, 500.0])

    def to_px(t, s):
        p = a @ np.vstack([np.atleast_1d(t), np.atleast_1d(s)]) + origin[:, None]
        return p[0], p[1]

    pts = {}
    for key, (t, s, v) in {"x1": (0, 0, 0), "x2": (60, 0, 60), "y1": (0, 0.2, 0.2), "y2": (0, 1.0, 1.0)}.items():
        px, py = to_px(t, s)
        pts[key] = AxisPoint(float(px[0]), float(py[0]), v)
    return pts, to_px


def test_affine_calibration_handles_rotation_and_shear():
    pts, to_px = _affine_points()
    cal = Calibration(**pts)
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 60, 50)
    s = rng.uniform(0, 1, 50)
    px, py = to_px(t, s)
    tt, ss = cal.to_data(px, py)
    np.testing.assert_allclose(tt, t, atol=1e-9)
    np.testing.assert_allclose(ss, s, atol=1e-9)
    bx, by = cal.to_pixel(tt, ss)
    np.testing.assert_allclose(bx, px, atol=1e-9)
    np.testing.assert_allclose(by, py, atol=1e-9)
    assert Calibration.from_dict(cal.to_dict()).to_dict() == cal.to_dict()


def test_no_rotation_log_axis_percent_and_truncated_axis():
    cal = Calibration(AxisPoint(100, 500, 1), AxisPoint(500, 503, 100), AxisPoint(98, 500, 30),
                      AxisPoint(97, 100, 100), log_x=True, no_rotation=True)
    assert cal.y_percent is True                      # 0-100 labels -> probabilities
    t, s = cal.to_data(300, 300)
    assert t == pytest.approx(10.0)                   # log midpoint of 1..100
    assert s == pytest.approx(0.3 + 0.7 * 200 / 400)  # truncated axis 30 %..100 %
    assert cal.to_pixel(10.0, 0.65)[0] == pytest.approx(300.0)
    frac = Calibration(AxisPoint(0, 100, 0), AxisPoint(200, 100, 24), AxisPoint(0, 100, 0.5),
                       AxisPoint(0, 0, 1.0))
    assert frac.y_percent is False
    assert frac.to_data(100, 50)[1] == pytest.approx(0.75)


@pytest.mark.parametrize("points, message", [
    (((10, 10, 0), (10.5, 10, 12), (0, 50, 0), (0, 0, 1)), "same pixel"),
    (((10, 100, 5), (200, 100, 5), (0, 100, 0), (0, 0, 1)), "same value"),
    (((10, 100, 0), (200, 100, 12), (0, 100, 1), (0, 0, 1)), "same value"),
    (((10, 100, 0), (200, 100, 12), (20, 90, 0), (220, 88, 1)), "parallel"),
])
def test_degenerate_calibrations_rejected(points, message):
    with pytest.raises(CalibrationError, match=message):
        Calibration(*(AxisPoint(*p) for p in points))


def test_bad_calibration_inputs():
    with pytest.raises(CalibrationError, match="log"):
        Calibration(AxisPoint(0, 100, 0), AxisPoint(100, 100, 10), AxisPoint(0, 100, 0),
                    AxisPoint(0, 0, 1), log_x=True)
    with pytest.raises(CalibrationError, match="missing"):
        Calibration.from_dict({"x1": {"px": 0, "py": 0, "value": 0}})
    with pytest.raises(CalibrationError, match="numeric"):
        Calibration.from_dict({k: {"px": "a", "py": 0, "value": 0} for k in ("x1", "x2", "y1", "y2")})
    with pytest.raises(CalibrationError, match="same pixel column"):
        Calibration(AxisPoint(10, 100, 0), AxisPoint(11, 300, 12), AxisPoint(0, 100, 0),
                    AxisPoint(0, 0, 1), no_rotation=True)
