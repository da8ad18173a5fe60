"""Image I/O: safe decoding (Pillow with its bomb guard) and PNG writing that never
overwrites unless asked."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from .errors import CbdiagError
from .files import InputError, check_writable, display, open_regular, write_atomic

__all__ = ["check_writable", "load_image", "save_png"]


def save_png(image: Image.Image, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``image`` as PNG to ``path`` via a temporary file and an atomic rename (only ever a
    regular file: see :func:`cbdiag.files.check_writable`)."""
    return write_atomic(path, lambda fh: image.save(fh, format="PNG", optimize=True), force=force)


# ---------------------------------------------------------------------------------------------
# Safe loading
# ---------------------------------------------------------------------------------------------


#: Images with more pixels than this are refused: Pillow's decompression-bomb limit
#: (89 M pixels; an 8192 x 8192 image passes).
MAX_PIXELS = int(Image.MAX_IMAGE_PIXELS or 89_478_485)
MIN_SIZE = 32
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif")


class ImageReadError(CbdiagError):
    """A file that is not a readable image (truncated, empty, not an image, too large/small)."""


class LoadedImage:
    """A decoded image: ``pixels`` is ``(H, W, 3)`` (or ``(H, W, 1)``) in its native integer or
    float type, ``max_value`` the value of full white (255, 65535 or 1.0).

    8-bit grey and RGB images stay in Pillow's buffer and are converted to arrays band by band
    (``rows``), so scoring a large image holds the decoded image once, not twice; ``pixels``
    converts the whole image on first use.
    """

    def __init__(
        self,
        pixels: NDArray[np.generic] | Image.Image,
        max_value: float,
        mode: str,
        format: str | None,
        jpeg_quality: int | None,
    ) -> None:
        self._image = pixels if isinstance(pixels, Image.Image) else None
        self._pixels = None if isinstance(pixels, Image.Image) else pixels
        self.max_value = max_value
        self.mode = mode
        self.format = format
        self.jpeg_quality = jpeg_quality

    @property
    def pixels(self) -> NDArray[np.generic]:
        if self._pixels is None:
            assert self._image is not None
            arr = np.asarray(self._image)
            self._pixels = arr[..., None] if arr.ndim == 2 else arr
            self._image = None
        return self._pixels

    @property
    def shape(self) -> tuple[int, int]:
        if self._image is not None:
            return (self._image.height, self._image.width)
        return (int(self.pixels.shape[0]), int(self.pixels.shape[1]))

    @property
    def dtype(self) -> np.dtype[np.generic]:
        return np.dtype(np.uint8) if self._image is not None else self.pixels.dtype

    def rows(self, a: int, b: int, c0: int = 0, c1: int | None = None) -> NDArray[np.generic]:
        """Pixel rows ``a .. b`` (columns ``c0 .. c1``) as an ``(rows, cols, channels)`` array."""
        if self._image is None:
            return self.pixels[a:b, c0:c1]
        w = self._image.width if c1 is None else min(c1, self._image.width)
        arr = np.asarray(self._image.crop((c0, a, w, b)))
        return arr[..., None] if arr.ndim == 2 else arr


_IJG_LUMA = np.array(
    [
        16,
        11,
        10,
        16,
        24,
        40,
        51,
        61,
        12,
        12,
        14,
        19,
        26,
        58,
        60,
        55,
        14,
        13,
        16,
        24,
        40,
        57,
        69,
        56,
        14,
        17,
        22,
        29,
        51,
        87,
        80,
        62,
        18,
        22,
        37,
        56,
        68,
        109,
        103,
        77,
        24,
        35,
        55,
        64,
        81,
        104,
        113,
        92,
        49,
        64,
        78,
        87,
        103,
        121,
        120,
        101,
        72,
        92,
        95,
        98,
        112,
        100,
        103,
        99,
    ],
    dtype=np.float64,
)


def jpeg_quality(table: list[int] | tuple[int, ...]) -> int:
    """Estimate the IJG quality (1..100) that produced a luminance quantisation table.

    Inverts libjpeg's scaling ``q = (T * s + 50) // 100`` with ``s = 5000/Q`` (Q < 50) or
    ``200 - 2Q``, choosing the quality whose table is closest.
    """
    t = np.sort(np.asarray(table, dtype=np.float64))
    if t.shape != (64,):
        t = np.resize(t, 64)
    err = np.abs(np.sort(_IJG_TABLES, axis=1) - t[None, :]).sum(axis=1)
    return int(np.argmin(err)) + 1  # the first (lowest) quality of the smallest error


def _ijg_tables() -> NDArray[np.float64]:
    q = np.arange(1, 101, dtype=np.float64)
    s = np.where(q < 50, 5000 / q, 200 - 2 * q)
    return np.clip(np.floor((_IJG_LUMA[None, :] * s[:, None] + 50) / 100), 1, 255)


_IJG_TABLES = _ijg_tables()


def load_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Decode an image file safely (Pillow, decompression-bomb guard on, no partial files).

    8/16-bit grey, grey+alpha, RGB, RGBA, palette, CMYK; PNG, JPEG, TIFF, WebP, BMP, GIF (first
    frame). Alpha is ignored; palette images are expanded to RGB.
    """
    p = Path(path)
    shown = display(p)
    try:  # a regular file only: a FIFO or a device is refused before Pillow reads a byte
        with open_regular(p) as fh:
            size = os.fstat(fh.fileno()).st_size
    except InputError as exc:
        raise ImageReadError(str(exc)) from exc
    if size == 0:
        raise ImageReadError(f"{shown}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes (bad EXIF, ...) never reach stderr
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(p)
            keep = False
            try:
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageReadError(
                        f"{shown}: {w}x{h} is {w * h} pixels, over the limit of {max_pixels}"
                    )
                img.load()
                fmt = img.format
                quality = None
                q = getattr(img, "quantization", None)
                if fmt == "JPEG" and q:
                    quality = jpeg_quality(q[0])
                loaded = _to_array(img, fmt, quality)
                keep = loaded._image is img  # the decoded buffer itself is kept
                if keep and getattr(img, "fp", None) is not None:  # multi-frame: release the file
                    loaded = _to_array(img.copy(), fmt, quality)
                    keep = False
                return loaded
            finally:
                if not keep:
                    img.close()
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{shown}: refused as a decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{shown}: not an image Pillow can read") from exc
    except MemoryError as exc:
        raise ImageReadError(f"{shown}: too large to decode") from exc
    except RecursionError as exc:
        raise ImageReadError(f"{shown}: cannot decode (nested too deeply)") from exc
    except Exception as exc:  # any failure of a decoder on this file's bytes
        raise ImageReadError(f"{shown}: cannot decode ({type(exc).__name__}: {exc})") from exc


def _to_array(img: Image.Image, fmt: str | None, quality: int | None) -> LoadedImage:
    mode = img.mode
    pixels: NDArray[np.generic]
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        pixels = np.asarray(img, dtype=np.uint16)[..., None]
        return LoadedImage(pixels, 65535.0, mode, fmt, quality)
    if mode == "I":
        pixels = np.asarray(img, dtype=np.int32)[..., None]
        return LoadedImage(pixels, white_level(pixels), mode, fmt, quality)
    if mode == "F":
        pixels = np.asarray(img, dtype=np.float32)[..., None]
        return LoadedImage(pixels, white_level(pixels), mode, fmt, quality)
    if mode in ("1", "L", "LA"):
        return LoadedImage(img if mode == "L" else img.convert("L"), 255.0, mode, fmt, quality)
    if mode != "RGB":
        img = img.convert("RGBA" if mode in ("P", "PA") else "RGB").convert("RGB")
    return LoadedImage(img, 255.0, mode, fmt, quality)


#: Float images are read with white = 1 unless some value exceeds this: then white = 255.
FLOAT_LIMIT = 2.0


def white_level(pixels: NDArray[np.generic]) -> float:
    """The value of full white, by type: 255 for 8-bit, 65535 for 16-bit and wider integers,
    1 for booleans, 1.0 for floats (255 when some value exceeds ``FLOAT_LIMIT``: data in 0..255).

    >>> [white_level(np.array(v)) for v in (np.uint16(7), 0.5, 200.0)]
    [65535.0, 1.0, 255.0]
    """
    dt = np.asarray(pixels).dtype
    if dt == np.uint8:
        return 255.0
    if dt == np.bool_:
        return 1.0
    if np.issubdtype(dt, np.integer):
        return 255.0 if dt == np.int8 else 65535.0
    arr = np.asarray(pixels)
    return 255.0 if arr.size and float(np.abs(arr).max()) > FLOAT_LIMIT else 1.0


def luminance(pixels: NDArray[np.generic], max_value: float = 255.0) -> NDArray[np.float32]:
    """Luma ``Y = 0.299 R + 0.587 G + 0.114 B`` (Rec. 601) scaled to ``[0, 1]``; grey as is."""
    x = np.asarray(pixels)
    scale = np.float32(1.0 / max_value)
    if x.ndim == 2:
        return x.astype(np.float32) * scale
    if x.shape[-1] == 1:
        return x[..., 0].astype(np.float32) * scale
    y = x[..., :3].astype(np.float32) @ (_REC601 * scale)  # one pass (a BLAS matrix-vector)
    return np.asarray(y, dtype=np.float32)


_REC601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)
